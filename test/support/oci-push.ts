// Raw OCI distribution calls for tests, written apart from gitward's client on purpose: tests push
// signature artifacts, referrers and hostile content with this, so a bug in src/images cannot hide itself.
import { createHash } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { TestRegistry } from "./registry.js";

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** One HTTP call to the registry, with its CA and basic credentials when it has them. */
export function registryCall(
  registry: TestRegistry,
  method: string,
  pathOrUrl: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${registry.url}${pathOrUrl}`;
  const all: Record<string, string> = { ...headers };
  if (registry.basicAuth !== undefined) {
    const { username, password } = registry.basicAuth;
    all.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  }
  if (body !== undefined) all["content-length"] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(
      url,
      { method, headers: all, ...(registry.ca === undefined ? {} : { ca: registry.ca }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Monolithic blob upload (POST then PUT ?digest=); returns the blob's digest. */
export async function pushBlob(
  registry: TestRegistry,
  repo: string,
  bytes: Buffer | string,
): Promise<string> {
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  const digest = sha256Digest(data);
  const start = await registryCall(registry, "POST", `/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${start.body.toString()}`);
  const location = String(start.headers.location);
  const target = new URL(location, registry.url);
  target.searchParams.set("digest", digest);
  const put = await registryCall(registry, "PUT", target.toString(), data, {
    "content-type": "application/octet-stream",
  });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${put.body.toString()}`);
  return digest;
}

/** PUT of a manifest by tag or digest; returns its digest (computed here over the exact bytes sent). */
export async function pushManifest(
  registry: TestRegistry,
  repo: string,
  reference: string,
  bytes: Buffer | string,
  mediaType: string,
): Promise<string> {
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  const res = await registryCall(registry, "PUT", `/v2/${repo}/manifests/${reference}`, data, {
    "content-type": mediaType,
  });
  if (res.status !== 201) throw new Error(`manifest upload: ${res.status} ${res.body.toString()}`);
  return sha256Digest(data);
}

/** GET of a manifest's exact bytes (OCI and Docker types accepted). */
export async function fetchManifest(
  registry: TestRegistry,
  repo: string,
  reference: string,
): Promise<Buffer> {
  const res = await registryCall(registry, "GET", `/v2/${repo}/manifests/${reference}`, undefined, {
    accept: [
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
    ].join(", "),
  });
  if (res.status !== 200) throw new Error(`manifest ${repo}:${reference}: ${res.status}`);
  return res.body;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** Pushes a blob and returns its descriptor. */
export async function pushDescriptor(
  registry: TestRegistry,
  repo: string,
  bytes: Buffer | string,
  mediaType: string,
  annotations?: Record<string, string>,
): Promise<Descriptor> {
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  const digest = await pushBlob(registry, repo, data);
  return { mediaType, digest, size: data.length, ...(annotations === undefined ? {} : { annotations }) };
}

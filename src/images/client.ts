// The OCI distribution client: manifests (OCI/Docker images and indexes), blobs, tags, the referrers API
// with its fallback tag, and uploads for signing. Every fetched byte is bounded and checked against its
// digest; plain HTTP only for loopback hosts that asked for it; auth answers 401 challenges (Basic/Bearer).
import { createHash } from "node:crypto";
import { Transform, type Readable } from "node:stream";
import { basicHeader, parseChallenge, type Credentials, type CredentialStore } from "./auth.js";
import { RegistryError, RegistryErrorCode } from "./errors.js";
import { MANIFEST_ACCEPT, MediaType, parseManifest, type Descriptor, type Manifest } from "./manifest.js";
import { apiHost, isLoopbackHost } from "./reference.js";
import { openStream, send, type HttpRequest, type HttpResponse, type StreamResponse } from "./transport.js";

export interface RegistryHostOptions {
  /** Registry host with port, as in image references. */
  host: string;
  /** Plain HTTP; refused unless the host is loopback. */
  plainHTTP?: boolean;
  /** PEM CA bundle for this host's TLS certificate. */
  ca?: string;
}

export interface ClientLimits {
  /** Largest manifest or index accepted (the distribution spec suggests 4 MiB). */
  manifestBytes: number;
  /** Default bound for blobs fetched without an explicit one. */
  blobBytes: number;
  /** Largest token-endpoint answer. */
  tokenBytes: number;
}

export const DEFAULT_LIMITS: ClientLimits = {
  manifestBytes: 4 * 1024 * 1024,
  blobBytes: 16 * 1024 * 1024,
  tokenBytes: 64 * 1024,
};

/** How long a registry may take, so a registry that sends one byte a second cannot hold a check forever. */
export interface ClientDeadlines {
  /** One request, from the first byte sent to the last byte read. */
  requestMs: number;
  /** Every request of one image's verification together (clients made by forImage). */
  verificationMs: number;
}

export const DEFAULT_DEADLINES: ClientDeadlines = { requestMs: 60_000, verificationMs: 180_000 };

export interface RegistryClientOptions {
  hosts?: readonly RegistryHostOptions[];
  credentials?: CredentialStore;
  /** Plain HTTP for every loopback host (the CLI's --plain-http); other hosts still refuse it. */
  plainHTTP?: boolean;
  /** PEM CA bundle for hosts that have none of their own (the CLI's --ca). */
  defaultCa?: string;
  limits?: Partial<ClientLimits>;
  deadlines?: Partial<ClientDeadlines>;
}

/** What a client made by forImage shares with its parent, and the verification's deadline. */
interface Scope {
  readonly authCache: Map<string, string>;
  readonly deadline: NonNullable<HttpRequest["deadline"]>;
}

export interface FetchedManifest {
  /** sha256 of the exact bytes received (checked against the requested digest when there was one). */
  digest: string;
  bytes: Buffer;
  manifest: Manifest;
}

export interface RepoRef {
  registry: string;
  repository: string;
}

type Action = "pull" | "pull,push";

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export class RegistryClient {
  private readonly hosts: Map<string, RegistryHostOptions>;
  private readonly credentials: CredentialStore;
  private readonly plainHTTP: boolean;
  private readonly defaultCa: string | undefined;
  readonly limits: ClientLimits;
  readonly deadlines: ClientDeadlines;
  /** Authorization header per host+scope, learnt from the last challenge. */
  private readonly authCache: Map<string, string>;
  private readonly scope: Scope | undefined;

  constructor(
    private readonly opts: RegistryClientOptions = {},
    scope?: Scope,
  ) {
    this.hosts = new Map((opts.hosts ?? []).map((h) => [h.host, h]));
    this.credentials = opts.credentials ?? new Map();
    this.plainHTTP = opts.plainHTTP ?? false;
    this.defaultCa = opts.defaultCa;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.deadlines = { ...DEFAULT_DEADLINES, ...opts.deadlines };
    this.authCache = scope?.authCache ?? new Map<string, string>();
    this.scope = scope;
  }

  /**
   * A client for verifying one image: the same settings and learnt auth, and every request ends once the
   * verification as a whole has taken deadlines.verificationMs, with an error naming the image and registry.
   */
  forImage(image: string): RegistryClient {
    const ms = this.deadlines.verificationMs;
    return new RegistryClient(this.opts, {
      authCache: this.authCache,
      deadline: {
        signal: AbortSignal.timeout(ms),
        error: (where) =>
          new RegistryError(
            RegistryErrorCode.DEADLINE_EXCEEDED,
            `image ${image}: its verification took longer than ${ms} ms in all (waiting for ${where}); ` +
              "the registry is too slow or stalls",
          ),
      },
    });
  }

  /** Every request goes out with the per-request deadline and, for forImage clients, the verification's. */
  private request(req: HttpRequest): Promise<HttpResponse> {
    return send({
      ...req,
      deadlineMs: this.deadlines.requestMs,
      ...(this.scope === undefined ? {} : { deadline: this.scope.deadline }),
    });
  }

  private base(registry: string): { origin: string; ca?: string } {
    const host = this.hosts.get(registry);
    const plain = this.plainHTTP || host?.plainHTTP === true;
    if (plain) {
      if (!isLoopbackHost(registry)) {
        throw new RegistryError(
          RegistryErrorCode.INSECURE_REFUSED,
          `${registry}: plain HTTP is allowed for loopback registries only; serve it over TLS`,
        );
      }
      return { origin: `http://${registry}` };
    }
    const ca = host?.ca ?? this.defaultCa;
    return { origin: `https://${apiHost(registry)}`, ...(ca === undefined ? {} : { ca }) };
  }

  private creds(registry: string): Credentials | undefined {
    return this.credentials.get(registry);
  }

  /** A request with auth: try the cached header, answer one 401 challenge, retry once. */
  private async call(
    repo: RepoRef,
    action: Action,
    method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH",
    pathOrUrl: string,
    opts: { headers?: Record<string, string>; body?: Buffer; maxBytes: number },
  ): Promise<HttpResponse> {
    const { origin, ca } = this.base(repo.registry);
    const url = new URL(pathOrUrl, origin);
    if (url.origin !== origin) {
      // Upload locations are given by the registry; never send its credentials elsewhere.
      throw new RegistryError(
        RegistryErrorCode.MALFORMED,
        `${repo.registry}: upload location points to another host`,
      );
    }
    const scope = `repository:${repo.repository}:${action}`;
    const cacheKey = `${repo.registry} ${scope}`;
    const attempt = (auth: string | undefined): Promise<HttpResponse> =>
      this.request({
        method,
        url,
        headers: { ...opts.headers, ...(auth === undefined ? {} : { authorization: auth }) },
        ...(opts.body === undefined ? {} : { body: opts.body }),
        maxBytes: opts.maxBytes,
        ...(ca === undefined ? {} : { ca }),
      });
    let res = await attempt(this.authCache.get(cacheKey));
    if (res.status !== 401) return res;
    const header = await this.answerChallenge(repo.registry, scope, res);
    this.authCache.set(cacheKey, header);
    res = await attempt(header);
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(
        RegistryErrorCode.UNAUTHORIZED,
        `${repo.registry}/${repo.repository}: the registry refused the credentials for ${action}; check the docker config for ${repo.registry}`,
        res.status,
      );
    }
    return res;
  }

  private async answerChallenge(registry: string, scope: string, res: HttpResponse): Promise<string> {
    const raw: string | string[] | undefined = res.headers["www-authenticate"];
    const challenge = parseChallenge(typeof raw === "string" ? raw : raw?.[0]);
    const creds = this.creds(registry);
    const unauthorized = (why: string): RegistryError =>
      new RegistryError(RegistryErrorCode.UNAUTHORIZED, `${registry}: ${why}`, 401);
    if (challenge?.scheme === "basic") {
      if (creds === undefined) throw unauthorized("needs credentials; add them to the docker config");
      return basicHeader(creds);
    }
    if (challenge?.scheme !== "bearer") throw unauthorized("answered 401 without a usable challenge");
    const realm = challenge.params.realm;
    if (realm === undefined) throw unauthorized("bearer challenge without realm");
    let tokenURL: URL;
    try {
      tokenURL = new URL(realm);
    } catch {
      throw unauthorized("bearer realm is not a URL");
    }
    // The realm is named by the registry: credentials go there only over TLS, or to loopback in tests.
    if (tokenURL.protocol !== "https:" && !(tokenURL.protocol === "http:" && isLoopbackHost(tokenURL.host))) {
      throw unauthorized(`token realm ${tokenURL.origin} is not HTTPS`);
    }
    if (challenge.params.service !== undefined)
      tokenURL.searchParams.set("service", challenge.params.service);
    tokenURL.searchParams.set("scope", challenge.params.scope ?? scope);
    const ca = this.hosts.get(registry)?.ca ?? this.defaultCa;
    const tokenRes = await this.request({
      method: "GET",
      url: tokenURL,
      headers: creds === undefined ? {} : { authorization: basicHeader(creds) },
      maxBytes: this.limits.tokenBytes,
      ...(ca === undefined ? {} : { ca }),
    });
    if (tokenRes.status !== 200) throw unauthorized(`token service answered ${tokenRes.status}`);
    let token: unknown;
    try {
      const doc = JSON.parse(tokenRes.body.toString("utf8")) as Record<string, unknown>;
      token = doc.token ?? doc.access_token;
    } catch {
      throw unauthorized("token service answered something that is not JSON");
    }
    if (typeof token !== "string" || token === "")
      throw unauthorized("token service answered without a token");
    return `Bearer ${token}`;
  }

  private static fail(repo: RepoRef, what: string, res: HttpResponse): RegistryError {
    const where = `${repo.registry}/${repo.repository}`;
    if (res.status === 404)
      return new RegistryError(RegistryErrorCode.NOT_FOUND, `${where}: ${what} not found`, 404);
    if (res.status === 401 || res.status === 403) {
      return new RegistryError(
        RegistryErrorCode.UNAUTHORIZED,
        `${where}: access to ${what} denied`,
        res.status,
      );
    }
    return new RegistryError(
      RegistryErrorCode.HTTP_STATUS,
      `${where}: ${what}: HTTP ${res.status}`,
      res.status,
    );
  }

  /** GET of a manifest by tag or digest; the bytes are hashed and checked, then parsed. */
  async getManifest(repo: RepoRef, reference: string): Promise<FetchedManifest> {
    const res = await this.call(repo, "pull", "GET", `/v2/${repo.repository}/manifests/${reference}`, {
      headers: { accept: MANIFEST_ACCEPT },
      maxBytes: this.limits.manifestBytes,
    });
    if (res.status !== 200) throw RegistryClient.fail(repo, `manifest ${reference}`, res);
    const digest = sha256(res.body);
    const where = `${repo.registry}/${repo.repository}@${reference}`;
    if (reference.startsWith("sha256:") && digest !== reference) {
      throw new RegistryError(
        RegistryErrorCode.DIGEST_MISMATCH,
        `${where}: the manifest served hashes to ${digest}`,
      );
    }
    const announced = res.headers["docker-content-digest"];
    if (typeof announced === "string" && announced.startsWith("sha256:") && announced !== digest) {
      throw new RegistryError(
        RegistryErrorCode.DIGEST_MISMATCH,
        `${where}: the registry announced ${announced} but the manifest hashes to ${digest}`,
      );
    }
    const contentType = res.headers["content-type"]?.split(";")[0]?.trim();
    const parsed = parseManifest(res.body, contentType);
    if (!parsed.ok) throw new RegistryError(RegistryErrorCode.MALFORMED, `${where}: ${parsed.reason}`);
    return { digest, bytes: res.body, manifest: parsed.manifest };
  }

  /** GET of a blob, bounded by `maxBytes` (and by the descriptor size when given), checked against its digest. */
  async getBlob(repo: RepoRef, digest: string, maxBytes = this.limits.blobBytes): Promise<Buffer> {
    let res = await this.call(repo, "pull", "GET", `/v2/${repo.repository}/blobs/${digest}`, { maxBytes });
    res = await this.followRedirects(repo, res, maxBytes);
    if (res.status !== 200) throw RegistryClient.fail(repo, `blob ${digest}`, res);
    const actual = sha256(res.body);
    if (actual !== digest) {
      throw new RegistryError(
        RegistryErrorCode.DIGEST_MISMATCH,
        `${repo.registry}/${repo.repository}: blob ${digest} hashes to ${actual}`,
      );
    }
    return res.body;
  }

  /**
   * Registries often send blob downloads to storage elsewhere (307 to a signed URL). Follow up to three
   * redirects, over HTTPS only (or loopback HTTP when plain HTTP was allowed), never with our credentials:
   * the digest check afterwards is what makes the content trustworthy, not where it came from.
   */
  private async followRedirects(repo: RepoRef, first: HttpResponse, maxBytes: number): Promise<HttpResponse> {
    let res = first;
    let current = new URL(this.base(repo.registry).origin);
    for (let hop = 0; hop < 3; hop++) {
      const next = this.redirectTarget(repo, res, current);
      if (next === undefined) break;
      current = next.url;
      res = await this.request({ method: "GET", url: next.url, maxBytes, ...next.tls });
    }
    return res;
  }

  /** Where a blob redirect points, checked (HTTPS, or loopback HTTP when plain HTTP was allowed); undefined when `res` is no redirect. */
  private redirectTarget(
    repo: RepoRef,
    res: { status: number; headers: HttpResponse["headers"] },
    current: URL,
  ): { url: URL; tls: { ca?: string } } | undefined {
    if (![301, 302, 303, 307, 308].includes(res.status)) return undefined;
    const location = res.headers.location;
    if (typeof location !== "string") return undefined;
    const { origin, ca } = this.base(repo.registry);
    const next = new URL(location, current);
    const plainOk =
      next.protocol === "http:" &&
      (this.plainHTTP || this.hosts.get(repo.registry)?.plainHTTP === true) &&
      isLoopbackHost(next.host);
    if (next.protocol !== "https:" && !plainOk) {
      throw new RegistryError(
        RegistryErrorCode.INSECURE_REFUSED,
        `${repo.registry}: blob redirect to ${next.origin} is not HTTPS`,
      );
    }
    return { url: next, tls: next.origin === origin && ca !== undefined ? { ca } : {} };
  }

  /**
   * Streams the blob a descriptor names (image layers), never buffering it: refused before any request when
   * the descriptor declares more than `maxBytes`; the stream errors with TOO_LARGE past the declared size and
   * with DIGEST_MISMATCH at its end when the bytes do not hash to the digest or are short. Consumers must
   * treat what they read as provisional until the stream ends without error.
   */
  async openBlob(repo: RepoRef, d: Descriptor, maxBytes: number): Promise<Readable> {
    const where = `${repo.registry}/${repo.repository}`;
    if (d.size > maxBytes) {
      throw new RegistryError(
        RegistryErrorCode.TOO_LARGE,
        `${where}: blob ${d.digest} declares ${d.size} bytes, over the bound of ${maxBytes}`,
      );
    }
    const { origin, ca } = this.base(repo.registry);
    const tls = ca === undefined ? {} : { ca };
    const cacheKey = `${repo.registry} repository:${repo.repository}:pull`;
    const open = (url: URL, auth: string | undefined, extra: { ca?: string }): Promise<StreamResponse> =>
      openStream({
        url,
        headers: auth === undefined ? {} : { authorization: auth },
        maxBytes: d.size,
        deadlineMs: this.deadlines.requestMs,
        ...(this.scope === undefined ? {} : { deadline: this.scope.deadline }),
        ...extra,
      });
    let url = new URL(`/v2/${repo.repository}/blobs/${d.digest}`, origin);
    let res = await open(url, this.authCache.get(cacheKey), tls);
    if (res.status === 401) {
      res.body.destroy();
      const empty = { status: 401, headers: res.headers, body: Buffer.alloc(0) };
      const header = await this.answerChallenge(repo.registry, `repository:${repo.repository}:pull`, empty);
      this.authCache.set(cacheKey, header);
      res = await open(url, header, tls);
    }
    for (let hop = 0; hop < 3; hop++) {
      const next = this.redirectTarget(repo, res, url);
      if (next === undefined) break;
      res.body.destroy();
      url = next.url;
      res = await open(url, undefined, next.tls);
    }
    if (res.status !== 200) {
      res.body.destroy();
      throw RegistryClient.fail(repo, `blob ${d.digest}`, {
        status: res.status,
        headers: res.headers,
        body: Buffer.alloc(0),
      });
    }
    const hash = createHash("sha256");
    let size = 0;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        const actual = `sha256:${hash.digest("hex")}`;
        if (size !== d.size || actual !== d.digest) {
          done(
            new RegistryError(
              RegistryErrorCode.DIGEST_MISMATCH,
              `${where}: blob ${d.digest} is ${size} bytes hashing to ${actual}; its descriptor says ${d.size} bytes`,
            ),
          );
          return;
        }
        done();
      },
    });
    res.body.on("error", (err) => check.destroy(err));
    return res.body.pipe(check);
  }

  /** Fetches the blob a descriptor names; refuses descriptors over the bound before any request. */
  async getDescribedBlob(repo: RepoRef, d: Descriptor, maxBytes: number): Promise<Buffer> {
    if (d.size > maxBytes) {
      throw new RegistryError(
        RegistryErrorCode.TOO_LARGE,
        `${repo.registry}/${repo.repository}: blob ${d.digest} declares ${d.size} bytes, over the bound of ${maxBytes}`,
      );
    }
    const bytes = await this.getBlob(repo, d.digest, d.size);
    if (bytes.length !== d.size) {
      throw new RegistryError(
        RegistryErrorCode.DIGEST_MISMATCH,
        `${repo.registry}/${repo.repository}: blob ${d.digest} is ${bytes.length} bytes, its descriptor says ${d.size}`,
      );
    }
    return bytes;
  }

  /** Tags of a repository (one page of up to `n`). */
  async listTags(repo: RepoRef, n = 1000): Promise<string[]> {
    const res = await this.call(repo, "pull", "GET", `/v2/${repo.repository}/tags/list?n=${n}`, {
      maxBytes: this.limits.manifestBytes,
    });
    if (res.status !== 200) throw RegistryClient.fail(repo, "tag list", res);
    try {
      const doc = JSON.parse(res.body.toString("utf8")) as { tags?: unknown };
      return Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === "string") : [];
    } catch {
      throw new RegistryError(
        RegistryErrorCode.MALFORMED,
        `${repo.registry}/${repo.repository}: tag list is not JSON`,
      );
    }
  }

  /**
   * Referrers of a manifest (OCI 1.1): the referrers API, or where the registry lacks it (404 or a non-index
   * answer), the fallback tag `sha256-<hex>`. Returns [] when neither exists.
   */
  async referrers(repo: RepoRef, digest: string, artifactType?: string): Promise<Descriptor[]> {
    const res = await this.call(repo, "pull", "GET", `/v2/${repo.repository}/referrers/${digest}`, {
      headers: { accept: MediaType.OCI_INDEX },
      maxBytes: this.limits.manifestBytes,
    });
    let list: Descriptor[] | undefined;
    if (res.status === 200 && res.headers["content-type"]?.startsWith(MediaType.OCI_INDEX) === true) {
      const parsed = parseManifest(res.body, MediaType.OCI_INDEX);
      if (parsed.ok && parsed.manifest.kind === "index") list = parsed.manifest.manifests;
    }
    if (list === undefined) {
      if (res.status !== 200 && res.status !== 404)
        throw RegistryClient.fail(repo, `referrers of ${digest}`, res);
      try {
        const fallback = await this.getManifest(repo, digest.replace(":", "-"));
        list = fallback.manifest.kind === "index" ? fallback.manifest.manifests : [];
      } catch (err) {
        if (err instanceof RegistryError && err.code === RegistryErrorCode.NOT_FOUND) return [];
        throw err;
      }
    }
    return artifactType === undefined ? list : list.filter((d) => d.artifactType === artifactType);
  }

  /** Whether the registry implements GET /v2/<name>/referrers/<digest> (an index answer). */
  async referrersApiAnswers(repo: RepoRef, digest: string): Promise<boolean> {
    const res = await this.call(repo, "pull", "GET", `/v2/${repo.repository}/referrers/${digest}`, {
      headers: { accept: MediaType.OCI_INDEX },
      maxBytes: this.limits.manifestBytes,
    });
    return res.status === 200 && res.headers["content-type"]?.startsWith(MediaType.OCI_INDEX) === true;
  }

  /** Whether a blob exists (HEAD). */
  async hasBlob(repo: RepoRef, digest: string): Promise<boolean> {
    const res = await this.call(repo, "pull,push", "HEAD", `/v2/${repo.repository}/blobs/${digest}`, {
      maxBytes: 0,
    });
    return res.status === 200;
  }

  /** Monolithic upload (POST, then PUT with ?digest=); skipped when the blob is already there. */
  async putBlob(repo: RepoRef, bytes: Buffer): Promise<Descriptor & { mediaType: "" }> {
    const digest = sha256(bytes);
    if (!(await this.hasBlob(repo, digest))) {
      const start = await this.call(repo, "pull,push", "POST", `/v2/${repo.repository}/blobs/uploads/`, {
        maxBytes: 64 * 1024,
      });
      const location = start.headers.location;
      if (start.status !== 202 || typeof location !== "string")
        throw RegistryClient.fail(repo, "blob upload", start);
      const { origin } = this.base(repo.registry);
      const target = new URL(location, `${origin}/v2/${repo.repository}/blobs/uploads/`);
      target.searchParams.set("digest", digest);
      const put = await this.call(repo, "pull,push", "PUT", target.href, {
        headers: { "content-type": "application/octet-stream" },
        body: bytes,
        maxBytes: 64 * 1024,
      });
      if (put.status !== 201) throw RegistryClient.fail(repo, `blob ${digest} upload`, put);
    }
    return { mediaType: "", digest, size: bytes.length };
  }

  /** PUT of a manifest by tag or digest; returns the digest of the bytes sent. */
  async putManifest(repo: RepoRef, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const res = await this.call(repo, "pull,push", "PUT", `/v2/${repo.repository}/manifests/${reference}`, {
      headers: { "content-type": mediaType },
      body: bytes,
      maxBytes: 64 * 1024,
    });
    if (res.status !== 201) throw RegistryClient.fail(repo, `manifest ${reference} upload`, res);
    return sha256(bytes);
  }
}

/** True when the registry answers the OCI 1.1 referrers API (else signers maintain the fallback tag). */
export async function hasReferrersApi(
  client: RegistryClient,
  repo: RepoRef,
  digest: string,
): Promise<boolean> {
  return client.referrersApiAnswers(repo, digest);
}

// HTTP plumbing of the sandbox server: request headers and bodies (size and nesting limits, JSON, YAML,
// protobuf), query options of lists and deletes, patch content types, and JSON and Status responses.
import type http from "node:http";
import { parseDocument } from "yaml";
import type { PatchType } from "./api.js";
import { ApiError, errors } from "./errors.js";
import { isObject, text, type Json, type JsonObject } from "./fieldset.js";
import { fieldSelector, labelSelector } from "./selectors.js";
import { decodeProtobuf } from "./protobuf.js";
import { checkJsonTextNesting, checkValueNesting, checkYamlTextNesting } from "./nesting.js";

const MAX_BODY = 3 * 1024 * 1024;

export const JSON_TYPE = "application/json";

export function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function headerList(req: http.IncomingMessage, name: string): string[] {
  const v = req.headers[name];
  if (v === undefined) return [];
  // Node joins repeated headers with ", "; impersonation values are names without commas.
  return (Array.isArray(v) ? v : v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
}

export function str(v: Json | undefined): string {
  return typeof v === "string" ? v : "";
}

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > MAX_BODY) {
      reject(errors.tooLarge(MAX_BODY));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(errors.tooLarge(MAX_BODY));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

/** Parses a request body as JSON, or as YAML where the content type says so (one document, few aliases). */
export function parseBody(req: http.IncomingMessage, body: Buffer | undefined, yamlAllowed: boolean): Json {
  const type = (req.headers["content-type"] ?? JSON_TYPE).split(";")[0]?.trim() ?? "";
  const bodyText = body?.toString("utf8") ?? "";
  if (bodyText.trim() === "") throw errors.badRequest("the request body is empty");
  if (type === "application/vnd.kubernetes.protobuf" && body !== undefined) {
    const decoded = decodeProtobuf(body);
    checkValueNesting(decoded);
    return decoded;
  }
  const isYaml = yamlAllowed || type === "application/yaml" || type === "application/apply-patch+yaml";
  if (!isYaml && !type.endsWith("json")) throw errors.unsupportedMediaType(type);
  // Attacker-controlled input: depth is judged before anything deep is built.
  if (/^\s*[[{]/.test(bodyText)) checkJsonTextNesting(bodyText);
  try {
    return JSON.parse(bodyText) as Json;
  } catch (err) {
    if (!isYaml)
      throw errors.badRequest(
        `the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      );
  }
  // Attacker-controlled input: one document, duplicate keys rejected, aliases bounded.
  checkYamlTextNesting(bodyText);
  let value: Json;
  try {
    const doc = parseDocument(bodyText, { uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0)
      throw errors.badRequest(`the body is not valid YAML: ${doc.errors[0]?.message ?? ""}`);
    value = doc.toJS({ maxAliasCount: 100 }) as Json;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw errors.badRequest(
      `the body is not valid YAML: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  checkValueNesting(value);
  return value;
}

export function patchType(contentType: string | undefined): PatchType {
  const t = (contentType ?? "").split(";")[0]?.trim();
  switch (t) {
    case "application/json-patch+json":
      return "json";
    case "application/merge-patch+json":
      return "merge";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/apply-patch+yaml":
    case "application/apply-patch+json":
      return "apply";
    default:
      throw errors.unsupportedMediaType(t ?? "");
  }
}

export function listOptions(q: URLSearchParams): {
  labelSelector?: (o: JsonObject) => boolean;
  fieldSelector?: (o: JsonObject) => boolean;
  limit?: number;
  continueToken?: string;
} {
  const out: {
    labelSelector?: (o: JsonObject) => boolean;
    fieldSelector?: (o: JsonObject) => boolean;
    limit?: number;
    continueToken?: string;
  } = {};
  const ls = labelSelector(q.get("labelSelector"));
  if (ls !== undefined) out.labelSelector = ls;
  const fs = fieldSelector(q.get("fieldSelector"));
  if (fs !== undefined) out.fieldSelector = fs;
  const limit = q.get("limit");
  if (limit !== null) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 0) throw errors.badRequest(`invalid limit ${JSON.stringify(limit)}`);
    out.limit = n;
  }
  const cont = q.get("continue");
  if (cont !== null && cont !== "") out.continueToken = cont;
  return out;
}

export function deleteOptions(
  req: http.IncomingMessage,
  body: Buffer | undefined,
  q: URLSearchParams,
): { propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } } {
  const out: { propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } } = {};
  const pp = q.get("propagationPolicy");
  if (pp !== null) out.propagationPolicy = pp;
  if (body !== undefined && body.length > 0) {
    const opts = parseBody(req, body, false);
    if (isObject(opts)) {
      if (typeof opts["propagationPolicy"] === "string") out.propagationPolicy = opts["propagationPolicy"];
      if (opts["orphanDependents"] === true) out.propagationPolicy = "Orphan";
      const pre = opts["preconditions"];
      if (isObject(pre)) {
        out.preconditions = {};
        if (typeof pre["uid"] === "string") out.preconditions.uid = pre["uid"];
        if (typeof pre["resourceVersion"] === "string")
          out.preconditions.resourceVersion = pre["resourceVersion"];
      }
    }
  }
  if (
    out.propagationPolicy !== undefined &&
    !["Background", "Foreground", "Orphan"].includes(out.propagationPolicy)
  ) {
    throw errors.badRequest(`unknown propagationPolicy ${JSON.stringify(out.propagationPolicy)}`);
  }
  return out;
}

export function sendRaw(res: http.ServerResponse, code: number, body: string): void {
  const bytes = Buffer.from(body, "utf8");
  res.writeHead(code, { "Content-Type": JSON_TYPE, "Content-Length": bytes.length }).end(bytes);
}

export function sendJson(res: http.ServerResponse, code: number, value: unknown): void {
  sendRaw(res, code, JSON.stringify(value));
}

export function sendError(res: http.ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { "Content-Type": JSON_TYPE };
  if (err.code === 429) headers["Retry-After"] = "1";
  if (err.code === 413) headers["Connection"] = "close";
  const body = JSON.stringify(err.toStatus());
  res.writeHead(err.code, { ...headers, "Content-Length": text(Buffer.byteLength(body)) }).end(body);
}

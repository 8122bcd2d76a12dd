// AdmissionReview admission.k8s.io/v1: the request the API server sends (parsed defensively: it is the
// only input of the webhook) and the response it expects (uid, allowed, status, warnings). Shapes from the
// Kubernetes documentation "Dynamic Admission Control" (extensible-admission-controllers).
import { isRecord } from "../json/record.js";

export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

export const OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT"] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
}

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  /** "" for the main resource, else e.g. "status", "scale", "ephemeralcontainers". */
  readonly subResource: string;
  readonly name: string;
  readonly namespace: string;
  readonly operation: Operation;
  readonly userInfo: UserInfo;
  /** The new object (CREATE, UPDATE); null on DELETE. */
  readonly object: Record<string, unknown> | null;
  /** The existing object (UPDATE, DELETE); null on CREATE. */
  readonly oldObject: Record<string, unknown> | null;
  readonly dryRun: boolean;
  /** The request as the API server sent it, for CEL rules (`request`). */
  readonly raw: Record<string, unknown>;
}

export type ParsedReview = { ok: true; request: AdmissionRequest } | { ok: false; message: string };

/** uid is echoed back to the API server, so it is kept to what a uid can be. */
const UID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function gvk(v: unknown): GroupVersionKind | undefined {
  if (!isRecord(v)) return undefined;
  const group = str(v["group"]) ?? "";
  const version = str(v["version"]);
  const kind = str(v["kind"]);
  return version === undefined || kind === undefined ? undefined : { group, version, kind };
}

function gvr(v: unknown): GroupVersionResource | undefined {
  if (!isRecord(v)) return undefined;
  const group = str(v["group"]) ?? "";
  const version = str(v["version"]);
  const resource = str(v["resource"]);
  return version === undefined || resource === undefined ? undefined : { group, version, resource };
}

function objectOrNull(v: unknown): Record<string, unknown> | null | "bad" {
  if (v === undefined || v === null) return null;
  return isRecord(v) ? v : "bad";
}

/** Parses an AdmissionReview body; anything that is not one is a message for a 400, never a throw. */
export function parseReview(body: unknown): ParsedReview {
  const bad = (message: string): ParsedReview => ({ ok: false, message });
  if (!isRecord(body)) return bad("the body is not a JSON object");
  if (body["apiVersion"] !== ADMISSION_API_VERSION || body["kind"] !== "AdmissionReview")
    return bad(`expected apiVersion ${ADMISSION_API_VERSION}, kind AdmissionReview`);
  const r = body["request"];
  if (!isRecord(r)) return bad("request is missing");
  const uid = str(r["uid"]);
  if (uid === undefined || !UID.test(uid)) return bad("request.uid is missing or not a uid");
  const kind = gvk(r["kind"]);
  const resource = gvr(r["resource"]);
  if (kind === undefined || resource === undefined) return bad("request.kind or request.resource is missing");
  const operation = str(r["operation"]);
  if (!(OPERATIONS as readonly string[]).includes(operation ?? ""))
    return bad("request.operation is not CREATE, UPDATE, DELETE or CONNECT");
  const ui = r["userInfo"];
  if (!isRecord(ui) || typeof ui["username"] !== "string") return bad("request.userInfo.username is missing");
  const groups = Array.isArray(ui["groups"]) ? ui["groups"].filter((g) => typeof g === "string") : [];
  const object = objectOrNull(r["object"]);
  const oldObject = objectOrNull(r["oldObject"]);
  if (object === "bad" || oldObject === "bad")
    return bad("request.object or request.oldObject is not an object");
  if (operation !== "DELETE" && operation !== "CONNECT" && object === null)
    return bad(`request.object is missing for ${operation}`);
  const uiUid = str(ui["uid"]);
  return {
    ok: true,
    request: {
      uid,
      kind,
      resource,
      subResource: str(r["subResource"]) ?? "",
      name: str(r["name"]) ?? "",
      namespace: str(r["namespace"]) ?? "",
      operation: operation as Operation,
      userInfo: { username: ui["username"], groups, ...(uiUid === undefined ? {} : { uid: uiUid }) },
      object,
      oldObject,
      dryRun: r["dryRun"] === true,
      raw: r,
    },
  };
}

export interface Verdict {
  readonly allowed: boolean;
  /** The verdict code of a denial (the rule id or an admission code); also set for audit-mode hits. */
  readonly code?: string;
  readonly message: string;
  readonly warnings: readonly string[];
}

/** The Kubernetes limits on warnings: each at most 256 characters, all together at most 4096. */
const WARNING_MAX = 256;
const WARNINGS_TOTAL = 4096;

function boundedWarnings(warnings: readonly string[]): string[] {
  const out: string[] = [];
  let total = 0;
  for (const w of warnings) {
    const one = w.length > WARNING_MAX ? `${w.slice(0, WARNING_MAX - 3)}...` : w;
    if (total + one.length > WARNINGS_TOTAL) break;
    total += one.length;
    out.push(one);
  }
  return out;
}

/** The AdmissionReview response for `uid`. */
export function reviewResponse(uid: string, v: Verdict): Record<string, unknown> {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: "AdmissionReview",
    response: {
      uid,
      allowed: v.allowed,
      status: v.allowed
        ? { code: 200, message: v.message }
        : { code: 403, reason: "Forbidden", message: v.message.slice(0, 4096) },
      ...(v.warnings.length === 0 ? {} : { warnings: boundedWarnings(v.warnings) }),
      ...(v.code === undefined ? {} : { auditAnnotations: { verdict: v.code } }),
    },
  };
}

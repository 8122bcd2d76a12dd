// Request bodies in Kubernetes' protobuf encoding. kubectl's typed commands (`create namespace|
// serviceaccount|configmap|secret|role|rolebinding|clusterrole|clusterrolebinding|token`, `auth can-i`,
// `auth whoami`) send `application/vnd.kubernetes.protobuf` with no JSON fallback, so the sandbox decodes
// those kinds: the "k8s\0" envelope (runtime.Unknown), then the object by the field numbers of
// Kubernetes' generated.proto files (workload kinds in protobuf-workloads.ts). Other kinds, and any field
// the schema does not name, answer 415 and a hint to use `kubectl apply`: nothing is dropped silently.
import protobuf from "protobufjs";
import { errors } from "./errors.js";
import type { Json, JsonObject } from "./fieldset.js";
import { inlined, meaningfulZero, workloadKinds, workloadSchema } from "./protobuf-workloads.js";

const schema = `
syntax = "proto2";
package k8s;
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown { optional TypeMeta typeMeta = 1; optional bytes raw = 2; optional string contentEncoding = 3; optional string contentType = 4; }
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message OwnerReference { optional string kind = 1; optional string name = 3; optional string uid = 4; optional string apiVersion = 5; optional bool controller = 6; optional bool blockOwnerDeletion = 7; }
message ObjectMeta {
  optional string name = 1; optional string generateName = 2; optional string namespace = 3; optional string selfLink = 4;
  optional string uid = 5; optional string resourceVersion = 6; optional int64 generation = 7;
  optional Time creationTimestamp = 8; optional Time deletionTimestamp = 9; optional int64 deletionGracePeriodSeconds = 10;
  map<string, string> labels = 11; map<string, string> annotations = 12; repeated OwnerReference ownerReferences = 13;
  repeated string finalizers = 14;
}
message ObjectReference { optional string kind = 1; optional string namespace = 2; optional string name = 3; optional string uid = 4; optional string apiVersion = 5; optional string resourceVersion = 6; optional string fieldPath = 7; }
message LocalObjectReference { optional string name = 1; }
message ConfigMap { optional ObjectMeta metadata = 1; map<string, string> data = 2; map<string, bytes> binaryData = 3; optional bool immutable = 4; }
message Secret { optional ObjectMeta metadata = 1; map<string, bytes> data = 2; optional string type = 3; map<string, string> stringData = 4; optional bool immutable = 5; }
message ServiceAccount { optional ObjectMeta metadata = 1; repeated ObjectReference secrets = 2; repeated LocalObjectReference imagePullSecrets = 3; optional bool automountServiceAccountToken = 4; }
message NamespaceSpec { repeated string finalizers = 1; }
message NamespaceStatus { optional string phase = 1; }
message Namespace { optional ObjectMeta metadata = 1; optional NamespaceSpec spec = 2; optional NamespaceStatus status = 3; }
message PolicyRule { repeated string verbs = 1; repeated string apiGroups = 2; repeated string resources = 3; repeated string resourceNames = 4; repeated string nonResourceURLs = 5; }
message LabelSelectorRequirement { optional string key = 1; optional string operator = 2; repeated string values = 3; }
message LabelSelector { map<string, string> matchLabels = 1; repeated LabelSelectorRequirement matchExpressions = 2; }
message AggregationRule { repeated LabelSelector clusterRoleSelectors = 1; }
message Role { optional ObjectMeta metadata = 1; repeated PolicyRule rules = 2; }
message ClusterRole { optional ObjectMeta metadata = 1; repeated PolicyRule rules = 2; optional AggregationRule aggregationRule = 3; }
message Subject { optional string kind = 1; optional string apiGroup = 2; optional string name = 3; optional string namespace = 4; }
message RoleRef { optional string apiGroup = 1; optional string kind = 2; optional string name = 3; }
message RoleBinding { optional ObjectMeta metadata = 1; repeated Subject subjects = 2; optional RoleRef roleRef = 3; }
message ResourceAttributes { optional string namespace = 1; optional string verb = 2; optional string group = 3; optional string version = 4; optional string resource = 5; optional string subresource = 6; optional string name = 7; }
message NonResourceAttributes { optional string path = 1; optional string verb = 2; }
message SelfSubjectAccessReviewSpec { optional ResourceAttributes resourceAttributes = 1; optional NonResourceAttributes nonResourceAttributes = 2; }
message SubjectAccessReviewStatus { optional bool allowed = 1; optional string reason = 2; optional string evaluationError = 3; optional bool denied = 4; }
message SelfSubjectAccessReview { optional ObjectMeta metadata = 1; optional SelfSubjectAccessReviewSpec spec = 2; optional SubjectAccessReviewStatus status = 3; }
message SubjectAccessReviewSpec { optional ResourceAttributes resourceAttributes = 1; optional NonResourceAttributes nonResourceAttributes = 2; optional string user = 3; repeated string groups = 4; optional string uid = 6; }
message SubjectAccessReview { optional ObjectMeta metadata = 1; optional SubjectAccessReviewSpec spec = 2; optional SubjectAccessReviewStatus status = 3; }
message SelfSubjectRulesReviewSpec { optional string namespace = 1; }
message SubjectRulesReviewStatus { optional bool incomplete = 3; optional string evaluationError = 4; }
message SelfSubjectRulesReview { optional ObjectMeta metadata = 1; optional SelfSubjectRulesReviewSpec spec = 2; optional SubjectRulesReviewStatus status = 3; }
message UserInfo { optional string username = 1; optional string uid = 2; repeated string groups = 3; }
message SelfSubjectReviewStatus { optional UserInfo userInfo = 1; }
message SelfSubjectReview { optional ObjectMeta metadata = 1; optional SelfSubjectReviewStatus status = 2; }
message BoundObjectReference { optional string kind = 1; optional string apiVersion = 2; optional string name = 3; optional string uid = 4; }
message TokenRequestSpec { repeated string audiences = 1; optional BoundObjectReference boundObjectRef = 3; optional int64 expirationSeconds = 4; }
message TokenRequestStatus { optional string token = 1; optional Time expirationTimestamp = 2; }
message TokenRequest { optional ObjectMeta metadata = 1; optional TokenRequestSpec spec = 2; optional TokenRequestStatus status = 3; }
message TokenReviewSpec { optional string token = 1; repeated string audiences = 2; }
message TokenReviewStatus { optional bool authenticated = 1; optional UserInfo user = 2; optional string error = 3; repeated string audiences = 4; }
message TokenReview { optional ObjectMeta metadata = 1; optional TokenReviewSpec spec = 2; optional TokenReviewStatus status = 3; }
${workloadSchema}`;

const root = protobuf.parse(schema, { keepCase: true }).root.resolveAll();
const type = (name: string): protobuf.Type => root.lookupType(`k8s.${name}`);

/** Message type by "apiVersion/Kind" of the envelope. */
const kinds: Record<string, string> = {
  "v1/ConfigMap": "ConfigMap",
  "v1/Secret": "Secret",
  "v1/ServiceAccount": "ServiceAccount",
  "v1/Namespace": "Namespace",
  "rbac.authorization.k8s.io/v1/Role": "Role",
  "rbac.authorization.k8s.io/v1/ClusterRole": "ClusterRole",
  "rbac.authorization.k8s.io/v1/RoleBinding": "RoleBinding",
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": "RoleBinding",
  "authorization.k8s.io/v1/SelfSubjectAccessReview": "SelfSubjectAccessReview",
  "authorization.k8s.io/v1/SubjectAccessReview": "SubjectAccessReview",
  "authorization.k8s.io/v1/LocalSubjectAccessReview": "SubjectAccessReview",
  "authorization.k8s.io/v1/SelfSubjectRulesReview": "SelfSubjectRulesReview",
  "authentication.k8s.io/v1/SelfSubjectReview": "SelfSubjectReview",
  "authentication.k8s.io/v1/TokenRequest": "TokenRequest",
  "authentication.k8s.io/v1/TokenReview": "TokenReview",
  ...workloadKinds,
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const HINT = "send JSON, e.g. with kubectl apply";

/**
 * The first field on the wire that the schema does not name, as "path: field N", or undefined. protobufjs
 * skips unknown fields without a word, which would store an object short of what the client sent.
 */
function unknownField(t: protobuf.Type, buf: Uint8Array, at: string): string | undefined {
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const f = t.fieldsById[id];
    if (f === undefined) return `${at}: field ${id}`;
    const where = `${at}.${f.name}`;
    const message = f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined;
    if (wire === 2 && f.map) {
      // A map entry is a message { key = 1; value = 2; }.
      const entry = protobuf.Reader.create(r.bytes());
      while (entry.pos < entry.len) {
        const etag = entry.uint32();
        const eid = etag >>> 3;
        if (eid !== 1 && eid !== 2) return `${where}: field ${eid}`;
        if (eid === 2 && message !== undefined && (etag & 7) === 2) {
          const inner = unknownField(message, entry.bytes(), where);
          if (inner !== undefined) return inner;
        } else entry.skipType(etag & 7);
      }
    } else if (wire === 2 && message !== undefined) {
      const inner = unknownField(message, r.bytes(), where);
      if (inner !== undefined) return inner;
    } else r.skipType(wire);
  }
  return undefined;
}

function rfc3339(o: Record<string, unknown>): string | undefined {
  const seconds = Number(o["seconds"] ?? 0);
  return seconds === 0 ? undefined : new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** One decoded value of a field as JSON: the special meta/v1 encodings become their JSON forms. */
function value(t: protobuf.Type | undefined, v: unknown): Json | undefined {
  if (t === undefined) return v as Json;
  const o = (v ?? {}) as Record<string, unknown>;
  if (t.name === "Time") return rfc3339(o);
  if (t.name === "Quantity") return typeof o["string"] === "string" ? o["string"] : undefined;
  if (t.name === "IntOrString") {
    return Number(o["type"] ?? 0) === 1
      ? typeof o["strVal"] === "string"
        ? o["strVal"]
        : ""
      : Number(o["intVal"] ?? 0);
  }
  return toJson(t, o);
}

/**
 * Go writes every non-pointer field, empty or not; the JSON form omits empty ones. Dropping empty strings,
 * zeros, false and empty lists, maps and messages gives the JSON a client would have sent, except where
 * the zero was meant (meaningfulZero). Embedded structs are folded into their parent as JSON does.
 */
function toJson(t: protobuf.Type, o: Record<string, unknown>): JsonObject | undefined {
  const out: JsonObject = {};
  for (const f of t.fieldsArray) {
    const v = o[f.name];
    if (v === undefined || v === null) continue;
    const sub = f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined;
    let j: Json | undefined;
    if (f.map) {
      const m: JsonObject = {};
      for (const [k, c] of Object.entries(v as Record<string, unknown>)) {
        const e = value(sub, c);
        // A map value is kept even when empty: labels {"a": ""} says something.
        m[k] = e === undefined ? (sub === undefined ? "" : {}) : e;
      }
      j = Object.keys(m).length === 0 ? undefined : m;
    } else if (f.repeated) {
      // In a list an empty value is a value (apiGroups: [""] is the core group), not an absent field.
      const items = (v as unknown[]).map((i) => value(sub, i) ?? (sub === undefined ? (i as Json) : {}));
      j = items.length === 0 ? undefined : items;
    } else {
      j = value(sub, v);
      const keep = meaningfulZero.has(`${t.name}.${f.name}`) || sub?.name === "IntOrString";
      if (!keep && (j === "" || j === 0 || j === false)) j = undefined;
    }
    if (j === undefined) continue;
    if (inlined.has(f.name) && typeof j === "object" && !Array.isArray(j)) Object.assign(out, j);
    else out[f.name] = j;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Decodes a protobuf request body into the JSON object the client meant. */
export function decodeProtobuf(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw errors.badRequest("a protobuf body must start with the k8s\\0 envelope");
  }
  let envelope: Record<string, unknown>;
  try {
    envelope = type("Unknown").toObject(type("Unknown").decode(body.subarray(4)), {
      defaults: false,
    });
  } catch (err) {
    throw errors.badRequest(
      `the protobuf body cannot be decoded: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const tm = (envelope["typeMeta"] ?? {}) as { apiVersion?: string; kind?: string };
  const key = `${tm.apiVersion ?? ""}/${tm.kind ?? ""}`;
  const message = kinds[key];
  if (message === undefined) {
    throw errors.unsupportedMediaType(
      `application/vnd.kubernetes.protobuf for ${key} (the sandbox decodes protobuf only for the kinds kubectl's create, run and auth commands send; ${HINT})`,
    );
  }
  const raw = envelope["raw"];
  const bytes = raw instanceof Uint8Array ? raw : new Uint8Array();
  const t = type(message);
  let decoded: Record<string, unknown>;
  let unknown: string | undefined;
  try {
    unknown = unknownField(type("Unknown"), body.subarray(4), "envelope") ?? unknownField(t, bytes, message);
    decoded = t.toObject(t.decode(bytes), { longs: Number, bytes: String, defaults: false });
  } catch (err) {
    throw errors.badRequest(
      `the protobuf body cannot be decoded as ${key}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (unknown !== undefined) {
    throw errors.unsupportedMediaType(
      `application/vnd.kubernetes.protobuf for ${key} with ${unknown}, which the sandbox's protobuf schema does not know (it refuses rather than drop it; ${HINT})`,
    );
  }
  return { apiVersion: tm.apiVersion ?? "", kind: tm.kind ?? "", ...(toJson(t, decoded) ?? {}) };
}

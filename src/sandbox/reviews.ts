// The create-only APIs that answer rather than store: access reviews (SelfSubjectAccessReview,
// SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview), TokenReview, SelfSubjectReview,
// and TokenRequest, which mints a service-account token.
import { serviceAccountUser } from "./auth.js";
import { groupVersionOf, type ResourceDef } from "./catalog.js";
import { errors } from "./errors.js";
import { isObject, text, type Json, type JsonObject } from "./fieldset.js";
import { authorize, rulesFor, type Attributes, type UserInfo } from "./rbac.js";
import { metaOf } from "./store.js";
import { str } from "./http-io.js";
import type { ServerParts } from "./server-parts.js";

export function review(
  parts: ServerParts,
  def: ResourceDef,
  ns: string,
  body: Json,
  user: UserInfo,
): JsonObject {
  if (!isObject(body)) throw errors.badRequest("the request body must be an object");
  const spec = isObject(body["spec"]) ? body["spec"] : {};
  const out: JsonObject = {
    kind: def.kind,
    apiVersion: groupVersionOf(def),
    metadata: { creationTimestamp: null },
    spec,
  };
  const access = (subject: UserInfo): JsonObject => {
    const ra = spec["resourceAttributes"];
    const na = spec["nonResourceAttributes"];
    let attrs: Attributes;
    if (isObject(ra)) {
      attrs = {
        verb: str(ra["verb"]),
        resourceRequest: true,
        apiGroup: str(ra["group"]),
        resource: str(ra["resource"]),
      };
      if (str(ra["subresource"]) !== "") attrs.subresource = str(ra["subresource"]);
      const rns = def.kind === "LocalSubjectAccessReview" ? ns : str(ra["namespace"]);
      if (rns !== "") attrs.namespace = rns;
      if (str(ra["name"]) !== "") attrs.name = str(ra["name"]);
    } else if (isObject(na)) {
      attrs = { verb: str(na["verb"]), resourceRequest: false, path: str(na["path"]) };
    } else
      throw errors.invalid(def.kind, { group: "authorization.k8s.io", resource: def.resource }, [
        {
          type: "FieldValueRequired",
          message:
            "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
          field: "spec.resourceAttributes",
        },
      ]);
    const d = authorize(parts.store, subject, attrs);
    return d.allowed ? { allowed: true, reason: d.reason } : { allowed: false };
  };
  switch (def.kind) {
    case "SelfSubjectAccessReview":
      out["status"] = access(user);
      return out;
    case "SubjectAccessReview":
    case "LocalSubjectAccessReview": {
      const subject: UserInfo = {
        name: str(spec["user"]),
        groups: Array.isArray(spec["groups"]) ? spec["groups"].map(String) : [],
      };
      out["status"] = access(subject);
      if (def.kind === "LocalSubjectAccessReview")
        out["metadata"] = { namespace: ns, creationTimestamp: null };
      return out;
    }
    case "SelfSubjectRulesReview": {
      const rules = rulesFor(parts.store, user, str(spec["namespace"]));
      out["status"] = {
        resourceRules: rules.filter((r) => isObject(r) && r["nonResourceURLs"] === undefined),
        nonResourceRules: rules.filter((r) => isObject(r) && r["nonResourceURLs"] !== undefined),
        incomplete: false,
      };
      return out;
    }
    case "TokenReview": {
      const entry = parts.tokens.lookup(str(spec["token"]));
      out["status"] =
        entry === undefined
          ? { authenticated: false, error: "invalid bearer token" }
          : {
              authenticated: true,
              user: {
                username: entry.user.name,
                groups: entry.user.groups,
                ...(entry.user.uid === undefined ? {} : { uid: entry.user.uid }),
              },
            };
      return out;
    }
    case "SelfSubjectReview":
      out["status"] = {
        userInfo: {
          username: user.name,
          groups: user.groups,
          ...(user.uid === undefined ? {} : { uid: user.uid }),
        },
      };
      return out;
  }
  throw errors.notFoundPath();
}

export function tokenRequest(
  parts: ServerParts,
  ns: string,
  name: string,
  body: Json,
  dryRun: boolean,
): JsonObject {
  const sa = parts.api.getStored(
    parts.catalog.find("", "v1", "serviceaccounts") as ResourceDef,
    ns,
    name,
  ).obj;
  const spec = isObject(body) && isObject(body["spec"]) ? body["spec"] : {};
  const seconds = typeof spec["expirationSeconds"] === "number" ? spec["expirationSeconds"] : 3600;
  if (seconds < 600) {
    throw errors.invalid(
      "TokenRequest",
      { group: "authentication.k8s.io", resource: "tokenrequests", name },
      [
        {
          type: "FieldValueInvalid",
          message: "may not specify a duration less than 10 minutes",
          field: "spec.expirationSeconds",
        },
      ],
    );
  }
  const expires = Date.now() + seconds * 1000;
  const uid = text(metaOf(sa)["uid"]);
  const token = dryRun
    ? ""
    : parts.tokens.mint({
        user: serviceAccountUser(ns, name, uid),
        expires,
        serviceAccount: { namespace: ns, name, uid },
      });
  parts.store.changed();
  return {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { name, namespace: ns, creationTimestamp: null },
    spec: {
      audiences: Array.isArray(spec["audiences"]) ? spec["audiences"] : ["https://kubernetes.default.svc"],
      expirationSeconds: seconds,
      boundObjectRef: null,
    },
    status: { token, expirationTimestamp: new Date(expires).toISOString().replace(/\.\d{3}Z$/, "Z") },
  };
}

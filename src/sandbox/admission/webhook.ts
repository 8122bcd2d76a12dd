// Calls ValidatingWebhookConfiguration webhooks as kube-apiserver does: every matching webhook at once,
// over HTTPS verified against its caBundle, with ?timeout= and its deadline; an AdmissionReview v1 out, one
// back. A denial is a Status "admission webhook "NAME" denied the request: MSG"; a failed call is decided
// by failurePolicy (Fail: 500 InternalError; Ignore: allowed).
import https from "node:https";
import { randomUUID } from "node:crypto";
import { ApiError, errors } from "../errors.js";
import { isObject, text, type Json, type JsonObject } from "../fieldset.js";
import type { Store } from "../store.js";
import { matchConditions } from "./cel.js";
import {
  admissionRequest,
  namespaceMatches,
  objectMatches,
  rulesMatch,
  type AdmissionAttributes,
} from "./match.js";

/** Where a webhook's `service` reference is served: "namespace/name" (or "namespace/name:port") → base URL. */
export type ServiceUrls = Map<string, string>;

const MAX_RESPONSE = 3 * 1024 * 1024;
const WEBHOOKS = "admissionregistration.k8s.io/validatingwebhookconfigurations";

interface Hook {
  readonly name: string;
  readonly spec: JsonObject;
}

/** The webhooks of all configurations, in the order kube-apiserver keeps them (configuration name, then list). */
function hooksOf(store: Store): Hook[] {
  return store
    .list(WEBHOOKS, undefined)
    .flatMap((s) =>
      (Array.isArray(s.obj["webhooks"]) ? s.obj["webhooks"] : []).flatMap((w) =>
        isObject(w) ? [{ name: text(w["name"]), spec: w }] : [],
      ),
    );
}

export const hasWebhooks = (store: Store): boolean => store.table(WEBHOOKS).size > 0;

/** Runs the matching webhooks; resolves with their warnings, or rejects with the first refusal. */
export async function callWebhooks(
  store: Store,
  services: ServiceUrls,
  a: AdmissionAttributes,
  vars: Record<string, unknown>,
): Promise<string[]> {
  const calls: Promise<{ warnings: string[]; error?: ApiError }>[] = [];
  for (const h of hooksOf(store)) {
    const w = h.spec;
    if (!rulesMatch(w["rules"], a, w["matchPolicy"])) continue;
    if (!namespaceMatches(store, w["namespaceSelector"], a)) continue;
    if (!objectMatches(w["objectSelector"], a)) continue;
    const fail = w["failurePolicy"] !== "Ignore";
    const mc = matchConditions(w["matchConditions"], vars);
    if (mc.error !== undefined) {
      if (fail) calls.push(Promise.resolve({ warnings: [], error: callError(h.name, mc.error) }));
      continue;
    }
    if (!mc.matches) continue;
    if (a.dryRun && w["sideEffects"] !== "None" && w["sideEffects"] !== "NoneOnDryRun") {
      calls.push(
        Promise.resolve({
          warnings: [],
          error: errors.badRequest(`admission webhook ${JSON.stringify(h.name)} does not support dry run`),
        }),
      );
      continue;
    }
    calls.push(
      callOne(h, services, a).then(
        (r) => r,
        (err: unknown) => {
          const why = err instanceof Error ? err.message : String(err);
          return fail ? { warnings: [], error: callError(h.name, why) } : { warnings: [] };
        },
      ),
    );
  }
  const results = await Promise.all(calls);
  const refused = results.find((r) => r.error !== undefined);
  if (refused?.error !== undefined) throw refused.error;
  return results.flatMap((r) => r.warnings);
}

function callError(name: string, why: string): ApiError {
  const message = `failed calling webhook ${JSON.stringify(name)}: ${why}`;
  return new ApiError(500, "InternalError", `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

/** One webhook call: resolves with its warnings or its refusal; rejects when the call itself failed. */
async function callOne(
  h: Hook,
  services: ServiceUrls,
  a: AdmissionAttributes,
): Promise<{ warnings: string[]; error?: ApiError }> {
  const timeoutSeconds = typeof h.spec["timeoutSeconds"] === "number" ? h.spec["timeoutSeconds"] : 10;
  const target = targetOf(h.spec, services);
  target.url.searchParams.set("timeout", `${timeoutSeconds}s`);
  const uid = randomUUID();
  const review = {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: admissionRequest(a, uid),
  };
  const where = `Post ${JSON.stringify(target.url.toString())}`;
  const reply = await post(target, JSON.stringify(review), timeoutSeconds * 1000).catch((err: unknown) => {
    throw new Error(`failed to call webhook: ${where}: ${describeNetError(err)}`);
  });
  if (reply.status < 200 || reply.status > 299) {
    throw new Error(
      `failed to call webhook: an error on the server (${JSON.stringify(reply.text.slice(0, 200))}) has prevented the request from succeeding`,
    );
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(reply.text) as Json;
  } catch {
    throw new Error("received invalid webhook response: the response is not JSON");
  }
  const response = isObject(parsed) ? parsed["response"] : undefined;
  if (
    !isObject(parsed) ||
    parsed["apiVersion"] !== "admission.k8s.io/v1" ||
    parsed["kind"] !== "AdmissionReview"
  ) {
    throw new Error(
      `received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${text(isObject(parsed) ? parsed["apiVersion"] : "")}, Kind=${text(isObject(parsed) ? parsed["kind"] : "")}`,
    );
  }
  if (!isObject(response)) throw new Error("received invalid webhook response: webhook response was absent");
  if (response["uid"] !== uid) {
    throw new Error(
      `received invalid webhook response: expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(text(response["uid"]))}`,
    );
  }
  if (response["patch"] !== undefined || response["patchType"] !== undefined) {
    throw new Error("received invalid webhook response: validating webhooks may not return patches");
  }
  const warnings = Array.isArray(response["warnings"])
    ? response["warnings"].filter((w): w is string => typeof w === "string")
    : [];
  if (response["allowed"] === true) return { warnings };
  return { warnings, error: denial(h.name, response["status"]) };
}

/** kube-apiserver's ToStatusErr: a code of at least 400, Failure, and the webhook's message after its name. */
function denial(name: string, status: Json | undefined): ApiError {
  const s = isObject(status) ? status : {};
  const code = typeof s["code"] === "number" && s["code"] >= 400 ? s["code"] : 400;
  const deniedBy = `admission webhook ${JSON.stringify(name)} denied the request`;
  const msg = typeof s["message"] === "string" ? s["message"] : "";
  const reasonText = typeof s["reason"] === "string" ? s["reason"] : "";
  const message =
    msg !== ""
      ? `${deniedBy}: ${msg}`
      : reasonText !== ""
        ? `${deniedBy}: ${reasonText}`
        : `${deniedBy} without explanation`;
  const details = isObject(s["details"]) ? (s["details"] as ApiError["details"]) : undefined;
  return new ApiError(code, reasonText, message, details);
}

interface Target {
  url: URL;
  servername?: string;
  ca?: string;
}

/** The URL to call: clientConfig.url, or the service's base URL from the sandbox's service map. */
function targetOf(spec: JsonObject, services: ServiceUrls): Target {
  const cc = isObject(spec["clientConfig"]) ? spec["clientConfig"] : {};
  const ca =
    typeof cc["caBundle"] === "string" && cc["caBundle"] !== ""
      ? Buffer.from(cc["caBundle"], "base64").toString("utf8")
      : undefined;
  const withCa = (t: Target): Target => (ca === undefined ? t : { ...t, ca });
  if (typeof cc["url"] === "string") return withCa({ url: new URL(cc["url"]) });
  const svc = isObject(cc["service"]) ? cc["service"] : {};
  const ns = text(svc["namespace"]);
  const name = text(svc["name"]);
  const port = typeof svc["port"] === "number" ? svc["port"] : 443;
  const base = services.get(`${ns}/${name}:${port}`) ?? services.get(`${ns}/${name}`);
  if (base === undefined) {
    throw new Error(
      `failed to call webhook: service "${ns}/${name}:${port}" has no address in the sandbox (give it with the webhookServices option)`,
    );
  }
  const url = new URL(base);
  const p = typeof svc["path"] === "string" ? svc["path"] : "";
  url.pathname = `${url.pathname.replace(/\/$/, "")}${p}` || "/";
  // The serving certificate must name the service's DNS name, as in a cluster.
  return withCa({ url, servername: `${name}.${ns}.svc` });
}

function post(t: Target, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const opts: https.RequestOptions = {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Content-Length": Buffer.byteLength(body),
      },
      agent: false,
    };
    if (t.ca !== undefined) opts.ca = t.ca;
    if (t.servername !== undefined) opts.servername = t.servername;
    const req = https.request(t.url, opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE) req.destroy(new Error(`the response is larger than ${MAX_RESPONSE} bytes`));
        else chunks.push(c);
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    });
    const timer = setTimeout(() => req.destroy(new DeadlineError()), timeoutMs);
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

class DeadlineError extends Error {
  constructor() {
    super("context deadline exceeded");
  }
}

/** Node's network and TLS errors in the words Go's client uses, which users search for. */
function describeNetError(err: unknown): string {
  if (err instanceof DeadlineError) return err.message;
  const e = err as { code?: unknown; message?: unknown; address?: unknown; port?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  if (code === "ECONNREFUSED")
    return `dial tcp ${String(e.address)}:${String(e.port)}: connect: connection refused`;
  if (
    [
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "UNABLE_TO_GET_ISSUER_CERT",
      "CERT_SIGNATURE_FAILURE",
    ].includes(code)
  )
    return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `tls: failed to verify certificate: x509: ${typeof e.message === "string" ? e.message : "certificate is not valid for the host"}`;
  if (code === "CERT_HAS_EXPIRED")
    return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
  return typeof e.message === "string" ? e.message : String(err);
}

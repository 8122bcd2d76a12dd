// Rules every stored object follows whoever writes it: server-owned metadata, timestamps, kinds without
// a generation, defaulted ports, generated names, Secret data, and what counts as a change.
import { randomBytes } from "node:crypto";
import { isObject, jsonEqual, text, type Json, type JsonObject } from "./fieldset.js";
import { errors } from "./errors.js";
import { metaOf } from "./store.js";

export const grOf = (def: { group: string; resource: string }): string => `${def.group}/${def.resource}`;

let lastSecond = 0;

let lastStamp = "";

/** RFC 3339 time to the second, as Kubernetes writes timestamps (made once per second: writes are hot). */
export const now = (): string => {
  const second = Math.floor(Date.now() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastStamp = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return lastStamp;
};

export const clone = (o: JsonObject): JsonObject => JSON.parse(JSON.stringify(o)) as JsonObject;

/** Metadata fields that belong to the server: never owned by a field manager, never taken from a request. */
export const serverMeta = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
];

/** Kinds without a `metadata.generation` in Kubernetes. */
export const noGeneration = new Set([
  "/ConfigMap",
  "/Secret",
  "/ServiceAccount",
  "/Event",
  "/Endpoints",
  "/Namespace",
]);

/** Kinds with ports (in pod templates or services) whose protocol the server defaults. */
export const defaultedKinds = new Set([
  "/Pod",
  "/PodTemplate",
  "/Service",
  "apps/Deployment",
  "apps/StatefulSet",
  "apps/DaemonSet",
  "apps/ReplicaSet",
  "batch/Job",
  "batch/CronJob",
]);

/** Defaults the server fills in that merge keys depend on (a port's protocol). */
export function applyDefaults(value: Json, parentKey = ""): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (parentKey === "ports" && isObject(item) && item["protocol"] === undefined) {
        if (item["containerPort"] !== undefined || item["port"] !== undefined) item["protocol"] = "TCP";
      }
      applyDefaults(item, "");
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) if (typeof v === "object" && v !== null) applyDefaults(v, k);
  }
}

export function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length] ?? "x").join("");
}

export function keyFor(obj: JsonObject): string {
  const m = metaOf(obj);
  return `${typeof m["namespace"] === "string" ? m["namespace"] : ""}/${text(m["name"])}`;
}

export function strings(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export function ownerUids(obj: JsonObject): string[] {
  const refs = metaOf(obj)["ownerReferences"];
  if (!Array.isArray(refs)) return [];
  return refs.flatMap((r) => (isObject(r) && typeof r["uid"] === "string" ? [r["uid"]] : []));
}

export function stripRv(obj: JsonObject): JsonObject {
  const c: JsonObject = { ...obj, metadata: { ...metaOf(obj) } };
  const m = c["metadata"] as JsonObject;
  delete m["resourceVersion"];
  // Only the times of managed fields changing is no change: the object keeps its resourceVersion.
  const mf = m["managedFields"];
  if (Array.isArray(mf)) m["managedFields"] = mf.map((e) => (isObject(e) ? { ...e, time: null } : e));
  return c;
}

/** Whether anything but metadata and status changed (generation counts spec changes). */
export function specChanged(old: JsonObject, next: JsonObject): boolean {
  const keys = new Set([...Object.keys(old), ...Object.keys(next)]);
  for (const k of keys) {
    if (k === "metadata" || k === "status" || k === "apiVersion" || k === "kind") continue;
    if (!jsonEqual(old[k], next[k])) return true;
  }
  return false;
}

export function convertStringData(secret: JsonObject): void {
  const sd = secret["stringData"];
  const data = isObject(secret["data"]) ? secret["data"] : {};
  if (isObject(sd)) {
    for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(text(v), "utf8").toString("base64");
    delete secret["stringData"];
  }
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
      throw errors.badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data.${k}`,
      );
    }
  }
  if (Object.keys(data).length > 0) secret["data"] = data;
  secret["type"] ??= "Opaque";
}

// Unknown fields in requests for built-in kinds, as kube-apiserver's `fieldValidation` handles them:
// Strict refuses them (400), Warn (the server's default) and Ignore drop them, Warn with a warning each.
// The type graph is that of @kubernetes/client-node's models (generated from Kubernetes' OpenAPI), each
// model module loaded on first use; a custom resource's by its CRD's structural schema.
import { createRequire } from "node:module";
import { isObject, type Json } from "./fieldset.js";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}

const load = createRequire(import.meta.url);
const models = new Map<string, readonly Attribute[] | null>();

/** The fields of one model ("V1PodSpec"), or undefined for a type that is not a model. */
export function attributesOfModel(model: string): readonly Attribute[] | undefined {
  if (!/^[A-Za-z0-9]+$/.test(model)) return undefined;
  let attrs = models.get(model);
  if (attrs === undefined) {
    try {
      // A model module is self-contained (no imports): loading one by one keeps start-up fast.
      const mod = load(`@kubernetes/client-node/dist/gen/models/${model}.js`) as Record<
        string,
        { getAttributeTypeMap?: () => Attribute[] } | undefined
      >;
      attrs = mod[model]?.getAttributeTypeMap?.() ?? null;
    } catch {
      attrs = null;
    }
    models.set(model, attrs);
  }
  return attrs ?? undefined;
}

const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** The model of a built-in kind: CoreV1Event, EventsV1Event, V2HorizontalPodAutoscaler, V1Pod, ... */
export function modelOf(group: string, version: string, kind: string): string | undefined {
  const prefix = group === "" ? "Core" : capital(group.split(".")[0] ?? "");
  for (const name of [`${prefix}${capital(version)}${kind}`, `${capital(version)}${kind}`])
    if (attributesOfModel(name) !== undefined) return name;
  return undefined;
}

const arrayOf = /^Array<(.+)>$/;
const mapOf = /^\{ \[key: string\]: (.+); \}$/;

/**
 * The paths of fields the model does not declare ("spec.template.spec.containers[0].imagePullPolcy"),
 * in document order; with `drop` they are also removed from the value. Keys starting with `$` are
 * strategic-merge-patch directives and are left alone.
 */
export function unknownFields(model: string, value: Json, drop: boolean): string[] {
  const out: string[] = [];
  const stack: [Json, string, string][] = [[value, model, ""]];
  const join = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`);
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, type, path] = top;
    if (v === null || typeof v !== "object") continue;
    const children: [Json, string, string][] = [];
    const array = arrayOf.exec(type);
    const map = mapOf.exec(type);
    if (array?.[1] !== undefined) {
      if (Array.isArray(v)) v.forEach((x, i) => children.push([x, array[1] ?? "", `${path}[${i}]`]));
    } else if (map?.[1] !== undefined) {
      if (isObject(v)) for (const [k, x] of Object.entries(v)) children.push([x, map[1], join(path, k)]);
    } else {
      const attrs = attributesOfModel(type);
      if (attrs === undefined || !isObject(v)) continue;
      for (const [k, x] of Object.entries(v)) {
        if (k.startsWith("$")) continue;
        const attr = attrs.find((a) => a.baseName === k);
        if (attr === undefined) {
          out.push(join(path, k));
          if (drop) Reflect.deleteProperty(v, k);
        } else children.push([x, attr.type, join(path, k)]);
      }
    }
    // Reversed, so the stack visits fields in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as [Json, string, string]);
  }
  return out;
}

/**
 * The unknown fields of a custom resource by its CRD's structural schema, as kube-apiserver's pruning
 * finds them: keys not in `properties` where neither `additionalProperties` nor
 * `x-kubernetes-preserve-unknown-fields` allows them. apiVersion, kind and metadata are always known at
 * the root and in embedded resources; metadata is checked as ObjectMeta. With `drop` they are removed.
 */
export function unknownCustomFields(schema: Json, value: Json, drop: boolean): string[] {
  const out: string[] = [];
  const stack: [Json | undefined, Json, string, boolean][] = [[schema, value, "", true]];
  const join = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`);
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, v, path, resource] = top;
    if (v === null || typeof v !== "object" || !isObject(node ?? null)) continue;
    const n = node as Record<string, Json>;
    const children: [Json | undefined, Json, string, boolean][] = [];
    if (Array.isArray(v)) {
      v.forEach((x, i) =>
        children.push([n["items"], x, `${path}[${i}]`, n["x-kubernetes-embedded-resource"] === true]),
      );
    } else {
      const props = isObject(n["properties"] ?? null) ? (n["properties"] as Record<string, Json>) : {};
      const additional = n["additionalProperties"];
      const preserve = n["x-kubernetes-preserve-unknown-fields"] === true;
      const embedded = resource || n["x-kubernetes-embedded-resource"] === true;
      for (const [k, x] of Object.entries(v)) {
        if (embedded && k === "metadata") {
          out.push(...unknownFields("V1ObjectMeta", x, drop).map((f) => join(join(path, k), f)));
        } else if (props[k] !== undefined) children.push([props[k], x, join(path, k), false]);
        else if (isObject(additional ?? null)) children.push([additional, x, join(path, k), false]);
        else if (!(additional === true || preserve || (embedded && (k === "apiVersion" || k === "kind")))) {
          out.push(join(path, k));
          if (drop) Reflect.deleteProperty(v, k);
        }
      }
    }
    for (let i = children.length - 1; i >= 0; i--)
      stack.push(children[i] as [Json | undefined, Json, string, boolean]);
  }
  return out;
}

/** The fieldValidation query parameter; absent means Warn, as kube-apiserver defaults it. */
export function fieldValidationOf(param: string | null): FieldValidation | undefined {
  if (param === null || param === "") return "Warn";
  return param === "Strict" || param === "Warn" || param === "Ignore" ? param : undefined;
}

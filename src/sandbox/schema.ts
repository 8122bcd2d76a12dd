// How server-side apply and strategic merge patch see the built-in kinds: which lists are associative
// (merged item by item on their keys), which are sets, and which are atomic. Anything not described is a
// map merged field by field, and a list replaced as a whole, as for an untyped custom resource.

export type ListSchema =
  | { readonly type: "map"; readonly keys: readonly string[]; readonly items?: TypeSchema }
  | { readonly type: "set" }
  | { readonly type: "atomic" };

export interface TypeSchema {
  /** Known fields of a struct; others are untyped. */
  readonly fields?: Readonly<Record<string, TypeSchema>>;
  /** Schema of every value of a map with arbitrary keys (not needed for plain string maps). */
  readonly values?: TypeSchema;
  /** This value is a list with this merge behaviour. */
  readonly list?: ListSchema;
  /** The whole map is one value: applying it replaces it. */
  readonly atomic?: boolean;
}

const mapList = (keys: readonly string[], items?: TypeSchema): TypeSchema => ({
  list: items === undefined ? { type: "map", keys } : { type: "map", keys, items },
});
const setList: TypeSchema = { list: { type: "set" } };

const conditions = mapList(["type"]);

export const objectMeta: TypeSchema = {
  fields: { finalizers: setList, ownerReferences: mapList(["uid"]) },
};

const container: TypeSchema = {
  fields: {
    ports: mapList(["containerPort", "protocol"]),
    env: mapList(["name"]),
    volumeMounts: mapList(["mountPath"]),
    volumeDevices: mapList(["devicePath"]),
    resizePolicy: { list: { type: "atomic" } },
  },
};

const podSpec: TypeSchema = {
  fields: {
    containers: mapList(["name"], container),
    initContainers: mapList(["name"], container),
    ephemeralContainers: mapList(["name"], container),
    volumes: mapList(["name"]),
    imagePullSecrets: mapList(["name"]),
    hostAliases: mapList(["ip"]),
    topologySpreadConstraints: mapList(["topologyKey", "whenUnsatisfiable"]),
    resourceClaims: mapList(["name"]),
    schedulingGates: mapList(["name"]),
  },
};

const podTemplate: TypeSchema = { fields: { metadata: objectMeta, spec: podSpec } };

const withStatusConditions = (spec: TypeSchema | undefined): TypeSchema => ({
  fields: {
    metadata: objectMeta,
    ...(spec === undefined ? {} : { spec }),
    status: { fields: { conditions } },
  },
});

const workload = withStatusConditions({ fields: { template: podTemplate } });

/** Root schemas by "group/Kind" (core group: "/Kind"). */
const roots: Readonly<Record<string, TypeSchema>> = {
  "/Pod": {
    fields: {
      metadata: objectMeta,
      spec: podSpec,
      status: { fields: { conditions, podIPs: mapList(["ip"]) } },
    },
  },
  "/PodTemplate": { fields: { metadata: objectMeta, template: podTemplate } },
  "/Service": withStatusConditions({ fields: { ports: mapList(["port", "protocol"]) } }),
  "/ServiceAccount": { fields: { metadata: objectMeta, secrets: mapList(["name"]) } },
  "/Namespace": withStatusConditions(undefined),
  "/PersistentVolumeClaim": withStatusConditions(undefined),
  "/ReplicationController": workload,
  "apps/Deployment": workload,
  "apps/StatefulSet": workload,
  "apps/DaemonSet": workload,
  "apps/ReplicaSet": workload,
  "batch/Job": workload,
  "batch/CronJob": withStatusConditions({
    fields: { jobTemplate: { fields: { spec: { fields: { template: podTemplate } } } } },
  }),
  "policy/PodDisruptionBudget": withStatusConditions(undefined),
  "autoscaling/HorizontalPodAutoscaler": withStatusConditions(undefined),
  "networking.k8s.io/Ingress": withStatusConditions(undefined),
  "apiextensions.k8s.io/CustomResourceDefinition": withStatusConditions(undefined),
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration": {
    fields: { metadata: objectMeta, webhooks: mapList(["name"]) },
  },
  "admissionregistration.k8s.io/MutatingWebhookConfiguration": {
    fields: { metadata: objectMeta, webhooks: mapList(["name"]) },
  },
};

const generic: TypeSchema = { fields: { metadata: objectMeta, status: { fields: { conditions } } } };

export function rootSchema(group: string, kind: string): TypeSchema {
  return roots[`${group}/${kind}`] ?? generic;
}

/** The schema of a field of a struct or map (undefined: untyped). */
export function fieldSchema(schema: TypeSchema | undefined, name: string): TypeSchema | undefined {
  if (schema === undefined) return undefined;
  return schema.fields?.[name] ?? schema.values;
}

export function listItemSchema(schema: TypeSchema | undefined): TypeSchema | undefined {
  const list = schema?.list;
  return list?.type === "map" ? list.items : undefined;
}

/**
 * The schema of a custom resource from its CRD's structural schema: `x-kubernetes-list-type` and
 * `x-kubernetes-list-map-keys` make lists associative, `x-kubernetes-map-type: atomic` makes maps atomic.
 */
export function schemaFromOpenApi(node: unknown): TypeSchema | undefined {
  if (typeof node !== "object" || node === null) return undefined;
  const n = node as Record<string, unknown>;
  const out: {
    fields?: Record<string, TypeSchema>;
    values?: TypeSchema;
    list?: ListSchema;
    atomic?: boolean;
  } = {};
  if (n["type"] === "array") {
    const listType = n["x-kubernetes-list-type"];
    const keys = n["x-kubernetes-list-map-keys"];
    if (listType === "map" && Array.isArray(keys) && keys.every((k) => typeof k === "string")) {
      const items = schemaFromOpenApi(n["items"]);
      out.list = items === undefined ? { type: "map", keys } : { type: "map", keys, items };
    } else if (listType === "set") {
      out.list = { type: "set" };
    } else {
      out.list = { type: "atomic" };
    }
    return out;
  }
  if (n["x-kubernetes-map-type"] === "atomic") out.atomic = true;
  const props = n["properties"];
  if (typeof props === "object" && props !== null) {
    const fields: Record<string, TypeSchema> = {};
    for (const [k, v] of Object.entries(props)) {
      const s = schemaFromOpenApi(v);
      if (s !== undefined) fields[k] = s;
    }
    if (Object.keys(fields).length > 0) out.fields = fields;
  }
  const additional = schemaFromOpenApi(n["additionalProperties"]);
  if (additional !== undefined) out.values = additional;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** A CRD schema merged with the metadata rules every object shares. */
export function customRootSchema(openApi: unknown): TypeSchema {
  const s = schemaFromOpenApi(openApi);
  return { ...s, fields: { ...s?.fields, metadata: objectMeta } };
}

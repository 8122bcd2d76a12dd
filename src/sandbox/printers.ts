// The columns kube-apiserver's table printers give the kinds kubectl users list most (after NAME; wide
// columns have priority 1), and a custom resource's additionalPrinterColumns with their JSONPaths.
// Cells are computed from the stored object only: the sandbox runs no kubelet or controllers beyond its
// readiness simulation, so they show what the object says.
import { isObject, type Json, type JsonObject } from "./fieldset.js";

export interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface Printer {
  columns: Column[];
  cells: (o: JsonObject, age: (created: Json | undefined) => string) => Json[];
}

export const col = (name: string, type = "string", format = "", priority = 0): Column => ({
  name,
  type,
  format,
  description: name,
  priority,
});

function get(obj: Json | undefined, path: string): Json | undefined {
  let cur = obj;
  for (const p of path.split(".")) cur = isObject(cur) ? cur[p] : undefined;
  return cur;
}
const num = (v: Json | undefined): number => (typeof v === "number" ? v : 0);
const list = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);
const str = (v: Json | undefined, none = "<none>"): string =>
  typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : none;
const labelsOf = (v: Json | undefined): string => {
  const o = isObject(v) ? v : {};
  const pairs = Object.entries(o).map(([k, x]) => `${k}=${typeof x === "string" ? x : ""}`);
  return pairs.length === 0 ? "<none>" : pairs.join(",");
};
const created = (o: JsonObject): Json | undefined => get(o, "metadata.creationTimestamp");
const AGE = col("Age");
const images = (containers: Json | undefined): [string, string] => {
  const cs = list(containers).filter(isObject);
  return [cs.map((c) => str(c["name"], "")).join(","), cs.map((c) => str(c["image"], "")).join(",")];
};
const WIDE_TEMPLATE = [col("Containers", "string", "", 1), col("Images", "string", "", 1)];

function podPrinter(): Printer {
  return {
    columns: [
      col("Ready"),
      col("Status"),
      col("Restarts", "string"),
      AGE,
      col("IP", "string", "", 1),
      col("Node", "string", "", 1),
    ],
    cells: (o, age) => {
      const statuses = list(get(o, "status.containerStatuses")).filter(isObject);
      const total = list(get(o, "spec.containers")).length;
      const ready = statuses.filter((s) => s["ready"] === true).length;
      const restarts = statuses.reduce((n, s) => n + num(s["restartCount"]), 0);
      return [
        `${ready}/${total}`,
        str(get(o, "status.phase"), "Pending"),
        String(restarts),
        age(created(o)),
        str(get(o, "status.podIP")),
        str(get(o, "spec.nodeName")),
      ];
    },
  };
}

function servicePorts(o: JsonObject): string {
  const ports = list(get(o, "spec.ports")).filter(isObject);
  if (ports.length === 0) return "<none>";
  return ports
    .map((p) => {
      const node = typeof p["nodePort"] === "number" ? `:${p["nodePort"]}` : "";
      return `${num(p["port"])}${node}/${str(p["protocol"], "TCP")}`;
    })
    .join(",");
}

const printers: Readonly<Record<string, () => Printer>> = {
  "/Pod": podPrinter,
  "/Service": () => ({
    columns: [
      col("Type"),
      col("Cluster-IP"),
      col("External-IP"),
      col("Port(s)"),
      AGE,
      col("Selector", "string", "", 1),
    ],
    cells: (o, age) => [
      str(get(o, "spec.type"), "ClusterIP"),
      str(get(o, "spec.clusterIP")),
      list(get(o, "spec.externalIPs"))
        .map((x) => str(x))
        .join(",") || "<none>",
      servicePorts(o),
      age(created(o)),
      labelsOf(get(o, "spec.selector")),
    ],
  }),
  "apps/Deployment": () => ({
    columns: [
      col("Ready"),
      col("Up-to-date", "integer"),
      col("Available", "integer"),
      AGE,
      ...WIDE_TEMPLATE,
      col("Selector", "string", "", 1),
    ],
    cells: (o, age) => [
      `${num(get(o, "status.readyReplicas"))}/${num(get(o, "spec.replicas") ?? 1)}`,
      num(get(o, "status.updatedReplicas")),
      num(get(o, "status.availableReplicas")),
      age(created(o)),
      ...images(get(o, "spec.template.spec.containers")),
      labelsOf(get(o, "spec.selector.matchLabels")),
    ],
  }),
  "apps/StatefulSet": () => ({
    columns: [col("Ready"), AGE, ...WIDE_TEMPLATE],
    cells: (o, age) => [
      `${num(get(o, "status.readyReplicas"))}/${num(get(o, "spec.replicas") ?? 1)}`,
      age(created(o)),
      ...images(get(o, "spec.template.spec.containers")),
    ],
  }),
  "apps/DaemonSet": () => ({
    columns: [
      col("Desired", "integer"),
      col("Current", "integer"),
      col("Ready", "integer"),
      col("Up-to-date", "integer"),
      col("Available", "integer"),
      col("Node Selector"),
      AGE,
      ...WIDE_TEMPLATE,
    ],
    cells: (o, age) => [
      num(get(o, "status.desiredNumberScheduled")),
      num(get(o, "status.currentNumberScheduled")),
      num(get(o, "status.numberReady")),
      num(get(o, "status.updatedNumberScheduled")),
      num(get(o, "status.numberAvailable")),
      labelsOf(get(o, "spec.template.spec.nodeSelector")),
      age(created(o)),
      ...images(get(o, "spec.template.spec.containers")),
    ],
  }),
  "apps/ReplicaSet": () => replicasPrinter(),
  "/ReplicationController": () => replicasPrinter(),
  "batch/Job": () => ({
    columns: [col("Status"), col("Completions"), col("Duration"), AGE, ...WIDE_TEMPLATE],
    cells: (o, age) => [
      num(get(o, "status.succeeded")) > 0
        ? "Complete"
        : num(get(o, "status.failed")) > 0
          ? "Failed"
          : "Running",
      `${num(get(o, "status.succeeded"))}/${num(get(o, "spec.completions") ?? 1)}`,
      get(o, "status.startTime") === undefined ? "" : age(get(o, "status.startTime")),
      age(created(o)),
      ...images(get(o, "spec.template.spec.containers")),
    ],
  }),
  "batch/CronJob": () => ({
    columns: [
      col("Schedule"),
      col("Timezone"),
      col("Suspend", "boolean"),
      col("Active", "integer"),
      col("Last Schedule"),
      AGE,
    ],
    cells: (o, age) => [
      str(get(o, "spec.schedule"), ""),
      str(get(o, "spec.timeZone")),
      get(o, "spec.suspend") === true ? "True" : "False",
      list(get(o, "status.active")).length,
      get(o, "status.lastScheduleTime") === undefined ? "<none>" : age(get(o, "status.lastScheduleTime")),
      age(created(o)),
    ],
  }),
  "/Namespace": () => ({
    columns: [col("Status"), AGE],
    cells: (o, age) => [get(o, "status.phase") ?? "Active", age(created(o))],
  }),
  "/ConfigMap": () => ({
    columns: [col("Data", "integer"), AGE],
    cells: (o, age) => [
      Object.keys(isObject(o["data"]) ? o["data"] : {}).length +
        Object.keys(isObject(o["binaryData"]) ? o["binaryData"] : {}).length,
      age(created(o)),
    ],
  }),
  "/Secret": () => ({
    columns: [col("Type"), col("Data", "integer"), AGE],
    cells: (o, age) => [
      o["type"] ?? "Opaque",
      Object.keys(isObject(o["data"]) ? o["data"] : {}).length,
      age(created(o)),
    ],
  }),
  "networking.k8s.io/Ingress": () => ({
    columns: [col("Class"), col("Hosts"), col("Address"), col("Ports"), AGE],
    cells: (o, age) => {
      const hosts = list(get(o, "spec.rules"))
        .filter(isObject)
        .map((r) => str(r["host"], "*"));
      const lb = list(get(o, "status.loadBalancer.ingress")).filter(isObject);
      return [
        str(get(o, "spec.ingressClassName")),
        hosts.length === 0 ? "*" : hosts.join(","),
        lb.map((i) => str(i["ip"] ?? i["hostname"], "")).join(","),
        list(get(o, "spec.tls")).length > 0 ? "80, 443" : "80",
        age(created(o)),
      ];
    },
  }),
  "rbac.authorization.k8s.io/Role": () => createdAt(),
  "rbac.authorization.k8s.io/ClusterRole": () => createdAt(),
  "apiextensions.k8s.io/CustomResourceDefinition": () => createdAt(),
  "rbac.authorization.k8s.io/RoleBinding": () => bindingPrinter(),
  "rbac.authorization.k8s.io/ClusterRoleBinding": () => bindingPrinter(),
  "/PersistentVolumeClaim": () => ({
    columns: [
      col("Status"),
      col("Volume"),
      col("Capacity"),
      col("Access Modes"),
      col("StorageClass"),
      col("VolumeAttributesClass"),
      AGE,
    ],
    cells: (o, age) => [
      str(get(o, "status.phase"), "Pending"),
      str(get(o, "spec.volumeName"), ""),
      str(get(o, "status.capacity.storage"), ""),
      list(get(o, "spec.accessModes"))
        .map((m) => ({ ReadWriteOnce: "RWO", ReadOnlyMany: "ROX", ReadWriteMany: "RWX" })[str(m)] ?? str(m))
        .join(","),
      str(get(o, "spec.storageClassName")),
      str(get(o, "spec.volumeAttributesClassName")),
      age(created(o)),
    ],
  }),
};

function replicasPrinter(): Printer {
  return {
    columns: [
      col("Desired", "integer"),
      col("Current", "integer"),
      col("Ready", "integer"),
      AGE,
      ...WIDE_TEMPLATE,
    ],
    cells: (o, age) => [
      num(get(o, "spec.replicas") ?? 1),
      num(get(o, "status.replicas")),
      num(get(o, "status.readyReplicas")),
      age(created(o)),
      ...images(get(o, "spec.template.spec.containers")),
    ],
  };
}

function createdAt(): Printer {
  return {
    columns: [col("Created At", "date")],
    cells: (o) => [str(created(o), "")],
  };
}

function bindingPrinter(): Printer {
  const subjects = (o: JsonObject, kind: string): string =>
    list(o["subjects"])
      .filter(isObject)
      .filter((s) => s["kind"] === kind)
      .map((s) =>
        kind === "ServiceAccount" ? `${str(s["namespace"], "")}/${str(s["name"], "")}` : str(s["name"], ""),
      )
      .join(", ");
  return {
    columns: [
      col("Role"),
      AGE,
      col("Users", "string", "", 1),
      col("Groups", "string", "", 1),
      col("ServiceAccounts", "string", "", 1),
    ],
    cells: (o, age) => [
      `${str(get(o, "roleRef.kind"), "")}/${str(get(o, "roleRef.name"), "")}`,
      age(created(o)),
      subjects(o, "User"),
      subjects(o, "Group"),
      subjects(o, "ServiceAccount"),
    ],
  };
}

/** A CRD version's additionalPrinterColumns entry. */
export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/**
 * The subset of JSONPath that printer columns use: `.a.b`, `[n]`, `['key']` and one equality filter
 * `[?(@.type=="Ready")]`. Anything else yields no value (an empty cell), never an error.
 */
export function jsonPath(obj: Json, path: string): Json | undefined {
  let values: Json[] = [obj];
  const token =
    /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']*)'\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)\]/y;
  let at = 0;
  while (at < path.length) {
    token.lastIndex = at;
    const m = token.exec(path);
    if (m === null) return undefined;
    at = token.lastIndex;
    const next: Json[] = [];
    for (const v of values) {
      if (m[1] !== undefined || m[3] !== undefined) {
        const key = m[1] ?? m[3] ?? "";
        if (isObject(v) && v[key] !== undefined) next.push(v[key]);
      } else if (m[2] !== undefined) {
        const item = Array.isArray(v) ? v[Number(m[2])] : undefined;
        if (item !== undefined) next.push(item);
      } else if (Array.isArray(v)) {
        for (const item of v) if (get(item, m[4] ?? "") === m[5]) next.push(item);
      }
    }
    values = next;
  }
  return values[0];
}

/** The printer of a custom resource: its CRD's columns (or AGE when it declares none). */
export function customPrinter(columns: readonly PrinterColumn[] | undefined): Printer {
  if (columns === undefined || columns.length === 0)
    return { columns: [AGE], cells: (o, age) => [age(created(o))] };
  return {
    columns: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? "",
      description: c.description ?? "",
      priority: c.priority ?? 0,
    })),
    cells: (o, age) =>
      columns.map((c) => {
        const v = jsonPath(o, c.jsonPath);
        if (c.type === "date") return v === undefined ? "<unknown>" : age(v);
        if (v === undefined) return null;
        return isObject(v) || Array.isArray(v) ? JSON.stringify(v) : v;
      }),
  };
}

/** The printer of a built-in kind ("group/Kind"), or AGE alone. */
export function builtinPrinter(kindKey: string): Printer {
  return printers[kindKey]?.() ?? { columns: [AGE], cells: (o, age) => [age(created(o))] };
}

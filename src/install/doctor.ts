// `gitward doctor`, as `flux check`: one named check after another against the cluster, each ok or failed
// with what to do. RBAC is proven with SubjectAccessReviews for the operator's own account, rule by rule
// and verb by verb, from the same objects `gitward install` applies, plus what each Application needs.
import type { ClusterClient, KubeObject } from "../cluster/client.js";
import { serviceAccountUser } from "../cluster/client.js";
import { API_VERSION } from "../config/types.js";
import { SEALING_KEY_LABEL } from "../secrets/keys.js";
import { digestPinnedImage } from "./image.js";
import {
  AUDIT_KEY_SECRET,
  KEY_NAMESPACE,
  OPERATOR_ACCOUNT,
  OPERATOR_DEPLOYMENT,
  SYSTEM_NAMESPACE,
} from "./layout.js";
import { APPLICATION_NAMESPACE_ROLE } from "./rbac.js";

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
  /** What to do, when it failed. */
  readonly fix?: string;
}

/** Clocks further apart than this break token expiry, leases and audit timestamps. */
export const MAX_CLOCK_SKEW_MS = 30_000;
/** The oldest Kubernetes these manifests are written for (CronJob timeZone, policy/v1, PSA labels). */
export const MIN_KUBERNETES = [1, 27] as const;

const ok = (name: string, message: string): Check => ({ name, ok: true, message });
const fail = (name: string, message: string, fix: string): Check => ({ name, ok: false, message, fix });
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs?: string[];
}

/** The access the operator needs: every verb of every rule bound to it, where it is bound. */
function neededAccess(objects: readonly KubeObject[]): { namespace?: string; rule: Rule }[] {
  const roles = new Map<string, Rule[]>();
  for (const o of objects)
    if (o.kind === "Role" || o.kind === "ClusterRole")
      roles.set(
        `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`,
        (o["rules"] as Rule[] | undefined) ?? [],
      );
  const out: { namespace?: string; rule: Rule }[] = [];
  for (const b of objects) {
    if (b.kind !== "RoleBinding" && b.kind !== "ClusterRoleBinding") continue;
    const subjects = (b["subjects"] as { name?: string; namespace?: string }[] | undefined) ?? [];
    if (!subjects.some((s) => s.name === OPERATOR_ACCOUNT && s.namespace === SYSTEM_NAMESPACE)) continue;
    const ref = b["roleRef"] as { kind: string; name: string };
    const roleNs = ref.kind === "Role" ? (b.metadata.namespace ?? "") : "";
    for (const rule of roles.get(`${ref.kind}/${roleNs}/${ref.name}`) ?? [])
      out.push({ ...(b.metadata.namespace === undefined ? {} : { namespace: b.metadata.namespace }), rule });
  }
  return out;
}

async function allowed(
  cluster: ClusterClient,
  attrs: {
    group: string;
    resource: string;
    verb: string;
    namespace?: string;
    name?: string;
    subresource?: string;
  },
): Promise<boolean> {
  const review = await cluster.create({
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    metadata: { name: "gitward-doctor" },
    spec: {
      user: serviceAccountUser(SYSTEM_NAMESPACE, OPERATOR_ACCOUNT),
      groups: [
        "system:serviceaccounts",
        `system:serviceaccounts:${SYSTEM_NAMESPACE}`,
        "system:authenticated",
      ],
      resourceAttributes: attrs,
    },
  });
  return (review["status"] as { allowed?: unknown } | undefined)?.allowed === true;
}

/** One SubjectAccessReview per verb; the line names every verb refused. */
async function accessCheck(
  cluster: ClusterClient,
  name: string,
  attrs: { group: string; resource: string; namespace?: string; name?: string },
  verbs: readonly string[],
  fix: string,
): Promise<Check> {
  const [resource = "", subresource] = attrs.resource.split("/");
  const refused: string[] = [];
  for (const verb of verbs) {
    const a = { ...attrs, resource, verb, ...(subresource === undefined ? {} : { subresource }) };
    if (!(await allowed(cluster, a))) refused.push(verb);
  }
  const where = attrs.namespace === undefined ? "cluster-wide" : `in ${attrs.namespace}`;
  const what = `${attrs.group === "" ? "" : attrs.group + "/"}${attrs.resource}${attrs.name === undefined ? "" : "/" + attrs.name} ${where}`;
  return refused.length === 0
    ? ok(name, `may ${verbs.join(", ")} ${what}`)
    : fail(name, `may not ${refused.join(", ")} ${what}`, fix);
}

async function rbacChecks(cluster: ClusterClient, objects: readonly KubeObject[]): Promise<Check[]> {
  const checks: Check[] = [];
  for (const { namespace, rule } of neededAccess(objects)) {
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? [])
        checks.push(
          await accessCheck(
            cluster,
            "rbac",
            { group, resource, ...(namespace === undefined ? {} : { namespace }) },
            rule.verbs ?? [],
            "run `gitward install` to restore the operator's RBAC",
          ),
        );
  }
  return checks;
}

/** Per Application: its namespace's grant (state ConfigMap, Secrets) and the impersonation of its account. */
async function applicationChecks(cluster: ClusterClient, apps: readonly KubeObject[]): Promise<Check[]> {
  const checks: Check[] = [];
  for (const app of apps) {
    const ns = app.metadata.namespace ?? "";
    const id = `Application ${ns}/${app.metadata.name}`;
    const dest = (app["spec"] as { destination?: { namespace?: string; serviceAccountName?: string } })
      .destination;
    if (ns !== SYSTEM_NAMESPACE) {
      const fix = `grant gitward its Role ${APPLICATION_NAMESPACE_ROLE} in ${ns}: \`gitward install --application-namespace ${ns}\` (or see deploy/examples/application-rbac.yaml)`;
      checks.push(
        await accessCheck(
          cluster,
          id,
          { group: "", resource: "configmaps", namespace: ns },
          ["get", "create", "patch"],
          fix,
        ),
      );
      checks.push(
        await accessCheck(cluster, id, { group: "", resource: "secrets", namespace: ns }, ["get"], fix),
      );
    }
    if (dest?.namespace !== undefined && dest.serviceAccountName !== undefined) {
      checks.push(
        await accessCheck(
          cluster,
          id,
          {
            group: "",
            resource: "serviceaccounts",
            namespace: dest.namespace,
            name: dest.serviceAccountName,
          },
          ["impersonate"],
          `let gitward impersonate ${dest.namespace}/${dest.serviceAccountName}: see deploy/examples/application-rbac.yaml`,
        ),
      );
    }
  }
  return checks;
}

function crdCheck(live: KubeObject | undefined, want: KubeObject): Check {
  const name = want.metadata.name;
  if (live === undefined) return fail("crd", `${name} is not installed`, "run `gitward install`");
  const established = (
    live["status"] as { conditions?: { type?: string; status?: string }[] } | undefined
  )?.conditions?.some((c) => c.type === "Established" && c.status === "True");
  if (established !== true)
    return fail("crd", `${name} is not Established`, "see `kubectl describe crd " + name + "`");
  type Version = { name?: string; schema?: unknown };
  const versions = (o: KubeObject): Version[] =>
    (o["spec"] as { versions?: Version[] } | undefined)?.versions ?? [];
  const wanted = versions(want);
  const have = versions(live);
  for (const v of wanted) {
    const h = have.find((x) => x.name === v.name);
    if (h === undefined)
      return fail(
        "crd",
        `${name} does not serve ${v.name ?? "?"}, which this client uses`,
        "run `gitward install` to upgrade the CRDs",
      );
    if (JSON.stringify(h.schema) !== JSON.stringify(v.schema))
      return fail(
        "crd",
        `${name} ${v.name ?? "?"} has another schema than this client's`,
        "run `gitward install` to upgrade the CRDs (or use the gitward that installed them)",
      );
  }
  return ok(
    "crd",
    `${name} is Established, versions ${wanted.map((v) => v.name).join(", ")} match this client`,
  );
}

function parseVersion(gitVersion: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(gitVersion);
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}

/** Every check, in order; the API server check failing ends the list (nothing else can be asked). */
export async function runDoctor(
  cluster: ClusterClient,
  objects: readonly KubeObject[],
  now: () => number = Date.now,
): Promise<Check[]> {
  const checks: Check[] = [];
  let version: { gitVersion: string; date: Date | undefined };
  const sent = now();
  try {
    version = await cluster.serverVersion();
  } catch (err) {
    return [
      fail(
        "api-server",
        `${cluster.serverUrl} is not reachable: ${errText(err)}`,
        "check --kubeconfig and --context, and that the API server runs",
      ),
    ];
  }
  const received = now();
  checks.push(ok("api-server", `${cluster.serverUrl} answers`));
  const v = parseVersion(version.gitVersion);
  const [minMajor, minMinor] = MIN_KUBERNETES;
  checks.push(
    v !== undefined && (v[0] > minMajor || (v[0] === minMajor && v[1] >= minMinor))
      ? ok("version", `Kubernetes ${version.gitVersion} (at least ${minMajor}.${minMinor} needed)`)
      : fail(
          "version",
          `Kubernetes ${version.gitVersion} is older than ${minMajor}.${minMinor} or unknown`,
          `upgrade the cluster to ${minMajor}.${minMinor} or later`,
        ),
  );
  if (version.date === undefined) {
    checks.push(
      fail(
        "clock",
        "the API server sent no Date header",
        "compare the clocks by hand (NTP on the nodes and here)",
      ),
    );
  } else {
    // The Date header has a resolution of one second: compare with the middle of the request.
    const skew = Math.abs((sent + received) / 2 - version.date.getTime());
    checks.push(
      skew <= MAX_CLOCK_SKEW_MS + 1_000
        ? ok("clock", `within ${Math.ceil(skew / 1000)} s of the API server`)
        : fail(
            "clock",
            `${Math.round(skew / 1000)} s apart from the API server (more than ${MAX_CLOCK_SKEW_MS / 1000} s)`,
            "synchronise the clocks (NTP) here and on the control plane",
          ),
    );
  }
  for (const want of objects.filter((o) => o.kind === "CustomResourceDefinition")) {
    try {
      checks.push(
        crdCheck(
          await cluster.get({ apiVersion: want.apiVersion, kind: want.kind, name: want.metadata.name }),
          want,
        ),
      );
    } catch (err) {
      checks.push(fail("crd", `${want.metadata.name}: ${errText(err)}`, "check that you may read CRDs"));
    }
  }
  checks.push(...(await guarded("rbac", () => rbacChecks(cluster, objects))));
  checks.push(
    ...(await guarded("applications", async () =>
      applicationChecks(cluster, await cluster.list(API_VERSION, "Application")),
    )),
  );
  checks.push(...(await guarded("deployment", () => deploymentChecks(cluster))));
  checks.push(...(await guarded("keys", () => keyChecks(cluster))));
  return checks;
}

async function guarded(name: string, f: () => Promise<Check[]>): Promise<Check[]> {
  try {
    return await f();
  } catch (err) {
    return [fail(name, errText(err), "see the message; run `gitward install` when gitward is not installed")];
  }
}

async function deploymentChecks(cluster: ClusterClient): Promise<Check[]> {
  const d = await cluster.get({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: SYSTEM_NAMESPACE,
    name: OPERATOR_DEPLOYMENT,
  });
  if (d === undefined)
    return [
      fail(
        "operator",
        `Deployment ${SYSTEM_NAMESPACE}/${OPERATOR_DEPLOYMENT} is missing`,
        "run `gitward install`",
      ),
    ];
  const spec = d["spec"] as {
    replicas?: number;
    template?: { spec?: { containers?: { image?: string }[] } };
  };
  const image = spec.template?.spec?.containers?.[0]?.image ?? "";
  const checks: Check[] = [];
  try {
    digestPinnedImage(image);
    checks.push(ok("operator", `Deployment ${SYSTEM_NAMESPACE}/${OPERATOR_DEPLOYMENT} runs ${image}`));
  } catch (err) {
    checks.push(fail("operator", errText(err), "run `gitward install --image REPOSITORY@sha256:...`"));
  }
  const want = spec.replicas ?? 1;
  const available = (d["status"] as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0;
  checks.push(
    available >= Math.min(1, want)
      ? ok("operator", `${available}/${want} replicas available`)
      : fail(
          "operator",
          `${available}/${want} replicas available`,
          `see \`kubectl -n ${SYSTEM_NAMESPACE} describe deployment ${OPERATOR_DEPLOYMENT}\` and its pods' logs (a missing Secret ${AUDIT_KEY_SECRET} keeps them from starting)`,
        ),
  );
  return checks;
}

async function keyChecks(cluster: ClusterClient): Promise<Check[]> {
  const keys = await cluster.list("v1", "Secret", {
    namespace: KEY_NAMESPACE,
    labelSelector: SEALING_KEY_LABEL,
    metadataOnly: true,
  });
  const audit = await cluster.get({
    apiVersion: "v1",
    kind: "Secret",
    namespace: SYSTEM_NAMESPACE,
    name: AUDIT_KEY_SECRET,
  });
  const auditKey = (audit?.["data"] as Record<string, unknown> | undefined)?.["audit.key"];
  return [
    keys.length > 0
      ? ok("sealing-keys", `${keys.length} sealing key(s) in ${KEY_NAMESPACE}`)
      : fail(
          "sealing-keys",
          `no sealing key in ${KEY_NAMESPACE}`,
          `gitward secrets keygen --namespace=${KEY_NAMESPACE}`,
        ),
    typeof auditKey === "string" && auditKey !== ""
      ? ok("audit-key", `Secret ${SYSTEM_NAMESPACE}/${AUDIT_KEY_SECRET} holds audit.key`)
      : fail(
          "audit-key",
          `Secret ${SYSTEM_NAMESPACE}/${AUDIT_KEY_SECRET} with key audit.key is missing`,
          "`gitward install` makes it when it is missing",
        ),
  ];
}

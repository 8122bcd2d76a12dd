// bench/check: `gitward check` (render as a directory + every policy pack + the repository secret scanner)
// on 10,000 objects across 500 files, against only parsing the same files with the same YAML library in
// the same run, and `trivy config` on a 1,000-object subset of the same files. Prints all three, the
// check/parse ratio (target ≤ 3) and trivy's cost per object over gitward's (target ≥ 100).
// Args: `objects=N files=M trivyObjects=K` to shrink it while developing.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { checkRevision } from "../src/policy/check.js";
import { PACK_IDS } from "../src/policy/packs.js";
import { render } from "../src/render/render.js";

const DIGEST = "sha256:" + "b".repeat(64);

/** One object of a realistic mix: mostly workloads, with services, config, RBAC and network policies. */
function object(i: number, ns: string): string {
  const name = `obj-${i}`;
  switch (i % 5) {
    case 0:
    case 1:
      return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  labels: { app: ${name}, tier: backend }
spec:
  replicas: ${1 + (i % 4)}
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: { type: RuntimeDefault }
      containers:
        - name: app
          image: registry.example.com/team/${name}:1.${i % 10}.0${i % 3 === 0 ? "" : `@${DIGEST}`}
          ports: [{ containerPort: 8080 }]
          env:
            - { name: LOG_LEVEL, value: info }
            - { name: PORT, value: "8080" }
          resources:
            requests: { cpu: 100m, memory: 128Mi }
            limits: { cpu: 500m, memory: 256Mi }
          securityContext:
            allowPrivilegeEscalation: ${i % 7 === 0 ? "true" : "false"}
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
          volumeMounts: [{ name: cfg, mountPath: /etc/app }]
      volumes:
        - name: cfg
          configMap: { name: ${name}-cfg }
`;
    case 2:
      return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]
`;
    case 3:
      return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-cfg
  namespace: ${ns}
data:
  app.properties: |
    feature.a=true
    feature.b=false
    timeout=${i % 60}s
`;
    default:
      return i % 2 === 0
        ? `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`
        : `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ${name}
  namespace: ${ns}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list, watch]
`;
  }
}

async function writeCorpus(dir: string, objects: number, files: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const perFile = Math.ceil(objects / files);
  for (let f = 0; f < files; f++) {
    const docs: string[] = [];
    for (let j = 0; j < perFile && f * perFile + j < objects; j++)
      docs.push(object(f * perFile + j, `team-${f % 20}`));
    await writeFile(path.join(dir, `app-${String(f).padStart(4, "0")}.yaml`), docs.join("---\n"));
  }
}

/** The baseline: read every file and parse it to JavaScript values with the same library, nothing else. */
async function parseOnly(dir: string): Promise<number> {
  let n = 0;
  for (const f of (await readdir(dir)).sort()) {
    const text = await readFile(path.join(dir, f), "utf8");
    for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
      if (doc.toJS({ maxAliasCount: 100 }) !== null) n++;
    }
  }
  return n;
}

async function gitwardCheck(root: string): Promise<{ objects: number; findings: number }> {
  const r = await render({ repoRoot: root, path: "apps", type: "directory" });
  if (!r.ok) throw new Error(`render failed: ${r.errors[0]?.message ?? ""}`);
  const report = await checkRevision({ manifests: r.manifests, repoRoot: root, packs: [...PACK_IDS] });
  return { objects: r.manifests.length, findings: report.findings.length };
}

async function time<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

/**
 * Runs `a` and `b` alternately `rounds` times after one warm-up of each and returns the median of each:
 * alternating keeps a load spike on this shared machine from landing on one side only.
 */
async function interleaved<A, B>(
  rounds: number,
  a: () => Promise<A>,
  b: () => Promise<B>,
): Promise<{ a: { ms: number; value: A; all: number[] }; b: { ms: number; value: B; all: number[] } }> {
  await a();
  await b();
  const as: { ms: number; value: A }[] = [];
  const bs: { ms: number; value: B }[] = [];
  for (let i = 0; i < rounds; i++) {
    as.push(await time(a));
    bs.push(await time(b));
  }
  const med = <T>(xs: { ms: number; value: T }[]): { ms: number; value: T; all: number[] } => {
    const sorted = [...xs].sort((x, y) => x.ms - y.ms);
    return { ...sorted[Math.floor(sorted.length / 2)]!, all: xs.map((x) => Math.round(x.ms)) };
  };
  return { a: med(as), b: med(bs) };
}

function arg(args: readonly string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 1));
}

function trivyConfig(trivy: string, dir: string, cache: string): Promise<{ findings: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      trivy,
      // trivy's own scan timeout (5 minutes) is too short for 1,000 objects on a busy machine.
      ["config", "--skip-policy-update", "--timeout", "60m", "--cache-dir", cache, "-q", "-f", "json", dir],
      { maxBuffer: 512 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`trivy config failed: ${err.message} ${stderr.slice(-2000)}`));
          return;
        }
        const j = JSON.parse(stdout) as { Results?: { Misconfigurations?: unknown[] }[] };
        resolve({ findings: (j.Results ?? []).reduce((s, r) => s + (r.Misconfigurations?.length ?? 0), 0) });
      },
    );
  });
}

export async function run(args: readonly string[]): Promise<unknown> {
  const objects = arg(args, "objects", 10_000);
  const files = arg(args, "files", 500);
  const trivyObjects = arg(args, "trivyObjects", 1_000);
  const base = await mkdtemp(path.join(tmpdir(), "gitward-bench-check-"));
  try {
    const root = path.join(base, "repo");
    await writeCorpus(path.join(root, "apps"), objects, files);
    const { a: parse, b: check } = await interleaved(
      5,
      () => parseOnly(path.join(root, "apps")),
      () => gitwardCheck(root),
    );
    if (check.value.objects !== parse.value)
      throw new Error(`object counts differ: ${check.value.objects} vs ${parse.value}`);

    // trivy on the first files of the same corpus, up to trivyObjects objects.
    const perFile = Math.ceil(objects / files);
    const subsetFiles = Math.ceil(trivyObjects / perFile);
    const subset = path.join(base, "subset");
    await mkdir(subset);
    for (const f of (await readdir(path.join(root, "apps"))).sort().slice(0, subsetFiles)) {
      await writeFile(path.join(subset, f), await readFile(path.join(root, "apps", f)));
    }
    const here = path.dirname(fileURLToPath(import.meta.url));
    const trivy = [
      path.join(here, "..", ".tools", "bin", "trivy"),
      path.join(here, "..", "..", ".tools", "bin", "trivy"),
    ].find((p) => existsSync(p));
    let trivyResult: Record<string, unknown> = {
      skipped: "trivy not installed: run test/peers/setup-trivy.sh",
    };
    let perObjectRatio: number | undefined;
    if (trivy !== undefined) {
      const t = await time(() => trivyConfig(trivy, subset, path.join(base, "trivy-cache")));
      const subsetObjects = Math.min(trivyObjects, subsetFiles * perFile);
      perObjectRatio = t.ms / subsetObjects / (check.ms / check.value.objects);
      trivyResult = {
        objects: subsetObjects,
        files: subsetFiles,
        ms: Math.round(t.ms),
        msPerObject: +(t.ms / subsetObjects).toFixed(3),
        misconfigurations: t.value.findings,
      };
    }
    return {
      corpus: { objects, files },
      parseOnly: { ms: Math.round(parse.ms), objects: parse.value, runsMs: parse.all },
      gitwardCheck: {
        ms: Math.round(check.ms),
        runsMs: check.all,
        objects: check.value.objects,
        findings: check.value.findings,
        msPerObject: +(check.ms / check.value.objects).toFixed(4),
      },
      checkOverParse: { ratio: +(check.ms / parse.ms).toFixed(2), target: "<= 3" },
      trivyConfig: trivyResult,
      trivyOverGitwardPerObject: {
        ratio: perObjectRatio === undefined ? null : Math.round(perObjectRatio),
        target: ">= 100",
      },
    };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

// `npm run bench -- reconcile [--objects N]`: a signed repository of N objects (default 2,000). In one run:
// gitward's first reconcile on a fresh sandbox (fetch, verify, render, check, dry run, apply as the
// application's service account), `kubectl apply --server-side -f` of the same rendered objects on another
// fresh sandbox, then five no-op reconciles of the same revision (their median is the figure, each is
// printed). Targets: first/kubectl <= 1.0, and no-op under 5% of the first.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { API_VERSION, type Application, type TrustPolicy } from "../src/config/types.js";
import { ClusterClient } from "../src/cluster/client.js";
import { LiveVersions } from "../src/reconcile/apply.js";
import { reconcileApplication, type ReconcileEnv, type ReconcileReport } from "../src/reconcile/reconcile.js";
import { RevisionCache } from "../src/reconcile/revision-cache.js";
import { ConfigMapStateStore } from "../src/reconcile/state.js";
import { git } from "../src/source/git.js";
import { commitSigned, generateSshSigningKey } from "../src/trust/commit/signed-commit.js";
import {
  installOperatorIdentity,
  startSandboxProcess,
  stopChild,
  type SandboxProcess,
} from "./support/sandbox-process.js";
import { objectsFor, partFiles } from "./support/app-repo.js";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const kubectl = path.join(root, ".tools", "bin", "kubectl");
/** No-op reconciles measured; the median is the figure. */
const NOOP_RUNS = 5;

async function prepareCluster(sb: SandboxProcess): Promise<void> {
  const admin = ClusterClient.fromText(sb.kubeconfig);
  try {
    await installOperatorIdentity(admin);
  } finally {
    admin.close();
  }
}

export async function run_(args: readonly string[]): Promise<unknown> {
  const i = args.indexOf("--objects");
  const n = i >= 0 ? Number(args[i + 1]) : 2000;
  const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-bench-reconcile-"));
  const sandboxes: SandboxProcess[] = [];
  try {
    // The config repository: 100 objects per file, one signed commit.
    const repo = path.join(dir, "repo");
    await mkdir(path.join(repo, "apps", "shop"), { recursive: true });
    await git(["init", "-q", "-b", "main"], { cwd: repo });
    const objects = objectsFor("", n);
    for (const [f, text] of partFiles(objects).entries())
      await writeFile(path.join(repo, "apps", "shop", `part-${f}.yaml`), text);
    const key = generateSshSigningKey("bench@gitward.dev");
    await commitSigned({
      repoDir: repo,
      message: "bench objects",
      key,
      author: { name: "Bench", email: "bench@gitward.dev" },
    });
    const trust: TrustPolicy = {
      apiVersion: API_VERSION,
      kind: "TrustPolicy",
      metadata: { name: "bench" },
      spec: {
        commits: { signers: [{ name: "bench", ssh: [key.publicKeyLine], paths: ["**"] }] },
        policy: { packs: ["pod-security-restricted", "rbac-least-privilege"] },
      },
    };
    const app: Application = {
      apiVersion: API_VERSION,
      kind: "Application",
      metadata: { name: "shop", namespace: "gitward-system" },
      spec: {
        source: { url: repo, ref: { branch: "main" }, path: "apps/shop" },
        render: { type: "directory" },
        destination: { namespace: "shop", serviceAccountName: "shop-deployer" },
        trustPolicy: "bench",
        prune: true,
      },
    };

    // gitward: first reconcile on a fresh sandbox, as gitward's own least-privilege identity, once with
    // each preflight (the default dry run of every object, and the access-review alternative).
    let runs = 0;
    const firstOn = async (preflight: "dry-run" | "access-review") => {
      const name = `${preflight}-${String(runs++)}`;
      const sb = await startSandboxProcess(dir, name);
      sandboxes.push(sb);
      await prepareCluster(sb);
      const admin = ClusterClient.fromText(sb.kubeconfig);
      const operator = ClusterClient.fromText(
        admin.kubeconfigWithToken(await admin.requestToken("gitward-system", "gitward"), "gitward"),
      );
      admin.close();
      const env: ReconcileEnv = {
        cluster: operator,
        state: new ConfigMapStateStore(operator),
        cacheDir: path.join(dir, `cache-${name}`),
        workDir: dir,
        actor: { type: "user", name: "bench" },
        preflight,
        // As the operator keeps them between passes.
        revisionCache: new RevisionCache(),
        liveVersions: new LiveVersions(),
      };
      const started = performance.now();
      const report = await reconcileApplication(app, trust, env);
      const ms = performance.now() - started;
      if (report.result !== "applied") throw new Error(`first reconcile: ${report.result} ${report.message}`);
      return { ms, report, env, operator };
    };
    // A cold process first (the CLI's case), then the same on a warm one (the operator's case, and the
    // figure compared with kubectl, a compiled binary with nothing to warm up).
    const cold = await firstOn("dry-run");
    cold.operator.close();
    const dry = await firstOn("dry-run");
    const reviewed = await firstOn("access-review");
    reviewed.operator.close();
    const first = dry.report;
    const firstMs = dry.ms;
    const env = dry.env;
    const operator = dry.operator;
    let t: number;

    // kubectl: the same rendered objects, server-side apply, on another fresh sandbox.
    const b = await startSandboxProcess(dir, "b");
    sandboxes.push(b);
    await prepareCluster(b);
    const kubeconfig = path.join(dir, "kubeconfig");
    await writeFile(kubeconfig, b.kubeconfig, { mode: 0o600 });
    const manifest = path.join(dir, "rendered.yaml");
    await writeFile(manifest, objects.map((o) => stringify(o)).join("---\n"));
    t = performance.now();
    await run(
      kubectl,
      [
        "--kubeconfig",
        kubeconfig,
        "--cache-dir",
        path.join(dir, "kcache"),
        "apply",
        "--server-side",
        "-f",
        manifest,
      ],
      { maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: dir } },
    );
    const kubectlMs = performance.now() - t;

    // gitward: no-op reconciles of the same revision on the unchanged cluster, as the operator makes one
    // on every interval; the figure is their median, each one is printed.
    const noopRuns: { ms: number; report: ReconcileReport }[] = [];
    for (let i = 0; i < NOOP_RUNS; i++) {
      t = performance.now();
      const report = await reconcileApplication(app, trust, env);
      const ms = performance.now() - t;
      if (report.result !== "unchanged")
        throw new Error(`no-op reconcile: ${report.result} ${report.message}`);
      noopRuns.push({ ms, report });
    }
    operator.close();
    const byTime = [...noopRuns].sort((a, b) => a.ms - b.ms);
    const median = byTime[Math.floor(byTime.length / 2)] as { ms: number; report: ReconcileReport };
    const noop = median.report;
    const noopMs = median.ms;

    const round = (x: number) => Math.round(x);
    return {
      objects: n,
      steps: { first: first.timings, firstAccessReview: reviewed.report.timings, noop: noop.timings },
      gitward: {
        firstReconcileMs: round(firstMs),
        firstReconcileAccessReviewMs: round(reviewed.ms),
        firstReconcileColdProcessMs: round(cold.ms),
        noopReconcileMs: round(noopMs),
        noopReconcileRunsMs: noopRuns.map((r) => round(r.ms)),
        applied: first.applied.length,
      },
      kubectl: { serverSideApplyMs: round(kubectlMs) },
      ratios: {
        firstReconcileVsKubectl: Number((firstMs / kubectlMs).toFixed(3)),
        firstReconcileAccessReviewVsKubectl: Number((reviewed.ms / kubectlMs).toFixed(3)),
        firstReconcileColdProcessVsKubectl: Number((cold.ms / kubectlMs).toFixed(3)),
        noopVsFirst: Number((noopMs / firstMs).toFixed(3)),
      },
      targets: { firstReconcileVsKubectl: "<= 1.0", noopVsFirst: "< 0.05" },
      notes:
        "gitward's first reconcile includes fetch, commit verification, render, policy, a server-side dry run " +
        "and the apply, all impersonating the application's service account; kubectl only applies.",
    };
  } finally {
    for (const sb of sandboxes) await stopChild(sb.child);
    await rm(dir, { recursive: true, force: true });
  }
}

export { run_ as run };

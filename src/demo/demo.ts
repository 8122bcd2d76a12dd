// `gitward demo`: the README's main command. On embedded defaults and without a cluster it starts the
// sandbox API server and a local git server, builds a config repository signed by a demo key, and walks
// through gitward's promise: signed change is applied, unsigned or policy-breaking change is refused with
// the reason and the cluster untouched, a removed object is pruned, and the audit log verifies.
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { verifyAuditLog } from "../audit/verify.js";
import { ClusterClient, type KubeObject } from "../cluster/client.js";
import { parseConfig } from "../config/load.js";
import { formatReport } from "../reconcile/format.js";
import type { ReconcileReport } from "../reconcile/reconcile.js";
import { reconcileConfig } from "../reconcile/run-config.js";
import { startSandbox, type Sandbox } from "../sandbox/server.js";
import { git } from "../source/git.js";
import { serveGitHttp, type GitHttpServer } from "../source/http-server.js";
import { commitSigned, generateSshSigningKey, type SshSigningKey } from "../trust/commit/signed-commit.js";
import { MANIFESTS } from "./manifests.js";
import { localAccess } from "../dashboard/auth.js";
import { startDashboard } from "../dashboard/server.js";

export interface DemoOptions {
  /** Where narration goes (default stdout). */
  readonly out?: (text: string) => void;
  /** Keep the work folder (default: removed at the end). */
  readonly keep?: boolean;
  /**
   * Leave the read-only dashboard running on this port (0: any free one) at the end, on 127.0.0.1,
   * until `until` resolves (the CLI: Ctrl-C); the sandbox and git server stay up with it.
   */
  readonly dashboard?: { readonly port: number; readonly until: () => Promise<void> };
}

const AUTHOR = { name: "Demo Platform Team", email: "platform@demo.gitward.dev" };

/** The folder holding deploy/ (the package root), from either src/demo or dist/src/demo. */
async function packageRoot(): Promise<string> {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      await access(path.join(dir, "deploy", "install", "operator.yaml"));
      return dir;
    } catch {
      dir = path.dirname(dir);
    }
  }
  throw new Error("cannot find deploy/install/operator.yaml above the demo's folder");
}

function objectsOf(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

class Demo {
  private step = 0;
  private readonly problems: string[] = [];

  constructor(
    private readonly say: (text: string) => void,
    private readonly dir: string,
    private readonly sb: Sandbox,
    private readonly admin: ClusterClient,
    private readonly server: GitHttpServer,
    private readonly key: SshSigningKey,
  ) {}

  get repoDir(): string {
    return path.join(this.dir, "git", "config");
  }

  get configPath(): string {
    return path.join(this.dir, "gitward.yaml");
  }

  get auditPath(): string {
    return path.join(this.dir, "audit.jsonl");
  }

  heading(text: string): void {
    this.step++;
    this.say(`\n== ${this.step}. ${text}\n`);
  }

  line(text: string): void {
    this.say(`   ${text}\n`);
  }

  expect(ok: boolean, what: string): void {
    if (ok) return;
    this.problems.push(what);
    this.line(`!! unexpected: ${what}`);
  }

  get failed(): readonly string[] {
    return this.problems;
  }

  async writeFiles(files: Record<string, string | null>): Promise<void> {
    for (const [rel, content] of Object.entries(files)) {
      const file = path.join(this.repoDir, rel);
      if (content === null) await rm(file, { force: true });
      else {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, content);
      }
    }
  }

  async commit(files: Record<string, string | null>, message: string, signed: boolean): Promise<string> {
    await this.writeFiles(files);
    if (signed) return commitSigned({ repoDir: this.repoDir, message, key: this.key, author: AUTHOR });
    await git(["add", "-A"], { cwd: this.repoDir });
    await git(["-c", "commit.gpgsign=false", "commit", "-q", "-m", message], {
      cwd: this.repoDir,
      env: {
        GIT_AUTHOR_NAME: "Someone With Push Access",
        GIT_AUTHOR_EMAIL: "intruder@demo.gitward.dev",
        GIT_COMMITTER_NAME: "Someone With Push Access",
        GIT_COMMITTER_EMAIL: "intruder@demo.gitward.dev",
      },
    });
    return git(["rev-parse", "HEAD"], { cwd: this.repoDir });
  }

  /** Puts the branch back on a commit, as a maintainer reverting a bad push would. */
  async resetTo(commit: string): Promise<void> {
    await git(["reset", "-q", "--hard", commit], { cwd: this.repoDir });
  }

  async reconcile(): Promise<ReconcileReport> {
    const reports = await reconcileConfig({
      configPath: this.configPath,
      kubeconfigText: this.sb.kubeconfigFor(
        this.sb.serviceAccountToken("gitward-system", "gitward"),
        "gitward",
      ),
      cacheDir: path.join(this.dir, "cache"),
      auditPath: this.auditPath,
      env: { workDir: this.dir, healthTimeoutMs: 20_000 },
    });
    const r = reports[0];
    if (r === undefined) throw new Error("the demo config has no Application");
    for (const l of formatReport(r, 6).trimEnd().split("\n")) this.line(l);
    return r;
  }

  async showObjects(): Promise<string[]> {
    const names: string[] = [];
    for (const [apiVersion, kind] of [
      ["apps/v1", "Deployment"],
      ["v1", "Service"],
      ["v1", "ConfigMap"],
      ["networking.k8s.io/v1", "NetworkPolicy"],
    ] as const) {
      for (const o of await this.admin.list(apiVersion, kind, { namespace: "shop" })) {
        if (kind === "ConfigMap" && o.metadata.name === "kube-root-ca.crt") continue;
        names.push(`${kind}/${o.metadata.name}`);
      }
    }
    this.line(`objects in namespace shop: ${names.length === 0 ? "(none)" : names.join(", ")}`);
    return names;
  }

  async settings(): Promise<unknown> {
    const cm = await this.admin.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "shop",
      name: "settings",
    });
    return cm?.["data"];
  }
}

/** Runs the narrated demo; resolves true when every step behaved as gitward promises. */
export async function runDemo(opts: DemoOptions = {}): Promise<boolean> {
  const say = opts.out ?? ((t: string) => process.stdout.write(t));
  const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-demo-"));
  let sb: Sandbox | undefined;
  let server: GitHttpServer | undefined;
  let admin: ClusterClient | undefined;
  try {
    say("gitward demo: a local Kubernetes API server (the sandbox), a git server, and a config repository\n");
    say("whose commits must be signed by the platform team's key. Nothing here touches a real cluster.\n");

    sb = await startSandbox({ dataDir: path.join(dir, "sandbox") });
    admin = ClusterClient.fromText(sb.kubeconfig);
    const root = await packageRoot();
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
    for (const file of ["deploy/install/operator.yaml", "deploy/examples/application-rbac.yaml"]) {
      for (const o of objectsOf(await readFile(path.join(root, file), "utf8"))) await admin.apply(o);
    }
    const key = generateSshSigningKey("platform@demo.gitward.dev");
    await mkdir(path.join(dir, "git", "config"), { recursive: true });
    server = await serveGitHttp({ root: path.join(dir, "git") });
    const demo = new Demo(say, dir, sb, admin, server, key);
    await git(["init", "-q", "-b", "main"], { cwd: demo.repoDir });

    demo.heading("Set up");
    demo.line(`sandbox API server at ${sb.url} (RBAC on)`);
    demo.line(`git server at ${server.url("config")}`);
    demo.line(
      "gitward runs as service account gitward-system/gitward with least privilege (deploy/install),",
    );
    demo.line("and applies the shop application only by impersonating shop/shop-deployer (deploy/examples).");
    demo.line(`demo signing key: ${key.fingerprint} (ssh-ed25519), trusted as signer "platform"`);
    await writeFile(demo.configPath, MANIFESTS.config(server.url("config"), key.publicKeyLine));
    parseConfig(await readFile(demo.configPath, "utf8"), demo.configPath);

    demo.heading("A signed commit is verified and applied");
    const first = await demo.commit(
      MANIFESTS.initial,
      "Add the shop: web deployment, service, settings",
      true,
    );
    demo.line(`platform team pushes signed commit ${first.slice(0, 12)}`);
    let r = await demo.reconcile();
    demo.expect(r.result === "applied", "the first signed revision should be applied");
    const objects = await demo.showObjects();
    demo.expect(objects.length === 5, "five objects should run in namespace shop");

    demo.heading("Nothing changed: nothing is written");
    r = await demo.reconcile();
    demo.expect(r.result === "unchanged", "an unchanged revision should write nothing");

    demo.heading("An unsigned commit is refused");
    const unsigned = await demo.commit(
      { "apps/shop/settings.yaml": MANIFESTS.settings("red", "unsigned change") },
      "Quick fix straight to main",
      false,
    );
    demo.line(`someone with push access (but no signing key) pushes ${unsigned.slice(0, 12)}`);
    r = await demo.reconcile();
    demo.expect(
      r.result === "refused" && r.reason === "UNSIGNED",
      "the unsigned commit should be refused as UNSIGNED",
    );
    const afterUnsigned = await demo.settings();
    demo.line(`settings in the cluster still say: ${JSON.stringify(afterUnsigned)}`);
    demo.expect(
      JSON.stringify(afterUnsigned).includes("blue"),
      "the cluster should keep the last good settings",
    );
    demo.line(`the team reverts the branch to ${first.slice(0, 12)}`);
    await demo.resetTo(first);

    demo.heading("A signed commit that breaks policy is refused");
    const privileged = await demo.commit(
      { "apps/shop/web.yaml": MANIFESTS.web("privileged") },
      "Run web as a privileged container",
      true,
    );
    demo.line(`platform team pushes signed commit ${privileged.slice(0, 12)} that makes the pod privileged`);
    r = await demo.reconcile();
    demo.expect(
      r.result === "refused" && r.reason === "POLICY_FAILED",
      "the privileged pod should fail policy",
    );
    demo.line(`the team reverts the branch to ${first.slice(0, 12)}`);
    await demo.resetTo(first);

    demo.heading("A good signed change is applied, and a removed object is pruned");
    const good = await demo.commit(
      {
        "apps/shop/settings.yaml": MANIFESTS.settings("green", "signed change"),
        "apps/shop/banner.yaml": null,
      },
      "Green theme; retire the banner",
      true,
    );
    demo.line(`platform team pushes signed commit ${good.slice(0, 12)}: new settings, banner removed`);
    r = await demo.reconcile();
    demo.expect(r.result === "applied", "the good change should be applied");
    demo.expect(r.pruned.includes("ConfigMap shop/banner"), "the removed banner should be pruned");
    await demo.showObjects();
    demo.line(`settings in the cluster now say: ${JSON.stringify(await demo.settings())}`);

    demo.heading("The audit log verifies");
    const audit = await verifyAuditLog(demo.auditPath);
    const records = (await readFile(demo.auditPath, "utf8")).trim().split("\n");
    for (const l of records) {
      const rec = JSON.parse(l) as { seq: number; result: string; revision: string; reason?: string };
      demo.line(
        `#${rec.seq} ${rec.result}${rec.reason === undefined ? "" : ` (${rec.reason})`} revision ${rec.revision.slice(0, 12)}`,
      );
    }
    demo.line(
      audit.ok
        ? `${audit.records} records, hash chain intact (head ${audit.head.hash.slice(0, 23)}...)`
        : `audit log broken: ${audit.firstBad?.message ?? ""}`,
    );
    demo.expect(audit.ok, "the audit log should verify");

    say("\n");
    if (opts.dashboard !== undefined) {
      const dash = await startDashboard({
        cluster: admin,
        access: localAccess(),
        auditLog: demo.auditPath,
        port: opts.dashboard.port,
      });
      say(`Dashboard (read-only) at ${dash.url} — Ctrl-C to stop the demo.\n\n`);
      try {
        await opts.dashboard.until();
      } finally {
        await dash.close();
      }
    }
    if (demo.failed.length === 0) {
      say("Demo complete: only signed, policy-passing change reached the cluster; everything else was\n");
      say("refused with its reason, and the audit log proves what happened.\n");
      return true;
    }
    say(`Demo finished with ${demo.failed.length} unexpected result(s):\n`);
    for (const p of demo.failed) say(`  - ${p}\n`);
    return false;
  } finally {
    admin?.close();
    await server?.stop();
    await sb?.stop();
    if (opts.keep === true) say(`(work folder kept: ${dir})\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

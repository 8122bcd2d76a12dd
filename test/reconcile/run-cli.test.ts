// `gitward run` as it is deployed: two processes of the built CLI against one sandbox, gitward's own
// least-privilege identity, leader election by Lease. Exactly one reconciles; a forged push webhook gets 401
// and a signed one triggers a reconcile at once; the leader killed with SIGKILL is replaced within the lease
// duration; SIGTERM stops gracefully and releases the lease. A checkout folder left by a SIGKILLed gitward
// is removed when the next one starts.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { createPublicKey } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { auditKeyId, generateAuditKeyPair } from "../../src/audit/keys.js";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { cliEntry } from "../support/tools.js";
import { replicaArgs, spawnRun, type RunProc } from "../support/gitward-run.js";
import { configMap, startWorld, type World } from "./harness.js";
import { until as waitUntil } from "../support/until.js";

type Proc = RunProc;

const LEASE_MS = 3_000;
const HOOK_SECRET = "push-hook-secret-for-tests";
let w: World;
let configFile: string;
let kubeconfig: string;
const auditKey = generateAuditKeyPair();
let auditKeyFile: string;
const procs: Proc[] = [];

function start(name: string, env: Record<string, string> = {}): Proc {
  const p = spawnRun(
    name,
    [
      ...replicaArgs(name, { configFile, kubeconfig, dir: w.dir, leaseMs: LEASE_MS }),
      "--audit-key",
      auditKeyFile,
    ],
    { HOME: w.dir, GITWARD_HOOK_SECRET: HOOK_SECRET, ...env },
  );
  procs.push(p);
  return p;
}

/** Waits as long as a process start and a lease may take. */
const until = <T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 20_000) =>
  waitUntil(what, f, ms);

const leading = (p: Proc) => p.lines.find((l) => String(l.rec["msg"]).startsWith("leading"));
const applied = (p: Proc) => p.lines.filter((l) => l.rec["result"] === "applied");

async function holder(): Promise<string | undefined> {
  const lease = await w.admin.get({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: "gitward-system",
    name: "gitward-operator",
  });
  const h = (lease?.["spec"] as { holderIdentity?: string } | undefined)?.holderIdentity;
  return h === undefined || h === "" ? undefined : h;
}

beforeAll(async () => {
  w = await startWorld();
  await w.commit({ "apps/shop/a.yaml": configMap("a", { x: "1" }) });
  configFile = path.join(w.dir, "gitward.yaml");
  auditKeyFile = path.join(w.dir, "audit.key");
  await writeFile(auditKeyFile, auditKey.privatePem, { mode: 0o600 });
  const app = w.app({ interval: "1h", webhook: { secret: { env: "GITWARD_HOOK_SECRET" } } });
  await writeFile(configFile, [stringify(w.trust()), stringify(app)].join("---\n"));
  kubeconfig = path.join(w.dir, "operator.kubeconfig");
  await writeFile(
    kubeconfig,
    w.sb.kubeconfigFor(w.sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
    {
      mode: 0o600,
    },
  );
});

afterAll(async () => {
  for (const p of procs) p.child.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exit));
  await w.stop();
});

describe("gitward run: two replicas", () => {
  it("elects one leader, takes webhooks, survives the leader's SIGKILL and stops on SIGTERM", async () => {
    const a = start("replica-a");
    const b = start("replica-b");
    await until("both servers", () => (a.url !== undefined && b.url !== undefined ? true : undefined)).catch(
      (err: unknown) => {
        throw new Error(`${String(err)}: ${JSON.stringify([...a.lines, ...b.lines].slice(0, 10))}`);
      },
    );
    const first = await until("a leader", () => (leading(a) ? a : leading(b) ? b : undefined));
    const second = first === a ? b : a;
    expect(await holder()).toBe(first.name);
    await until("the first apply", () => (applied(first).length > 0 ? true : undefined));
    expect(
      (await w.admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "a" }))?.["data"],
    ).toEqual({
      x: "1",
    });
    // The follower wrote nothing and says so on /metrics.
    expect(leading(second)).toBeUndefined();
    expect(applied(second)).toHaveLength(0);
    const followerMetrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(followerMetrics).toMatch(/^gitward_leader 0$/m);
    expect(await (await fetch(`${first.url}/metrics`)).text()).toMatch(/^gitward_leader 1$/m);
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);

    // A push webhook: forged is refused and triggers nothing; signed triggers a reconcile at once.
    await w.commit({ "apps/shop/b.yaml": configMap("b", { y: "2" }) });
    const body = JSON.stringify({ ref: "refs/heads/main", after: await w.repo.git("rev-parse", "HEAD") });
    const hook = (sig: string) =>
      fetch(`${first.url}/hooks/shop`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": sig },
        body,
      });
    const forged = await hook("sha256=" + createHmac("sha256", "wrong").update(body).digest("hex"));
    expect(forged.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(applied(first)).toHaveLength(1);
    const good = await hook("sha256=" + createHmac("sha256", HOOK_SECRET).update(body).digest("hex"));
    expect(good.status).toBe(202);
    await until("the webhook's apply", () => (applied(first).length === 2 ? true : undefined), 10_000);
    expect(
      await w.admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "b" }),
    ).toBeDefined();
    const refused = first.lines.find((l) => l.rec["msg"] === "webhook refused" || l.rec["level"] === "warn");
    expect(JSON.stringify(refused ?? {})).not.toContain(HOOK_SECRET);

    // The leader dies without a word; the follower takes over within the lease duration.
    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    await first.exit;
    const took = await until("the takeover", () => leading(second), LEASE_MS * 3);
    expect(took.at - killedAt).toBeLessThanOrEqual(LEASE_MS + 1_500);
    expect(await holder()).toBe(second.name);
    // The new leader reconciles (nothing to change: the revision is applied) and keeps the objects.
    await until("the new leader's pass", () =>
      second.lines.find((l) => l.rec["msg"] === "reconcile requested: became leader") ? true : undefined,
    );

    // SIGTERM: graceful stop, exit 0, the lease released for the next replica.
    second.child.kill("SIGTERM");
    expect(await second.exit).toBe(0);
    expect(second.lines.some((l) => l.rec["msg"] === "stopped")).toBe(true);
    expect(await holder()).toBeUndefined();

    // Every record the leader wrote is signed with --audit-key, under its key id.
    const audit = await verifyAuditLog(path.join(w.dir, `audit-${first.name}.jsonl`), {
      publicKey: createPublicKey(auditKey.publicPem),
    });
    expect(audit).toMatchObject({ ok: true, status: "intact" });
    expect(audit.records).toBeGreaterThanOrEqual(2);
    expect(audit.signed).toBe(audit.records);
    expect(auditKeyId(createPublicKey(auditKey.publicPem))).toBe(auditKey.keyId);
  });

  it("removes at start the checkout folder of a gitward SIGKILLed mid-checkout, and only that", async () => {
    const tmp = path.join(w.dir, "tmp-c");
    await mkdir(tmp);
    // A real checkout by gitward's own code in another process, killed while it holds the folder.
    const checkout = path.join(path.dirname(cliEntry), "..", "reconcile", "checkout.js");
    const head = await w.repo.git("rev-parse", "HEAD");
    const script =
      `const { checkoutCommit } = await import(${JSON.stringify(checkout)});` +
      `const co = await checkoutCommit(${JSON.stringify(w.repo.dir)}, ${JSON.stringify(head)}, ${JSON.stringify(tmp)});` +
      `process.stdout.write(co.dir + "\\n"); setInterval(() => {}, 60_000);`;
    const killed = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    killed.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    const left = await until("the checkout", () => (out.endsWith("\n") ? out.trim() : undefined));
    const exited = new Promise((resolve) => killed.on("exit", resolve));
    killed.kill("SIGKILL");
    await exited;
    expect(await readdir(path.join(left, "apps", "shop"))).toContain("a.yaml");
    // A folder that is not a checkout stays.
    await mkdir(path.join(tmp, "unrelated"));

    const c = start("replica-c", { TMPDIR: tmp });
    await until("the server of replica-c", () => c.url);
    const removed = c.lines.find((l) => l.rec["msg"] === "removed checkout folders of a killed gitward");
    expect(removed?.rec["folders"]).toEqual([path.dirname(left)]);
    expect(existsSync(path.dirname(left))).toBe(false);
    expect(await readdir(tmp)).toContain("unrelated");
    c.child.kill("SIGTERM");
    expect(await c.exit).toBe(0);
  });

  it("refuses to start without exactly one of --config and --in-cluster (exit 2)", async () => {
    const child = spawn(process.execPath, [cliEntry, "run", "--kubeconfig", kubeconfig]);
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(err).toContain("exactly one of --config FILE or --in-cluster");
  });
});

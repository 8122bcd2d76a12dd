// `gitward run --in-cluster` (the built CLI, as deployed) with SealedSecrets of every scope: a first
// apply, a kubectl change of a Secret's data reverted, a tampered SealedSecret refused and a deleted Secret
// recreated. Then the plaintext (and its base64) is looked for in every alert, log line, /metrics, every
// object of the cluster but the Secrets themselves, the audit log and every file the operator wrote.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes, randomInt } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { KubeObject } from "../../src/cluster/client.js";
import { API_VERSION } from "../../src/config/types.js";
import type { GitwardEvent } from "../../src/notify/events.js";
import { generateSealingKey, sealingKeyToSecret, type SealingKey } from "../../src/secrets/keys.js";
import { sealSecret } from "../../src/secrets/seal.js";
import type { Scope } from "../../src/secrets/types.js";
import { configMap, installCrds, startWorld, type World } from "../reconcile/harness.js";
import { startReceiver, type Receiver } from "../notify/receiver.js";
import { call, kubectlFor, type Kubectl } from "../sandbox/helpers.js";
import { run as runTool } from "../support/git-exec.js";
import { cliEntry } from "../support/tools.js";
import { decoded, flipBit, withValue } from "./support.js";
import { until as waitUntil } from "../support/until.js";

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const distinctive = (): string =>
  Array.from({ length: 24 }, () => ALPHANUM[randomInt(ALPHANUM.length)]).join("");

/** Values that may exist only inside the three Secrets in the cluster (read as admin). */
const SECRET_VALUES = {
  dbPassword: distinctive(),
  dbCert: `${distinctive()}\n${distinctive()}\n${distinctive()}\n`,
  apiToken: randomBytes(18).toString("base64"),
  sharedKey: distinctive(),
};
/** What kubectl writes into the Secret (gone once reverted), and a value only ever sealed then tampered. */
const DRIFT_VALUE = distinctive();
const TAMPERED_VALUE = distinctive();

/** The forms a value can take in text: as is, JSON-escaped, base64 (a Secret's data), line by line. */
function needlesOf(name: string, value: string): [string, string][] {
  const forms: [string, string][] = [
    [name, value],
    [`${name} (JSON-escaped)`, JSON.stringify(value).slice(1, -1)],
    [`${name} (base64)`, Buffer.from(value).toString("base64")],
    ...value
      .split("\n")
      .filter((line) => line.length >= 16)
      .map((line, i): [string, string] => [`${name} (line ${i + 1})`, line]),
  ];
  // One label per distinct needle, the first (a one-line value is its own JSON form and its only line).
  return forms.filter(([, needle], i) => forms.findIndex(([, n]) => n === needle) === i);
}

const ALL_VALUES: [string, string][] = [
  ...Object.entries(SECRET_VALUES),
  ["driftValue", DRIFT_VALUE],
  ["tamperedValue", TAMPERED_VALUE],
];
const NEEDLES: [string, Buffer][] = ALL_VALUES.flatMap(([name, value]) =>
  needlesOf(name, value).map(([label, needle]): [string, Buffer] => [label, Buffer.from(needle)]),
);

/** The needles found in `haystack`, as "needle in where". */
function leaksIn(where: string, haystack: string | Buffer): string[] {
  const bytes = typeof haystack === "string" ? Buffer.from(haystack) : haystack;
  return NEEDLES.filter(([, n]) => bytes.includes(n)).map(([label]) => `${label} in ${where}`);
}

const LEASE = "5s";
const HMAC = "alert-hmac-secret-for-plaintext-tests";
const HOOK_SECRET = "push-hook-secret-for-plaintext-tests";
let w: World;
let key: SealingKey;
let kubectl: Kubectl;
let receiver: Receiver;
let child: ChildProcess | undefined;
let exit: Promise<number | null> | undefined;
let listen: string | undefined;
const stdout: Buffer[] = [];
const stderr: Buffer[] = [];
const logs: Record<string, unknown>[] = [];
/** stdout lines that are not JSON (there should be none: everything goes through pino). */
const notJson: string[] = [];
const opDir = () => path.join(w.dir, "operator");

function sealed(name: string, namespace: string | undefined, scope: Scope, data: Record<string, string>) {
  const r = sealSecret(
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, ...(namespace === undefined ? {} : { namespace }), labels: { app: "shop" } },
      type: "Opaque",
      stringData: data,
    },
    key.publicKey,
    { scope },
  );
  if (!r.ok) throw new Error(r.message);
  return r.sealed;
}

function startCli(kubeconfig: string): void {
  child = spawn(
    process.execPath,
    [
      cliEntry,
      "run",
      "--in-cluster",
      "--kubeconfig",
      kubeconfig,
      "--metrics-addr",
      "127.0.0.1:0",
      "--cache-dir",
      path.join(opDir(), "cache"),
      "--audit-log",
      path.join(opDir(), "audit.jsonl"),
      "--lease-duration",
      LEASE,
      "--identity",
      "replica-a",
      // As deploy/install/deployment.yaml: the keys in their own namespace.
      "--key-namespace=gitward-keys",
      "--health-timeout",
      "10s",
    ],
    // HOME and TMPDIR inside the operator's folder, so every file it writes (checkouts, render homes,
    // credential files) is walked below.
    {
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: path.join(opDir(), "home"),
        TMPDIR: path.join(opDir(), "tmp"),
      },
    },
  );
  const started = child;
  exit = new Promise((resolve) => started.on("exit", resolve));
  child.stderr?.on("data", (c: Buffer) => stderr.push(c));
  let buf = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout.push(c);
    buf += c.toString("utf8");
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        notJson.push(line);
        continue;
      }
      logs.push(rec);
      if (rec["msg"] === "gitward run started") listen = String(rec["listen"]);
    }
  });
}

const until = <T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 10_000) =>
  waitUntil(
    what,
    f,
    ms,
    () =>
      "last log lines:\n" +
      logs
        .slice(-5)
        .map((l) => JSON.stringify(l))
        .join("\n"),
  );

/** The events of the alerts of one kind received so far, each checked to carry a valid HMAC. */
function alerts(kind: GitwardEvent["kind"]): GitwardEvent[] {
  return receiver.requests
    .filter((q) => q.headers["x-gitward-event"] === kind)
    .map((q) => {
      expect(q.hmacValid).toBe(true);
      return (JSON.parse(q.body) as { event: GitwardEvent }).event;
    });
}

function driftAlert(kind: "drift-detected" | "drift-reverted", name: string, manager: string) {
  return alerts(kind).find(
    (e) =>
      (e.kind === "drift-detected" || e.kind === "drift-reverted") &&
      e.object.name === name &&
      e.manager === manager,
  );
}

function secret(name: string): Promise<KubeObject | undefined> {
  return w.admin.get({ apiVersion: "v1", kind: "Secret", namespace: "shop", name });
}

async function secretValues(name: string): Promise<Record<string, string>> {
  return decoded((await secret(name))?.["data"] as Record<string, string> | undefined);
}

/** A signed push webhook for the branch head, as the git host sends it. */
async function push(): Promise<void> {
  const body = JSON.stringify({ ref: "refs/heads/main", after: await w.repo.git("rev-parse", "HEAD") });
  const res = await fetch(`${String(listen)}/hooks/shop`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-hub-signature-256": "sha256=" + createHmac("sha256", HOOK_SECRET).update(body).digest("hex"),
    },
    body,
  });
  expect(res.status).toBe(202);
}

/** Every object the sandbox serves, found by discovery, as [where, JSON] (list items carry no kind). */
async function everyObject(): Promise<[string, KubeObject][]> {
  const groupVersions = ["v1"];
  const groups = (await call(w.sb, "GET", "/apis")).json["groups"] as {
    versions: { groupVersion: string }[];
  }[];
  for (const g of groups) groupVersions.push(...g.versions.map((v) => v.groupVersion));
  const out: [string, KubeObject][] = [];
  for (const gv of groupVersions) {
    const base = gv === "v1" ? "/api/v1" : `/apis/${gv}`;
    const list = (await call(w.sb, "GET", base)).json["resources"] as { name: string; verbs: string[] }[];
    for (const r of list.filter((r) => !r.name.includes("/") && r.verbs.includes("list"))) {
      const reply = await call(w.sb, "GET", `${base}/${r.name}`);
      expect(reply.status, `${base}/${r.name}`).toBe(200);
      for (const o of reply.json["items"] as KubeObject[]) {
        out.push([`${gv} ${r.name} ${o.metadata.namespace ?? ""}/${o.metadata.name}`, o]);
      }
    }
  }
  return out;
}

/** Every file below `dir`, as [path, bytes]. */
async function everyFile(dir: string): Promise<[string, Buffer][]> {
  const out: [string, Buffer][] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    out.push([file, await readFile(file)]);
  }
  return out;
}

/** Every object of every git repository among `files`, decompressed: a byte search of a pack finds nothing. */
async function everyGitObject(files: readonly [string, Buffer][]): Promise<[string, string][]> {
  const gitDirs = new Set(
    files
      .map(([f]) => f)
      .filter(
        (f) =>
          path.basename(f) === "HEAD" &&
          files.some(([g]) => g.startsWith(path.join(path.dirname(f), "objects") + path.sep)),
      )
      .map((f) => path.dirname(f)),
  );
  const out: [string, string][] = [];
  for (const dir of gitDirs) {
    const r = await runTool("git", ["--git-dir", dir, "cat-file", "--batch-all-objects", "--batch"]);
    out.push([`git objects of ${dir}`, r.stdout]);
  }
  return out;
}

beforeAll(async () => {
  w = await startWorld();
  key = await generateSealingKey({ modulusLength: 2048 });
  kubectl = await kubectlFor(w.sb);
  receiver = await startReceiver(HMAC);
  await installCrds(w.admin);
  const system = { namespace: "gitward-system" };
  await w.admin.apply(sealingKeyToSecret(key, "gitward-keys") as unknown as KubeObject);
  await w.admin.apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "gitward-alerts", ...system },
    stringData: { url: `${receiver.url}/alerts`, hmac: HMAC, hook: HOOK_SECRET },
  });
  await w.admin.apply({
    apiVersion: API_VERSION,
    kind: "AlertSink",
    metadata: { name: "ops", ...system },
    spec: {
      type: "webhook",
      url: { secretRef: { name: "gitward-alerts", key: "url" } },
      hmacSecret: { secretRef: { name: "gitward-alerts", key: "hmac" } },
    },
  });
  const trust = w.trust();
  await w.admin.apply({ ...trust, metadata: { name: trust.metadata.name } });
  const app = w.app({
    interval: "1h",
    drift: "revert",
    webhook: { secret: { secretRef: { name: "gitward-alerts", key: "hook" } } },
  });
  await w.admin.apply({ ...app, metadata: { ...app.metadata } });

  await w.commit({
    // Strict: bound to shop/db, with a multi-line value.
    "apps/shop/db.yaml": stringify(
      sealed("db", "shop", "strict", { password: SECRET_VALUES.dbPassword, cert: SECRET_VALUES.dbCert }),
    ),
    // Namespace-wide, with a value that is itself base64.
    "apps/shop/api.yaml": stringify(
      sealed("api", "shop", "namespace-wide", { token: SECRET_VALUES.apiToken }),
    ),
    // Cluster-wide, with no namespace: it lands in the destination's.
    "apps/shop/shared.yaml": stringify(
      sealed("shared", undefined, "cluster-wide", { key: SECRET_VALUES.sharedKey }),
    ),
    "apps/shop/settings.yaml": configMap("settings", { mode: "blue" }),
  });

  for (const d of ["cache", "home", "tmp"]) await mkdir(path.join(opDir(), d), { recursive: true });
  const kubeconfig = path.join(w.dir, "operator.kubeconfig");
  await writeFile(
    kubeconfig,
    w.sb.kubeconfigFor(w.sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
    { mode: 0o600 },
  );
  startCli(kubeconfig);
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await exit;
  await receiver.close();
  await kubectl.cleanup();
  await w.stop();
});

describe("gitward run with sealed secrets", () => {
  it("applies the revision: the Secrets hold the plaintext, the alert says how many objects", async () => {
    const applied = await until("the revision-applied alert", () => alerts("revision-applied")[0]);
    expect(applied).toMatchObject({
      revision: await w.repo.git("rev-parse", "HEAD"),
      objectsApplied: 4,
    });
    expect(await secretValues("db")).toEqual({
      password: SECRET_VALUES.dbPassword,
      cert: SECRET_VALUES.dbCert,
    });
    expect(await secretValues("api")).toEqual({ token: SECRET_VALUES.apiToken });
    expect(await secretValues("shared")).toEqual({ key: SECRET_VALUES.sharedKey });
    // Let the drift watches open (list + watch per kind) before changing anything.
    await new Promise((r) => setTimeout(r, 300));
  });

  it("a kubectl change of a Secret's data is reported by field name, never by value, and reverted", async () => {
    const patch = JSON.stringify({ data: { password: Buffer.from(DRIFT_VALUE).toString("base64") } });
    const r = await kubectl.run(["-n", "shop", "patch", "secret", "db", "-p", patch]);
    expect(r.code, r.stderr).toBe(0);
    const detected = await until("the drift-detected alert", () =>
      driftAlert("drift-detected", "db", "kubectl-patch"),
    );
    expect(detected).toMatchObject({ fields: ["data.password"] });
    const reverted = await until("the drift-reverted alert", () =>
      driftAlert("drift-reverted", "db", "kubectl-patch"),
    );
    expect(reverted).toMatchObject({ fields: ["data.password"] });
    expect(await secretValues("db")).toEqual({
      password: SECRET_VALUES.dbPassword,
      cert: SECRET_VALUES.dbCert,
    });
    const line = logs.find((l) => String(l["msg"]).startsWith("drift detected: Secret shop/db"));
    expect(line).toMatchObject({ fields: ["data.password"], manager: "kubectl-patch" });
  });

  it("a tampered SealedSecret is refused, and the error names the value, not its plaintext", async () => {
    const good = sealed("db", "shop", "strict", { password: TAMPERED_VALUE, cert: SECRET_VALUES.dbCert });
    const tampered = withValue(good, "password", flipBit(good.spec.encryptedData["password"] ?? "", -1));
    await w.commit({ "apps/shop/db.yaml": stringify(tampered) });
    await push();
    const refused = await until("the revision-refused alert", () => alerts("revision-refused")[0]);
    expect(refused).toMatchObject({
      code: "SEALED_SECRET",
      revision: await w.repo.git("rev-parse", "HEAD"),
    });
    const app = await w.admin.get({
      apiVersion: API_VERSION,
      kind: "Application",
      namespace: "gitward-system",
      name: "shop",
    });
    const ready = (
      app?.["status"] as { conditions?: { type: string; message?: string }[] } | undefined
    )?.conditions?.find((c) => c.type === "Ready");
    expect(ready?.message).toContain('SealedSecret shop/db value "password"');
    expect(ready?.message).toContain("failed authentication");
    expect(await secretValues("db")).toEqual({
      password: SECRET_VALUES.dbPassword,
      cert: SECRET_VALUES.dbCert,
    });
  });

  it("a deleted Secret is recreated with its values", async () => {
    const before = (await secret("api"))?.metadata.uid;
    const r = await kubectl.run(["-n", "shop", "delete", "secret", "api"]);
    expect(r.code, r.stderr).toBe(0);
    await until("the deletion's drift-detected alert", () => driftAlert("drift-detected", "api", "deleted"));
    await until("the deletion's drift-reverted alert", () => driftAlert("drift-reverted", "api", "deleted"));
    const back = await until("the recreated Secret", async () => {
      const s = await secret("api");
      return s !== undefined && s.metadata.uid !== before ? s : undefined;
    });
    expect(decoded(back["data"] as Record<string, string>)).toEqual({ token: SECRET_VALUES.apiToken });
  });

  it("the plaintext is nowhere but in the Secrets: alerts, logs, /metrics, the cluster, the audit log, disk", async () => {
    // The search itself finds what it looks for, in every form it looks for.
    const dbSecret = await secret("db");
    const inSecret = leaksIn("the Secret", JSON.stringify(dbSecret));
    expect(inSecret).toContain("dbPassword (base64) in the Secret");
    expect(inSecret).toContain("dbCert (base64) in the Secret");
    const inValues = leaksIn(
      "its values",
      JSON.stringify(decoded(dbSecret?.["data"] as Record<string, string>)),
    );
    expect(inValues).toEqual(
      expect.arrayContaining([
        "dbPassword in its values",
        "dbCert (JSON-escaped) in its values",
        "dbCert (line 2) in its values",
      ]),
    );
    const scratch = await mkdtemp(path.join(os.tmpdir(), "gitward-plaintext-selfcheck-"));
    try {
      await writeFile(path.join(scratch, "secret.json"), JSON.stringify(dbSecret));
      expect((await everyFile(scratch)).flatMap(([f, b]) => leaksIn(f, b))).not.toHaveLength(0);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }

    const leaks: string[] = [];
    // Alerts: every request the receiver got, headers and body.
    expect(alerts("revision-applied").length).toBeGreaterThanOrEqual(1);
    expect(alerts("revision-refused").length).toBeGreaterThanOrEqual(1);
    expect(alerts("drift-detected").length).toBeGreaterThanOrEqual(2);
    expect(alerts("drift-reverted").length).toBeGreaterThanOrEqual(2);
    for (const [i, q] of receiver.requests.entries()) leaks.push(...leaksIn(`alert ${i}`, JSON.stringify(q)));
    // /metrics.
    const metrics = await (await fetch(`${String(listen)}/metrics`)).text();
    expect(metrics).toMatch(
      /gitward_drift_events_total\{application="gitward-system\/shop",action="reverted"\} 2/,
    );
    leaks.push(...leaksIn("/metrics", metrics));
    // Every object in the cluster: the three Secrets are the only place the plaintext may be.
    const objects = await everyObject();
    const allowed = new Set(["v1 secrets shop/db", "v1 secrets shop/api", "v1 secrets shop/shared"]);
    expect(objects.map(([where]) => where)).toEqual(expect.arrayContaining([...allowed]));
    const events = objects.filter(([where]) => where.startsWith("v1 events ")).map(([, o]) => o["reason"]);
    expect(events).toEqual(expect.arrayContaining(["ReconciliationSucceeded", "SEALED_SECRET"]));
    const application = objects.find(
      ([where]) => where === "gitward.dev/v1alpha1 applications gitward-system/shop",
    );
    expect(application?.[1]["status"]).toBeDefined();
    for (const [where, o] of objects) {
      const found = leaksIn(where, JSON.stringify(o));
      // The Secrets as listed hold their values (base64): the list reads what the search looks for.
      if (allowed.has(where)) {
        expect(
          found.filter((l) => l.includes("(base64)")),
          where,
        ).not.toEqual([]);
      } else {
        leaks.push(...found);
      }
    }

    // SIGTERM: a graceful stop flushes the log and the audit log.
    child?.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(logs.some((l) => l["msg"] === "stopped")).toBe(true);
    expect(logs.length).toBeGreaterThan(10);
    expect(notJson).toEqual([]);
    leaks.push(...leaksIn("stdout (the JSON log)", Buffer.concat(stdout)));
    leaks.push(...leaksIn("stderr", Buffer.concat(stderr)));
    // The audit log has the drift, by field name.
    const audit = await readFile(path.join(opDir(), "audit.jsonl"), "utf8");
    expect(audit).toContain('"fields":["data.password"]');
    // Every file under the world's folder: the operator's cache (git mirrors), home, temp folder and audit
    // log, and the config repository; git objects decompressed.
    const files = await everyFile(w.dir);
    expect(files.some(([f]) => f.startsWith(path.join(opDir(), "cache") + path.sep))).toBe(true);
    for (const [file, bytes] of files) leaks.push(...leaksIn(file, bytes));
    const gitObjects = await everyGitObject(files);
    expect(gitObjects.some(([where]) => where.includes(path.join(opDir(), "cache")))).toBe(true);
    for (const [where, text] of gitObjects) leaks.push(...leaksIn(where, text));

    expect(leaks).toEqual([]);
  });
});

// The dashboard in a real browser (Debian's chromium driven by Playwright) against the sandbox with a real
// operator: a signed revision shows with its signer, a refused one with its verdict code and reason, a
// kubectl drift with the manager's name within 2 s, the audit chain verified and then broken by a tampered
// record, a hostile path rendered as text, and tokens checked with TokenReview/SubjectAccessReview.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type Page } from "@playwright/test";
import { AxeBuilder } from "@axe-core/playwright";
import { Operator } from "../../src/reconcile/operator.js";
import { OperatorMetrics } from "../../src/observe/metrics.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { SealingKeyRing } from "../../src/secrets/keys.js";
import { localAccess, tokenAccess } from "../../src/dashboard/auth.js";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import type { TrustPolicy } from "../../src/config/types.js";
import { kubectlFor, type Kubectl } from "../sandbox/helpers.js";
import { configMap, deployment, startWorld, type World } from "../reconcile/harness.js";
import { repoRoot } from "../support/tools.js";
import { until } from "../support/until.js";

const CHROMIUM = process.env["GITWARD_CHROMIUM"] ?? "/usr/bin/chromium";
const SHOTS = path.join(repoRoot, "test-artifacts", "dashboard");
const HOSTILE = "apps/shop/<script>alert(1)</script>/evil.yaml";

let w: World;
let kubectl: Kubectl;
let op: Operator;
let browser: Browser;
let dash: Dashboard;
let tokenDash: Dashboard;
let page: Page;
const alerts: string[] = [];

/** Only apps/shop/*.yaml is the platform team's: a path below it is NOT_AUTHORIZED_FOR_PATH. */
function trust(): TrustPolicy {
  const t = w.trust();
  const signers = t.spec.commits?.signers ?? [];
  for (const s of signers) s.paths = ["apps/shop/*.yaml"];
  return t;
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function open(url: string): Promise<void> {
  const res = await page.goto(url);
  expect(res?.status()).toBe(200);
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  w = await startWorld();
  kubectl = await kubectlFor(w.sb);
  await w.commit({
    "apps/shop/web.yaml": deployment("web", 2),
    "apps/shop/settings.yaml": configMap("settings", { mode: "blue" }),
  });
  op = new Operator({
    cluster: w.operator,
    state: new ConfigMapStateStore(w.operator),
    cacheDir: path.join(w.dir, "cache"),
    workDir: w.dir,
    audit: w.audit,
    actor: { type: "operator", name: "system:serviceaccount:gitward-system:gitward" },
    metrics: new OperatorMetrics(),
    log: (level, message) => {
      if (level === "error") alerts.push(message);
    },
    sealingKeys: () => Promise.resolve(new SealingKeyRing([])),
    credentials: () => Promise.resolve(undefined),
    env: { healthTimeoutMs: 10_000 },
  });
  op.setConfig([w.app({ interval: "1h", drift: "alert" })], [trust()]);
  op.start();
  await until("the first reconcile", () => (op.synced ? true : undefined), 30_000);
  dash = await startDashboard({
    cluster: w.admin,
    access: localAccess(),
    auditLog: w.auditPath,
    onError: (e) => {
      console.error("dashboard error", e);
    },
  });
  tokenDash = await startDashboard({ cluster: w.admin, access: tokenAccess(w.admin), auditLog: w.auditPath });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
}, 90_000);

afterAll(async () => {
  await browser.close();
  await dash.close();
  await tokenDash.close();
  await op.stop();
  await kubectl.cleanup();
  await w.stop();
});

describe("dashboard in a real browser", () => {
  it("shows the signed revision applied, with its signer, on the overview and the Application page", async () => {
    await open(dash.url);
    const row = page.locator("tbody tr", { hasText: "gitward-system/shop" });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain("Synced");
    expect(await row.textContent()).toContain("platform");
    expect(await row.textContent()).toContain("Ready");
    const csp = (await page.request.get(dash.url)).headers()["content-security-policy"];
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("script-src");
    await shot("overview");
    await row.locator("a").first().click();
    expect(await page.locator("h1").textContent()).toBe("gitward-system/shop");
    const timeline = page.locator("table", { hasText: "Signed by (key)" });
    expect(await timeline.textContent()).toMatch(/applied[\s\S]*platform/);
    expect(await page.locator("table", { hasText: "Kind · namespace" }).textContent()).toContain("web");
    await shot("application");
  });

  it("shows a kubectl drift with the field and the manager's name within 2 s", async () => {
    await new Promise((r) => setTimeout(r, 300)); // the operator's watches open after its first pass
    const r = await kubectl.run([
      "-n",
      "shop",
      "patch",
      "configmap",
      "settings",
      "-p",
      '{"data":{"mode":"red"}}',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const t0 = Date.now();
    await until(
      "the drift on the page",
      async () => {
        await page.goto(`${dash.url}apps/gitward-system/shop`);
        const text = (await page.locator(".drift-manager").allTextContents()).join(" ");
        return text.includes("kubectl-patch") ? true : undefined;
      },
      5_000,
    );
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await page.locator("table", { hasText: "Changed by" }).textContent()).toContain("data.mode");
    await shot("drift");
  });

  it("shows a refused revision with its verdict code, and a hostile path as text, never as markup", async () => {
    await w.commit({ [HOSTILE]: configMap("evil", { a: "1" }) });
    op.trigger({ namespace: "gitward-system", name: "shop" }, "test");
    let dialogs = 0;
    page.on("dialog", (d) => {
      dialogs++;
      void d.dismiss();
    });
    await until(
      "the refusal on the overview",
      async () => {
        await page.goto(dash.url);
        const text = (await page.locator("tbody tr", { hasText: "gitward-system/shop" }).textContent()) ?? "";
        return text.includes("Refused") ? text : undefined;
      },
      20_000,
    );
    const row = page.locator("tbody tr", { hasText: "gitward-system/shop" });
    expect(await row.textContent()).toContain("NOT_AUTHORIZED_FOR_PATH");
    await shot("refused");
    // The Application page's last refusal names the path; it arrives as text, and the browser made no <script>
    // element out of it.
    await open(`${dash.url}apps/gitward-system/shop`);
    const refusal = page.locator("section.refusal");
    expect(await refusal.textContent()).toContain("NOT_AUTHORIZED_FOR_PATH");
    expect(await refusal.textContent()).toContain("<script>alert(1)</script>");
    expect(await page.locator("table.events").textContent()).toContain("NOT_AUTHORIZED_FOR_PATH");
    expect(await page.locator("main script").count()).toBe(0);
    expect(dialogs).toBe(0);
    const body = await (await page.request.get(`${dash.url}apps/gitward-system/shop`)).text();
    expect(body).not.toContain("<script>alert(1)");
    expect(body).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    await shot("application-refused");
  });

  it("filters the overview without JavaScript", async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const p = await ctx.newPage();
    await p.goto(`${dash.url}?q=nothing-like-this`);
    expect(await p.locator("tbody").textContent()).toContain("no Applications");
    await p.goto(`${dash.url}?show=attention`);
    expect(await p.locator("tbody tr", { hasText: "gitward-system/shop" }).count()).toBe(1);
    await ctx.close();
  });

  it("shows the audit chain verified, then broken at the tampered record", async () => {
    await open(`${dash.url}audit`);
    expect(await page.locator(".chain").textContent()).toMatch(/verified|chain intact/);
    expect(await page.locator(".chain").getAttribute("class")).not.toContain("bad");
    await shot("audit");
    const text = await readFile(w.auditPath, "utf8");
    const lines = text.split("\n");
    const first = JSON.parse(lines[0] ?? "{}") as { result: string };
    first.result = first.result === "applied" ? "refused" : "applied";
    lines[0] = JSON.stringify(first);
    await writeFile(w.auditPath, lines.join("\n"));
    try {
      await open(`${dash.url}audit`);
      expect(await page.locator(".chain").textContent()).toMatch(/broken at record 1\b/);
      await shot("audit-broken");
    } finally {
      await writeFile(w.auditPath, text);
    }
  });

  it("has no serious or critical accessibility issues (axe-core) on its pages", async () => {
    for (const url of [dash.url, `${dash.url}apps/gitward-system/shop`, `${dash.url}audit`]) {
      await open(url);
      const result = await new AxeBuilder({ page }).analyze();
      const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      expect(bad.map((v) => `${url}: ${v.id}: ${v.help}`)).toEqual([]);
    }
  });
});

describe("dashboard access", () => {
  it("answers only GET and HEAD", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const res = await fetch(dash.url, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
    }
    expect((await fetch(dash.url, { method: "HEAD" })).status).toBe(200);
  });

  it("with --auth token: no token or a bad one is 401, a user without rights 403, a reader 200", async () => {
    const url = `${tokenDash.url}apps/gitward-system/shop`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer not-a-token" } })).status).toBe(401);
    const nobody = w.sb.mintToken("mallory");
    const denied = await fetch(url, { headers: { authorization: `Bearer ${nobody}` } });
    expect(denied.status).toBe(403);
    expect(await denied.text()).not.toContain(nobody);
    expect(
      (await fetch(`${tokenDash.url}audit`, { headers: { authorization: `Bearer ${nobody}` } })).status,
    ).toBe(403);
    await w.admin.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "app-reader", namespace: "gitward-system" },
      rules: [{ apiGroups: ["gitward.dev"], resources: ["applications"], verbs: ["get"] }],
    });
    await w.admin.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "alice-reads", namespace: "gitward-system" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "app-reader" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }],
    });
    const alice = w.sb.mintToken("alice");
    const ok = await fetch(url, { headers: { authorization: `Bearer ${alice}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("gitward-system/shop");
    // Alice reads gitward-system, not the audit log of every namespace.
    expect(
      (await fetch(`${tokenDash.url}audit`, { headers: { authorization: `Bearer ${alice}` } })).status,
    ).toBe(403);
  });
});

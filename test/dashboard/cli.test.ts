// `gitward dashboard` as a command: it prints its URL and serves until SIGTERM against a kubeconfig (the
// sandbox's), refuses a non-loopback address without token auth, and escapes what it renders.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import os from "node:os";
import path from "node:path";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { escapeHtml, html, raw } from "../../src/dashboard/html.js";
import { cliEntry, runCli } from "../support/tools.js";

let sb: Sandbox;
let dir: string;

beforeAll(async () => {
  sb = await startSandbox();
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-dashboard-cli-"));
  await writeFile(path.join(dir, "kubeconfig"), sb.kubeconfig, { mode: 0o600 });
});

afterAll(async () => {
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("gitward dashboard", () => {
  it("prints its URL, serves the overview with no Applications, and stops on SIGTERM with exit 0", async () => {
    const child = spawn(
      process.execPath,
      [cliEntry, "dashboard", "--kubeconfig", path.join(dir, "kubeconfig"), "--port", "0"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const first = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout }).once("line", resolve);
    });
    const url = /(http:\/\/127\.0\.0\.1:[0-9]+\/)/.exec(first)?.[1];
    expect(url, first).toBeDefined();
    const res = await fetch(url ?? "");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("no Applications");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("refuses a non-loopback address with --auth local (exit 2), and an unknown --auth", async () => {
    const open = await runCli([
      "dashboard",
      "--address",
      "0.0.0.0",
      "--kubeconfig",
      path.join(dir, "kubeconfig"),
    ]);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/not a loopback address.*--auth token/);
    const bad = await runCli(["dashboard", "--auth", "none", "--kubeconfig", path.join(dir, "kubeconfig")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--auth none");
  });
});

describe("html", () => {
  // Not named `html`, so that the formatter leaves the templates as written.
  const h = html;
  it("escapes every interpolated value, keeps Html as markup, joins arrays and drops nullish", () => {
    const hostile = `<img src=x onerror="alert(1)">'&\``;
    expect(escapeHtml(hostile)).toBe("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;&#96;");
    expect(h`<td title="${hostile}">${hostile}</td>`.value).not.toMatch(/<img|"alert/);
    expect(h`<ul>${["<a>", raw("<li>ok</li>")]}</ul>`.value).toBe("<ul>&lt;a&gt;<li>ok</li></ul>");
    expect(h`${undefined}${null}${false}${0}`.value).toBe("0");
  });
});

// `gitward sandbox` as a command: it prints where it listens and where its kubeconfig is, kubectl works
// with that kubeconfig, SIGTERM stops it cleanly with its state saved, and bad options exit with 2.
import { afterAll, describe, expect, it } from "vitest";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createInterface } from "node:readline";
import os from "node:os";
import path from "node:path";
import { cliEntry, toolPath } from "../support/tools.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("gitward sandbox", () => {
  it("serves until SIGTERM, writes a kubeconfig kubectl can use, and saves its state", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-sandbox-cli-"));
    dirs.push(dir);
    const child = spawn(
      process.execPath,
      [cliEntry, "sandbox", "--port", "0", "--data-dir", dir, "-o", "json"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => {
        resolve(code);
      }),
    );
    let text = "";
    for await (const line of createInterface({ input: child.stdout })) {
      text += line + "\n";
      if (line.startsWith("}")) break;
    }
    const info = JSON.parse(text) as { url: string; kubeconfig: string };
    expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(info.kubeconfig).toBe(path.join(dir, "kubeconfig"));
    expect(text).not.toContain((await readFile(path.join(dir, "admin-token"), "utf8")).trim());

    const kubectl = (args: string[]): Promise<string> =>
      new Promise((resolve, reject) => {
        execFile(
          toolPath("kubectl"),
          ["--cache-dir", path.join(dir, "cache"), ...args],
          { env: { PATH: process.env["PATH"] ?? "", HOME: dir, KUBECONFIG: info.kubeconfig } },
          (err, stdout, stderr) => {
            if (err === null) resolve(stdout);
            else reject(new Error(`kubectl ${args.join(" ")}: ${stderr}`));
          },
        );
      });
    expect(await kubectl(["create", "namespace", "from-cli"])).toContain("namespace/from-cli created");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const state = await readFile(path.join(dir, "state.json"), "utf8");
    expect(state).toContain('"from-cli"');
  });

  it("exits with 2 on a bad option", async () => {
    const code = await new Promise<number | null>((resolve) => {
      execFile(process.execPath, [cliEntry, "sandbox", "--port", "99999"], (err) => {
        resolve(err === null ? 0 : typeof err.code === "number" ? err.code : null);
      });
    });
    expect(code).toBe(2);
  });
});

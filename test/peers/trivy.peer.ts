// Coverage against a peer (issue 4): on one corpus, every HIGH or CRITICAL misconfiguration trivy reports
// on workload, RBAC, NetworkPolicy and Secret objects, and every secret trivy's scanner finds, must also
// be reported by gitward on the same object or line, unless listed below as an exception with its reason.
// On demand only (`npm run test:peers`): trivy needs tens of seconds even for this small corpus.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRevision, type CheckReport } from "../../src/policy/check.js";
import { PACK_IDS } from "../../src/policy/packs.js";
import { render } from "../../src/render/render.js";
import type { Manifest } from "../../src/render/types.js";
import { repoRoot } from "../support/tools.js";
import { CORPUS, secretFiles } from "./corpus.js";

const run = promisify(execFile);
const trivy = path.join(repoRoot, ".tools", "bin", "trivy");

/** trivy check id → the gitward rules that report the same problem. */
const EQUIVALENT: Record<string, readonly string[]> = {
  KSV005: ["pod-security/capabilities", "pod-security/capabilities-drop-all"],
  KSV006: ["pod-security/host-path"],
  KSV008: ["pod-security/host-namespaces"],
  KSV009: ["pod-security/host-namespaces"],
  KSV010: ["pod-security/host-namespaces"],
  KSV017: ["pod-security/privileged"],
  KSV023: ["pod-security/host-path"],
  KSV024: ["pod-security/host-ports"],
  KSV041: ["rbac/cluster-secrets-read"],
  KSV044: ["rbac/wildcard"],
  KSV045: ["rbac/wildcard"],
  KSV046: ["rbac/wildcard"],
  KSV047: ["rbac/node-proxy"],
  KSV048: ["rbac/manage-workloads"],
  KSV050: ["rbac/manage-rbac", "rbac/escalation-verbs"],
  KSV053: ["rbac/pod-exec"],
  KSV056: ["rbac/manage-networking"],
  KSV114: ["rbac/manage-webhooks"],
};

/**
 * trivy findings gitward does not report, each with the reason. Empty on this corpus; a new trivy check
 * that gitward does not match fails the test until it is mapped above or explained here.
 */
const EXCEPTIONS: Record<string, string> = {};

const IN_SCOPE = new Set([
  "Pod",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "CronJob",
  "Role",
  "ClusterRole",
  "RoleBinding",
  "ClusterRoleBinding",
  "NetworkPolicy",
  "Secret",
]);

interface TrivyMisconfig {
  ID: string;
  AVDID: string;
  Severity: string;
  Title: string;
  CauseMetadata?: { StartLine?: number };
}
interface TrivySecret {
  RuleID: string;
  Severity: string;
  StartLine: number;
}
interface TrivyReport {
  Results?: { Target: string; Misconfigurations?: TrivyMisconfig[]; Secrets?: TrivySecret[] }[];
}

let dir: string;
let manifests: readonly Manifest[];
let report: CheckReport;
let config: TrivyReport;
let secrets: TrivyReport;

async function trivyJson(args: string[]): Promise<TrivyReport> {
  const cache = path.join(dir, "trivy-cache");
  const { stdout } = await run(
    trivy,
    [...args, "--timeout", "30m", "--cache-dir", cache, "-q", "-f", "json", path.join(dir, "repo")],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout) as TrivyReport;
}

beforeAll(async () => {
  if (!existsSync(trivy))
    throw new Error(`${trivy} is missing: run test/peers/setup-trivy.sh (npm run test:peers does)`);
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-peer-"));
  const repo = path.join(dir, "repo");
  for (const [rel, text] of Object.entries({ ...CORPUS, ...secretFiles() })) {
    await mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
    await writeFile(path.join(repo, rel), text);
  }
  const rendered = await render({ repoRoot: repo, path: "apps", type: "directory" });
  if (!rendered.ok) throw new Error(JSON.stringify(rendered.errors));
  manifests = rendered.manifests;
  report = await checkRevision({ manifests, repoRoot: repo, packs: [...PACK_IDS] });
  config = await trivyJson(["config", "--skip-policy-update"]);
  secrets = await trivyJson(["fs", "--scanners", "secret", "--skip-db-update", "--offline-scan"]);
}, 600_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The object whose document holds `line` of `file`: the last one that starts at or before it. trivy counts
 * a document from its `---` separator, the line before gitward's origin (the document's first key).
 */
function objectAt(file: string, line: number | undefined): Manifest | undefined {
  let found: Manifest | undefined;
  for (const m of manifests) {
    if (m.origin.file !== file) continue;
    if (line === undefined || line === 0 || m.origin.line <= line + 1) found = m;
  }
  return found;
}

describe("gitward reports what trivy reports", () => {
  it("every HIGH/CRITICAL trivy misconfiguration on workload, RBAC, NetworkPolicy and Secret objects", () => {
    const missing: string[] = [];
    let compared = 0;
    for (const r of config.Results ?? []) {
      const file = r.Target;
      for (const m of r.Misconfigurations ?? []) {
        if (m.Severity !== "HIGH" && m.Severity !== "CRITICAL") continue;
        const obj = objectAt(file, m.CauseMetadata?.StartLine);
        if (obj === undefined || !IN_SCOPE.has(obj.kind)) continue;
        compared++;
        if (EXCEPTIONS[m.ID] !== undefined) continue;
        const rules = EQUIVALENT[m.ID] ?? [];
        const hit = report.findings.some(
          (f) =>
            rules.includes(f.ruleId) &&
            f.object?.kind === obj.kind &&
            f.object.name === obj.name &&
            f.origin.file === file,
        );
        if (!hit) missing.push(`${m.ID} ${m.Severity} "${m.Title}" on ${obj.kind} ${obj.name} (${file})`);
      }
    }
    expect(missing).toEqual([]);
    // The corpus is built to trip many checks: the comparison must not pass by comparing nothing.
    expect(compared).toBeGreaterThanOrEqual(15);
  });

  it("every secret trivy's secret scanner finds", () => {
    const missing: string[] = [];
    let compared = 0;
    for (const r of secrets.Results ?? []) {
      for (const s of r.Secrets ?? []) {
        compared++;
        if (EXCEPTIONS[s.RuleID] !== undefined) continue;
        const file = r.Target;
        const hit = report.findings.some(
          (f) => f.ruleId.startsWith("secrets/") && f.origin.file === file && f.origin.line === s.StartLine,
        );
        if (!hit) missing.push(`${s.RuleID} ${s.Severity} at ${file}:${s.StartLine}`);
      }
    }
    expect(missing).toEqual([]);
    expect(compared).toBeGreaterThanOrEqual(6);
  });
});

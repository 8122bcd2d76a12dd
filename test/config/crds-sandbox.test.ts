// The generated CRDs installed with real kubectl into the sandbox API server: the custom resources of the
// ARCHITECTURE.md example are created, served under the right scope with a status subresource, and
// what the server returns validates back into the same configuration objects as gitward.yaml does.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, validateClusterObject } from "../../src/config/load.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { call, kubectlFor, type Kubectl } from "../sandbox/helpers.js";
import { repoRoot } from "../support/tools.js";
import { ALERT_SINK, EXAMPLE } from "./example.js";

let sb: Sandbox;
let k: Kubectl;
let dir: string;

beforeAll(async () => {
  sb = await startSandbox();
  k = await kubectlFor(sb);
  dir = await mkdtemp(path.join(tmpdir(), "gitward-crds-"));
});
afterAll(async () => {
  await sb.stop();
  await k.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe("CRDs in an API server", () => {
  it("install with kubectl, serve the example objects, and read back as valid configuration", async () => {
    const crds = await k.run(["apply", "--server-side", "-f", path.join(repoRoot, "deploy", "crds")]);
    expect(crds.stderr).toBe("");
    expect(crds.stdout).toContain("customresourcedefinition.apiextensions.k8s.io/applications.gitward.dev");
    expect(crds.stdout).toContain("customresourcedefinition.apiextensions.k8s.io/trustpolicies.gitward.dev");
    expect(crds.stdout).toContain("customresourcedefinition.apiextensions.k8s.io/alertsinks.gitward.dev");

    const file = path.join(dir, "gitward.yaml");
    await writeFile(
      file,
      "apiVersion: v1\nkind: Namespace\nmetadata: { name: gitward-system }\n---\n" +
        EXAMPLE +
        "---\n" +
        ALERT_SINK,
    );
    const applied = await k.run(["apply", "--server-side", "-f", file]);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);

    // Scope: TrustPolicy at the cluster level, Application and AlertSink in their namespace.
    const tp = await call(sb, "GET", "/apis/gitward.dev/v1alpha1/trustpolicies/production");
    const app = await call(
      sb,
      "GET",
      "/apis/gitward.dev/v1alpha1/namespaces/gitward-system/applications/shop",
    );
    const sink = await call(sb, "GET", "/apis/gitward.dev/v1alpha1/namespaces/gitward-system/alertsinks/ops");
    expect([tp.status, app.status, sink.status]).toEqual([200, 200, 200]);

    const expected = parseConfig(EXAMPLE + "---\n" + ALERT_SINK, "gitward.yaml");
    expect(validateClusterObject(tp.json, "TrustPolicy production")).toEqual(expected.trustPolicies[0]);
    expect(validateClusterObject(app.json, "Application gitward-system/shop")).toEqual(
      expected.applications[0],
    );
    expect(validateClusterObject(sink.json, "AlertSink gitward-system/ops")).toEqual(expected.alertSinks[0]);

    // The status subresource takes the operator's status without touching the spec.
    const status = await call(
      sb,
      "PATCH",
      "/apis/gitward.dev/v1alpha1/namespaces/gitward-system/applications/shop/status",
      {
        type: "application/merge-patch+json",
        body: { status: { lastAppliedRevision: "a".repeat(40), objectsApplied: 3 } },
      },
    );
    expect(status.status).toBe(200);
    const after = await call(
      sb,
      "GET",
      "/apis/gitward.dev/v1alpha1/namespaces/gitward-system/applications/shop",
    );
    expect(after.json["status"]).toEqual({ lastAppliedRevision: "a".repeat(40), objectsApplied: 3 });
    expect(after.json["spec"]).toEqual(app.json["spec"]);
  });
});

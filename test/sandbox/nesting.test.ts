// Hostile request bodies nested deeper than the sandbox's 2000 levels (kube-apiserver: 10000, which V8
// cannot serialise): refused at parse time with a 400 Status naming the limit, in JSON, YAML and patches alike, and the store stays usable (lists, the
// snapshot across a restart). Bodies are generated here; each check runs well under a second.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { call } from "./helpers.js";

let sb: Sandbox;
let dataDir: string;
const gadgets = "/apis/example.org/v1/gadgets";

/** A JSON object whose spec.deep holds `depth` nested arrays; the whole body is depth + 2 levels deep. */
const gadget = (name: string, depth: number): string =>
  `{"apiVersion":"example.org/v1","kind":"Gadget","metadata":{"name":"${name}"},"spec":{"deep":${"[".repeat(depth)}${"]".repeat(depth)}}}`;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "gitward-nesting-"));
  sb = await startSandbox({ dataDir });
  const crd = await call(sb, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
    body: {
      metadata: { name: "gadgets.example.org" },
      spec: {
        group: "example.org",
        scope: "Cluster",
        names: { plural: "gadgets", singular: "gadget", kind: "Gadget" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    },
  });
  expect(crd.status).toBe(201);
});

afterAll(async () => {
  await sb.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("nesting limit", () => {
  it("refuses a 1M-deep JSON body with 400 naming the limit, fast, and lists still work", async () => {
    const started = performance.now();
    const r = await call(sb, "POST", gadgets, { raw: gadget("deep", 1_000_000) });
    expect(performance.now() - started).toBeLessThan(1000);
    expect([r.status, r.json["kind"], r.json["reason"]]).toEqual([400, "Status", "BadRequest"]);
    expect(r.json["message"]).toContain("exceeded max depth of 2000");
    expect((await call(sb, "GET", `${gadgets}/deep`)).status).toBe(404);
    expect((await call(sb, "GET", gadgets)).status).toBe(200);
  });

  it("draws the line at 2000 levels: 2000 pass, 2001 do not", async () => {
    const over = await call(sb, "POST", gadgets, { raw: gadget("over", 2000 - 1) });
    expect(over.status).toBe(400);
    expect(over.json["message"]).toContain("exceeded max depth");
    const at = await call(sb, "POST", gadgets, { raw: gadget("at", 2000 - 2) });
    expect(at.status).toBe(201);
    const list = await call(sb, "GET", gadgets);
    expect(list.status).toBe(200);
    expect((list.json["items"] as unknown[]).length).toBe(1);
  });

  it("refuses deep YAML (server-side apply) and deep patches, leaving the object as it was", async () => {
    const started = performance.now();
    const yaml = `apiVersion: example.org/v1\nkind: Gadget\nmetadata: {name: yaml}\nspec:\n  deep: ${"[".repeat(200_000)}${"]".repeat(200_000)}\n`;
    const applied = await call(sb, "PATCH", `${gadgets}/yaml?fieldManager=test`, {
      raw: yaml,
      type: "application/apply-patch+yaml",
    });
    expect(applied.status).toBe(400);
    expect(applied.json["reason"]).toBe("BadRequest");
    expect((await call(sb, "GET", `${gadgets}/yaml`)).status).toBe(404);

    const shallow = await call(sb, "POST", gadgets, {
      body: { metadata: { name: "shallow" }, spec: { a: 1 } },
    });
    expect(shallow.status).toBe(201);
    const deep = `{"spec":{"deep":${'{"a":'.repeat(500_000)}1${"}".repeat(500_000)}}}`;
    for (const type of ["application/merge-patch+json", "application/apply-patch+yaml"]) {
      const q = type.includes("apply") ? "?fieldManager=test" : "";
      const p = await call(sb, "PATCH", `${gadgets}/shallow${q}`, { raw: deep, type });
      expect([p.status, p.json["reason"]]).toEqual([400, "BadRequest"]);
    }
    expect((await call(sb, "GET", `${gadgets}/shallow`)).json["spec"]).toEqual({ a: 1 });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("keeps a usable snapshot: a restart from the data directory loads and lists", async () => {
    await sb.stop();
    sb = await startSandbox({ dataDir });
    const list = await call(sb, "GET", gadgets);
    expect(list.status).toBe(200);
    expect(
      (list.json["items"] as { metadata: { name: string } }[]).map((i) => i.metadata.name).sort(),
    ).toEqual(["at", "shallow"]);
  });
});

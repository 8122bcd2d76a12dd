// `gitward images pin` through the built CLI against a real registry: a tag becomes repo:tag@digest in the
// source (comments and layout kept), the patch form writes nothing, an unknown tag names file:line and image
// and writes nothing, pinned images are left as they are, and kustomize `images:` entries get a digest.
// `gitward render PATH --trust` pins the same tags in its output as the reconcile pins them.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir, run } from "../support/git-exec.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../support/registry.js";
import { runCli, toolPath } from "../support/tools.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";

let registry: TestRegistry;
let dir: string;
let appDigest: string;
let baseDigest: string;
const OTHER = `sha256:${"a".repeat(64)}`;

beforeAll(async () => {
  dir = await makeTempDir("cli-pin");
  registry = await startRegistry();
  appDigest = await pushTestImage(registry, "team/app", "v1", "pin app");
  baseDigest = await pushTestImage(registry, "team/base", "v2", "pin base");
});

afterAll(async () => {
  await registry.stop();
  await removeDir(dir);
});

function deployment(images: readonly string[]): string {
  return [
    "# the shop's web tier",
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: web # keep this name",
    "spec:",
    "  template:",
    "    spec:",
    "      containers:",
    ...images.flatMap((image, i) => [`        - name: c${i}`, `          image: ${image}  # container ${i}`]),
    "",
  ].join("\n");
}

async function folder(name: string, files: Record<string, string>): Promise<string> {
  const d = path.join(dir, name);
  await mkdir(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) await writeFile(path.join(d, f), text);
  return d;
}

const pin = (d: string, ...args: string[]) =>
  runCli(["images", "pin", d, "--repo-root", d, "--plain-http", "--kubectl", toolPath("kubectl"), ...args]);

describe("gitward images pin", () => {
  it("prints a patch that pins the tag, keeps the tag and comments, and writes nothing", async () => {
    const app = `${registry.host}/team/app:v1`;
    const pinned = `${registry.host}/team/base:v2@${OTHER}`;
    const text = deployment([app, pinned]);
    const d = await folder("patch", { "deploy.yaml": text });
    const r = await pin(d);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--- a/deploy.yaml");
    expect(r.stdout).toContain(`-          image: ${app}  # container 0`);
    expect(r.stdout).toContain(`+          image: ${app}@${appDigest}  # container 0`);
    // The already pinned image is not part of the change.
    expect(r.stdout).not.toContain(`-          image: ${pinned}`);
    expect(await readFile(path.join(d, "deploy.yaml"), "utf8")).toBe(text);
    // The patch is one git apply takes, and it makes what --write makes.
    await run("git", ["apply", "-"], { cwd: d, input: r.stdout });
    expect(await readFile(path.join(d, "deploy.yaml"), "utf8")).toBe(
      deployment([`${app}@${appDigest}`, pinned]),
    );
  });

  it("--write edits only the image value; a second run finds nothing to pin", async () => {
    const app = `${registry.host}/team/app:v1`;
    const base = `"${registry.host}/team/base:v2"`;
    const d = await folder("write", { "deploy.yaml": deployment([app, base]) });
    const r = await pin(d, "--write", "-o", "json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { written: boolean; pinned: { line: number; digest: string }[] };
    expect(out.written).toBe(true);
    expect(out.pinned.map((p) => [p.line, p.digest])).toEqual([
      [11, appDigest],
      [13, baseDigest],
    ]);
    expect(await readFile(path.join(d, "deploy.yaml"), "utf8")).toBe(
      deployment([`${app}@${appDigest}`, `"${registry.host}/team/base:v2@${baseDigest}"`]),
    );
    const again = await pin(d);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("");
  });

  it("refuses an unknown tag naming file:line and image, and writes nothing at all", async () => {
    const good = deployment([`${registry.host}/team/app:v1`]);
    const bad = deployment([`${registry.host}/team/app:no-such-tag`]).replace("name: web", "name: other");
    const d = await folder("unknown", { "a.yaml": good, "b.yaml": bad });
    const r = await pin(d, "--write");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`b.yaml:11: ${registry.host}/team/app:no-such-tag: NOT_FOUND`);
    expect(r.stderr).toContain("nothing was written");
    expect(await readFile(path.join(d, "a.yaml"), "utf8")).toBe(good);
    expect(await readFile(path.join(d, "b.yaml"), "utf8")).toBe(bad);
  });

  it("adds digest: to a kustomize images: entry, and kustomize then renders the digest", async () => {
    const kustomization = [
      "resources: [deploy.yaml]",
      "images:",
      `  - name: ${registry.host}/team/app # the app`,
      "    newTag: v1",
      "",
    ].join("\n");
    const d = await folder("kustomize", {
      "kustomization.yaml": kustomization,
      "deploy.yaml": deployment([`${registry.host}/team/app:v0`]),
    });
    const r = await pin(d, "--render", "kustomize", "--write");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const after = await readFile(path.join(d, "kustomization.yaml"), "utf8");
    expect(after).toBe(kustomization.replace("newTag: v1\n", `newTag: v1\n    digest: ${appDigest}\n`));
    // The base file names another tag: kustomize's entry decides, so the base stays as written.
    expect(await readFile(path.join(d, "deploy.yaml"), "utf8")).toContain("team/app:v0  #");
    const rendered = await run(toolPath("kubectl"), ["kustomize", d]);
    expect(rendered.stdout).toContain(`image: ${registry.host}/team/app:v1@${appDigest}`);
  });
});

describe("gitward render PATH", () => {
  const trustFor = async (requireDigest: boolean): Promise<string> => {
    const file = path.join(dir, `trust-${String(requireDigest)}.yaml`);
    await writeFile(
      file,
      trustPolicyYaml([
        "  images:",
        `    registries: ['${registry.host}/team/']`,
        `    requireDigest: ${String(requireDigest)}`,
      ]),
    );
    return file;
  };
  const render = (d: string, trust: string) =>
    runCli(["render", d, "--repo-root", d, "--plain-http", "--trust", trust, "-o", "json"]);
  const imagesOf = (stdout: string): string[] =>
    (
      JSON.parse(stdout) as {
        items: { spec: { template: { spec: { containers: { image: string }[] } } } }[];
      }
    ).items.flatMap((o) => o.spec.template.spec.containers.map((c) => c.image));

  it("prints the objects with tags pinned as repo:tag@digest when the policy requires digests", async () => {
    const d = await folder("render", { "deploy.yaml": deployment([`${registry.host}/team/app:v1`]) });
    const r = await render(d, await trustFor(true));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(imagesOf(r.stdout)).toEqual([`${registry.host}/team/app:v1@${appDigest}`]);
    const loose = await render(d, await trustFor(false));
    expect(imagesOf(loose.stdout)).toEqual([`${registry.host}/team/app:v1`]);
  });

  it("refuses (exit 1) an image the registry does not have, printing no objects", async () => {
    const d = await folder("render-bad", { "deploy.yaml": deployment([`${registry.host}/team/app:gone`]) });
    const r = await render(d, await trustFor(true));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${registry.host}/team/app:gone`);
    expect(r.stdout).toBe("");
  });
});

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { CoreV1Api, KubeConfig, V1Namespace, V1ObjectMeta } from "@kubernetes/client-node";
import { Command } from "commander";
import { stringify } from "yaml";
import { registerSecrets } from "../../src/cli/commands/secrets.js";
import { ClusterClient } from "../../src/cluster/client.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import {
  generateSealingKey,
  SealingKeyRing,
  sealingKeyToSecret,
  type SealingKey,
} from "../../src/secrets/keys.js";
import { sealSecret } from "../../src/secrets/seal.js";
import { unsealSecret } from "../../src/secrets/unseal.js";
import { parseDocuments } from "../../src/secrets/yaml-input.js";
import type { SealedSecret } from "../../src/secrets/types.js";
import { runCli, type CliRun } from "../support/tools.js";
import { decoded, expectNoPlaintextIn, PLAINTEXTS, plainSecret } from "../secrets/support.js";

type Run = CliRun;

const gitward = (args: string[], input = ""): Promise<Run> => runCli(args, { input });

let dir: string;
let oldKey: SealingKey;
let newKey: SealingKey;
const everything: string[] = [];

async function run(args: string[], input = ""): Promise<Run> {
  const r = await gitward(args, input);
  everything.push(r.stderr);
  return r;
}

function sealedFrom(text: string): SealedSecret {
  const parsed = parseDocuments(text, "out");
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.documents[0] as SealedSecret;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-secrets-cli-"));
  [oldKey, newKey] = await Promise.all([
    generateSealingKey({ modulusLength: 2048, name: "key-old", now: new Date(Date.now() - 40 * 86_400_000) }),
    generateSealingKey({ modulusLength: 2048, name: "key-new" }),
  ]);
  await writeFile(path.join(dir, "old.pem"), oldKey.certificate!.toString());
  await writeFile(path.join(dir, "new.pem"), newKey.certificate!.toString());
  await writeFile(path.join(dir, "old-key.yaml"), stringify(sealingKeyToSecret(oldKey, "gitward-system")));
  const list = {
    apiVersion: "v1",
    kind: "List",
    items: [oldKey, newKey].map((k) => sealingKeyToSecret(k, "gitward-system")),
  };
  await writeFile(path.join(dir, "keys.yaml"), stringify(list));
  await writeFile(path.join(dir, "secret.yaml"), stringify(plainSecret("shop", "db")));
});

afterAll(async () => {
  // Nothing but `unseal`'s stdout may carry plaintext: not stderr, not any error.
  expectNoPlaintextIn(everything);
  await rm(dir, { recursive: true, force: true });
});

describe("gitward secrets", () => {
  it("--help describes the group and every subcommand", async () => {
    // In-process for the text of each (a process per subcommand is slow on a busy machine) ...
    const program = new Command("gitward");
    registerSecrets(program);
    const group = program.commands.find((c) => c.name() === "secrets")!;
    const names = group.commands.map((c) => c.name()).sort();
    expect(names).toEqual(["cert", "keygen", "reseal", "seal", "unseal", "validate"]);
    for (const sub of group.commands)
      expect(sub.helpInformation(), sub.name()).toMatch(/Options:[\s\S]*--help/);
    expect(group.commands.find((c) => c.name() === "unseal")!.description()).toContain("DEBUGGING ONLY");
    // ... and through the real binary for the exit code.
    const r = await run(["secrets", "seal", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: gitward secrets seal");
  });

  it.each(["strict", "namespace-wide", "cluster-wide"])(
    "seal --scope %s writes a SealedSecret the key opens",
    async (scope) => {
      const input = await readFile(path.join(dir, "secret.yaml"), "utf8");
      const r = await run(["secrets", "seal", "--cert", path.join(dir, "new.pem"), "--scope", scope], input);
      expect(r.code, r.stderr).toBe(0);
      expectNoPlaintextIn([r.stdout]);
      const sealed = sealedFrom(r.stdout);
      expect(sealed.kind).toBe("SealedSecret");
      const opened = unsealSecret(sealed, new SealingKeyRing([newKey]));
      expect(opened.ok && decoded(opened.secret.data)["password"]).toBe(PLAINTEXTS.password);
    },
  );

  it("seal -o json, with --name/--namespace overrides", async () => {
    const input = JSON.stringify(plainSecret(undefined, "x"));
    const r = await run(
      [
        "secrets",
        "seal",
        "--cert",
        path.join(dir, "new.pem"),
        "--name",
        "db",
        "--namespace",
        "shop",
        "-o",
        "json",
      ],
      input,
    );
    expect(r.code, r.stderr).toBe(0);
    const sealed = JSON.parse(r.stdout) as SealedSecret;
    expect(sealed.metadata).toEqual({ name: "db", namespace: "shop" });
  });

  it("seal refuses bad input with exit 2 and never echoes the plaintext", async () => {
    const cert = path.join(dir, "new.pem");
    const noNs = await run(["secrets", "seal", "--cert", cert], stringify(plainSecret(undefined, "db")));
    expect(noNs.code).toBe(2);
    expect(noNs.stderr).toContain("bound to a namespace");
    const broken = `kind: Secret\nstringData:\n  password: "${PLAINTEXTS.password}\n  x: [${PLAINTEXTS.token}\n`;
    const bad = await run(["secrets", "seal", "--cert", cert], broken);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/stdin(:\d+)?: not valid YAML/);
    const noCert = await run(["secrets", "seal", "--cert", path.join(dir, "missing.pem")], broken);
    expect(noCert.code).toBe(2);
    const garbageCert = await run(["secrets", "seal", "--cert", path.join(dir, "secret.yaml")], "");
    expect(garbageCert.code).toBe(2);
    expect(garbageCert.stderr).toContain("not a PEM or DER X.509 certificate");
  });

  it("refuses a file that is not valid UTF-8 with exit 2, naming the line", async () => {
    const file = path.join(dir, "latin1.yaml");
    await writeFile(file, Buffer.from("kind: Secret\nstringData:\n  a: caf\u00e9\n", "latin1"));
    const bad = await run(["secrets", "validate", file, "--cert", path.join(dir, "new.pem")]);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain(`${file}:3: the input is not valid UTF-8`);
    await writeFile(file, "kind: Secret\nstringData:\n  a: caf\u00e9\n", "utf8");
    const good = await run(["secrets", "validate", file, "--cert", path.join(dir, "new.pem")]);
    expect(good.stderr).not.toContain("UTF-8");
  });

  it("reseal moves values to the newest key in place, keeping comments; old-key-only no longer opens", async () => {
    const input = await readFile(path.join(dir, "secret.yaml"), "utf8");
    const sealedOld = await run(["secrets", "seal", "--cert", path.join(dir, "old.pem")], input);
    const file = path.join(dir, "app-sealed.yaml");
    await writeFile(
      file,
      `# database credentials\n${sealedOld.stdout}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n`,
    );
    const r = await run(["secrets", "reseal", file, "--key", path.join(dir, "keys.yaml"), "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { files: { objects: { resealed: string[] }[] }[] };
    expect(report.files[0]?.objects[0]?.resealed.sort()).toEqual(["binary", "password", "token"]);
    const text = await readFile(file, "utf8");
    expect(text.startsWith("# database credentials\n")).toBe(true);
    expect(text).toContain("kind: ConfigMap");
    const resealed = sealedFrom(text);
    expect(unsealSecret(resealed, new SealingKeyRing([newKey])).ok).toBe(true);
    expect(unsealSecret(resealed, new SealingKeyRing([oldKey])).ok).toBe(false);
    // A second run has nothing to do and leaves the file byte for byte.
    const again = await run(["secrets", "reseal", file, "--key", path.join(dir, "keys.yaml")]);
    expect(again.stdout).toContain("resealed 0, already on the newest key 3");
    expect(await readFile(file, "utf8")).toBe(text);
  });

  it("reseal of a file it cannot open exits 1 and leaves the file unchanged", async () => {
    const input = await readFile(path.join(dir, "secret.yaml"), "utf8");
    const sealedNew = await run(["secrets", "seal", "--cert", path.join(dir, "new.pem")], input);
    const file = path.join(dir, "foreign.yaml");
    await writeFile(file, sealedNew.stdout);
    const r = await run(["secrets", "reseal", file, "--key", path.join(dir, "old-key.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("DECRYPT_FAILED");
    expect(await readFile(file, "utf8")).toBe(sealedNew.stdout);
    const noKeys = await run(["secrets", "reseal", file]);
    expect(noKeys.code).toBe(2);
  });

  it("validate: 0 when sealed to the given certificate or key, 1 with findings", async () => {
    const input = await readFile(path.join(dir, "secret.yaml"), "utf8");
    const sealed = await run(["secrets", "seal", "--cert", path.join(dir, "new.pem")], input);
    const file = path.join(dir, "valid.yaml");
    await writeFile(file, sealed.stdout);
    const byCert = await run(["secrets", "validate", file, "--cert", path.join(dir, "new.pem")]);
    expect(byCert.code, byCert.stdout).toBe(0);
    const byKey = await run([
      "secrets",
      "validate",
      file,
      "--key",
      path.join(dir, "old-key.yaml"),
      "-o",
      "json",
    ]);
    expect(byKey.code).toBe(1);
    const json = JSON.parse(byKey.stdout) as { valid: boolean; files: { findings: { code: string }[] }[] };
    expect(json.valid).toBe(false);
    expect(json.files[0]?.findings.map((f) => f.code)).toContain("DECRYPT_FAILED");
  });

  it("unseal prints the Secret with a warning on stderr, and refuses a moved SealedSecret", async () => {
    const input = await readFile(path.join(dir, "secret.yaml"), "utf8");
    const sealed = await run(["secrets", "seal", "--cert", path.join(dir, "new.pem")], input);
    const r = await gitward(["secrets", "unseal", "--key", path.join(dir, "keys.yaml")], sealed.stdout);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("WARNING");
    const secret = parseDocuments(r.stdout, "out");
    expect(
      secret.ok && decoded((secret.documents[0] as { data: Record<string, string> }).data)["token"],
    ).toBe(PLAINTEXTS.token);
    const movedText = sealed.stdout.replace("namespace: shop", "namespace: attacker");
    const refused = await run(["secrets", "unseal", "--key", path.join(dir, "keys.yaml")], movedText);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("SCOPE_MISMATCH");
    expect(refused.stdout).toBe("");
  });
});

describe("gitward secrets keygen / cert against an API server (the sandbox)", () => {
  let sandbox: Sandbox;
  let kubeconfig: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    kubeconfig = path.join(dir, "kubeconfig");
    await sandbox.writeKubeconfig(kubeconfig);
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    const metadata = Object.assign(new V1ObjectMeta(), { name: "gitward-system" });
    await config
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: Object.assign(new V1Namespace(), { metadata }) });
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  it("cert before any key says to run keygen (exit 2)", async () => {
    const r = await run(["secrets", "cert", "--kubeconfig", kubeconfig]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("run `gitward secrets keygen`");
  });

  it("keygen creates a key, keeps it while current, adds one with --force; cert prints the newest", async () => {
    interface KeygenReport {
      created: boolean;
      reason: string;
      keys: number;
      newest: { fingerprint: string };
    }
    const keygenJson = async (...extra: string[]): Promise<KeygenReport> => {
      const r = await run([
        "secrets",
        "keygen",
        "--kubeconfig",
        kubeconfig,
        "--key-size",
        "2048",
        "-o",
        "json",
        ...extra,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain("PRIVATE KEY");
      return JSON.parse(r.stdout) as KeygenReport;
    };
    expect(await keygenJson()).toMatchObject({ created: true, reason: "no-key", keys: 1 });

    const kept = await run(["secrets", "keygen", "--kubeconfig", kubeconfig, "--key-size", "2048"]);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/^kept sealing key sealed-secrets-key\w{5} in gitward-system \(current\)/);

    const second = await keygenJson("--force");
    expect(second).toMatchObject({ created: true, reason: "forced", keys: 2 });

    const cert = await run(["secrets", "cert", "--kubeconfig", kubeconfig]);
    expect(cert.code, cert.stderr).toBe(0);
    expect(cert.stdout).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const x509 = new X509Certificate(cert.stdout);
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const json = await run(["secrets", "cert", "--kubeconfig", kubeconfig, "-o", "json"]);
    expect((JSON.parse(json.stdout) as { fingerprint: string }).fingerprint).toBe(second.newest.fingerprint);

    // Seal to the printed certificate; the cluster's keys validate and reseal it (nothing to change).
    const sealed = sealSecret(plainSecret("shop", "db"), x509.publicKey);
    if (!sealed.ok) throw new Error(sealed.message);
    const file = path.join(dir, "cluster-sealed.yaml");
    await writeFile(file, stringify(sealed.sealed));
    const valid = await run(["secrets", "validate", file, "--kubeconfig", kubeconfig]);
    expect(valid.code, valid.stdout).toBe(0);
    const reseal = await run(["secrets", "reseal", file, "--kubeconfig", kubeconfig]);
    expect(reseal.code, reseal.stderr).toBe(0);
    expect(reseal.stdout).toContain("resealed 0, already on the newest key 3");
  });

  it("keygen rejects bad options and reports refused access without the token", async () => {
    const bad = await run(["secrets", "keygen", "--kubeconfig", kubeconfig, "--rotation-days", "0"]);
    expect(bad.code, bad.stderr).toBe(2);
    const token = sandbox.mintToken("nobody");
    const nobody = path.join(dir, "nobody-kubeconfig");
    await writeFile(nobody, sandbox.kubeconfigFor(token, "nobody"));
    const denied = await run(["secrets", "keygen", "--kubeconfig", nobody, "--key-size", "2048"]);
    expect(denied.code, denied.stderr).toBe(2);
    expect(denied.stderr).toContain("refused access (HTTP 403)");
    expect(denied.stderr).not.toContain(token);
    const missing = await run(["secrets", "cert", "--kubeconfig", path.join(dir, "no-such-kubeconfig")]);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toContain("cannot load the kubeconfig");
  });

  it("a labelled Secret that is no key is skipped with a warning naming it; cert and keygen go on", async () => {
    const admin = ClusterClient.fromFile(kubeconfig);
    try {
      await admin.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "sealed-secrets-key-junk",
          namespace: "gitward-system",
          labels: { "sealedsecrets.bitnami.com/sealed-secrets-key": "active" },
        },
        type: "kubernetes.io/tls",
        data: { "tls.key": Buffer.from("JUNK-KEY-MATERIAL").toString("base64"), "tls.crt": "" },
      });
    } finally {
      admin.close();
    }
    const cert = await run(["secrets", "cert", "--kubeconfig", kubeconfig]);
    expect(cert.code, cert.stderr).toBe(0);
    expect(cert.stdout).toContain("-----BEGIN CERTIFICATE-----");
    expect(cert.stderr).toMatch(
      /^gitward: warning: skipped a sealing key Secret: Secret sealed-secrets-key-junk/m,
    );
    expect(cert.stderr).not.toContain("JUNK-KEY-MATERIAL");
    const keygen = await run(["secrets", "keygen", "--kubeconfig", kubeconfig, "-o", "json"]);
    expect(keygen.code, keygen.stderr).toBe(0);
    const report = JSON.parse(keygen.stdout) as { skipped: string[] };
    expect(report.skipped).toHaveLength(1);
    expect(report.skipped[0]).toContain("sealed-secrets-key-junk");
  });
});

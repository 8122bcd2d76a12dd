import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/errors.js";
import {
  loadConfig,
  loadTrustPolicy,
  parseConfig,
  parseTrustPolicy,
  validateClusterObject,
} from "../../src/config/load.js";
import { DEFAULTS } from "../../src/config/types.js";
import { ALERT_SINK, EXAMPLE, MINIMAL, mutate } from "./example.js";

function configError(text: string, fileName = "gitward.yaml"): ConfigError {
  try {
    parseConfig(text, fileName);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError, but the configuration was accepted");
}

describe("parseConfig accepts valid configuration", () => {
  it("reads the ARCHITECTURE.md example into typed objects", () => {
    const { trustPolicies, applications } = parseConfig(EXAMPLE, "gitward.yaml");
    expect(trustPolicies).toHaveLength(1);
    expect(applications).toHaveLength(1);
    const tp = trustPolicies[0]!;
    expect(tp.metadata.name).toBe("production");
    expect(tp.spec.commits?.signers.map((s) => s.name)).toEqual(["platform", "security"]);
    expect(tp.spec.commits?.signers[1]!.paths).toEqual(["rbac/**", "network/**"]);
    expect(tp.spec.commits?.message).toBe("^(OPS|SEC)-[0-9]+: ");
    expect(tp.spec.images?.signers?.[0]?.cosign).toBe("-----BEGIN PUBLIC KEY-----...");
    expect(tp.spec.policy?.packs).toContain("supply-chain");
    const app = applications[0]!;
    expect(app.metadata).toEqual({ name: "shop", namespace: "gitward-system" });
    expect(app.spec.source).toEqual({
      url: "ssh://git@git.example.com/ops/config.git",
      ref: { branch: "main" },
      path: "apps/shop",
      secretRef: { name: "shop-repo" },
    });
    expect(app.spec.prune).toBe(true);
    expect(app.spec.trustPolicy).toBe("production");
  });

  it("fills every default from one place when fields are omitted", () => {
    const { trustPolicies, applications } = parseConfig(MINIMAL, "min.yaml");
    const tp = trustPolicies[0]!;
    const app = applications[0]!;
    expect(tp.spec.commits?.allowHistoryRewrite).toBe(DEFAULTS.allowHistoryRewrite);
    expect(tp.spec.images?.requireDigest).toBe(true);
    expect(tp.spec.images?.threshold).toBe(1);
    expect(app.spec.interval).toBe("1m");
    expect(app.spec.prune).toBe(false);
    expect(app.spec.drift).toBe("alert");
    expect(app.spec.source.ref).toEqual({ tag: "v1" });
  });

  it("accepts a commit ref, scp-like URLs, loopback plain-HTTP registries and nested paths", () => {
    const text = MINIMAL.replace("ref: { tag: v1 }", `ref: { commit: "${"a".repeat(40)}" }`)
      .replace('"https://git.example.com/config.git"', '"git@git.example.com:ops/config.git"')
      .replace(
        'images: { registries: ["127.0.0.1:5000/"] }',
        'images: { registries: ["127.0.0.1:5000/"], registryOptions: [{ host: "127.0.0.1:5000", plainHTTP: true }, { host: "localhost:5001", plainHTTP: true }] }',
      );
    const { applications, trustPolicies } = parseConfig(text, "ok.yaml");
    expect(applications[0]!.spec.source.ref).toEqual({ commit: "a".repeat(40) });
    expect(trustPolicies[0]!.spec.images?.registryOptions?.[0]?.plainHTTP).toBe(true);
  });

  it("treats an empty file or empty documents as an empty configuration", () => {
    expect(parseConfig("", "e.yaml")).toEqual({ trustPolicies: [], applications: [], alertSinks: [] });
    expect(parseConfig("---\n---\n", "e.yaml")).toEqual({
      trustPolicies: [],
      applications: [],
      alertSinks: [],
    });
  });

  it("allows a few aliases (normal YAML reuse)", () => {
    const text = mutate(
      'signers: [{ name: a, ssh: ["ssh-ed25519 AAAA a@x"], paths: ["**"] }]',
      'signers: [{ name: a, ssh: &k ["ssh-ed25519 AAAA a@x"], paths: ["**"] }, { name: b, ssh: *k, paths: ["x/**"] }]',
      MINIMAL,
    );
    const { trustPolicies } = parseConfig(text, "alias.yaml");
    expect(trustPolicies[0]!.spec.commits?.signers[1]!.ssh).toEqual(["ssh-ed25519 AAAA a@x"]);
  });
});

describe("parseConfig rejects invalid configuration with file:line:column", () => {
  const cases: { name: string; text: string; code: string; where: string | RegExp; message: RegExp }[] = [
    {
      name: "an unknown field",
      text: mutate('paths: ["**"]', 'paths: ["**"]\n        foo: 1'),
      code: "SCHEMA",
      where: "gitward.yaml:11:9",
      message: /unknown field "foo"; expected one of: name, ssh, openpgp, emails, paths/,
    },
    {
      name: "a duplicate key",
      text: mutate("prune: true", "prune: true\n  prune: false"),
      code: "YAML",
      where: "gitward.yaml:35:3",
      message: /duplicate key/,
    },
    {
      name: "a missing required field",
      text: mutate("  trustPolicy: production\n", ""),
      code: "SCHEMA",
      where: "gitward.yaml:28:3",
      message: /missing required field "trustPolicy"/,
    },
    {
      name: "a value of the wrong type",
      text: mutate("prune: true", 'prune: "yes"'),
      code: "SCHEMA",
      where: "gitward.yaml:34:10",
      message: /"prune": expected true or false, got the string "yes"/,
    },
    {
      name: "a value outside an enum",
      text: mutate("drift: alert", "drift: alrt"),
      code: "SCHEMA",
      where: "gitward.yaml:35:10",
      message: /expected one of: "alert", "revert"/,
    },
    {
      name: "a ref with an unknown key",
      text: mutate("ref: { branch: main }", "ref: { brnch: main }"),
      code: "SCHEMA",
      where: "gitward.yaml:28:67",
      message: /exactly one of \{branch: NAME\}, \{tag: NAME\} or \{commit: SHA\}/,
    },
    {
      name: "a ref with two kinds at once",
      text: mutate("ref: { branch: main }", "ref: { branch: main, tag: v1 }"),
      code: "SCHEMA",
      where: "gitward.yaml:28:67",
      message: /exactly one of/,
    },
    {
      name: "a short commit id",
      text: mutate("ref: { branch: main }", "ref: { commit: abc123 }"),
      code: "SCHEMA",
      where: "gitward.yaml:28:67",
      message: /exactly one of/,
    },
    {
      name: "a bad interval",
      text: mutate("interval: 1m", "interval: 1x"),
      code: "SCHEMA",
      where: "gitward.yaml:33:13",
      message: /expected a duration such as "30s"/,
    },
    {
      name: "a zero interval",
      text: mutate("interval: 1m", "interval: 0s"),
      code: "INVALID",
      where: "gitward.yaml:33:13",
      message: /too short/,
    },
    {
      name: "an interval past the 24h bound (720h would overflow Node's timers)",
      text: mutate("interval: 1m", "interval: 720h"),
      code: "INVALID",
      where: "gitward.yaml:33:13",
      message: /interval 720h is too long: at most 24h/,
    },
    {
      name: "an invalid regex in commits.message",
      text: mutate('message: "^(OPS', 'message: "^((OPS'),
      code: "INVALID",
      where: "gitward.yaml:14:14",
      message: /not a valid regular expression/,
    },
    {
      name: "an Application naming a missing TrustPolicy",
      text: mutate("trustPolicy: production", "trustPolicy: prod"),
      code: "UNKNOWN_REFERENCE",
      where: "gitward.yaml:32:16",
      message: /names TrustPolicy "prod", which is not defined; defined: production/,
    },
    {
      name: "a blank SSH key",
      text: mutate('ssh: ["ssh-ed25519 AAAA..."]', 'ssh: ["   "]'),
      code: "SCHEMA",
      where: "gitward.yaml:12:15",
      message: /expected a non-empty key/,
    },
    {
      name: "an empty OpenPGP key",
      text: mutate('openpgp: ["-----BEGIN PGP PUBLIC KEY BLOCK-----..."]', 'openpgp: [""]'),
      code: "SCHEMA",
      where: "gitward.yaml:9:19",
      message: /expected a non-empty key/,
    },
    {
      name: "a key that is not a string",
      text: mutate('ssh: ["ssh-ed25519 AAAA..."]', "ssh: [42]"),
      code: "SCHEMA",
      where: "gitward.yaml:12:15",
      message: /expected a non-empty key, got number 42/,
    },
    {
      name: "a commit signer with no key at all",
      text: mutate('        ssh: ["ssh-ed25519 AAAA..."]\n', ""),
      code: "INVALID",
      where: "gitward.yaml:11:9",
      message: /commit signer "security" has no key/,
    },
    {
      name: "a signer with no paths",
      text: mutate('paths: ["rbac/**", "network/**"]', "paths: []"),
      code: "SCHEMA",
      where: "gitward.yaml:13:16",
      message: /"paths" needs at least 1 item/,
    },
    {
      name: "two commit signers with one name",
      text: mutate("- name: security", "- name: platform"),
      code: "DUPLICATE_NAME",
      where: "gitward.yaml:11:15",
      message: /commit signer "platform" is listed twice/,
    },
    {
      name: "an image signer with both cosign and keyless",
      text: mutate("{ name: ci, cosign:", "{ name: ci, keyless: { issuer: i, subject: s }, cosign:"),
      code: "INVALID",
      where: "gitward.yaml:19:15",
      message: /needs exactly one of "cosign"/,
    },
    {
      name: "a threshold that can never be met",
      text: mutate("requireDigest: true", "requireDigest: true\n    threshold: 2"),
      code: "INVALID",
      where: "gitward.yaml:19:16",
      message: /threshold 2 is more than the 1 image signer/,
    },
    {
      name: "plain HTTP to a non-loopback registry",
      text: mutate(
        "requireDigest: true",
        'requireDigest: true\n    registryOptions: [{ host: "registry.example.com", plainHTTP: true }]',
      ),
      code: "INVALID",
      where: "gitward.yaml:19:66",
      message: /plain HTTP is allowed for loopback registries only/,
    },
    {
      name: "a namespace on the cluster-scoped TrustPolicy",
      text: mutate("metadata: { name: production }", "metadata: { name: production, namespace: x }"),
      code: "INVALID",
      where: "gitward.yaml:3:31",
      message: /TrustPolicy is cluster-scoped/,
    },
    {
      name: "an Application without namespace",
      text: mutate("metadata: { name: shop, namespace: gitward-system }", "metadata: { name: shop }"),
      code: "SCHEMA",
      where: "gitward.yaml:26:11",
      message: /missing required field "namespace"/,
    },
    {
      name: "an upper-case name",
      text: mutate("serviceAccountName: shop-deployer", "serviceAccountName: Shop"),
      code: "SCHEMA",
      where: "gitward.yaml:31:55",
      message: /"Shop" is not valid for "serviceAccountName": expected a DNS-1123 subdomain/,
    },
    {
      name: "a source path that leaves the repository",
      text: mutate("path: apps/shop", "path: apps/../../etc"),
      code: "INVALID",
      where: "gitward.yaml:28:91",
      message: /leaves the repository/,
    },
    {
      name: "an absolute source path",
      text: mutate("path: apps/shop", "path: /etc"),
      code: "INVALID",
      where: "gitward.yaml:28:91",
      message: /is absolute/,
    },
    {
      name: "an unknown kind",
      text: mutate("kind: Application ", "kind: Deployment "),
      code: "SCHEMA",
      where: "gitward.yaml:25:7",
      message: /unknown kind "Deployment"; expected one of: TrustPolicy, Application, AlertSink/,
    },
    {
      name: "a wrong apiVersion",
      text: mutate(
        "apiVersion: gitward.dev/v1alpha1\nkind: Application",
        "apiVersion: v1\nkind: Application",
      ),
      code: "SCHEMA",
      where: "gitward.yaml:24:13",
      message: /"apiVersion": expected "gitward.dev\/v1alpha1"/,
    },
    {
      name: "a document that is not a mapping",
      text: EXAMPLE + "---\n- just\n- a list\n",
      code: "SCHEMA",
      where: "gitward.yaml:37:1",
      message: /expected a mapping with apiVersion, kind, metadata and spec/,
    },
    {
      name: "a YAML syntax error",
      text: mutate("metadata: { name: production }", "metadata: { name: production"),
      code: "YAML",
      where: /^gitward\.yaml:\d+:\d+$/,
      message: /YAML/,
    },
    {
      name: "an unknown tag",
      text: mutate("prune: true", "prune: !evil true"),
      code: "YAML",
      where: "gitward.yaml:34:10",
      message: /tag/i,
    },
  ];

  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      const err = configError(c.text);
      expect(err.code).toBe(c.code);
      if (typeof c.where === "string") expect(err.where).toBe(c.where);
      else expect(err.where).toMatch(c.where);
      expect(err.message).toMatch(c.message);
      expect(err.message.startsWith(`${err.where ?? ""}: `)).toBe(true);
    });
  }

  it("masks credentials when echoing a malformed URL", () => {
    const err = configError(
      mutate('"ssh://git@git.example.com/ops/config.git"', '"https://bob:s3cr3t@git example"'),
    );
    expect(err.code).toBe("SCHEMA");
    expect(err.message).toContain("//[REDACTED]@git example");
    expect(err.message).not.toContain("s3cr3t");
  });

  it("refuses credentials in the source URL without repeating them", () => {
    for (const url of [
      "https://bob:s3cr3tTOKEN@git.example.com/x.git",
      "https://s3cr3tTOKEN@git.example.com/x.git",
      "https://git.example.com/x.git?access_token=s3cr3tTOKEN",
      "https://git.example.com/x.git?X-Amz-Signature=s3cr3tTOKEN",
    ]) {
      const err = configError(mutate('"ssh://git@git.example.com/ops/config.git"', JSON.stringify(url)));
      expect(err.code).toBe("INVALID");
      expect(err.where).toBe("gitward.yaml:28:18");
      expect(err.message).toMatch(/contains credentials.*secretRef/);
      expect(err.message).not.toContain("s3cr3tTOKEN");
    }
  });

  it("accepts a source URL whose query names no credential", () => {
    const url = "https://git.example.com/x.git?ref=main";
    const set = parseConfig(
      mutate('"ssh://git@git.example.com/ops/config.git"', JSON.stringify(url)),
      "g.yaml",
    );
    expect(set.applications[0]!.spec.source.url).toBe(url);
  });

  it("refuses an alias bomb before expanding it", () => {
    const bomb =
      "a: &a [x, x, x, x, x, x, x, x, x, x]\n" +
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
    const err = configError(bomb);
    expect(err.code).toBe("YAML");
    expect(err.message).toMatch(/alias/);
  });

  it("refuses a file larger than the limit", () => {
    expect(() => parseConfig(EXAMPLE, "big.yaml", { maxBytes: 100 })).toThrow(/larger than 100 bytes/);
  });

  it("reports every problem, in file order, and counts them", () => {
    const text = mutate(
      "drift: alert",
      "drift: alrt",
      mutate('paths: ["**"]', 'paths: ["**"]\n        foo: 1'),
    );
    const err = configError(text);
    expect(err.problems.map((p) => p.where)).toEqual(["gitward.yaml:11:9", "gitward.yaml:36:10"]);
    expect(err.message).toContain("\n  gitward.yaml:36:10: ");
  });

  it("does not report a reference to a TrustPolicy that is itself invalid", () => {
    const err = configError(mutate('paths: ["**"]', 'paths: ["**"]\n        foo: 1'));
    expect(err.problems).toHaveLength(1);
  });

  it("reports only the syntax error when the TrustPolicy document cannot be read", () => {
    const err = configError(mutate("metadata: { name: production }", "metadata: { name: production"));
    expect(err.problems.every((p) => p.code === "YAML")).toBe(true);
  });

  it("rejects two TrustPolicies or two Applications with one name", () => {
    const twoPolicies = configError(EXAMPLE.split("---\n")[0]! + "---\n" + EXAMPLE);
    expect(twoPolicies.code).toBe("DUPLICATE_NAME");
    expect(twoPolicies.message).toMatch(/TrustPolicy "production" is defined twice/);
    const twoApps = configError(EXAMPLE + "---\n" + EXAMPLE.split("---\n")[1]!);
    expect(twoApps.code).toBe("DUPLICATE_NAME");
    expect(twoApps.where).toBe("gitward.yaml:39:19");
  });
});

describe("AlertSink documents", () => {
  it("are read with their sources and filters, and minSeverity defaults to info", () => {
    const { alertSinks } = parseConfig(EXAMPLE + "---\n" + ALERT_SINK, "gitward.yaml");
    expect(alertSinks).toHaveLength(1);
    expect(alertSinks[0]!.spec).toEqual({
      type: "webhook",
      url: { env: "OPS_WEBHOOK_URL" },
      hmacSecret: { file: "ops-hmac.txt" },
      kinds: ["revision-refused", "drift-detected"],
      minSeverity: "warning",
    });
    const plain = parseConfig(mutate("  minSeverity: warning\n", "", ALERT_SINK), "a.yaml").alertSinks[0]!;
    expect(plain.spec.minSeverity).toBe("info");
  });

  it("refuse a URL written into the file, an unknown event kind and a duplicate name", () => {
    const inline = configError(
      mutate("url: { env: OPS_WEBHOOK_URL }", 'url: "https://hooks.example.com/T/B/x"', ALERT_SINK),
    );
    expect(inline.where).toBe("gitward.yaml:6:8");
    expect(inline.message).toMatch(
      /exactly one of \{env: NAME\}, \{file: PATH\} or \{secretRef: \{name, key\}\}/,
    );
    expect(inline.message).not.toContain("hooks.example.com/T/B/x");
    const inlineSecret = configError(
      mutate("hmacSecret: { file: ops-hmac.txt }", 'hmacSecret: "s3cr3t-hmac"', ALERT_SINK),
    );
    expect(inlineSecret.message).toMatch(/"hmacSecret": expected exactly one of .* got a string$/);
    expect(inlineSecret.message).not.toContain("s3cr3t-hmac");
    const kind = configError(mutate("drift-detected]", "drift-happened]", ALERT_SINK));
    expect(kind.where).toBe("gitward.yaml:8:29");
    expect(kind.message).toMatch(/expected one of: "revision-applied"/);
    const twice = configError(ALERT_SINK + "---\n" + ALERT_SINK);
    expect(twice.code).toBe("DUPLICATE_NAME");
    expect(twice.message).toMatch(/AlertSink gitward-system\/ops is defined twice/);
  });
});

describe("parseConfig holds YAML to the rules of repository YAML (src/render/compose.ts)", () => {
  const labelled = (labels: string): string =>
    mutate("metadata: { name: production }", `metadata: { name: production, labels: ${labels} }`);

  it('refuses keys that become one JSON key, such as 1 and "1", naming file:line:column', () => {
    const err = configError(labelled('{ 1: a, "1": b }'));
    expect(err.code).toBe("YAML");
    expect(err.where).toMatch(/^gitward\.yaml:3:\d+$/);
    expect(err.message).toMatch(/duplicate key/);
    expect(configError(labelled('{ true: a, "true": b }')).message).toMatch(/duplicate key/);
  });

  it("accepts distinct keys that only look alike", () => {
    const set = parseConfig(labelled('{ "1": a, "01": b, "true": c }'), "gitward.yaml");
    expect(set.trustPolicies[0]!.metadata.name).toBe("production");
  });

  it("refuses %YAML 1.1, non-finite numbers, huge integers and collection keys", () => {
    const cases: [string, RegExp, RegExp][] = [
      ["%YAML 1.1\n---\n" + EXAMPLE, /%YAML 1\.1 directive/, /^gitward\.yaml:\d+:\d+$/],
      [mutate("prune: true", "prune: .nan"), /\.nan is not finite/, /^gitward\.yaml:34:10$/],
      [mutate("prune: true", "prune: -.inf"), /not finite/, /^gitward\.yaml:34:10$/],
      [mutate("prune: true", "prune: 123456789012345678901"), /too large to keep exactly/, /:34:10$/],
      [mutate("prune: true", "prune: true\n  ? [a, b]\n  : c"), /mapping key is itself/, /:35:5$/],
    ];
    for (const [text, message, where] of cases) {
      const err = configError(text);
      expect(err.code).toBe("YAML");
      expect(err.message).toMatch(message);
      expect(err.where).toMatch(where);
    }
  });
});

describe("loadConfig and loadTrustPolicy read files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "gitward-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads gitward.yaml from disk", async () => {
    const file = path.join(dir, "gitward.yaml");
    await writeFile(file, EXAMPLE);
    const set = await loadConfig(file);
    expect(set.applications[0]!.metadata.name).toBe("shop");
  });

  it("names the file in errors from disk", async () => {
    const file = path.join(dir, "bad.yaml");
    await writeFile(file, mutate("drift: alert", "drift: alrt"));
    await expect(loadConfig(file)).rejects.toMatchObject({ where: `${file}:35:10`, code: "SCHEMA" });
  });

  it("reports a missing file as unreadable", async () => {
    const file = path.join(dir, "missing.yaml");
    await expect(loadConfig(file)).rejects.toMatchObject({ code: "UNREADABLE", where: file });
    await expect(loadConfig(dir)).rejects.toThrow(/not a regular file/);
  });

  it("refuses a file over the size limit without reading it", async () => {
    const file = path.join(dir, "huge.yaml");
    await writeFile(file, "# " + "x".repeat(2000) + "\n");
    await expect(loadConfig(file, { maxBytes: 1000 })).rejects.toMatchObject({ code: "UNREADABLE" });
  });

  it("refuses a file that is not valid UTF-8, naming the line, and reads one that is", async () => {
    const file = path.join(dir, "latin1.yaml");
    const text = mutate(
      "metadata: { name: production }",
      "metadata: { name: production, labels: { a: caf\u00e9 } }",
    );
    await writeFile(file, Buffer.from(text, "latin1"));
    await expect(loadConfig(file)).rejects.toMatchObject({ code: "UNREADABLE", where: `${file}:3` });
    await expect(loadConfig(file)).rejects.toThrow(/not valid UTF-8/);
    await writeFile(file, text, "utf8");
    expect((await loadConfig(file)).trustPolicies[0]!.metadata.labels).toEqual({ a: "caf\u00e9" });
  });

  it("loads a file with exactly one TrustPolicy", async () => {
    const file = path.join(dir, "trust.yaml");
    await writeFile(file, EXAMPLE.split("---\n")[0]!);
    const tp = await loadTrustPolicy(file);
    expect(tp.metadata.name).toBe("production");
    expect(tp.spec.images?.threshold).toBe(1);
  });

  // Issue 16 changed this: other documents (an Application, as in gitward.yaml) used to be refused.
  it("takes the one TrustPolicy of a file that holds other documents too; none or two is an error", () => {
    expect(parseTrustPolicy(EXAMPLE, "gitward.yaml").metadata.name).toBe("production");
    const policy = EXAMPLE.split("---\n")[0]!;
    expect(() =>
      parseTrustPolicy(`${policy}---\n${policy.replace("name: production", "name: other")}`, "t.yaml"),
    ).toThrow(/expected exactly one TrustPolicy document, found 2 \(production, other\)/);
    expect(() => parseTrustPolicy("", "trust.yaml")).toThrow(/found 0$/);
    expect(() =>
      parseTrustPolicy(EXAMPLE.split("---\n")[1]!.replace(/trustPolicy: .*/, "trustPolicy: x"), "a.yaml"),
    ).toThrow(/found 0|not defined/);
  });

  it("accepts a TrustPolicy with only images; an Application naming it is refused", () => {
    const imagesOnly = [
      "apiVersion: gitward.dev/v1alpha1",
      "kind: TrustPolicy",
      "metadata: { name: images-only }",
      "spec:",
      "  images: { registries: ['registry.example.com/team/'] }",
      "",
    ].join("\n");
    const tp = parseTrustPolicy(imagesOnly, "images.yaml");
    expect(tp.spec.commits).toBeUndefined();
    expect(tp.spec.images?.registries).toEqual(["registry.example.com/team/"]);
    const app = EXAMPLE.split("---\n")[1]!.replace(/trustPolicy: .*/, "trustPolicy: images-only");
    expect(() => parseConfig(`${imagesOnly}---\n${app}`, "gitward.yaml")).toThrow(
      /names TrustPolicy "images-only", which has no spec\.commits/,
    );
  });
});

describe("validateClusterObject validates objects read from the API server", () => {
  it("ignores server-set fields and fills defaults", () => {
    const app = parseConfig(MINIMAL, "m.yaml").applications[0]!;
    const fromCluster = {
      ...app,
      metadata: { ...app.metadata, uid: "123", resourceVersion: "7", managedFields: [] },
      status: { lastAppliedRevision: "abc" },
    };
    delete (fromCluster.spec as { interval?: string }).interval;
    const checked = validateClusterObject(fromCluster, "Application ns/app");
    expect(checked.kind).toBe("Application");
    expect((checked as typeof app).spec.interval).toBe("1m");
  });

  it("names the object and field path in errors", () => {
    const app = parseConfig(MINIMAL, "m.yaml").applications[0]!;
    const bad = { ...app, spec: { ...app.spec, drift: "sometimes" } };
    expect(() => validateClusterObject(bad, "Application ns/app")).toThrow(
      /^Application ns\/app at spec\.drift: "drift": expected one of/,
    );
  });
});

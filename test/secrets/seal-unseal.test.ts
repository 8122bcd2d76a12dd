import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { generateSealingKey, SealingKeyRing, type SealingKey } from "../../src/secrets/keys.js";
import { sealSecret } from "../../src/secrets/seal.js";
import { unsealSecret } from "../../src/secrets/unseal.js";
import { resealSecret } from "../../src/secrets/reseal.js";
import { parseDocuments } from "../../src/secrets/yaml-input.js";
import type { SealedSecret, Scope } from "../../src/secrets/types.js";
import {
  decoded,
  expectFailure,
  expectNoPlaintextIn,
  flipBit,
  moved,
  PLAINTEXTS,
  plainSecret,
  seenMessages,
  withValue,
} from "./support.js";

const execFileP = promisify(execFile);

// 2048-bit keys where the size does not matter (RSA 4096 generation is slow); one test below uses 4096.
let oldKey: SealingKey;
let newKey: SealingKey;
let strangerKey: SealingKey;
let ring: SealingKeyRing;

beforeAll(async () => {
  const day = 86_400_000;
  [oldKey, newKey, strangerKey] = await Promise.all([
    generateSealingKey({ modulusLength: 2048, name: "key-old", now: new Date(Date.now() - 40 * day) }),
    generateSealingKey({ modulusLength: 2048, name: "key-new" }),
    generateSealingKey({ modulusLength: 2048, name: "other-cluster" }),
  ]);
  ring = new SealingKeyRing([oldKey, newKey]);
});

afterAll(() => {
  // Security invariant 2: no failure message of this file carries a plaintext value.
  expect(seenMessages.length).toBeGreaterThan(10);
  expectNoPlaintextIn(seenMessages);
});

function seal(
  namespace: string | undefined,
  name: string,
  scope: Scope,
  key: SealingKey = newKey,
): SealedSecret {
  const result = sealSecret(plainSecret(namespace, name), key.publicKey, { scope });
  if (!result.ok) throw new Error(result.message);
  return result.sealed;
}

describe("round trips", () => {
  it.each(["strict", "namespace-wide", "cluster-wide"] as const)(
    "%s: seal then unseal gives the Secret back",
    (scope) => {
      const sealed = seal("shop", "db", scope);
      expect(sealed.apiVersion).toBe("bitnami.com/v1alpha1");
      expect(Object.keys(sealed.spec.encryptedData).sort()).toEqual(["binary", "password", "token"]);
      expect(JSON.stringify(sealed)).not.toContain(PLAINTEXTS.password);
      const annotations = sealed.metadata.annotations ?? {};
      expect(annotations["sealedsecrets.bitnami.com/namespace-wide"]).toBe(
        scope === "namespace-wide" ? "true" : undefined,
      );
      expect(annotations["sealedsecrets.bitnami.com/cluster-wide"]).toBe(
        scope === "cluster-wide" ? "true" : undefined,
      );
      const result = unsealSecret(sealed, ring);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.secret.metadata).toMatchObject({
        name: "db",
        namespace: "shop",
        labels: { app: "shop" },
      });
      expect(result.secret.type).toBe("Opaque");
      expect(decoded(result.secret.data)).toEqual({
        password: PLAINTEXTS.password,
        token: PLAINTEXTS.token,
        binary: PLAINTEXTS.binary,
      });
    },
  );

  it("takes the scope from the Secret's own annotations when no scope is given", () => {
    const secret = plainSecret("shop", "db");
    (secret["metadata"] as { annotations?: Record<string, string> }).annotations = {
      "sealedsecrets.bitnami.com/cluster-wide": "true",
      "kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"password":"${PLAINTEXTS.password}"}}`,
    };
    const result = sealSecret(secret, newKey.publicKey);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.sealed.metadata.annotations).toEqual({ "sealedsecrets.bitnami.com/cluster-wide": "true" });
    // kubectl's last-applied annotation holds the plaintext: it must not be copied into the template.
    expect(JSON.stringify(result.sealed)).not.toContain(PLAINTEXTS.password);
  });

  it("the OAEP part is standard RSA-OAEP SHA-256 with the scope label: openssl opens it", async () => {
    const sealed = seal("shop", "db", "strict");
    const bytes = Buffer.from(sealed.spec.encryptedData["password"]!, "base64");
    const rsaLength = bytes.readUInt16BE(0);
    expect(rsaLength).toBe(256);
    const dir = await mkdtemp(path.join(tmpdir(), "gitward-oaep-"));
    try {
      await writeFile(path.join(dir, "key.pem"), newKey.privateKey.export({ type: "pkcs8", format: "pem" }));
      await writeFile(path.join(dir, "rsa.bin"), bytes.subarray(2, 2 + rsaLength));
      const openssl = (label: string) =>
        execFileP("openssl", [
          "pkeyutl",
          "-decrypt",
          "-inkey",
          path.join(dir, "key.pem"),
          "-in",
          path.join(dir, "rsa.bin"),
          "-pkeyopt",
          "rsa_padding_mode:oaep",
          "-pkeyopt",
          "rsa_oaep_md:sha256",
          "-pkeyopt",
          "rsa_mgf1_md:sha256",
          "-pkeyopt",
          `rsa_oaep_label:${Buffer.from(label).toString("hex")}`,
          "-out",
          path.join(dir, "session.bin"),
        ]);
      await openssl("shop/db");
      const { stdout } = await execFileP("wc", ["-c", path.join(dir, "session.bin")]);
      expect(stdout.trim().split(" ")[0]).toBe("32");
      await expect(openssl("shop/other")).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a 4096-bit key (the default) makes a self-signed RSA certificate and round-trips", async () => {
    const key = await generateSealingKey();
    expect(key.publicKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    const cert = key.certificate!;
    expect(cert.verify(key.publicKey)).toBe(true);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.subject).toContain("CN=gitward-sealed-secret");
    const years =
      (new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / (365 * 86_400_000);
    expect(years).toBeGreaterThan(9.9);
    const sealed = sealSecret(plainSecret("shop", "db"), cert.publicKey, { scope: "strict" });
    if (!sealed.ok) throw new Error(sealed.message);
    expect(Buffer.from(sealed.sealed.spec.encryptedData["token"]!, "base64").readUInt16BE(0)).toBe(512);
    const result = unsealSecret(sealed.sealed, new SealingKeyRing([key]));
    expect(result.ok && decoded(result.secret.data)["token"]).toBe(PLAINTEXTS.token);
  });

  it("refuses to seal without a namespace unless cluster-wide, and without a name", () => {
    expectFailure(
      sealSecret(plainSecret(undefined, "db"), newKey.publicKey, { scope: "strict" }),
      "MISSING_NAMESPACE",
    );
    expectFailure(
      sealSecret(plainSecret(undefined, "db"), newKey.publicKey, { scope: "namespace-wide" }),
      "MISSING_NAMESPACE",
    );
    expect(sealSecret(plainSecret(undefined, "db"), newKey.publicKey, { scope: "cluster-wide" }).ok).toBe(
      true,
    );
    expect(sealSecret(plainSecret(undefined, "db"), newKey.publicKey, { namespace: "shop" }).ok).toBe(true);
    expectFailure(sealSecret({ kind: "Secret", metadata: {} }, newKey.publicKey), "MALFORMED");
    expectFailure(sealSecret({ kind: "ConfigMap" }, newKey.publicKey), "MALFORMED");
    const bad = { ...plainSecret("shop", "db"), data: { binary: `${PLAINTEXTS.password}!` } };
    expectFailure(sealSecret(bad, newKey.publicKey), "BAD_BASE64");
  });
});

describe("scopes bind a value to its place", () => {
  it("strict: moving to another namespace or renaming fails with SCOPE_MISMATCH; nothing is returned", () => {
    const sealed = seal("shop", "db", "strict");
    const toNamespace = expectFailure(
      unsealSecret(moved(sealed, { namespace: "attacker" }), ring),
      "SCOPE_MISMATCH",
    );
    expect(toNamespace).not.toHaveProperty("secret");
    if (!toNamespace.ok)
      expect(toNamespace.message).toMatch(
        /sealed for strict \(shop\/db\) but stands at strict \(attacker\/db\)/,
      );
    expectFailure(unsealSecret(moved(sealed, { name: "db2" }), ring), "SCOPE_MISMATCH");
  });

  it("strict: claiming a wider scope by annotation does not widen it", () => {
    const sealed = seal("shop", "db", "strict");
    const widened = moved(sealed, { namespace: "attacker" });
    widened.metadata.annotations = { "sealedsecrets.bitnami.com/cluster-wide": "true" };
    expectFailure(unsealSecret(widened, ring), "SCOPE_MISMATCH");
    // With every trace of the original place removed, it still fails (the label is in the ciphertext).
    delete widened.spec.template;
    expectFailure(unsealSecret(widened, ring), "DECRYPT_FAILED");
  });

  it("namespace-wide: a rename within the namespace unseals, a move to another namespace does not", () => {
    const sealed = seal("shop", "db", "namespace-wide");
    const renamed = unsealSecret(moved(sealed, { name: "db-copy" }), ring);
    expect(renamed.ok && renamed.secret.metadata.name).toBe("db-copy");
    expectFailure(unsealSecret(moved(sealed, { namespace: "attacker" }), ring), "SCOPE_MISMATCH");
  });

  it("cluster-wide: unseals under any name and namespace", () => {
    const sealed = seal("shop", "db", "cluster-wide");
    const elsewhere = unsealSecret(moved(sealed, { namespace: "billing", name: "x" }), ring);
    expect(elsewhere.ok && elsewhere.secret.metadata).toMatchObject({ namespace: "billing", name: "x" });
    const stripped = moved(sealed, {});
    stripped.metadata.annotations = {};
    expectFailure(unsealSecret(stripped, ring), "SCOPE_MISMATCH");
  });

  it("a SealedSecret without a namespace takes the destination namespace given by the caller", () => {
    const sealed = seal("shop", "db", "strict");
    const noNamespace = structuredClone(sealed);
    delete noNamespace.metadata.namespace;
    expectFailure(unsealSecret(noNamespace, ring), "MISSING_NAMESPACE");
    const result = unsealSecret(noNamespace, ring, { namespace: "shop" });
    expect(result.ok && result.secret.metadata.namespace).toBe("shop");
    expectFailure(unsealSecret(noNamespace, ring, { namespace: "billing" }), "SCOPE_MISMATCH");
  });
});

describe("rotation", () => {
  it("a value sealed with the old key still unseals after a new key is added; the newest key seals", () => {
    expect(ring.newest?.name).toBe("key-new");
    const sealedOld = seal("shop", "db", "strict", oldKey);
    const result = unsealSecret(sealedOld, ring);
    expect(result.ok && decoded(result.secret.data)["password"]).toBe(PLAINTEXTS.password);
    // Only the new key: the old value no longer opens.
    expectFailure(unsealSecret(sealedOld, new SealingKeyRing([newKey])), "DECRYPT_FAILED");
  });

  it("reseal moves old-key values to the newest key and leaves newest-key values untouched", () => {
    const sealedOld = seal("shop", "db", "strict", oldKey);
    const mixed = withValue(
      sealedOld,
      "fresh",
      seal("shop", "db", "strict", newKey).spec.encryptedData["token"]!,
    );
    const outcome = resealSecret(mixed, ring);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.resealed.sort()).toEqual(["binary", "password", "token"]);
    expect(outcome.unchanged).toEqual(["fresh"]);
    expect(outcome.sealed.spec.encryptedData["fresh"]).toBe(mixed.spec.encryptedData["fresh"]);
    expect(outcome.sealed.spec.encryptedData["password"]).not.toBe(mixed.spec.encryptedData["password"]);
    const onlyNew = unsealSecret(outcome.sealed, new SealingKeyRing([newKey]));
    expect(onlyNew.ok && decoded(onlyNew.secret.data)).toEqual({
      password: PLAINTEXTS.password,
      token: PLAINTEXTS.token,
      binary: PLAINTEXTS.binary,
      fresh: PLAINTEXTS.token,
    });
    expectFailure(unsealSecret(outcome.sealed, new SealingKeyRing([oldKey])), "DECRYPT_FAILED");
  });

  it("reseal keeps the scope: a resealed strict value still refuses to move", () => {
    const outcome = resealSecret(seal("shop", "db", "strict", oldKey), ring);
    if (!outcome.ok) throw new Error(outcome.message);
    expectFailure(unsealSecret(moved(outcome.sealed, { namespace: "attacker" }), ring), "SCOPE_MISMATCH");
    expectFailure(resealSecret(moved(outcome.sealed, { namespace: "attacker" }), ring), "DECRYPT_FAILED");
  });
});

describe("tampered ciphertext fails clearly and yields nothing", () => {
  const cases: [string, (s: SealedSecret) => SealedSecret, string][] = [
    [
      "one bit flipped in the AES-GCM part",
      (s) => withValue(s, "password", flipBit(s.spec.encryptedData["password"]!, -3)),
      "CIPHERTEXT_ALTERED",
    ],
    [
      "one bit flipped in the GCM tag",
      (s) => withValue(s, "password", flipBit(s.spec.encryptedData["password"]!, -1)),
      "CIPHERTEXT_ALTERED",
    ],
    [
      "one bit flipped in the RSA part",
      (s) => withValue(s, "password", flipBit(s.spec.encryptedData["password"]!, 40)),
      "DECRYPT_FAILED",
    ],
    [
      "one bit flipped in the length prefix",
      (s) => withValue(s, "password", flipBit(s.spec.encryptedData["password"]!, 0)),
      "UNKNOWN_KEY",
    ],
    [
      "truncated by a few bytes",
      (s) =>
        withValue(
          s,
          "password",
          Buffer.from(s.spec.encryptedData["password"]!, "base64").subarray(0, 250).toString("base64"),
        ),
      "TRUNCATED",
    ],
    [
      "the AES part cut off",
      (s) =>
        withValue(
          s,
          "password",
          Buffer.from(s.spec.encryptedData["password"]!, "base64")
            .subarray(0, 258 + 10)
            .toString("base64"),
        ),
      "TRUNCATED",
    ],
    ["emptied", (s) => withValue(s, "password", ""), "TRUNCATED"],
    ["not base64", (s) => withValue(s, "password", "%%%not-base64%%%"), "BAD_BASE64"],
    [
      "RSA part of one value spliced onto another value's AES part",
      (s) => {
        const a = Buffer.from(s.spec.encryptedData["password"]!, "base64");
        const b = Buffer.from(s.spec.encryptedData["token"]!, "base64");
        return withValue(
          s,
          "password",
          Buffer.concat([a.subarray(0, 258), b.subarray(258)]).toString("base64"),
        );
      },
      "CIPHERTEXT_ALTERED",
    ],
    [
      "a value from another SealedSecret (another name) swapped in",
      (s) => withValue(s, "password", seal("shop", "other", "strict").spec.encryptedData["password"]!),
      "DECRYPT_FAILED",
    ],
    [
      "a value sealed to another cluster's key",
      (s) =>
        withValue(s, "password", seal("shop", "db", "strict", strangerKey).spec.encryptedData["password"]!),
      "DECRYPT_FAILED",
    ],
  ];

  it.each(cases)("%s", (_title, tamper, code) => {
    const sealed = seal("shop", "db", "strict");
    const result = expectFailure(unsealSecret(tamper(sealed), ring), code);
    expect(result).not.toHaveProperty("secret");
    if (!result.ok) expect(result.message).toContain('SealedSecret shop/db value "password"');
  });

  it("a value sealed to a key of another size is UNKNOWN_KEY", async () => {
    const big = await generateSealingKey({ modulusLength: 3072 });
    const sealed = seal("shop", "db", "strict");
    const bigValue = seal("shop", "db", "strict", big).spec.encryptedData["token"]!;
    expectFailure(unsealSecret(withValue(sealed, "token", bigValue), ring), "UNKNOWN_KEY");
  });

  it("an empty key ring and malformed objects are refused with codes", () => {
    const sealed = seal("shop", "db", "strict");
    expectFailure(unsealSecret(sealed, new SealingKeyRing([])), "NO_KEYS");
    expectFailure(unsealSecret({ ...sealed, apiVersion: "bitnami.com/v2" }, ring), "MALFORMED");
    expectFailure(unsealSecret({ ...sealed, metadata: {} }, ring), "MALFORMED");
    expectFailure(unsealSecret({ ...sealed, spec: { encryptedData: { a: 1 } } }, ring), "MALFORMED");
    expectFailure(
      unsealSecret({ ...sealed, spec: { data: "AAAA", encryptedData: {} } }, ring),
      "DEPRECATED_DATA",
    );
  });
});

describe("hostile sizes", () => {
  it("too many values, or a value larger than any Secret, is refused before any decryption", () => {
    const sealed = seal("shop", "db", "strict");
    const many = structuredClone(sealed);
    const one = sealed.spec.encryptedData["token"]!;
    many.spec.encryptedData = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, one]));
    const started = Date.now();
    expectFailure(unsealSecret(many, ring), "MALFORMED");
    expect(Date.now() - started).toBeLessThan(500);
    expectFailure(unsealSecret(withValue(sealed, "token", "A".repeat(1_500_004)), ring), "MALFORMED");
  });
});

describe("templates", () => {
  it("literal template data is added, null removes a key, Go templates are refused", () => {
    const sealed = seal("shop", "db", "strict");
    const literal = structuredClone(sealed);
    literal.spec.template = { ...literal.spec.template, data: { "config.ini": "mode=prod", binary: null } };
    const result = unsealSecret(literal, ring);
    expect(result.ok && decoded(result.secret.data)).toEqual({
      password: PLAINTEXTS.password,
      token: PLAINTEXTS.token,
      "config.ini": "mode=prod",
    });
    const templated = structuredClone(sealed);
    templated.spec.template = {
      ...templated.spec.template,
      data: { url: "postgres://u:{{ .password }}@db" },
    };
    expectFailure(unsealSecret(templated, ring), "TEMPLATE_UNSUPPORTED");
  });
});

describe("input parsing never echoes plaintext", () => {
  it("a YAML syntax error in a Secret reports position and code only", () => {
    const text = `apiVersion: v1\nkind: Secret\nstringData:\n  password: "${PLAINTEXTS.password}\n  token: [${PLAINTEXTS.token}\n`;
    const result = expectFailure(parseDocuments(text, "secret.yaml"), "MALFORMED");
    if (!result.ok) expect(result.message).toMatch(/^secret\.yaml(:\d+)?: not valid YAML/);
  });

  it('keys that become one JSON key (1 and "1") and YAML that changes meaning are refused, with the line', () => {
    const dup = expectFailure(
      parseDocuments(
        `kind: Secret\nstringData:\n  1: ${PLAINTEXTS.password}\n  "1": ${PLAINTEXTS.token}\n`,
        "s.yaml",
      ),
      "MALFORMED",
    );
    if (!dup.ok) expect(dup.message).toMatch(/^s\.yaml:4: not valid YAML \(DUPLICATE_KEY\)/);
    const nan = expectFailure(parseDocuments(`kind: Secret\ndata:\n  n: .nan\n`, "n.yaml"), "MALFORMED");
    if (!nan.ok) expect(nan.message).toMatch(/^n\.yaml:3: the number \.nan is not finite/);
    const v11 = expectFailure(parseDocuments(`%YAML 1.1\n---\nkind: Secret\n`, "v.yaml"), "MALFORMED");
    if (!v11.ok) expect(v11.message).toMatch(/%YAML 1\.1 directive/);
    expectFailure(parseDocuments(`? [a, b]\n: ${PLAINTEXTS.password}\n`, "k.yaml"), "MALFORMED");
    expectNoPlaintextIn(seenMessages);
    const ok = parseDocuments(`kind: Secret\nstringData:\n  "1": one\n  "01": two\n  n: ".nan"\n`, "ok.yaml");
    expect(ok.ok && ok.documents).toEqual([
      { kind: "Secret", stringData: { "1": "one", "01": "two", n: ".nan" } },
    ]);
  });

  it("duplicate keys and aliases are refused", () => {
    expectFailure(parseDocuments(`a: 1\na: 2\n`, "dup.yaml"), "MALFORMED");
    expectFailure(parseDocuments(`a: &x ${PLAINTEXTS.password}\nb: *x\n`, "alias.yaml"), "MALFORMED");
  });
});

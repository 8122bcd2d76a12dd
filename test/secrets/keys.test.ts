import { beforeAll, describe, expect, it } from "vitest";
import crypto from "node:crypto";
import {
  generateSealingKey,
  parseCertificate,
  readKeyFile,
  SealingKeyRing,
  sealingKeyFromSecret,
  sealingKeyToSecret,
  type SealingKey,
} from "../../src/secrets/keys.js";
import { expectFailure } from "./support.js";

let a: SealingKey;
let b: SealingKey;

beforeAll(async () => {
  [a, b] = await Promise.all([
    generateSealingKey({ modulusLength: 2048, name: "key-a", now: new Date("2026-01-01T00:00:00Z") }),
    generateSealingKey({ modulusLength: 2048, name: "key-b", now: new Date("2026-02-01T00:00:00Z") }),
  ]);
});

describe("sealing keys", () => {
  it("the ring orders keys newest first and drops duplicates", () => {
    const ring = new SealingKeyRing([a, b, a]);
    expect(ring.keys.map((k) => k.name)).toEqual(["key-b", "key-a"]);
    expect(ring.newest?.name).toBe("key-b");
  });

  it("round-trips through the Secret form the Sealed Secrets controller uses", () => {
    const secret = sealingKeyToSecret(a, "gitward-system");
    expect(secret.type).toBe("kubernetes.io/tls");
    expect(secret.metadata.labels?.["sealedsecrets.bitnami.com/sealed-secrets-key"]).toBe("active");
    expect(Buffer.from(secret.data!["tls.key"]!, "base64").toString()).toContain("BEGIN RSA PRIVATE KEY");
    const back = sealingKeyFromSecret(secret, "test");
    expect(back.ok && back.key.fingerprint).toBe(a.fingerprint);
    expect(back.ok && back.key.createdAt?.toISOString()).toBe("2026-01-01T00:00:00.000Z");
  });

  it("refuses a Secret whose certificate belongs to another key", () => {
    const secret = sealingKeyToSecret(a, "gitward-system");
    secret.data!["tls.crt"] = sealingKeyToSecret(b, "gitward-system").data!["tls.crt"]!;
    const result = expectFailure(sealingKeyFromSecret(secret, "test"), "BAD_CERTIFICATE");
    if (!result.ok) expect(result.message).not.toContain("PRIVATE KEY");
  });

  it("reads key files: a List of Secrets, bare PEM keys; refuses non-RSA and garbage", () => {
    const list = JSON.stringify({
      kind: "List",
      items: [sealingKeyToSecret(a, "x"), sealingKeyToSecret(b, "x")],
    });
    const fromList = readKeyFile(list, "keys.json");
    expect(fromList.ok && fromList.keys.map((k) => k.name)).toEqual(["key-a", "key-b"]);
    const pem = a.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const fromPem = readKeyFile(pem, "key.pem");
    expect(fromPem.ok && fromPem.keys[0]?.fingerprint).toBe(a.fingerprint);
    const ec = crypto
      .generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    expectFailure(readKeyFile(ec, "ec.pem"), "BAD_KEY");
    expectFailure(
      readKeyFile("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "bad.pem"),
      "BAD_KEY",
    );
    expectFailure(readKeyFile("kind: ConfigMap\n", "cm.yaml"), "MALFORMED");
    expectFailure(readKeyFile("", "empty.yaml"), "NO_KEYS");
  });

  it("certificates: accepts a current RSA one, refuses expired, non-RSA and garbage", async () => {
    expect(parseCertificate(a.certificate!.toString(), "cert.pem").ok).toBe(true);
    const old = await generateSealingKey({
      modulusLength: 2048,
      now: new Date("2020-01-01T00:00:00Z"),
      validityDays: 30,
    });
    expectFailure(parseCertificate(old.certificate!.toString(), "old.pem"), "BAD_CERTIFICATE");
    expectFailure(parseCertificate("not a certificate", "x.pem"), "BAD_CERTIFICATE");
  });
});

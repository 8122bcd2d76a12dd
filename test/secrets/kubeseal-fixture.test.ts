import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readKeyFile, SealingKeyRing } from "../../src/secrets/keys.js";
import { sealSecret } from "../../src/secrets/seal.js";
import { unsealSecret } from "../../src/secrets/unseal.js";
import { parseDocuments } from "../../src/secrets/yaml-input.js";
import type { SealedSecret } from "../../src/secrets/types.js";
import { repoRoot } from "../support/tools.js";
import { decoded, expectFailure, moved } from "./support.js";

// Real kubeseal output with the controller key that opens it (see test/fixtures/secrets/kubeseal/README.md).
const fixtures = path.join(repoRoot, "test", "fixtures", "secrets", "kubeseal");
let ring: SealingKeyRing;

async function loadSealed(file: string): Promise<SealedSecret> {
  const parsed = parseDocuments(await readFile(path.join(fixtures, file), "utf8"), file);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.documents[0] as SealedSecret;
}

beforeAll(async () => {
  const keys = readKeyFile(
    await readFile(path.join(fixtures, "sealing-key.yaml"), "utf8"),
    "sealing-key.yaml",
  );
  if (!keys.ok) throw new Error(keys.message);
  ring = new SealingKeyRing(keys.keys);
});

describe("compatibility with kubeseal", () => {
  it("reads the Sealed Secrets controller's key Secret", () => {
    expect(ring.keys).toHaveLength(1);
    const key = ring.newest!;
    expect(key.name).toBe("sealed-secrets-keygvqgl");
    expect(key.publicKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(key.createdAt?.toISOString()).toBe("2021-01-25T12:25:35.000Z");
  });

  it.each([
    ["sealedsecret-dev.yaml", ["my-password-for-dev-db", "my-dev-api-secret", "This is a secret message"]],
    [
      "sealedsecret-prd.yaml",
      ["my-password-for-prd-db", "my-prd-api-secret", "This is a secret message !!!"],
    ],
  ])("unseals %s, whose values kubeseal sealed", async (file, [db, api, message]) => {
    const result = unsealSecret(await loadSealed(file), ring);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.secret.metadata).toMatchObject({ name: "my-secret", namespace: "my-namespace" });
    expect(decoded(result.secret.data)).toEqual({ db_password: db, api_secret: api, secretMessage: message });
  });

  it("kubeseal's strict scope holds in gitward: the fixture moved elsewhere does not unseal", async () => {
    const sealed = await loadSealed("sealedsecret-dev.yaml");
    expectFailure(unsealSecret(moved(sealed, { namespace: "other" }), ring), "SCOPE_MISMATCH");
    expectFailure(unsealSecret(moved(sealed, { name: "other" }), ring), "SCOPE_MISMATCH");
  });

  it("gitward seals to the kubeseal controller's certificate and that controller's key opens it", () => {
    const cert = ring.newest!.certificate!;
    const sealed = sealSecret(
      { kind: "Secret", metadata: { name: "my-secret", namespace: "my-namespace" }, stringData: { k: "v" } },
      cert.publicKey,
    );
    if (!sealed.ok) throw new Error(sealed.message);
    const result = unsealSecret(sealed.sealed, ring);
    expect(result.ok && decoded(result.secret.data)).toEqual({ k: "v" });
  });
});

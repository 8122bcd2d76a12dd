// Shared test material for sealed secrets: Secrets with distinctive plaintexts, a collector that proves no
// failure message ever carries one, and small helpers to tamper with sealed values.
import { expect } from "vitest";
import type { SealedSecret } from "../../src/secrets/types.js";

export const PLAINTEXTS = {
  password: "pw-7c1f0e-PLAINTEXT-never-logged",
  token: "tok-91ab33-PLAINTEXT-never-logged",
  binary: "bin-55d0aa-PLAINTEXT-never-logged",
} as const;

export function plainSecret(namespace: string | undefined, name: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, ...(namespace === undefined ? {} : { namespace }), labels: { app: "shop" } },
    type: "Opaque",
    stringData: { password: PLAINTEXTS.password, token: PLAINTEXTS.token },
    data: { binary: Buffer.from(PLAINTEXTS.binary).toString("base64") },
  };
}

export function decoded(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
}

/** Every failure message seen in a test file, checked at the end for plaintext. */
export const seenMessages: string[] = [];

export function expectFailure<T extends { ok: boolean }>(result: T, code: string): T {
  expect(result.ok).toBe(false);
  if (!result.ok) {
    const failure = result as unknown as { code: string; message: string };
    seenMessages.push(failure.message);
    expect(failure.code, failure.message).toBe(code);
  }
  return result;
}

export function expectNoPlaintextIn(texts: readonly string[]): void {
  const all = texts.join("\n");
  for (const value of Object.values(PLAINTEXTS)) {
    expect(all).not.toContain(value);
    expect(all).not.toContain(Buffer.from(value).toString("base64"));
  }
}

export function withValue(sealed: SealedSecret, key: string, value: string): SealedSecret {
  return structuredClone({
    ...sealed,
    spec: { ...sealed.spec, encryptedData: { ...sealed.spec.encryptedData, [key]: value } },
  });
}

export function moved(sealed: SealedSecret, meta: { name?: string; namespace?: string }): SealedSecret {
  const copy = structuredClone(sealed);
  copy.metadata = { ...copy.metadata, ...meta };
  return copy;
}

export function flipBit(encoded: string, byteIndex: number): string {
  const bytes = Buffer.from(encoded, "base64");
  const at = byteIndex < 0 ? bytes.length + byteIndex : byteIndex;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  return bytes.toString("base64");
}

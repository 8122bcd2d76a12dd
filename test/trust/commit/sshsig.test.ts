// SSHSIG verification checked against ssh-keygen itself: signatures made by `ssh-keygen -Y sign` (both
// hash algorithms, other namespaces) and an rsa-sha2-256 signature built here and accepted by
// `ssh-keygen -Y verify`, so both sides agree on the format.
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSshPublicKeyLine, sshString } from "../../../src/trust/commit/ssh-keys.js";
import { checkSshSignature, parseSshSignature } from "../../../src/trust/commit/sshsig.js";
import { makeTempDir, removeDir, run, runStatus } from "../../support/git-exec.js";
import { createSshSigner, type Signer } from "../../support/signers.js";

let dir: string;
let ed: Signer;
let rsa: Signer;
const message = Buffer.from("tree 0000000000000000000000000000000000000000\n\nhello\n");

beforeAll(async () => {
  dir = await makeTempDir("sshsig");
  [ed, rsa] = await Promise.all([createSshSigner("ed25519"), createSshSigner("rsa")]);
  await writeFile(path.join(dir, "msg"), message);
});

afterAll(async () => {
  await Promise.all([ed.cleanup(), rsa.cleanup()]);
  await removeDir(dir);
});

async function keygenSign(signer: Signer, namespace: string, hashalg: string): Promise<string> {
  const file = path.join(dir, "msg");
  await rm(`${file}.sig`, { force: true });
  await run("ssh-keygen", [
    "-Y",
    "sign",
    "-f",
    signer.privateKeyPath!,
    "-n",
    namespace,
    "-O",
    `hashalg=${hashalg}`,
    file,
  ]);
  return readFile(`${file}.sig`, "utf8");
}

function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const mag = b.subarray(i);
  return (mag[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), mag]) : mag;
}

describe("SSHSIG", () => {
  it.each([
    ["ed25519", "sha512"],
    ["ed25519", "sha256"],
    ["rsa", "sha512"],
  ])("accepts ssh-keygen signatures (%s key, %s)", async (kind, hashalg) => {
    const signer = kind === "rsa" ? rsa : ed;
    const sig = parseSshSignature(await keygenSign(signer, "git", hashalg));
    expect(sig.hashAlgorithm).toBe(hashalg);
    expect(checkSshSignature(sig, parseSshPublicKeyLine(signer.publicKey), message)).toBeUndefined();
    const tampered = Buffer.from(message);
    tampered[0] = 0x54 ^ 1;
    expect(checkSshSignature(sig, parseSshPublicKeyLine(signer.publicKey), tampered)).toMatch(
      /does not verify/,
    );
  });

  it("refuses a signature made for another namespace", async () => {
    const sig = parseSshSignature(await keygenSign(ed, "file", "sha512"));
    expect(checkSshSignature(sig, parseSshPublicKeyLine(ed.publicKey), message)).toMatch(/namespace/);
  });

  it("verifies rsa-sha2-256 as ssh-keygen does, and refuses SHA-1 ssh-rsa signatures", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = publicKey.export({ format: "jwk" });
    const blob = Buffer.concat([
      sshString("ssh-rsa"),
      sshString(mpint(Buffer.from(jwk.e ?? "", "base64url"))),
      sshString(mpint(Buffer.from(jwk.n ?? "", "base64url"))),
    ]);
    const line = `ssh-rsa ${blob.toString("base64")} rsa256@example.com`;
    const build = (sigAlg: string, digest: string) => {
      const h = (alg: string) => createHash(alg).update(message).digest();
      const signed = Buffer.concat([
        Buffer.from("SSHSIG"),
        sshString("git"),
        sshString(""),
        sshString("sha512"),
        sshString(h("sha512")),
      ]);
      const sigBlob = Buffer.concat([sshString(sigAlg), sshString(sign(digest, signed, privateKey))]);
      const version = Buffer.alloc(4);
      version.writeUInt32BE(1);
      const body = Buffer.concat([
        Buffer.from("SSHSIG"),
        version,
        sshString(blob),
        sshString("git"),
        sshString(""),
        sshString("sha512"),
        sshString(sigBlob),
      ]);
      return `-----BEGIN SSH SIGNATURE-----\n${(body.toString("base64").match(/.{1,70}/g) ?? []).join("\n")}\n-----END SSH SIGNATURE-----\n`;
    };
    const good = build("rsa-sha2-256", "sha256");
    expect(checkSshSignature(parseSshSignature(good), parseSshPublicKeyLine(line), message)).toBeUndefined();
    await writeFile(path.join(dir, "rsa.sig"), good);
    await writeFile(path.join(dir, "allowed"), `rsa256@example.com ${line}\n`);
    const oracle = await runStatus(
      "ssh-keygen",
      [
        "-Y",
        "verify",
        "-f",
        path.join(dir, "allowed"),
        "-I",
        "rsa256@example.com",
        "-n",
        "git",
        "-s",
        path.join(dir, "rsa.sig"),
      ],
      { input: message },
    );
    expect(oracle.code).toBe(0);
    const sha1 = build("ssh-rsa", "sha1");
    expect(checkSshSignature(parseSshSignature(sha1), parseSshPublicKeyLine(line), message)).toMatch(
      /does not fit/,
    );
  });

  it("rejects malformed signatures with a reason instead of throwing later", () => {
    for (const bad of [
      "",
      "-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----",
      "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAg==\n-----END SSH SIGNATURE-----",
      "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAf////8=\n-----END SSH SIGNATURE-----",
    ]) {
      expect(() => parseSshSignature(bad)).toThrow();
    }
  });
});

// SSH public keys as a trust policy holds them (authorized_keys lines) turned into node:crypto keys, and
// the SSH wire encoding (RFC 4251 strings and mpints) that keys and SSHSIG signatures share. Written by
// hand because node:crypto does not read SSH key blobs and the few npm parsers for them are not maintained.
import { createHash, createPublicKey, type KeyObject } from "node:crypto";

export type SshKeyType = "ssh-ed25519" | "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ssh-rsa";

export interface SshPublicKey {
  type: SshKeyType;
  /** The wire-format key blob, as embedded in SSHSIG signatures; keys are compared on it. */
  blob: Buffer;
  key: KeyObject;
  /** "SHA256:<base64>", as ssh-keygen -l prints it. */
  fingerprint: string;
}

/** Reads SSH wire-format fields from attacker-controlled bytes; every read is bounds-checked. */
export class SshReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error("truncated SSH data");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  string(): Buffer {
    return this.bytes(this.uint32());
  }

  text(): string {
    return this.string().toString("latin1");
  }
}

export function sshString(data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}

/** An mpint's magnitude without the sign byte, left-padded to `size` bytes (for JWK and IEEE P1363). */
export function unsignedFixed(mpint: Buffer, size?: number): Buffer {
  let start = 0;
  while (start < mpint.length - 1 && mpint[start] === 0) start++;
  const mag = mpint.subarray(start);
  if (size === undefined) return mag;
  if (mag.length > size) throw new Error("integer too large for its field");
  return Buffer.concat([Buffer.alloc(size - mag.length), mag]);
}

const CURVES: Record<string, { crv: string; size: number; ident: string }> = {
  "ecdsa-sha2-nistp256": { crv: "P-256", size: 32, ident: "nistp256" },
  "ecdsa-sha2-nistp384": { crv: "P-384", size: 48, ident: "nistp384" },
};

export function sshFingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** Parses a key blob (wire format) into a node:crypto public key; throws with a reason when it is not one. */
export function parseSshKeyBlob(blob: Buffer): SshPublicKey {
  const r = new SshReader(blob);
  const type = r.text();
  let key: KeyObject;
  switch (type) {
    case "ssh-ed25519": {
      const x = r.string();
      if (x.length !== 32) throw new Error("ed25519 key is not 32 bytes");
      key = createPublicKey({
        key: { kty: "OKP", crv: "Ed25519", x: x.toString("base64url") },
        format: "jwk",
      });
      break;
    }
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384": {
      const curve = CURVES[type];
      if (curve === undefined) throw new Error("unknown curve");
      if (r.text() !== curve.ident) throw new Error("curve name does not match the key type");
      const q = r.string();
      if (q.length !== 1 + 2 * curve.size || q[0] !== 4) throw new Error("EC point is not uncompressed");
      key = createPublicKey({
        key: {
          kty: "EC",
          crv: curve.crv,
          x: q.subarray(1, 1 + curve.size).toString("base64url"),
          y: q.subarray(1 + curve.size).toString("base64url"),
        },
        format: "jwk",
      });
      break;
    }
    case "ssh-rsa": {
      const e = unsignedFixed(r.string());
      const n = unsignedFixed(r.string());
      if (n.length * 8 < 2048) throw new Error("RSA key is shorter than 2048 bits");
      key = createPublicKey({
        key: { kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") },
        format: "jwk",
      });
      break;
    }
    default:
      throw new Error(`key type ${JSON.stringify(type.slice(0, 40))} is not supported`);
  }
  if (!r.done) throw new Error("trailing bytes after the key");
  return { type, blob: Buffer.from(blob), key, fingerprint: sshFingerprint(blob) };
}

/** Parses an authorized_keys-style line: "<type> <base64> [comment]". */
export function parseSshPublicKeyLine(line: string): SshPublicKey {
  const parts = line.trim().split(/\s+/);
  const [type, b64] = parts;
  if (type === undefined || b64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new Error('not an SSH public key line ("ssh-ed25519 AAAA... comment")');
  }
  const key = parseSshKeyBlob(Buffer.from(b64, "base64"));
  if (key.type !== type) throw new Error(`the line says ${type} but the key inside is ${key.type}`);
  return key;
}

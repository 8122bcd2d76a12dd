// Recognises sealed ciphertext so the secret scanner never reports it as a high-entropy value: the values
// of a SealedSecret's spec.encryptedData (found by parsing the YAML, with line numbers), and any value in
// the Sealed Secrets wire format that `gitward secrets seal` and kubeseal write (src/secrets/hybrid.ts).
import { isMap, isScalar, LineCounter, parseAllDocuments } from "yaml";

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const GCM_TAG_BYTES = 16;

/**
 * True when `value` is base64 of `uint16 RSA length || RSA block || AES-GCM body`: the RSA length is a
 * modulus size (1024 to 8192 bits) and the body holds at least the GCM tag. A random secret of the same
 * length passes the length check by chance about once in 600 tries, and only if it is over 146 bytes.
 */
export function isSealedValue(value: string): boolean {
  if (value.length < 200 || value.length % 4 !== 0 || !BASE64.test(value)) return false;
  const bytes = Buffer.from(value, "base64");
  if (bytes.length < 2) return false;
  const rsa = bytes.readUInt16BE(0);
  return rsa >= 128 && rsa <= 1024 && rsa % 8 === 0 && bytes.length >= 2 + rsa + GCM_TAG_BYTES;
}

/**
 * Line numbers (1-based) of spec.encryptedData values of the SealedSecret documents in `text`. Parses only
 * files that mention both words; aliases are never resolved, so a hostile file costs one linear parse.
 */
export function sealedValueLines(text: string): ReadonlySet<number> {
  const lines = new Set<number>();
  if (!text.includes("SealedSecret") || !text.includes("encryptedData")) return lines;
  const counter = new LineCounter();
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { lineCounter: counter, uniqueKeys: false });
  } catch {
    return lines;
  }
  if (!Array.isArray(docs)) return lines;
  for (const doc of docs) {
    const kind: unknown = doc.get("kind");
    if (kind !== "SealedSecret") continue;
    const data: unknown = doc.getIn(["spec", "encryptedData"], true);
    if (!isMap(data)) continue;
    for (const pair of data.items) {
      if (!isScalar(pair.value) || pair.value.range === undefined || pair.value.range === null) continue;
      const [from, , to] = pair.value.range;
      const first = counter.linePos(from).line;
      const last = counter.linePos(Math.max(from, to - 1)).line;
      for (let l = first; l <= last; l++) lines.add(l);
    }
  }
  return lines;
}

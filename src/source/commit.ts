// Parses git commit and tag objects into the fields gitward checks, and splits off the signature from the
// exact bytes it signs. Objects come from the repository being verified, so they are attacker-controlled:
// parsing works on bytes (latin1 maps each byte to one char), checks every field and never throws for
// malformed content — it reports it.

export type SignatureFormat = "openpgp" | "ssh" | "x509" | "unknown";

export interface EmbeddedSignature {
  format: SignatureFormat;
  /** The armored signature text as stored (continuation spaces removed for commits). */
  armored: string;
}

export interface Identity {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  time: number;
}

export interface ParsedCommit {
  oid: string;
  tree: string;
  parents: string[];
  author: Identity | undefined;
  committer: Identity | undefined;
  /** The message, decoded as UTF-8 (invalid bytes become U+FFFD). */
  message: string;
  /** The bytes the signature covers: the object without its signature headers. */
  payload: Buffer;
  signature: EmbeddedSignature | undefined;
  /** Why the object is malformed, when it is (e.g. two signature headers): verification must fail. */
  malformed: string | undefined;
}

export interface ParsedTag {
  oid: string;
  object: string;
  type: string;
  tag: string;
  tagger: Identity | undefined;
  message: string;
  payload: Buffer;
  signature: EmbeddedSignature | undefined;
  malformed: string | undefined;
}

const SIGNATURE_HEADERS = new Set(["gpgsig", "gpgsig-sha256"]);
const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function signatureFormat(armored: string): SignatureFormat {
  if (armored.startsWith("-----BEGIN PGP SIGNATURE-----")) return "openpgp";
  if (armored.startsWith("-----BEGIN SSH SIGNATURE-----")) return "ssh";
  if (armored.startsWith("-----BEGIN SIGNED MESSAGE-----")) return "x509";
  return "unknown";
}

export function parseIdentity(value: string): Identity | undefined {
  const m = /^(.*) <([^<>]*)> (\d+) [+-]\d{4}$/.exec(value);
  if (m === null) return undefined;
  return { name: m[1] ?? "", email: m[2] ?? "", time: Number.parseInt(m[3] ?? "0", 10) };
}

interface Header {
  key: string;
  /** Value with continuation lines joined by "\n" (leading space removed). */
  value: string;
  /** Offsets of the whole header (with its continuation lines and final newline) in the object. */
  start: number;
  end: number;
}

/** Splits the header block (up to the first empty line) into headers; `body` is the offset of the message. */
function splitHeaders(text: string): { headers: Header[]; body: number } {
  const headers: Header[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    const lineEnd = nl < 0 ? text.length : nl;
    if (lineEnd === pos) return { headers, body: Math.min(pos + 1, text.length) };
    const line = text.slice(pos, lineEnd);
    const next = nl < 0 ? text.length : nl + 1;
    const last = headers[headers.length - 1];
    if (line.startsWith(" ") && last !== undefined) {
      last.value += "\n" + line.slice(1);
      last.end = next;
    } else {
      const sp = line.indexOf(" ");
      headers.push({
        key: sp < 0 ? line : line.slice(0, sp),
        value: sp < 0 ? "" : line.slice(sp + 1),
        start: pos,
        end: next,
      });
    }
    pos = next;
  }
  return { headers, body: text.length };
}

function decodeUtf8(latin1: string): string {
  return Buffer.from(latin1, "latin1").toString("utf8");
}

export function parseCommit(oid: string, data: Buffer): ParsedCommit {
  const text = data.toString("latin1");
  const { headers, body } = splitHeaders(text);
  const problems: string[] = [];
  const sigHeaders = headers.filter((h) => SIGNATURE_HEADERS.has(h.key));
  // The signature that counts is the one for the repository's hash: "gpgsig" in SHA-1 repositories,
  // "gpgsig-sha256" in SHA-256 ones (git strips both from the payload either way).
  const sigKey = oid.length === 64 ? "gpgsig-sha256" : "gpgsig";
  const ownSigs = sigHeaders.filter((h) => h.key === sigKey);
  if (ownSigs.length > 1) problems.push(`more than one ${sigKey} header`);
  const tree = headers.find((h) => h.key === "tree")?.value ?? "";
  if (!OID.test(tree)) problems.push("missing or malformed tree header");
  const parents = headers.filter((h) => h.key === "parent").map((h) => h.value);
  if (parents.some((p) => !OID.test(p))) problems.push("malformed parent header");
  const authorH = headers.filter((h) => h.key === "author");
  const committerH = headers.filter((h) => h.key === "committer");
  if (authorH.length !== 1 || committerH.length !== 1)
    problems.push("needs exactly one author and committer");
  const author = authorH[0] === undefined ? undefined : parseIdentity(decodeUtf8(authorH[0].value));
  const committer = committerH[0] === undefined ? undefined : parseIdentity(decodeUtf8(committerH[0].value));
  // The payload is the object minus every signature header, as git computes it for verification.
  let payload = "";
  let pos = 0;
  for (const h of sigHeaders) {
    payload += text.slice(pos, h.start);
    pos = h.end;
  }
  payload += text.slice(pos);
  const sig = ownSigs[0];
  return {
    oid,
    tree,
    parents,
    author,
    committer,
    message: decodeUtf8(text.slice(body)),
    payload: Buffer.from(payload, "latin1"),
    signature:
      sig === undefined ? undefined : { format: signatureFormat(sig.value), armored: sig.value + "\n" },
    malformed: problems.length === 0 ? undefined : problems.join("; "),
  };
}

const TAG_SIGNATURE_START = /^-----BEGIN (PGP SIGNATURE|SSH SIGNATURE|SIGNED MESSAGE)-----$/gm;

export function parseTag(oid: string, data: Buffer): ParsedTag {
  const text = data.toString("latin1");
  const { headers, body } = splitHeaders(text);
  const problems: string[] = [];
  const get = (k: string) => headers.find((h) => h.key === k)?.value ?? "";
  const object = get("object");
  if (!OID.test(object)) problems.push("missing or malformed object header");
  // The signature of a tag is appended to its message; git takes the last line that starts one.
  let sigStart = -1;
  for (const m of text.slice(body).matchAll(TAG_SIGNATURE_START)) sigStart = body + m.index;
  const taggerH = headers.find((h) => h.key === "tagger");
  return {
    oid,
    object,
    type: get("type"),
    tag: decodeUtf8(get("tag")),
    tagger: taggerH === undefined ? undefined : parseIdentity(decodeUtf8(taggerH.value)),
    message: decodeUtf8(text.slice(body, sigStart < 0 ? text.length : sigStart)),
    payload: Buffer.from(sigStart < 0 ? text : text.slice(0, sigStart), "latin1"),
    signature:
      sigStart < 0
        ? undefined
        : { format: signatureFormat(text.slice(sigStart)), armored: text.slice(sigStart) },
    malformed: problems.length === 0 ? undefined : problems.join("; "),
  };
}

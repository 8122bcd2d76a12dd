// secrets-hygiene: no plain Secret objects (secrets live in git only sealed), and a scanner over every
// file of the repository for private keys, cloud and token formats and high-entropy values in secret-named
// fields. Matched text never appears in a finding: messages name the kind of secret, the file and line.
// Every pattern here runs in time linear in the line (see the note above DETECTORS); the allowlist's own
// patterns come from the repository and run in RE2 (src/match).
import { compileGlob } from "../../match/glob.js";
import { compileUntrustedRegex, type PatternError, type UntrustedRegex } from "../../match/regex.js";
import { confine, relToRoot } from "../../render/confine.js";
import { readConfined } from "../../render/files.js";
import type { Finding, Pack, Rule } from "../types.js";
import { filesToScan } from "./secrets-files.js";
import { isSealedValue, sealedValueLines } from "./secrets-sealed.js";

export const plainSecret: Rule = {
  id: "secrets/plain-secret",
  severity: "high",
  title: "No plain Secret objects; secrets live in git only sealed",
  remediation:
    "Seal the secret (`gitward secrets seal`) and commit the SealedSecret instead; rotate the exposed value.",
  check: function* (rev) {
    for (const m of rev.manifests) {
      if (m.kind === "Secret" && m.apiVersion === "v1") {
        yield {
          manifest: m,
          message: `Secret ${m.name} is committed in plain text (base64 is not encryption)`,
        };
      }
    }
  },
};

const SECRET_KEY =
  /(^|[_.-])(password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)$/i;

export const configMapSecret: Rule = {
  id: "secrets/configmap-secret",
  severity: "high",
  title: "ConfigMaps may not hold secrets",
  remediation:
    "Move the value into a SealedSecret and mount or reference that instead; rotate the exposed value.",
  check: function* (rev) {
    for (const m of rev.manifests) {
      if (m.kind !== "ConfigMap" || m.apiVersion !== "v1") continue;
      const data = m.object["data"];
      if (typeof data !== "object" || data === null) continue;
      const keys = Object.keys(data).filter((k) => SECRET_KEY.test(k));
      if (keys.length > 0)
        yield {
          manifest: m,
          message: `ConfigMap ${m.name} has secret-like keys: ${keys.slice(0, 5).join(", ")}`,
        };
    }
  },
};

export const secretsHygiene: Pack = {
  id: "secrets-hygiene",
  description: "No plain secrets in the repository: Secret objects or credentials in any file.",
  rules: [plainSecret, configMapSecret],
};

interface Detector {
  readonly id: string;
  readonly what: string;
  readonly severity: Finding["severity"];
  readonly re: RegExp;
}

// Formats documented by their issuers (key prefixes and lengths); written here because a scanner
// library for Node that is kept up to date does not exist, and gitleaks/trivy are Go binaries.
// Linear time: each pattern starts with a literal, or with a lookbehind that lets it start only at the
// beginning of a run of the characters it repeats, so no run is walked again from each of its positions
// (`\b[a-z][a-z0-9.-]*:` walked "a.a.a.a…" once per letter: quadratic). Other repeats are bounded.
export const DETECTORS: readonly Detector[] = [
  {
    id: "secrets/private-key",
    what: "a private key",
    severity: "critical",
    re: /-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY( BLOCK)?-----/,
  },
  {
    id: "secrets/token",
    what: "an AWS access key id",
    severity: "high",
    re: /\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b/,
  },
  {
    id: "secrets/token",
    what: "an AWS secret access key",
    severity: "high",
    re: /(?<![a-z0-9])aws.{0,20}?(?:secret|key).{0,20}?['"=:\s]\s{0,20}['"]?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/i,
  },
  {
    id: "secrets/token",
    what: "a GitHub token",
    severity: "high",
    re: /\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b/,
  },
  { id: "secrets/token", what: "a GitLab token", severity: "high", re: /\bglpat-[A-Za-z0-9_-]{20}\b/ },
  { id: "secrets/token", what: "a Slack token", severity: "high", re: /\bxox[abposr]-[0-9A-Za-z-]{10,}/ },
  {
    id: "secrets/token",
    what: "a Slack webhook",
    severity: "high",
    re: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9+/]{40,}/,
  },
  {
    id: "secrets/token",
    what: "a Stripe secret key",
    severity: "high",
    re: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}\b/,
  },
  { id: "secrets/token", what: "a Google API key", severity: "high", re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { id: "secrets/token", what: "an npm token", severity: "high", re: /\bnpm_[A-Za-z0-9]{36}\b/ },
  {
    id: "secrets/token",
    what: "a SendGrid API key",
    severity: "high",
    re: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/,
  },
  { id: "secrets/token", what: "a Twilio API key", severity: "high", re: /\bSK[0-9a-fA-F]{32}\b/ },
  {
    id: "secrets/token",
    what: "a JSON Web Token",
    severity: "medium",
    re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/,
  },
  {
    id: "secrets/token",
    what: "credentials in a URL",
    severity: "high",
    re: /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]{1,64}:[^\s:@/'"]{3,128}@[a-z0-9.-]+/i,
  },
];

const SECRET_NAME =
  /(secret|token|passw(or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth)/i;
/** The marker that allows one line, for test keys and examples that are meant to be public. */
export const ALLOW_MARKER = "gitward:allow-secret";

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** A lookup table of the ASCII characters in `chars`: one array read per character, no regex call. */
function charTable(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  return t;
}
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const VALUE_CHARS = charTable(ALNUM + "+/=_.-");
const NAME_CHARS = charTable(ALNUM + "_.-");
const isValueChar = (line: string, i: number): boolean => VALUE_CHARS[line.charCodeAt(i)] === 1;
const isNameChar = (line: string, i: number): boolean => NAME_CHARS[line.charCodeAt(i)] === 1;
const isSpace = (line: string, i: number): boolean => {
  const c = line.charCodeAt(i);
  return c === 32 || (c >= 9 && c <= 13) || (c > 127 && /^\s$/.test(line.charAt(i)));
};
const isQuote = (line: string, i: number): boolean => line.charAt(i) === '"' || line.charAt(i) === "'";

/**
 * The `name: value` / `name=value` that ends a line, as the pattern
 * `([A-Za-z0-9_.-]*)\s*[:=]\s*["']?([A-Za-z0-9+/=_.-]{16,})["']?\s*$` finds it (its leftmost match), but
 * read backwards from the line's end in one pass: the pattern, tried at every position, was quadratic.
 */
export function trailingAssignment(line: string): { name: string; value: string } | undefined {
  let end = line.length;
  while (end > 0 && isSpace(line, end - 1)) end--;
  if (end > 0 && isQuote(line, end - 1)) end--;
  let start = end;
  while (start > 0 && isValueChar(line, start - 1)) start--;
  if (end - start < 16) return undefined;
  // The separator before the value: optional quote, then spaces, then ":" or "=".
  let k = start;
  if (k > 0 && isQuote(line, k - 1)) k--;
  while (k > 0 && isSpace(line, k - 1)) k--;
  let sep: number;
  if (k > 0 && (line.charAt(k - 1) === ":" || line.charAt(k - 1) === "=")) sep = k - 1;
  else {
    // No separator before the run: the leftmost "=" inside it with 16 value characters after it.
    const eq = line.indexOf("=", start);
    if (eq < 0 || eq >= end || end - (eq + 1) < 16) return undefined;
    sep = eq;
  }
  let nameEnd = sep;
  while (nameEnd > 0 && isSpace(line, nameEnd - 1)) nameEnd--;
  let nameStart = nameEnd;
  while (nameStart > 0 && isNameChar(line, nameStart - 1)) nameStart--;
  // Spaces between separator and value only count before the run (inside it there are none).
  const valueStart = sep >= start ? sep + 1 : start;
  return { name: line.slice(nameStart, nameEnd), value: line.slice(valueStart, end) };
}

export interface SecretAllowlist {
  /** Globs (src/match/glob.ts) of repository paths that are not scanned. */
  readonly paths?: readonly string[];
  /** Regular expressions (RE2 syntax); a match whose text matches one is not reported. */
  readonly regexes?: readonly string[];
}

export interface ScanOptions {
  readonly allowlist?: SecretAllowlist;
  /** Largest file scanned; larger files are reported as unscanned. */
  readonly maxFileBytes?: number;
  /** Where the allowlist file is, relative to the root (read if present). */
  readonly allowlistFile?: string;
  /** The folder (relative to the root) whose files are scanned: the checked path or source.path. */
  readonly path?: string;
}

export const DEFAULT_ALLOWLIST_FILE = ".gitward/secrets-allowlist";

/**
 * Lines longer than this are scanned in windows of this size overlapping by WINDOW_OVERLAP, which is longer
 * than any secret the detectors look for: no secret is missed at a window's edge, and no match, allowlist
 * test or regex engine stack grows with the line (minified files have lines of megabytes).
 */
export const WINDOW = 16 * 1024;
export const WINDOW_OVERLAP = 1024;

interface Allowlist {
  readonly skip: (rel: string) => boolean;
  readonly regexes: UntrustedRegex[];
  /** Lines and options that do not compile: they allow nothing and are findings. */
  readonly invalid: Finding[];
}

function invalidAllowlist(e: PatternError, file: string, line: number): Finding {
  return {
    ruleId: "secrets/invalid-allowlist",
    severity: "high",
    message: `${e.where} ${e.message}; it allows nothing`,
    remediation: `Fix the line (a glob, or "re:" and an RE2 regular expression: no backreferences or lookaround), or remove it.`,
    origin: { file, line },
  };
}

/**
 * Reads `.gitward/secrets-allowlist` (one glob per line, `re:` before a regular expression, # comments)
 * and the allowlist options. Both come from outside: globs and regexes are compiled for linear-time
 * matching, and one that does not compile is a finding naming its line rather than a crash.
 */
async function readAllowlist(root: string, rel: string, opts: SecretAllowlist): Promise<Allowlist> {
  // The allowlist is itself a repository file: confined like every other read.
  const c = await confine(root, root, rel);
  const read = c.ok ? await readConfined(root, c.real, 1024 * 1024) : undefined;
  const text = read?.ok === true ? read.text : "";
  const globs: { glob: string; line: number }[] = (opts.paths ?? []).map((glob) => ({ glob, line: 0 }));
  const regexes: UntrustedRegex[] = [];
  const invalid: Finding[] = [];
  const addRegex = (pattern: string, where: string, file: string, line: number) => {
    const r = compileUntrustedRegex(pattern, where);
    if (r.ok) regexes.push(r.regex);
    else invalid.push(invalidAllowlist(r.error, file, line));
  };
  for (const [i, r] of (opts.regexes ?? []).entries())
    addRegex(r, `allowlist.regexes[${i}]`, "(options)", i + 1);
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith("re:")) addRegex(line.slice(3).trim(), `${rel}:${i + 1}`, rel, i + 1);
    else globs.push({ glob: line, line: i + 1 });
  });
  const matchers: ((rel: string) => boolean)[] = [];
  globs.forEach(({ glob, line }, k) => {
    const where = line === 0 ? `allowlist.paths[${k}]` : `${rel}:${line}`;
    const g = compileGlob(glob, where);
    // A bad glob drops only itself: the others still apply.
    if (g.ok) matchers.push((path) => g.matcher.matches(path));
    else invalid.push(invalidAllowlist(g.error, line === 0 ? "(options)" : rel, Math.max(line, 1)));
  });
  return { skip: (path) => matchers.some((m) => m(path)), regexes, invalid };
}

function lineFinding(
  ruleId: string,
  severity: Finding["severity"],
  file: string,
  line: number,
  what: string,
): Finding {
  return {
    ruleId,
    severity,
    message: `${file}:${line} contains ${what}`,
    remediation:
      `Remove it from the repository and its history, rotate it, and keep it sealed; if it is a public test value, ` +
      `add "${ALLOW_MARKER}" to the line or list the file in ${DEFAULT_ALLOWLIST_FILE}.`,
    origin: { file, line },
  };
}

/**
 * Text that every match of a detector contains (its literal part): a detector runs only on windows that
 * hold one, so ordinary text costs a few substring searches rather than fourteen pattern searches.
 */
const HINTS: Readonly<Record<string, readonly (string | ((w: string) => boolean))[]>> = {
  // "aws" and, anywhere in the window, a 40-character value: the detector costs a few hundred steps at
  // each "aws" (its gaps are lazy), so it runs only where a value can follow.
  "a private key": ["PRIVATE KEY"],
  "an AWS access key id": ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
  "an AWS secret access key": [(w) => /aws/i.test(w) && /[A-Za-z0-9/+=]{40}/.test(w)],
  "a GitHub token": ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
  "a GitLab token": ["glpat-"],
  "a Slack token": ["xox"],
  "a Slack webhook": ["hooks.slack.com"],
  "a Stripe secret key": ["_live_", "_test_"],
  "a Google API key": ["AIza"],
  "an npm token": ["npm_"],
  "a SendGrid API key": ["SG."],
  "a Twilio API key": ["SK"],
  "a JSON Web Token": ["eyJ"],
  "credentials in a URL": ["://"],
};

/** Each detector once with the g flag, so one window is searched match after match (exec from lastIndex). */
const GLOBAL_DETECTORS = DETECTORS.map((d) => {
  const hints = HINTS[d.what];
  // A detector without hints would never run: refuse to load rather than scan with it silently off.
  if (hints === undefined || hints.length === 0) throw new Error(`secret detector "${d.what}" has no hints`);
  const hinted = (w: string) => hints.some((h) => (typeof h === "string" ? w.includes(h) : h(w)));
  return { ...d, re: new RegExp(d.re.source, d.re.flags + "g"), hinted };
});

/** The windows a line is scanned in: the whole line when short, else overlapping slices. */
function* windows(line: string): Generator<string> {
  if (line.length <= WINDOW) {
    yield line;
    return;
  }
  for (let at = 0; at < line.length; at += WINDOW - WINDOW_OVERLAP) {
    yield line.slice(at, at + WINDOW);
    if (at + WINDOW >= line.length) return;
  }
}

/** The first detector (in order) with a match the allowlist does not allow, anywhere in the line. */
function detect(line: string, allowed: (s: string) => boolean): (typeof DETECTORS)[number] | undefined {
  const ws = [...windows(line)];
  for (const d of GLOBAL_DETECTORS) {
    for (const w of ws) {
      if (!d.hinted(w)) continue;
      d.re.lastIndex = 0;
      for (let m = d.re.exec(w); m !== null; m = d.re.exec(w)) {
        if (!allowed(m[0])) return d;
      }
    }
  }
  return undefined;
}

export interface ScanTextOptions {
  /** Allowlist regexes: a found text that one matches is not reported. */
  readonly allow?: readonly UntrustedRegex[];
}

/** Scans one file's text; exported for tests and the benchmark. */
export function scanText(text: string, file: string, opts: ScanTextOptions = {}): Finding[] {
  const allow = opts.allow ?? [];
  const allowed = (s: string): boolean => allow.some((r) => r.test(s));
  const sealed = sealedValueLines(text);
  const out: Finding[] = [];
  let from = 0;
  for (let i = 0; from <= text.length; i++) {
    let to = text.indexOf("\n", from);
    if (to < 0) to = text.length;
    const line = text.slice(from, to);
    from = to + 1;
    if (line.includes(ALLOW_MARKER)) continue;
    const d = detect(line, allowed);
    if (d !== undefined) {
      out.push(lineFinding(d.id, d.severity, file, i + 1, d.what));
      continue;
    }
    const a = trailingAssignment(line);
    if (a === undefined) continue;
    // Sealed ciphertext is random by design and safe in git: never a high-entropy finding.
    if (sealed.has(i + 1) || isSealedValue(a.value)) continue;
    // Bounded like the windows: a megabyte-long value is judged by its start.
    const name = a.name.slice(-WINDOW_OVERLAP);
    const value = a.value.slice(0, WINDOW);
    if (!SECRET_NAME.test(name) || allowed(value)) continue;
    // Hex needs fewer bits per character than base64 to be random; both thresholds sit above prose and
    // placeholders ("changeme", "${PASSWORD}") and below generated keys.
    const hex = /^[0-9a-f]+$/i.test(value);
    if (entropy(value) >= (hex ? 3.0 : 4.0) && /\d/.test(value)) {
      const shown = name.length > 100 ? `…${name.slice(-100)}` : name;
      out.push(
        lineFinding("secrets/high-entropy", "medium", file, i + 1, `a high-entropy value in "${shown}"`),
      );
    }
  }
  return out;
}

/**
 * Scans the files below `opts.path` of `root` (a real path) that git would commit (every file but .git
 * outside a work tree), skipping binary files and allowlisted paths. Paths in findings are root-relative.
 */
export async function scanSecrets(root: string, opts: ScanOptions = {}): Promise<Finding[]> {
  const allowlist = await readAllowlist(
    root,
    opts.allowlistFile ?? DEFAULT_ALLOWLIST_FILE,
    opts.allowlist ?? {},
  );
  const maxBytes = opts.maxFileBytes ?? 4 * 1024 * 1024;
  const { files } = await filesToScan(root, opts.path ?? ".");
  const findings: Finding[] = [...allowlist.invalid];
  for (const f of files) {
    const rel = relToRoot(root, f);
    if (allowlist.skip(rel)) continue;
    const read = await readConfined(root, f, maxBytes);
    if (!read.ok) {
      if (read.error.code === "FILE_TOO_LARGE") {
        findings.push({
          ruleId: "secrets/unscanned-file",
          severity: "low",
          message: `${rel} is larger than ${maxBytes} bytes and was not scanned for secrets`,
          remediation: `Keep large files out of the config repository, or list the file in ${DEFAULT_ALLOWLIST_FILE}.`,
          origin: { file: rel, line: 1 },
        });
      }
      continue;
    }
    if (read.text.slice(0, 8192).includes("\u0000")) continue; // binary
    findings.push(...scanText(read.text, rel, { allow: allowlist.regexes }));
  }
  return findings;
}

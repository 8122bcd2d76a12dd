// secrets-hygiene: no plain Secret objects (secrets live in git only sealed), and a scanner over every
// file of the repository for private keys, cloud and token formats and high-entropy values in secret-named
// fields. Matched text never appears in a finding: messages name the kind of secret, the file and line.
import picomatch from "picomatch";
import { confine, relToRoot } from "../../render/confine.js";
import { readConfined, walk } from "../../render/files.js";
import type { Finding, Pack, Rule } from "../types.js";

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
const DETECTORS: readonly Detector[] = [
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
    re: /aws.{0,20}?(?:secret|key).{0,20}?['"=:\s]\s*['"]?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/i,
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
    re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/,
  },
  {
    id: "secrets/token",
    what: "credentials in a URL",
    severity: "high",
    re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]{1,64}:[^\s:@/'"]{3,128}@[a-z0-9.-]+/i,
  },
];

const SECRET_NAME =
  /(secret|token|passw(or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth)/i;
const ASSIGNMENT = /([A-Za-z0-9_.-]*)\s*[:=]\s*["']?([A-Za-z0-9+/=_\-.]{16,})["']?\s*$/;
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

export interface SecretAllowlist {
  /** Globs (picomatch) of repository paths that are not scanned. */
  readonly paths?: readonly string[];
  /** Regular expressions; a match whose text matches one is not reported. */
  readonly regexes?: readonly string[];
}

export interface ScanOptions {
  readonly allowlist?: SecretAllowlist;
  /** Largest file scanned; larger files are reported as unscanned. */
  readonly maxFileBytes?: number;
  /** Where the allowlist file is, relative to the root (read if present). */
  readonly allowlistFile?: string;
}

export const DEFAULT_ALLOWLIST_FILE = ".gitward/secrets-allowlist";

interface AllowlistFile {
  readonly paths: string[];
  readonly regexes: RegExp[];
  /** Lines whose regular expression does not compile: they allow nothing and are findings. */
  readonly invalid: Finding[];
}

/** Reads `.gitward/secrets-allowlist`: one glob per line, `re:` before a regular expression, # comments. */
async function readAllowlistFile(root: string, rel: string): Promise<AllowlistFile> {
  // The allowlist is itself a repository file: confined like every other read.
  const c = await confine(root, root, rel);
  const read = c.ok ? await readConfined(root, c.real, 1024 * 1024) : undefined;
  const text = read?.ok === true ? read.text : "";
  const paths: string[] = [];
  const regexes: RegExp[] = [];
  const invalid: Finding[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (!line.startsWith("re:")) {
      paths.push(line);
      return;
    }
    try {
      regexes.push(new RegExp(line.slice(3).trim()));
    } catch {
      // A repository file must not be able to crash the gate; the line is dropped, so it allows nothing.
      invalid.push({
        ruleId: "secrets/invalid-allowlist",
        severity: "high",
        message: `${rel}:${i + 1} is not a valid regular expression; it allows nothing`,
        remediation: `Fix the regular expression after "re:" (JavaScript syntax), or remove the line.`,
        origin: { file: rel, line: i + 1 },
      });
    }
  });
  return { paths, regexes, invalid };
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

/** Scans one file's text; exported for tests and the benchmark. */
export function scanText(text: string, file: string, regexes: readonly RegExp[] = []): Finding[] {
  const out: Finding[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line.includes(ALLOW_MARKER) || line.length > 10_000) return;
    const allowed = (s: string): boolean => regexes.some((r) => r.test(s));
    let found = false;
    for (const d of DETECTORS) {
      const m = d.re.exec(line);
      if (m !== null && !allowed(m[0])) {
        out.push(lineFinding(d.id, d.severity, file, i + 1, d.what));
        found = true;
        break;
      }
    }
    if (found) return;
    const a = ASSIGNMENT.exec(line);
    const name = a?.[1];
    const value = a?.[2];
    if (name === undefined || value === undefined || !SECRET_NAME.test(name) || allowed(value)) return;
    // Hex needs fewer bits per character than base64 to be random; both thresholds sit above prose and
    // placeholders ("changeme", "${PASSWORD}") and below generated keys.
    const hex = /^[0-9a-f]+$/i.test(value);
    if (entropy(value) >= (hex ? 3.0 : 4.0) && /\d/.test(value)) {
      out.push(
        lineFinding("secrets/high-entropy", "medium", file, i + 1, `a high-entropy value in "${name}"`),
      );
    }
  });
  return out;
}

/** Scans every file below `root` (a real path), skipping `.git`, binary files and allowlisted paths. */
export async function scanSecrets(root: string, opts: ScanOptions = {}): Promise<Finding[]> {
  const fromFile = await readAllowlistFile(root, opts.allowlistFile ?? DEFAULT_ALLOWLIST_FILE);
  const globs = [...(opts.allowlist?.paths ?? []), ...fromFile.paths];
  const regexes = [...(opts.allowlist?.regexes ?? []).map((r) => new RegExp(r)), ...fromFile.regexes];
  const skip = globs.length > 0 ? picomatch(globs, { dot: true }) : () => false;
  const maxBytes = opts.maxFileBytes ?? 4 * 1024 * 1024;
  const { files } = await walk(root, root, () => true);
  const findings: Finding[] = [...fromFile.invalid];
  for (const f of files) {
    const rel = relToRoot(root, f);
    if (skip(rel)) continue;
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
    findings.push(...scanText(read.text, rel, regexes));
  }
  return findings;
}

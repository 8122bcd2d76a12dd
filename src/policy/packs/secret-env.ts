// secrets-hygiene, in the pod spec: a container env var whose name says it holds a secret (MYSQL_ROOT_PASSWORD,
// API_TOKEN, SECRET_KEY...) and whose value is written out literally instead of coming from a Secret
// (valueFrom). Anyone who can read the workload, its git history or `kubectl get -o yaml` reads it.
// The value never appears in the finding.
import type { Rule } from "../types.js";
import { asArray, isRecord } from "../types.js";
import { containers, describeContainer, podTemplates } from "../workloads.js";

// The last word of the name decides: DB_PASSWORD and dbPassword are secrets; PASSWORD_FILE, TOKEN_TTL and
// PUBLIC_KEY name something else.
const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "pwd",
  "pass",
  "secret",
  "token",
  "credential",
  "credentials",
]);
const KEY_QUALIFIERS = new Set([
  "api",
  "access",
  "private",
  "secret",
  "signing",
  "encryption",
  "auth",
  "master",
  "client",
  "session",
  "license",
  "app",
]);

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => w.toLowerCase());
}

/** True when an env var of this name holds a secret by its name alone. */
export function secretName(name: string): boolean {
  const w = words(name);
  const last = w.at(-1);
  // PWD alone is the shell's working directory, not a password.
  if (last === undefined || (last === "pwd" && w.length === 1)) return false;
  if (SECRET_WORDS.has(last)) return true;
  if (last === "apikey" || last === "secretkey" || last === "privatekey" || last === "accesskey") return true;
  const before = w.at(-2);
  return last === "key" && before !== undefined && KEY_QUALIFIERS.has(before);
}

/**
 * A literal that carries a secret: not empty, not only `$(OTHER_VAR)` references to other variables, and
 * not an absolute file path (GOOGLE_APPLICATION_CREDENTIALS=/var/run/secrets/key.json names a mounted file).
 */
function literalSecret(value: unknown): boolean {
  if (typeof value !== "string") return false;
  const rest = value.replace(/\$\([A-Za-z_][A-Za-z0-9_.-]*\)/g, "").trim();
  return rest !== "" && !/^\/[A-Za-z0-9_./-]*$/.test(rest);
}

export const secretEnv: Rule = {
  id: "secrets/env-literal",
  severity: "high",
  title: "Secret-named environment variables must come from a Secret, not a literal value",
  remediation:
    "Put the value in a SealedSecret and reference it with env[].valueFrom.secretKeyRef; rotate the exposed value.",
  check: function* (rev) {
    for (const t of podTemplates(rev.manifests)) {
      for (const c of containers(t.spec, t.specPath)) {
        for (const [i, e] of asArray(c.c["env"]).entries()) {
          if (!isRecord(e) || typeof e["name"] !== "string" || e["valueFrom"] !== undefined) continue;
          if (!secretName(e["name"]) || !literalSecret(e["value"])) continue;
          yield {
            manifest: t.manifest,
            path: `${c.path}/env/${i}/value`,
            message: `${describeContainer(c)} sets ${e["name"]} to a literal value in the pod spec`,
          };
        }
      }
    }
  },
};

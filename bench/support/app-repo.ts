// Shared by the benchmarks that reconcile generated Applications: the objects (three ConfigMaps to one
// Service, in namespace shop), a config repository holding them in one signed commit, the TrustPolicy
// that trusts its key, the Application that deploys it, and the integer options of their command lines.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { API_VERSION, type Application, type TrustPolicy } from "../../src/config/types.js";
import type { KubeObject } from "../../src/cluster/client.js";
import { git } from "../../src/source/git.js";
import {
  commitSigned,
  generateSshSigningKey,
  type SshSigningKey,
} from "../../src/trust/commit/signed-commit.js";

/** `--name N` as a positive integer, or `fallback` when absent; anything else is a usage error. */
export function intArg(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${name} ${String(args[i + 1])}: give a positive integer`);
  return n;
}

/** Three ConfigMaps to one Service, all in namespace shop; `prefix` keeps two applications apart. */
export function objectsFor(prefix: string, n: number): KubeObject[] {
  return Array.from({ length: n }, (_, i): KubeObject =>
    i % 4 === 3
      ? {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: `${prefix}svc-${i}`, namespace: "shop", labels: { tier: "web" } },
          spec: { selector: { app: `app-${i}` }, ports: [{ port: 80, targetPort: 8080 }] },
        }
      : {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `${prefix}cm-${i}`, namespace: "shop", labels: { tier: "config" } },
          data: { index: String(i), payload: "x".repeat(200) },
        },
  );
}

/** Objects per file in the generated repositories. */
export const OBJECTS_PER_FILE = 100;

/** The YAML of apps/<name>/part-<f>.yaml: the objects of file f. */
export function partFiles(objects: readonly KubeObject[]): string[] {
  const files: string[] = [];
  for (let f = 0; f * OBJECTS_PER_FILE < objects.length; f++) {
    const docs = objects.slice(f * OBJECTS_PER_FILE, (f + 1) * OBJECTS_PER_FILE).map((o) => stringify(o));
    files.push(docs.join("---\n"));
  }
  return files;
}

export interface SignedRepo {
  readonly dir: string;
  readonly key: SshSigningKey;
  readonly publicKeyLine: string;
}

/**
 * A repository whose one commit, signed in-process (with `key`, or a new key), holds `objects` in files of
 * 100 under apps/<name>.
 */
export async function signedRepo(
  dir: string,
  name: string,
  objects: readonly KubeObject[],
  key: SshSigningKey = generateSshSigningKey("bench@gitward.dev"),
): Promise<SignedRepo> {
  const files = path.join(dir, "apps", name);
  await mkdir(files, { recursive: true });
  await git(["init", "-q", "-b", "main"], { cwd: dir });
  const parts = partFiles(objects);
  for (const [f, text] of parts.entries()) await writeFile(path.join(files, `part-${f}.yaml`), text);
  await commitSigned({
    repoDir: dir,
    message: `bench: ${objects.length} objects`,
    key,
    author: { name: "Bench", email: "bench@gitward.dev" },
  });
  return { dir, key, publicKeyLine: key.publicKeyLine };
}

export function trustFor(publicKeyLine: string): TrustPolicy {
  return {
    apiVersion: API_VERSION,
    kind: "TrustPolicy",
    metadata: { name: "bench" },
    spec: {
      commits: { signers: [{ name: "bench", ssh: [publicKeyLine], paths: ["**"] }] },
      policy: { packs: ["pod-security-restricted", "rbac-least-privilege"] },
    },
  };
}

/** The Application of apps/<name> in `repo`, deployed to shop as shop-deployer, pruning. */
export function applicationFor(name: string, repo: string): Application {
  return {
    apiVersion: API_VERSION,
    kind: "Application",
    metadata: { name, namespace: "gitward-system" },
    spec: {
      source: { url: repo, ref: { branch: "main" }, path: `apps/${name}` },
      render: { type: "directory" },
      destination: { namespace: "shop", serviceAccountName: "shop-deployer" },
      trustPolicy: "bench",
      prune: true,
      // Long enough that no interval pass runs unasked: every reconcile measured is one asked for.
      interval: "1h",
      drift: "alert",
    },
  };
}

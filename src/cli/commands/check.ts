// `gitward check PATH`: renders a folder of a config repository (directory, kustomize or helm) without
// reading outside the repository, runs the policy packs and custom rules over it, verifies its images
// against the TrustPolicy in their registry and validates its SealedSecrets, and prints text, JSON or
// SARIF. Exit 0 no finding at or above --fail-on, 1 findings or an unrenderable revision, 2 usage/config.
import type { KeyObject } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { Option, type Command } from "commander";
import { ClusterClient } from "../../cluster/client.js";
import { ConfigError } from "../../config/errors.js";
import { loadTrustPolicy, readConfigText } from "../../config/load.js";
import type { ImagePolicy, Severity } from "../../config/types.js";
import { RegistryClient } from "../../images/client.js";
import { checkRevision, type CustomPolicy } from "../../policy/check.js";
import { needsRegistry, revisionImages } from "../../policy/image-trust.js";
import { DEFAULT_PACKS } from "../../policy/packs.js";
import {
  formatText,
  gatePassed,
  toSarif,
  type GateResult,
  type SecretScanScope,
} from "../../policy/report.js";
import { filesToScan } from "../../policy/packs/secrets-files.js";
import type { RenderType } from "../../render/render.js";
import { resolveTools } from "../../render/tool.js";
import type { Manifest, RenderError, RenderResult } from "../../render/types.js";
import type { PrepareProblem } from "../../reconcile/desired.js";
import { precheckRevision, renderRevision } from "../../reconcile/pipeline.js";
import { parseCertificate } from "../../secrets/keys.js";
import { verifyImages, type ImageResult } from "../../trust/image/verify.js";
import { catalogImage } from "../../sbom/image.js";
import { containerFindings, withVulnerabilities } from "../../vuln/check-findings.js";
import { scanRevisionImages } from "../../vuln/policy-scan.js";
import type { ImageScan } from "../../vuln/scan.js";
import { asConfigError } from "./vulndb.js";
import { ExitCode } from "../exit.js";
import { credentials } from "./images.js";
import { addToolOptions } from "../tool-options.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

const VERSION = "0.1.0";

interface CheckFlags {
  render: RenderType;
  policy: string[];
  trust?: string;
  failOn?: Severity;
  packs?: string;
  namespace?: string;
  values: string[];
  allowRemoteBases?: boolean;
  repoRoot?: string;
  kubectl?: string;
  helm?: string;
  releaseName?: string;
  include: string[];
  exclude: string[];
  allowEmpty?: boolean;
  allowedNamespace: string[];
  allowClusterScoped?: boolean;
  kubeconfig?: string;
  plainHttp?: boolean;
  dockerConfig?: string;
  ca?: string;
  cert: string[];
  db?: string;
  secretsScope: "path" | "repo";
  output: OutputFormat;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The options of renderTarget, the same for every command that renders a folder. */
export function addRenderOptions(cmd: Command): Command {
  cmd
    .addOption(
      new Option("--render <type>", "how to render PATH")
        .choices(["directory", "kustomize", "helm"])
        .default("directory"),
    )
    .option("--namespace <ns>", "namespace the application deploys to (helm --namespace, RBAC scope checks)")
    .option("--values <file>", "helm values file inside the repository (repeatable)", collect, [])
    .option("--allow-remote-bases", "kustomize: allow remote bases (default off)")
    .option("--repo-root <dir>", "repository root (default: the nearest folder with .git above PATH)")
    .option("--release-name <name>", "helm release name (default the chart's name, as reconcile uses)")
    .option(
      "--include <glob>",
      "directory: read only files matching (repeatable; relative to PATH)",
      collect,
      [],
    )
    .option(
      "--exclude <glob>",
      "directory: skip files matching (repeatable; wins over --include)",
      collect,
      [],
    )
    .option("--allow-empty", "a revision that renders no object passes (default: EMPTY_RENDER)");
  return addToolOptions(cmd);
}

export function registerCheck(program: Command): void {
  const cmd = program
    .command("check")
    .description(
      "Render PATH (a folder of a config repository) and check every object against the policy packs, " +
        "custom ValidatingAdmissionPolicy rules and the secret scanner. Nothing outside the repository " +
        "is read. Exit 0 no finding at or above --fail-on, 1 findings or a revision that cannot be " +
        "rendered, 2 usage or configuration error.",
    )
    .argument("<path>", "folder to render (the repository root is the nearest folder with .git above it)");
  addRenderOptions(cmd)
    .option("--policy <file>", "ValidatingAdmissionPolicy file with custom rules (repeatable)", collect, [])
    .option(
      "--trust <file>",
      "TrustPolicy file: its policy packs, custom rules, failOn and image policy apply; with image " +
        "signers, attestations or base images, every image is verified in its registry",
    )
    .addOption(
      new Option("--fail-on <severity>", "lowest severity that fails the check (default high)").choices([
        "low",
        "medium",
        "high",
        "critical",
      ]),
    )
    .option("--packs <ids>", `comma-separated built-in packs (default ${DEFAULT_PACKS.join(",")})`)
    .option(
      "--allowed-namespace <ns>",
      "namespace besides --namespace the application may write to (repeatable)",
      collect,
      [],
    )
    .option("--allow-cluster-scoped", "cluster-scoped objects are allowed (default: CLUSTER_SCOPED)")
    .option(
      "--kubeconfig <file>",
      "check kinds against this cluster's discovery, as reconcile does (default: built-in kinds only)",
    )
    // The registry flags of `gitward images verify`, with the same names and meaning.
    .option("--plain-http", "talk plain HTTP to loopback registries (refused for any other host)")
    .option(
      "--docker-config <file>",
      "docker config JSON with registry credentials (default ~/.docker/config.json)",
    )
    .option("--ca <file>", "PEM CA bundle trusted for registry TLS")
    .option(
      "--cert <file>",
      "sealing certificate (PEM, `gitward secrets cert`) SealedSecrets must be sealed to (repeatable)",
      collect,
      [],
    )
    .option(
      "--db <file>",
      "vulnerability database for spec.images.vulnerabilities (default its dbPath; `gitward vulndb import`)",
    )
    .addOption(
      new Option(
        "--secrets-scope <scope>",
        "files the secret scanner reads (secrets-hygiene pack): those git would commit below PATH, " +
          "or in the whole repository",
      )
        .choices(["path", "repo"])
        .default("path"),
    )
    .addOption(outputOption(["text", "json", "sarif"]))
    .action(async (target: string, flags: CheckFlags) => {
      process.exitCode = await runCheck(target, flags);
    });
}

/** The flags that decide how a target folder is rendered (check, `images pin`, `render`). */
export type RenderFlags = Pick<
  CheckFlags,
  | "render"
  | "values"
  | "allowRemoteBases"
  | "repoRoot"
  | "namespace"
  | "kubectl"
  | "helm"
  | "releaseName"
  | "include"
  | "exclude"
  | "allowEmpty"
>;

/**
 * Renders `target` as `gitward check` does: the repository root is --repo-root or the nearest folder with
 * .git above it, and the target must lie inside it.
 */
export async function renderTarget(
  target: string,
  flags: RenderFlags,
): Promise<{ root: string; rel: string; rendered: RenderResult }> {
  const abs = await realpath(target).catch(() => {
    throw new ConfigError("does not exist", target);
  });
  const root =
    flags.repoRoot === undefined
      ? await findRepoRoot(abs)
      : await realpath(flags.repoRoot).catch(() => {
          throw new ConfigError("repository root does not exist", flags.repoRoot);
        });
  const rel = path.relative(root, abs);
  if (rel.startsWith("..") || path.isAbsolute(rel))
    throw new ConfigError(`is outside the repository root ${root}`, target);
  // The shared pipeline (reconcile/pipeline.ts): the same settings, tools and checks as reconcile.
  const rendered = await renderRevision({
    repoRoot: root,
    settings: {
      type: flags.render,
      path: rel === "" ? "." : rel,
      ...(flags.values.length > 0
        ? { valuesFiles: flags.values.map((v) => path.relative(root, path.resolve(v))) }
        : {}),
      ...(flags.allowRemoteBases === true ? { allowRemoteBases: true } : {}),
      ...(flags.releaseName === undefined ? {} : { releaseName: flags.releaseName }),
      ...(flags.include.length > 0 ? { include: flags.include } : {}),
      ...(flags.exclude.length > 0 ? { exclude: flags.exclude } : {}),
      ...(flags.allowEmpty === true ? { allowEmpty: true } : {}),
    },
    namespace: flags.namespace,
    tools: resolveTools(flags),
  });
  return { root, rel, rendered };
}

async function runCheck(target: string, flags: CheckFlags): Promise<number> {
  // The policy first: a configuration error ends the command before any rendering.
  const trust = flags.trust === undefined ? undefined : await loadTrustPolicy(flags.trust);
  const { root, rel, rendered } = await renderTarget(target, flags);
  const policy = trust?.spec.policy;
  const failOn: Severity = flags.failOn ?? policy?.failOn ?? "high";
  const packs =
    flags.packs === undefined
      ? (policy?.packs ?? DEFAULT_PACKS)
      : flags.packs
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
  const customFiles = [
    ...flags.policy,
    ...(policy?.custom ?? []).map((p) => path.resolve(path.dirname(flags.trust ?? "."), p)),
  ];
  const customPolicies: CustomPolicy[] = [];
  for (const f of customFiles) {
    customPolicies.push({ file: f, text: await readConfigText(f, "policy file") });
  }
  const imagePolicy: ImagePolicy | undefined = trust?.spec.images;
  const certificates = await readCertificates(flags.cert);

  const manifests: readonly Manifest[] = rendered.ok ? rendered.manifests : [];
  const renderErrors: readonly RenderError[] = rendered.ok ? [] : rendered.errors;
  const precheckErrors = await precheck(manifests, flags);
  const imageVerdicts =
    imagePolicy !== undefined && needsRegistry(imagePolicy)
      ? await verifyRevisionImages(manifests, imagePolicy, flags)
      : undefined;
  // The secret scanner reads what is checked, not the whole repository (node_modules, build output...),
  // unless --secrets-scope repo asks for it; the output says which files it read.
  const scanPath = flags.secretsScope === "repo" || rel === "" ? "." : rel;
  const secretScan = packs.includes("secrets-hygiene")
    ? await describeSecretScan(root, scanPath, flags.secretsScope)
    : undefined;
  const report = await checkRevision({
    manifests,
    repoRoot: root,
    scanPath,
    packs,
    customPolicies,
    ...(imagePolicy === undefined ? {} : { imagePolicy }),
    ...(flags.namespace === undefined ? {} : { destinationNamespace: flags.namespace }),
    ...(imageVerdicts === undefined ? {} : { imageVerdicts }),
    sealedSecrets: {
      certificates,
      ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    },
  });
  if (report.errors.length > 0) {
    throw new ConfigError(report.errors.map((e) => `[${e.code}] ${e.message}`).join("\n  "), "policy");
  }
  // The reconcile's vulnerability gate, on the same images (by verified digest where verified).
  const scans = await scanVulnerabilities(manifests, imagePolicy, imageVerdicts, flags);
  const checked = report;
  const full =
    scans === undefined
      ? report
      : withVulnerabilities(report, containerFindings(manifests, scans), scans.values());
  const vulnPassed = scans === undefined || [...scans.values()].every((s) => s.verdict.passed);
  for (const s of scans?.values() ?? [])
    for (const w of [
      `database ${s.verdict.db.version.slice(0, 19)} imported ${s.verdict.db.importedAt} (${s.verdict.db.ageHours} h old)`,
      ...s.verdict.warnings,
    ])
      process.stderr.write(`${s.reference}: ${w}\n`);
  const gate: GateResult = {
    schemaVersion: 1,
    tool: { name: "gitward", version: VERSION },
    target: { path: rel === "" ? "." : rel.split(path.sep).join("/"), render: flags.render },
    failOn,
    passed: gatePassed(checked, renderErrors, failOn, precheckErrors) && vulnPassed,
    renderErrors,
    precheckErrors,
    report: full,
    ...(secretScan === undefined ? {} : { secretScan }),
  };
  if (flags.output === "json")
    printJson(scans === undefined ? gate : { ...gate, vulnerabilities: [...scans.values()] });
  else if (flags.output === "sarif") printJson(toSarif(gate));
  else process.stdout.write(formatText(gate));
  return gate.passed ? ExitCode.Ok : ExitCode.Findings;
}

/** What the secret scanner reads, for the report: the scope, the folder and how many files. */
async function describeSecretScan(
  root: string,
  scanPath: string,
  scope: "path" | "repo",
): Promise<SecretScanScope> {
  const listed = await filesToScan(root, scanPath);
  return {
    scope,
    path: scanPath.split(path.sep).join("/"),
    files: listed.files.length,
    by: listed.by,
  };
}

/** The public keys of the --cert files; an unreadable, non-RSA or expired certificate is a usage error. */
async function readCertificates(files: readonly string[]): Promise<KeyObject[]> {
  const keys: KeyObject[] = [];
  for (const file of files) {
    const text = await readFile(file).catch(() => {
      throw new ConfigError("cannot read the sealing certificate file", file);
    });
    const cert = parseCertificate(text, file);
    if (!cert.ok) throw new ConfigError(cert.message);
    keys.push(cert.publicKey);
  }
  return keys;
}

/**
 * Verifies every image of the revision as the reconcile's check step does, with the registry flags of
 * `gitward images verify`. No digest is recorded in CI, so a moved tag cannot be seen here; the reconcile
 * sees it.
 */
export async function verifyRevisionImages(
  manifests: readonly Manifest[],
  policy: ImagePolicy,
  flags: Pick<CheckFlags, "ca" | "dockerConfig" | "plainHttp" | "trust">,
): Promise<ImageResult[]> {
  const client = await registryClient(policy, flags);
  const out = await verifyImages({ images: revisionImages(manifests), policy, client });
  if (out.policyErrors !== undefined) throw new ConfigError(out.policyErrors.join("; "), flags.trust);
  return out.results;
}

/**
 * Scans every image of the revision when the TrustPolicy has spec.images.vulnerabilities, keyed by the
 * reference as written in the manifests. The check's --fail-on, when given, is the gate's failOn too.
 */
async function scanVulnerabilities(
  manifests: readonly Manifest[],
  policy: ImagePolicy | undefined,
  verdicts: readonly ImageResult[] | undefined,
  flags: CheckFlags,
): Promise<Map<string, ImageScan> | undefined> {
  const vuln = policy?.vulnerabilities;
  if (policy === undefined || vuln === undefined) return undefined;
  const dbPath = flags.db ?? vuln.dbPath;
  if (dbPath === undefined)
    throw new ConfigError(
      "spec.images.vulnerabilities needs a database: give --db FILE or set dbPath",
      flags.trust,
    );
  const client = await registryClient(policy, flags);
  const refs = revisionImages(manifests);
  const digests = new Map((verdicts ?? []).map((v) => [v.ref, v.digest]));
  const out = await asConfigError(() =>
    scanRevisionImages({
      policy: vuln,
      dbPath,
      images: refs.map((ref) => ({ ref, digest: digests.get(ref) })),
      inventoryOf: (ref) => catalogImage(ref, { client }),
      ...(flags.failOn === undefined ? {} : { failOn: flags.failOn }),
    }),
  ).catch((err: unknown) => {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`images could not be scanned: ${err instanceof Error ? err.message : String(err)}`);
  });
  return new Map(out.scans.map((s, i) => [refs[i] ?? s.reference, s]));
}

/** The registry client of check's registry flags and the policy's registryOptions. */
async function registryClient(
  policy: ImagePolicy,
  flags: Pick<CheckFlags, "ca" | "dockerConfig" | "plainHttp">,
): Promise<RegistryClient> {
  const ca =
    flags.ca === undefined
      ? undefined
      : await readFile(flags.ca, "utf8").catch(() => {
          throw new ConfigError("cannot read CA file", flags.ca);
        });
  return new RegistryClient({
    credentials: await credentials(flags.dockerConfig),
    plainHTTP: flags.plainHttp === true,
    hosts: policy.registryOptions ?? [],
    ...(ca === undefined ? {} : { defaultCa: ca }),
  });
}

/** The nearest folder at or above `dir` that holds `.git`; `dir` itself when there is none. */
async function findRepoRoot(dir: string): Promise<string> {
  const st = await stat(dir);
  let cur = st.isDirectory() ? dir : path.dirname(dir);
  for (;;) {
    if (existsSync(path.join(cur, ".git"))) return cur;
    const up = path.dirname(cur);
    if (up === cur) return st.isDirectory() ? dir : path.dirname(dir);
    cur = up;
  }
}

/**
 * The pre-apply checks reconcile makes (precheckManifests), offline or against --kubeconfig's discovery:
 * a revision check passes is not refused later for a duplicate, an unknown kind or its scope.
 */
async function precheck(manifests: readonly Manifest[], flags: CheckFlags): Promise<PrepareProblem[]> {
  const destination = {
    namespace: flags.namespace,
    allowedNamespaces: flags.allowedNamespace,
    allowClusterScoped: flags.allowClusterScoped === true,
  };
  if (flags.kubeconfig === undefined) return (await precheckRevision(manifests, destination)).problems;
  const cluster = ClusterClient.fromFile(flags.kubeconfig);
  try {
    return (await precheckRevision(manifests, destination, cluster)).problems;
  } finally {
    cluster.close();
  }
}

// `gitward install`, `gitward uninstall` and `gitward doctor`: the install's objects come from
// src/install/manifests.ts (the same as deploy/install and the Helm chart); these commands only parse
// flags, talk to the cluster through src/install, and print one line per object or check.
import { Option, type Command } from "commander";
import { stringify } from "yaml";
import { ClusterClient, describeRef, refOf } from "../../cluster/client.js";
import { ConfigError } from "../../config/errors.js";
import { applyInstall, uninstall, type Step } from "../../install/apply.js";
import { ensureAuditKey, rotateAuditKey } from "../../install/audit-key.js";
import { runDoctor } from "../../install/doctor.js";
import { DEFAULT_IMAGE, digestPinnedImage } from "../../install/image.js";
import {
  AUDIT_KEY_SECRET,
  INSTALL_DEFAULTS,
  SYSTEM_NAMESPACE,
  type EgressTarget,
  type InstallOptions,
} from "../../install/layout.js";
import { installObjects } from "../../install/manifests.js";
import { ExitCode } from "../exit.js";
import { printJson } from "../output.js";

interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
}

interface InstallFlags extends ClusterFlags {
  dryRun?: string | boolean;
  output?: "yaml" | "json";
  image: string;
  replicas: string;
  applicationNamespace: string[];
  apiServerCidr: string[];
  apiServerPort: string[];
  gitCidr: string[];
  gitPort: string[];
  registryCidr: string[];
  registryPort: string[];
  rotateAuditKey?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function clusterOptions(cmd: Command): Command {
  return cmd
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, then ~/.kube/config)")
    .option("--context <name>", "kubeconfig context to use instead of its current-context");
}

function connect(flags: ClusterFlags): ClusterClient {
  return ClusterClient.fromFile(
    flags.kubeconfig,
    {},
    flags.context === undefined ? {} : { context: flags.context },
  );
}

const CIDR = /^(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/;

function egress(flag: string, cidrs: string[], portFlags: string[], defaults: EgressTarget): EgressTarget {
  for (const c of cidrs)
    if (!CIDR.test(c)) throw new ConfigError(`${c} is not a CIDR such as 10.0.0.0/8`, `--${flag}-cidr`);
  const ports = portFlags.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new ConfigError(`${p} is not a TCP port (1-65535)`, `--${flag}-port`);
    return n;
  });
  return {
    cidrs: cidrs.length > 0 ? cidrs : defaults.cidrs,
    ports: ports.length > 0 ? ports : defaults.ports,
  };
}

/** The install's settings from the flags, validated (the image must be pinned by digest). */
export function installOptionsFrom(flags: InstallFlags): Partial<InstallOptions> & { image: string } {
  const replicas = Number(flags.replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 10)
    throw new ConfigError(`${flags.replicas}: give a whole number from 1 to 10`, "--replicas");
  const d = INSTALL_DEFAULTS.network;
  return {
    image: digestPinnedImage(flags.image),
    replicas,
    applicationNamespaces: flags.applicationNamespace,
    network: {
      apiServer: egress("api-server", flags.apiServerCidr, flags.apiServerPort, d.apiServer),
      git: egress("git", flags.gitCidr, flags.gitPort, d.git),
      registries: egress("registry", flags.registryCidr, flags.registryPort, d.registries),
      dnsNamespace: d.dnsNamespace,
    },
  };
}

function printStep(s: Step): void {
  process.stdout.write(`${s.what} ${s.action}${s.note === undefined ? "" : ` (${s.note})`}\n`);
}

function dryRunMode(v: string | boolean | undefined): "none" | "client" | "server" {
  if (v === undefined || v === false) return "none";
  if (v === true || v === "client") return "client";
  if (v === "server") return "server";
  throw new ConfigError(`${v}: give client or server`, "--dry-run");
}

function registerInstallCommand(program: Command): void {
  clusterOptions(program.command("install"))
    .description(
      "Install gitward, or upgrade it in place: Namespaces gitward-system and gitward-keys, the CRDs " +
        "(applied first and waited for until Established), the operator's account and least-privilege " +
        "RBAC, its Deployment (Pod Security restricted), PodDisruptionBudget, NetworkPolicies and metrics " +
        "Service, by server-side apply as field manager gitward-install; then the audit signing key " +
        "(Secret gitward-audit-key, made when missing, never printed; --rotate-audit-key replaces it, " +
        "keeps the old public key in the Secret and restarts the operator). -o yaml|json prints the " +
        "manifests and touches nothing; --dry-run prints what would be applied (client: without the " +
        "cluster; server: validated by the API server, nothing stored). Exit 0 ok, 2 usage or cluster error.",
    )
    .addOption(new Option("--dry-run [mode]", "client (default) or server").preset("client"))
    .addOption(
      new Option("-o, --output <format>", "print the manifests instead of applying them").choices([
        "yaml",
        "json",
      ]),
    )
    .option("--image <ref>", "operator image, pinned by digest (REPOSITORY@sha256:...)", DEFAULT_IMAGE)
    .option(
      "--replicas <n>",
      "operator replicas (leader election keeps one active)",
      String(INSTALL_DEFAULTS.replicas),
    )
    .option(
      "--application-namespace <ns>",
      "namespace that holds Applications: grant gitward its state there (repeatable)",
      collect,
      [],
    )
    .option(
      "--api-server-cidr <cidr>",
      "NetworkPolicy: the API server's addresses (repeatable; default any)",
      collect,
      [],
    )
    .option(
      "--api-server-port <port>",
      "NetworkPolicy: the API server's port (repeatable; default 443, 6443)",
      collect,
      [],
    )
    .option("--git-cidr <cidr>", "NetworkPolicy: git hosts' addresses (repeatable; default any)", collect, [])
    .option("--git-port <port>", "NetworkPolicy: git ports (repeatable; default 443, 22, 9418)", collect, [])
    .option(
      "--registry-cidr <cidr>",
      "NetworkPolicy: registries' addresses (repeatable; default any)",
      collect,
      [],
    )
    .option("--registry-port <port>", "NetworkPolicy: registry ports (repeatable; default 443)", collect, [])
    .option("--rotate-audit-key", "replace the audit signing key with a new one and restart the operator")
    .action(async (flags: InstallFlags) => {
      const objects = installObjects(installOptionsFrom(flags));
      const mode = dryRunMode(flags.dryRun);
      if (flags.output === "json") {
        printJson({ apiVersion: "v1", kind: "List", items: objects });
        return;
      }
      if (flags.output === "yaml") {
        process.stdout.write(objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n"));
        return;
      }
      if (mode === "client") {
        for (const o of objects)
          printStep({
            what: describeRef(refOf(o)),
            action: "configured",
            note: "dry run, cluster not contacted",
          });
        printStep({
          what: `Secret ${SYSTEM_NAMESPACE}/${AUDIT_KEY_SECRET}`,
          action: "configured",
          note: "dry run, cluster not contacted; made when missing",
        });
        return;
      }
      const cluster = connect(flags);
      try {
        await applyInstall(cluster, objects, { dryRun: mode === "server", onStep: printStep });
        if (mode === "server") printStep(await ensureAuditKey(cluster, { dryRun: true }));
        else if (flags.rotateAuditKey === true) for (const s of await rotateAuditKey(cluster)) printStep(s);
        else printStep(await ensureAuditKey(cluster));
        if (mode === "none") process.stdout.write("gitward is installed; check it with `gitward doctor`\n");
      } finally {
        cluster.close();
      }
    });
}

interface UninstallFlags extends ClusterFlags {
  pruneApplications?: boolean;
  deleteKeys?: boolean;
}

function registerUninstallCommand(program: Command): void {
  clusterOptions(program.command("uninstall"))
    .description(
      "Remove what `gitward install` made: the operator first, then its network, RBAC, every Application " +
        "and the CRDs, the namespaces last. What Applications applied stays, unless --prune-applications " +
        "first deletes it (by each Application's inventory, as its own account). gitward-keys is kept " +
        "while it holds sealing keys, unless --delete-keys. Exit 0 ok, 2 usage or cluster error.",
    )
    .option("--prune-applications", "first delete every object the Applications applied")
    .option(
      "--delete-keys",
      "also delete gitward-keys with its sealing keys (sealed secrets can then not be unsealed)",
    )
    .action(async (flags: UninstallFlags) => {
      const cluster = connect(flags);
      try {
        const report = await uninstall(cluster, installObjects({ image: DEFAULT_IMAGE }), {
          ...(flags.pruneApplications === true ? { pruneApplications: true } : {}),
          ...(flags.deleteKeys === true ? { deleteKeys: true } : {}),
          onStep: printStep,
        });
        if (report.keptApplications.length > 0)
          process.stdout.write(
            `the objects applied by ${report.keptApplications.length} Application(s) (${report.keptApplications.join(", ")}) stay in the cluster; --prune-applications deletes them\n`,
          );
      } finally {
        cluster.close();
      }
    });
}

function registerDoctorCommand(program: Command): void {
  clusterOptions(program.command("doctor"))
    .description(
      "Check an install, as `flux check`: API server reachable and its version, clocks, CRDs installed and " +
        "matching this client, the operator's RBAC verb by verb (SubjectAccessReview) and each " +
        "Application's grant, the operator Deployment, the sealing and audit keys. One line per check, ok " +
        "or fail with a fix. Exit 0 all ok, 1 something failed, 2 usage error.",
    )
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .action(async (flags: ClusterFlags & { output: "text" | "json" }) => {
      const cluster = connect(flags);
      try {
        const checks = await runDoctor(cluster, installObjects({ image: DEFAULT_IMAGE }));
        const allOk = checks.every((c) => c.ok);
        if (flags.output === "json") printJson({ ok: allOk, checks });
        else
          for (const c of checks)
            process.stdout.write(
              `${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.message}${c.fix === undefined ? "" : `\n     fix: ${c.fix}`}\n`,
            );
        process.exitCode = allOk ? ExitCode.Ok : ExitCode.Findings;
      } finally {
        cluster.close();
      }
    });
}

export function registerInstall(program: Command): void {
  registerInstallCommand(program);
  registerUninstallCommand(program);
  registerDoctorCommand(program);
}

// `gitward webhook`: the validating admission webhook (HTTPS, POST /validate) enforcing a TrustPolicy in
// the cluster; `gitward webhook config`: its ValidatingWebhookConfiguration; `gitward audit cluster`: the
// live objects the policy would now deny, as text, JSON or SARIF. Exit codes as `gitward check`.
import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { stringify } from "yaml";
import { auditCluster } from "../../admission/cluster-audit.js";
import { AdmissionDecider } from "../../admission/decide.js";
import { FileTls, ManagedTls, type ServingTls } from "../../admission/rotation.js";
import { SecretTlsStore } from "../../admission/secret-store.js";
import { loadCustomRules, startWebhook } from "../../admission/start.js";
import { ImageVerdicts } from "../../admission/image-verdicts.js";
import { InventoryIndex } from "../../admission/inventory-index.js";
import {
  DEFAULT_CONFIG_NAME,
  DEFAULT_TIMEOUT_SECONDS,
  patchCaBundle,
  webhookConfiguration,
  WebhookConfigError,
} from "../../admission/webhook-config.js";
import { readAuditKeyFile } from "../../audit/keys.js";
import { AuditLog } from "../../audit/writer.js";
import { ClusterClient } from "../../cluster/client.js";
import { ConfigError } from "../../config/errors.js";
import { loadTrustPolicy } from "../../config/load.js";
import type { TrustPolicy } from "../../config/types.js";
import { RegistryClient } from "../../images/client.js";
import { needsRegistry } from "../../policy/image-trust.js";
import { formatText, toSarif } from "../../policy/report.js";
import { compileImagePolicy } from "../../trust/image/policy.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";
import { parsePort } from "../port.js";
import { credentials } from "./images.js";

const VERSION = "0.1.0";

interface RegistryFlags {
  plainHttp?: boolean;
  dockerConfig?: string;
  ca?: string;
}

interface ServeFlags extends RegistryFlags {
  trust?: string;
  port: string;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsSecret?: string;
  tlsHosts?: string;
  webhookConfig: string;
  kubeconfig?: string;
  auditLog?: string;
  auditKey?: string;
}

interface ConfigFlags {
  service?: string;
  url?: string;
  caBundle?: string;
  tlsSecret?: string;
  kubeconfig?: string;
  timeout: string;
  name: string;
  systemNamespace: string;
  output: "yaml" | "json";
}

function nsName(value: string, flag: string): { namespace: string; name: string; port?: number } {
  const m = /^([a-z0-9-]{1,63})\/([a-z0-9.-]{1,253})(?::(\d{1,5}))?$/.exec(value);
  if (m?.[1] === undefined || m[2] === undefined) throw new ConfigError("give NAMESPACE/NAME", flag);
  return { namespace: m[1], name: m[2], ...(m[3] === undefined ? {} : { port: Number(m[3]) }) };
}

function clusterFrom(kubeconfig: string | undefined): ClusterClient {
  // $KUBECONFIG, then the in-cluster service account, then ~/.kube/config (as `gitward run` does).
  return ClusterClient.fromFile(kubeconfig, {}, { preferInCluster: true });
}

async function registryClient(trust: TrustPolicy, flags: RegistryFlags): Promise<RegistryClient> {
  const ca =
    flags.ca === undefined
      ? undefined
      : await readFile(flags.ca, "utf8").catch(() => {
          throw new ConfigError("cannot read CA file", flags.ca);
        });
  return new RegistryClient({
    credentials: await credentials(flags.dockerConfig),
    plainHTTP: flags.plainHttp === true,
    hosts: trust.spec.images?.registryOptions ?? [],
    ...(ca === undefined ? {} : { defaultCa: ca }),
    // The cold path must end within the webhook's own deadline.
    deadlines: { requestMs: 3_500, verificationMs: 3_800 },
  });
}

function addRegistryOptions(cmd: Command): Command {
  return cmd
    .option("--plain-http", "talk plain HTTP to loopback registries (refused for any other host)")
    .option("--docker-config <file>", "docker config JSON with registry credentials")
    .option("--ca <file>", "PEM CA bundle trusted for registry TLS");
}

async function servingTls(flags: ServeFlags, cluster: ClusterClient | undefined): Promise<ServingTls> {
  const log = (m: string): void => void process.stderr.write(`gitward webhook: ${m}\n`);
  if (flags.tlsSecret !== undefined) {
    if (flags.tlsCert !== undefined || flags.tlsKey !== undefined)
      throw new ConfigError("give --tls-secret or --tls-cert/--tls-key, not both", "gitward webhook");
    if (cluster === undefined)
      throw new ConfigError("--tls-secret needs a cluster (--kubeconfig)", "gitward webhook");
    const secret = nsName(flags.tlsSecret, "--tls-secret");
    const hosts = (flags.tlsHosts ?? "")
      .split(",")
      .map((h) => h.trim())
      .filter(Boolean);
    const managed = await ManagedTls.start({
      hosts: hosts.length > 0 ? hosts : [`gitward-webhook.${secret.namespace}.svc`],
      store: new SecretTlsStore(cluster, secret.namespace, secret.name),
      publishBundle: (bundle) => patchCaBundle(cluster, flags.webhookConfig, bundle),
    });
    managed.every(60_000, (err) => {
      log(`certificate rotation failed: ${err instanceof Error ? err.message : String(err)}`);
    });
    return managed;
  }
  if (flags.tlsCert === undefined || flags.tlsKey === undefined)
    throw new ConfigError("give --tls-cert and --tls-key, or --tls-secret NS/NAME", "gitward webhook");
  return FileTls.start({
    certFile: flags.tlsCert,
    keyFile: flags.tlsKey,
    ...(flags.tlsCa === undefined ? {} : { caFile: flags.tlsCa }),
    log,
  });
}

export function registerWebhook(program: Command): void {
  const webhook = program
    .command("webhook")
    .description(
      "Serve the validating admission webhook (HTTPS, POST /validate): the TrustPolicy's images, policy " +
        "packs and CEL rules for every pod-bearing object, and only gitward changes what gitward manages " +
        "(break-glass groups excepted, each use an audit record and an Event).",
    )
    .option("--trust <file>", "TrustPolicy file (required)")
    .option("--port <n>", "port to listen on", "8443")
    .option("--host <addr>", "address to listen on", "0.0.0.0")
    .option("--tls-cert <file>", "serving certificate (PEM); re-read when it changes")
    .option("--tls-key <file>", "its private key (PEM)")
    .option("--tls-ca <file>", "the CA bundle that signs --tls-cert (printed by `webhook config`)")
    .option("--tls-secret <ns/name>", "keep gitward's own CA and serving certificate in this Secret, rotated")
    .option("--tls-hosts <names>", "comma-separated DNS names/IPs of the serving certificate (--tls-secret)")
    .option(
      "--webhook-config <name>",
      "ValidatingWebhookConfiguration whose caBundle is kept current",
      DEFAULT_CONFIG_NAME,
    )
    .option("--kubeconfig <file>", "cluster for inventories, Events and --tls-secret (default in-cluster)")
    .option("--audit-log <file>", "audit log for break-glass records (without it, break-glass is refused)")
    .option("--audit-key <file>", "ed25519 private key (PEM) signing the audit records");
  addRegistryOptions(webhook).action(async (flags: ServeFlags) => {
    const port = parsePort(flags.port, "--port", "gitward webhook");
    if (flags.trust === undefined) throw new ConfigError("give --trust FILE", "gitward webhook");
    // The cluster first: in a Pod (or with --tls-secret) a missing one is the first thing to report.
    const cluster =
      flags.kubeconfig === undefined &&
      flags.tlsSecret === undefined &&
      process.env["KUBERNETES_SERVICE_HOST"] === undefined
        ? undefined
        : clusterFrom(flags.kubeconfig);
    const trust = await loadTrustPolicy(flags.trust);
    const audit =
      flags.auditLog === undefined
        ? undefined
        : await AuditLog.open({
            path: flags.auditLog,
            ...(flags.auditKey === undefined
              ? {}
              : { signingKey: await readAuditKeyFile(flags.auditKey, "private") }),
          });
    const tls = await servingTls(flags, cluster);
    const running = await startWebhook({
      trust,
      trustFile: flags.trust,
      registry: await registryClient(trust, flags),
      ...(cluster === undefined ? {} : { cluster }),
      ...(audit === undefined ? {} : { audit }),
      tls,
      port,
      host: flags.host,
      log: (level, message, fields) =>
        void process.stderr.write(`${JSON.stringify({ level, msg: message, ...fields })}\n`),
    });
    process.stderr.write(
      `gitward webhook: listening on ${running.url}${cluster === undefined ? " (no cluster: the inventory guard is off)" : ""}\n`,
    );
    await new Promise<void>((resolve) => {
      const onSignal = (): void => {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        void running
          .stop()
          .then(() => audit?.close())
          .finally(() => {
            cluster?.close();
            resolve();
          });
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
    });
  });

  webhook
    .command("config")
    .description(
      "Print the ValidatingWebhookConfiguration for the webhook (failurePolicy Fail, NoneOnDryRun).",
    )
    .option("--service <ns/name[:port]>", "the webhook's Service (port default 443)")
    .option("--url <url>", "the webhook's https:// URL (outside the cluster)")
    .option("--ca-bundle <file>", "PEM CA bundle of the serving certificate")
    .option("--tls-secret <ns/name>", "read the CA bundle from the webhook's Secret (needs --kubeconfig)")
    .option("--kubeconfig <file>", "cluster to read --tls-secret from")
    .option("--timeout <seconds>", "timeoutSeconds, 1 to 30", String(DEFAULT_TIMEOUT_SECONDS))
    .option("--name <name>", "name of the configuration", DEFAULT_CONFIG_NAME)
    .option("--system-namespace <ns>", "gitward's namespace (never sent to the webhook)", "gitward-system")
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json"]).default("yaml"))
    .action(async (flags: ConfigFlags) => {
      let caBundle: string;
      if (flags.caBundle !== undefined) {
        caBundle = await readFile(flags.caBundle, "utf8").catch(() => {
          throw new ConfigError("cannot read the CA bundle", flags.caBundle);
        });
      } else if (flags.tlsSecret !== undefined) {
        const s = nsName(flags.tlsSecret, "--tls-secret");
        const cluster = clusterFrom(flags.kubeconfig);
        try {
          const state = await new SecretTlsStore(cluster, s.namespace, s.name).load();
          if (state === undefined)
            throw new ConfigError(
              "holds no webhook certificate yet: start the webhook first",
              flags.tlsSecret,
            );
          caBundle = state.cas.map((c) => c.certPem).join("");
        } finally {
          cluster.close();
        }
      } else throw new ConfigError("give --ca-bundle FILE or --tls-secret NS/NAME", "gitward webhook config");
      const timeoutSeconds = Number(flags.timeout);
      try {
        const vwc = webhookConfiguration({
          name: flags.name,
          caBundle,
          timeoutSeconds,
          systemNamespace: flags.systemNamespace,
          ...(flags.service === undefined ? {} : { service: nsName(flags.service, "--service") }),
          ...(flags.url === undefined ? {} : { url: flags.url }),
        });
        if (flags.output === "json") printJson(vwc);
        else process.stdout.write(stringify(vwc));
      } catch (err) {
        if (err instanceof WebhookConfigError) throw new ConfigError(err.message, "gitward webhook config");
        throw err;
      }
    });
}

interface AuditClusterFlags extends RegistryFlags {
  trust: string;
  kubeconfig?: string;
  output: OutputFormat;
}

/** `gitward audit cluster`, added under the `audit` command by registerAudit. */
export function registerAuditCluster(audit: Command): void {
  const cmd = audit
    .command("cluster")
    .description(
      "List the live objects the TrustPolicy would now deny at admission (Gatekeeper's audit): the same " +
        "checks and verdict codes as the webhook. Exit 0 none, 1 some, 2 usage or configuration error.",
    )
    .requiredOption("--trust <file>", "TrustPolicy file")
    .option("--kubeconfig <file>", "the cluster (default $KUBECONFIG, in-cluster, ~/.kube/config)")
    .addOption(outputOption(["text", "json", "sarif"]));
  addRegistryOptions(cmd).action(async (flags: AuditClusterFlags) => {
    const trust = await loadTrustPolicy(flags.trust);
    const cluster = clusterFrom(flags.kubeconfig);
    try {
      const imagePolicy = trust.spec.images;
      let images: ImageVerdicts | undefined;
      if (imagePolicy !== undefined && needsRegistry(imagePolicy)) {
        const compiled = compileImagePolicy(imagePolicy);
        if (!compiled.ok) throw new ConfigError(compiled.errors.join("; "), flags.trust);
        images = new ImageVerdicts({ policy: compiled.policy, client: await registryClient(trust, flags) });
      }
      const decider = new AdmissionDecider({
        trust,
        customRules: await loadCustomRules(trust, flags.trust),
        inventory: new InventoryIndex({ cluster }),
        ...(images === undefined ? {} : { images }),
      });
      const gate = await auditCluster({
        cluster,
        decider,
        failOn: trust.spec.policy?.failOn ?? "high",
        version: VERSION,
      });
      if (flags.output === "json") printJson(gate);
      else if (flags.output === "sarif") printJson(toSarif(gate));
      else process.stdout.write(formatText(gate));
      process.exitCode = gate.passed ? ExitCode.Ok : ExitCode.Findings;
    } finally {
      cluster.close();
    }
  });
}

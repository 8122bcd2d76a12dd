// Puts the webhook together from a TrustPolicy: its custom CEL rules compiled once, the image verdict
// cache over a registry client, the inventory index and break-glass Events over a cluster client, the
// audit log, a TLS source (by default gitward's own CA, in memory) and the HTTPS server. The CLI and tests
// (and the end-to-end kubectl test) start it in-process through startWebhook().
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { AuditLog } from "../audit/writer.js";
import type { ClusterClient } from "../cluster/client.js";
import { ConfigError } from "../config/errors.js";
import type { TrustPolicy } from "../config/types.js";
import { RegistryClient } from "../images/client.js";
import { needsRegistry } from "../policy/image-trust.js";
import type { Rule } from "../policy/types.js";
import { loadPolicies } from "../policy/vap.js";
import { compileImagePolicy } from "../trust/image/policy.js";
import { AdmissionDecider } from "./decide.js";
import { ImageVerdicts } from "./image-verdicts.js";
import { InventoryIndex } from "./inventory-index.js";
import { AdmissionMetrics } from "./metrics.js";
import { ManagedTls, type ServingTls } from "./rotation.js";
import { startWebhookServer, type WebhookLimits } from "./server.js";

export interface StartWebhookOptions {
  readonly trust: TrustPolicy;
  /** The TrustPolicy's file: its spec.policy.custom paths are relative to it. */
  readonly trustFile?: string;
  /** The registry client for image verification (default: TLS, the policy's registryOptions). */
  readonly registry?: RegistryClient;
  /** For the inventory guard and break-glass Events; without it the guard is off. */
  readonly cluster?: ClusterClient;
  readonly audit?: AuditLog;
  /** Default: a new in-memory CA and a certificate for 127.0.0.1 and localhost. */
  readonly tls?: ServingTls;
  readonly port?: number;
  readonly host?: string;
  readonly limits?: Partial<WebhookLimits>;
  /** Most image verdicts cached (default 10,000). */
  readonly maxCachedImages?: number;
  /** How long the inventory index may be reused (default 5 s). */
  readonly inventoryTtlMs?: number;
  readonly log?: (
    level: "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
}

export interface RunningWebhook {
  /** https://host:port/validate */
  readonly url: string;
  /** PEM of the CAs the serving certificate chains to, when the webhook started. */
  readonly caBundle: string;
  readonly tls: ServingTls;
  readonly decider: AdmissionDecider;
  readonly metrics: AdmissionMetrics;
  readonly images?: ImageVerdicts;
  readonly inventory?: InventoryIndex;
  stop(): Promise<void>;
}

/** The TrustPolicy's custom ValidatingAdmissionPolicy rules, compiled once; a bad file is a ConfigError. */
export async function loadCustomRules(trust: TrustPolicy, trustFile?: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  for (const p of trust.spec.policy?.custom ?? []) {
    const file = path.resolve(path.dirname(trustFile ?? "."), p);
    const text = await readFile(file, "utf8").catch(() => {
      throw new ConfigError("cannot read the policy file", file);
    });
    const loaded = loadPolicies(text, file);
    if (loaded.errors.length > 0)
      throw new ConfigError(loaded.errors.map((e) => `[${e.code}] ${e.message}`).join("\n  "), file);
    rules.push(...loaded.rules);
  }
  return rules;
}

export async function startWebhook(opts: StartWebhookOptions): Promise<RunningWebhook> {
  const customRules = await loadCustomRules(opts.trust, opts.trustFile);
  const metrics = new AdmissionMetrics();
  const imagePolicy = opts.trust.spec.images;
  let images: ImageVerdicts | undefined;
  if (imagePolicy !== undefined && needsRegistry(imagePolicy)) {
    const compiled = compileImagePolicy(imagePolicy);
    if (!compiled.ok) throw new ConfigError(compiled.errors.join("; "), opts.trustFile ?? "TrustPolicy");
    const limits = { ...opts.limits };
    // The cold path gets the decision's deadline, so a slow registry ends in a denial, not an API timeout.
    const deadline = limits.decisionTimeoutMs ?? 4_000;
    images = new ImageVerdicts({
      policy: compiled.policy,
      client:
        opts.registry ??
        new RegistryClient({
          hosts: imagePolicy.registryOptions ?? [],
          deadlines: { requestMs: deadline, verificationMs: deadline },
        }),
      ...(opts.maxCachedImages === undefined ? {} : { maxEntries: opts.maxCachedImages }),
    });
  }
  const inventory =
    opts.cluster === undefined
      ? undefined
      : new InventoryIndex({
          cluster: opts.cluster,
          ...(opts.inventoryTtlMs === undefined ? {} : { ttlMs: opts.inventoryTtlMs }),
        });
  const decider = new AdmissionDecider({
    trust: opts.trust,
    customRules,
    metrics,
    ...(images === undefined ? {} : { images }),
    ...(inventory === undefined ? {} : { inventory }),
    ...(opts.audit === undefined ? {} : { audit: opts.audit }),
    ...(opts.cluster === undefined ? {} : { events: opts.cluster }),
    ...(opts.log === undefined ? {} : { log: opts.log }),
  });
  const tls = opts.tls ?? (await ManagedTls.start({ hosts: ["127.0.0.1", "localhost", "::1"] }));
  const server = await startWebhookServer({
    decider,
    tls,
    metrics,
    ...(opts.port === undefined ? {} : { port: opts.port }),
    ...(opts.host === undefined ? {} : { host: opts.host }),
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    ...(opts.log === undefined ? {} : { log: opts.log }),
  });
  return {
    url: server.url,
    caBundle: tls.caBundle(),
    tls,
    decider,
    metrics,
    ...(images === undefined ? {} : { images }),
    ...(inventory === undefined ? {} : { inventory }),
    stop: async () => {
      tls.stop();
      await server.stop();
    },
  };
}

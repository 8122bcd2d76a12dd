// A real HTTPS admission webhook for tests: a test CA and a serving certificate made by openssl, a node:https
// server that answers AdmissionReview v1 with whatever the test's decide() says (and records every review),
// and the ValidatingWebhookConfiguration that points the sandbox at it (by url or by service).
import https from "node:https";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { makeTestCa } from "./test-ca.js";

export interface TestCertificates {
  /** PEM of the CA that signed the serving certificate (what caBundle carries). */
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** base64 of caPem, as clientConfig.caBundle takes it. */
  readonly caBundle: string;
}

/** A fresh CA and a serving certificate for 127.0.0.1, localhost and the given DNS names (EC P-256). */
export async function makeServingCertificates(dnsNames: readonly string[] = []): Promise<TestCertificates> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-webhook-ca-"));
  try {
    const ca = await makeTestCa(dir, "/CN=gitward test webhook CA");
    const san = ["IP:127.0.0.1", "DNS:localhost", ...dnsNames.map((n) => `DNS:${n}`)].join(",");
    const tls = await ca.issue("tls", "/CN=webhook", { san, serverAuth: true });
    const [caPem, certPem, keyPem] = await Promise.all(
      [ca.cert, tls.cert, tls.key].map((f) => readFile(f, "utf8")),
    );
    if (caPem === undefined || certPem === undefined || keyPem === undefined)
      throw new Error("openssl wrote no certificates");
    return { caPem, certPem, keyPem, caBundle: Buffer.from(caPem).toString("base64") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The `request` of an AdmissionReview, as the webhook received it. */
export type AdmissionRequest = Record<string, unknown> & {
  uid: string;
  operation: string;
  object: Record<string, unknown> | null;
  oldObject: Record<string, unknown> | null;
  dryRun: boolean;
};

/** What the test's webhook answers: `allowed`, and optionally status and warnings (uid is filled in). */
export interface Verdict {
  allowed: boolean;
  status?: { code?: number; message?: string; reason?: string };
  warnings?: string[];
}

export interface WebhookServer {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly certs: TestCertificates;
  /** Every review received, oldest first. */
  readonly requests: AdmissionRequest[];
  /** Replaces the decision function. */
  decide(fn: (r: AdmissionRequest) => Verdict): void;
  /** Answers only after this many milliseconds (to test timeouts). */
  delay(ms: number): void;
  stop(): Promise<void>;
}

/** Starts the webhook on a free port of 127.0.0.1; it allows everything until decide() says otherwise. */
export async function startWebhook(
  opts: { dnsNames?: readonly string[]; certs?: TestCertificates } = {},
): Promise<WebhookServer> {
  const certs = opts.certs ?? (await makeServingCertificates(opts.dnsNames));
  let decideFn: (r: AdmissionRequest) => Verdict = () => ({ allowed: true });
  let delayMs = 0;
  const requests: AdmissionRequest[] = [];
  const server = https.createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { request: AdmissionRequest };
      requests.push(review.request);
      const answer = (): void => {
        if (res.destroyed) return;
        const body = JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: { uid: review.request.uid, ...decideFn(review.request) },
        });
        res.writeHead(200, { "Content-Type": "application/json" }).end(body);
      };
      if (delayMs > 0) setTimeout(answer, delayMs).unref();
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    certs,
    requests,
    decide: (fn) => (decideFn = fn),
    delay: (ms) => (delayMs = ms),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export interface WebhookSpec {
  /** Webhook name (three dot-separated segments at least). */
  name: string;
  /** clientConfig: a URL, or a service the sandbox resolves through its webhookServices map. */
  url?: string | undefined;
  service?: { namespace: string; name: string; path?: string; port?: number };
  caBundle?: string;
  rules?: Record<string, unknown>[];
  failurePolicy?: "Fail" | "Ignore";
  sideEffects?: string;
  timeoutSeconds?: number;
  namespaceSelector?: Record<string, unknown>;
  objectSelector?: Record<string, unknown>;
  matchConditions?: { name: string; expression: string }[];
}

/** A rule for CREATE and UPDATE of pods, the usual image gate. */
export const podRule = {
  operations: ["CREATE", "UPDATE"],
  apiGroups: [""],
  apiVersions: ["v1"],
  resources: ["pods"],
};

/** A ValidatingWebhookConfiguration object with one webhook per spec. */
export function webhookConfiguration(name: string, specs: readonly WebhookSpec[]): Record<string, unknown> {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name },
    webhooks: specs.map((s) => ({
      name: s.name,
      clientConfig: {
        ...(s.url === undefined ? {} : { url: s.url }),
        ...(s.service === undefined ? {} : { service: s.service }),
        ...(s.caBundle === undefined ? {} : { caBundle: s.caBundle }),
      },
      rules: s.rules ?? [podRule],
      failurePolicy: s.failurePolicy ?? "Fail",
      sideEffects: s.sideEffects ?? "None",
      admissionReviewVersions: ["v1"],
      ...(s.timeoutSeconds === undefined ? {} : { timeoutSeconds: s.timeoutSeconds }),
      ...(s.namespaceSelector === undefined ? {} : { namespaceSelector: s.namespaceSelector }),
      ...(s.objectSelector === undefined ? {} : { objectSelector: s.objectSelector }),
      ...(s.matchConditions === undefined ? {} : { matchConditions: s.matchConditions }),
    })),
  };
}

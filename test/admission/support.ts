// What the admission tests share: AdmissionReview bodies as the API server sends them, a client that
// posts them over real HTTPS trusting only the webhook's CA bundle, and pods that pass or fail the
// pod-security-restricted pack.
import { request } from "node:https";
import { randomUUID } from "node:crypto";

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly json?: {
    response?: {
      uid: string;
      allowed: boolean;
      status?: { code: number; reason?: string; message?: string };
      warnings?: string[];
      auditAnnotations?: Record<string, string>;
    };
  };
}

/** POSTs `body` to the webhook URL over TLS, trusting `ca` only. */
export function post(
  url: string,
  ca: string,
  body: string | Buffer,
  opts: { method?: string; contentType?: string; agent?: import("node:https").Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? "POST",
        ca,
        headers: { "content-type": opts.contentType ?? "application/json" },
        ...(opts.agent === undefined ? {} : { agent: opts.agent }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: Reply["json"];
          try {
            json = JSON.parse(text) as Reply["json"];
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: text, ...(json === undefined ? {} : { json }) });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export interface ReviewInput {
  readonly object?: Record<string, unknown> | null;
  readonly oldObject?: Record<string, unknown> | null;
  readonly operation?: "CREATE" | "UPDATE" | "DELETE";
  readonly user?: string;
  readonly groups?: string[];
  readonly dryRun?: boolean;
  readonly subResource?: string;
  readonly resource?: { group: string; version: string; resource: string };
  readonly kind?: { group: string; version: string; kind: string };
  readonly namespace?: string;
  readonly name?: string;
}

/** An AdmissionReview for a Pod (or what `input` says) as kube-apiserver sends it. */
export function review(input: ReviewInput): string {
  const object = input.object === undefined ? null : input.object;
  const meta = ((object ?? input.oldObject)?.["metadata"] ?? {}) as { name?: string; namespace?: string };
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: randomUUID(),
      kind: input.kind ?? { group: "", version: "v1", kind: "Pod" },
      resource: input.resource ?? { group: "", version: "v1", resource: "pods" },
      ...(input.subResource === undefined ? {} : { subResource: input.subResource }),
      name: input.name ?? meta.name ?? "",
      namespace: input.namespace ?? meta.namespace ?? "shop",
      operation: input.operation ?? "CREATE",
      userInfo: {
        username: input.user ?? "alice",
        groups: [...(input.groups ?? []), "system:authenticated"],
      },
      object,
      oldObject: input.oldObject ?? null,
      dryRun: input.dryRun ?? false,
    },
  });
}

/** A Pod that passes pod-security-restricted with `image`; `extra` is merged into its first container. */
export function pod(
  name: string,
  image: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "shop", labels: { team: "shop" } },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "web",
          image,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          ...extra,
        },
      ],
    },
  };
}

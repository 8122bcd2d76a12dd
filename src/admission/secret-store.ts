// Keeps the webhook's CA and serving certificate in a Secret (--tls-secret NS/NAME), so every replica and
// every restart serves from the same CA: tls.crt, tls.key and ca.crt in the usual kubernetes.io/tls keys,
// plus the CAs with their keys and which one signs, for the next rotation. Written with server-side apply.
import type { ClusterClient } from "../cluster/client.js";
import { isRecord } from "../json/record.js";
import type { KeyPair } from "./certs.js";
import type { TlsState, TlsStore } from "./rotation.js";

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (v: unknown): string | undefined =>
  typeof v === "string" ? Buffer.from(v, "base64").toString("utf8") : undefined;

function isPair(v: unknown): v is KeyPair {
  return isRecord(v) && typeof v["certPem"] === "string" && typeof v["keyPem"] === "string";
}

export class SecretTlsStore implements TlsStore {
  constructor(
    private readonly cluster: ClusterClient,
    private readonly namespace: string,
    private readonly name: string,
  ) {}

  /** undefined when the Secret is missing or does not hold a usable state (then a new CA is made). */
  async load(): Promise<TlsState | undefined> {
    const s = await this.cluster.get({
      apiVersion: "v1",
      kind: "Secret",
      namespace: this.namespace,
      name: this.name,
    });
    const data = isRecord(s?.["data"]) ? s["data"] : undefined;
    if (data === undefined) return undefined;
    const certPem = unb64(data["tls.crt"]);
    const keyPem = unb64(data["tls.key"]);
    const casText = unb64(data["cas.json"]);
    const signerText = unb64(data["signer"]);
    if (certPem === undefined || keyPem === undefined || casText === undefined) return undefined;
    let cas: unknown;
    try {
      cas = JSON.parse(casText);
    } catch {
      return undefined;
    }
    if (!Array.isArray(cas) || cas.length === 0 || !cas.every(isPair)) return undefined;
    const signer = Number(signerText ?? cas.length - 1);
    if (!Number.isInteger(signer) || signer < 0 || signer >= cas.length) return undefined;
    return { cas, signer, serving: { certPem, keyPem } };
  }

  async save(state: TlsState): Promise<void> {
    await this.cluster.apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { "app.kubernetes.io/managed-by": "gitward" },
      },
      type: "kubernetes.io/tls",
      data: {
        "tls.crt": b64(state.serving.certPem),
        "tls.key": b64(state.serving.keyPem),
        "ca.crt": b64(state.cas.map((c) => c.certPem).join("")),
        "cas.json": b64(JSON.stringify(state.cas)),
        signer: b64(String(state.signer)),
      },
    });
  }
}

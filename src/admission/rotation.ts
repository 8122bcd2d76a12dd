// Serving certificates that change without a restart and without a window of failures. Two sources: files
// (--tls-cert/--tls-key, re-read when they change) and gitward's own CA kept in a Secret (--tls-secret).
// The CA rotates in two steps: the new CA joins the bundle first (published to the webhook configuration),
// and only after the bundle had time to reach the API servers does the serving certificate switch to it;
// the old CA stays in the bundle until it expires. A serving certificate is renewed at 2/3 of its life.
import { readFile } from "node:fs/promises";
import { watchFile, unwatchFile } from "node:fs";
import { createSecureContext } from "node:tls";
import { issueCa, issueServing, splitPem, validity, type KeyPair } from "./certs.js";

/** What the HTTPS server needs, and how it hears of a new certificate. */
export interface ServingTls {
  current(): KeyPair;
  /** PEM of every CA a client should trust now. */
  caBundle(): string;
  onServing(listener: (pair: KeyPair) => void): void;
  stop(): void;
}

export interface TlsState {
  /** CAs, oldest first; all of them are in the bundle. */
  readonly cas: readonly KeyPair[];
  /** Index in `cas` of the CA that signed `serving`. */
  readonly signer: number;
  readonly serving: KeyPair;
}

export interface TlsStore {
  load(): Promise<TlsState | undefined>;
  save(state: TlsState): Promise<void>;
}

export interface RotationSettings {
  /** DNS names and IPs of the serving certificate (the Service's DNS names, or 127.0.0.1). */
  readonly hosts: readonly string[];
  readonly caValidityMs?: number;
  readonly servingValidityMs?: number;
  /** How long a new CA sits in the bundle before the serving certificate uses it (default 60 s). */
  readonly propagationMs?: number;
  /** Called when the bundle changes (patch the ValidatingWebhookConfiguration's caBundle). */
  readonly publishBundle?: (bundle: string) => Promise<void>;
  readonly store?: TlsStore;
  readonly now?: () => number;
}

export const ROTATION_DEFAULTS = {
  caValidityMs: 365 * 86_400_000,
  servingValidityMs: 30 * 86_400_000,
  propagationMs: 60_000,
  renewAt: 2 / 3,
} as const;

function aged(pair: KeyPair, now: number): boolean {
  const v = validity(pair.certPem);
  return now >= v.notBefore + (v.notAfter - v.notBefore) * ROTATION_DEFAULTS.renewAt;
}

/** gitward's own CA and serving certificate, renewed by tick() (called on a timer, or by tests). */
export class ManagedTls implements ServingTls {
  private listeners: ((pair: KeyPair) => void)[] = [];
  private pendingSwitchAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  private constructor(
    private state: TlsState,
    private readonly settings: RotationSettings,
  ) {
    this.now = settings.now ?? Date.now;
  }

  /** Loads the state from the store, or makes a new CA and certificate (saved and published). */
  static async start(settings: RotationSettings): Promise<ManagedTls> {
    const stored = await settings.store?.load();
    const now = settings.now?.() ?? Date.now();
    if (stored !== undefined) {
      const m = new ManagedTls(stored, settings);
      await m.tick();
      return m;
    }
    const ca = await issueCa(settings.caValidityMs ?? ROTATION_DEFAULTS.caValidityMs, new Date(now));
    const serving = await issueServing(
      ca,
      settings.hosts,
      settings.servingValidityMs ?? ROTATION_DEFAULTS.servingValidityMs,
      new Date(now),
    );
    const m = new ManagedTls({ cas: [ca], signer: 0, serving }, settings);
    await settings.store?.save(m.state);
    await settings.publishBundle?.(m.caBundle());
    return m;
  }

  current(): KeyPair {
    return this.state.serving;
  }

  caBundle(): string {
    return this.state.cas.map((c) => c.certPem).join("");
  }

  onServing(listener: (pair: KeyPair) => void): void {
    this.listeners.push(listener);
  }

  /** Runs tick() every `ms` until stop(). */
  every(ms: number, onError: (err: unknown) => void): void {
    this.timer = setInterval(() => void this.tick().catch(onError), ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** Starts a CA rotation now (its serving switch follows after the propagation time). */
  rotateCa(): Promise<void> {
    return this.serialised(() => this.addCa());
  }

  /** Issues a new serving certificate from the current signing CA now. */
  renewServing(): Promise<void> {
    return this.serialised(() => this.issue(this.state.signer));
  }

  /** One step of the rotation plan: switch after propagation, start a CA rotation, renew, drop expired. */
  tick(): Promise<void> {
    return this.serialised(async () => {
      const now = this.now();
      if (this.pendingSwitchAt !== undefined) {
        if (now >= this.pendingSwitchAt) {
          this.pendingSwitchAt = undefined;
          await this.issue(this.state.cas.length - 1);
        }
        return;
      }
      const signing = this.state.cas[this.state.signer];
      if (signing !== undefined && aged(signing, now)) {
        await this.addCa();
        return;
      }
      if (aged(this.state.serving, now)) await this.issue(this.state.signer);
      await this.dropExpired(now);
    });
  }

  private serialised(step: () => Promise<void>): Promise<void> {
    const run = this.busy.then(step);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async addCa(): Promise<void> {
    const ca = await issueCa(
      this.settings.caValidityMs ?? ROTATION_DEFAULTS.caValidityMs,
      new Date(this.now()),
    );
    // Bundle first: clients trust old and new CA before any certificate of the new one is served.
    this.state = { ...this.state, cas: [...this.state.cas, ca] };
    await this.settings.store?.save(this.state);
    await this.settings.publishBundle?.(this.caBundle());
    this.pendingSwitchAt = this.now() + (this.settings.propagationMs ?? ROTATION_DEFAULTS.propagationMs);
  }

  private async issue(signer: number): Promise<void> {
    const ca = this.state.cas[signer];
    if (ca === undefined) throw new Error(`no CA at index ${signer}`);
    const serving = await issueServing(
      ca,
      this.settings.hosts,
      this.settings.servingValidityMs ?? ROTATION_DEFAULTS.servingValidityMs,
      new Date(this.now()),
    );
    this.state = { ...this.state, signer, serving };
    await this.settings.store?.save(this.state);
    for (const l of this.listeners) l(serving);
  }

  /** CAs past their end leave the bundle; the signing CA never does (it is renewed before). */
  private async dropExpired(now: number): Promise<void> {
    const signing = this.state.cas[this.state.signer];
    const kept = this.state.cas.filter((c) => c === signing || validity(c.certPem).notAfter > now);
    if (kept.length === this.state.cas.length || signing === undefined) return;
    this.state = { ...this.state, cas: kept, signer: kept.indexOf(signing) };
    await this.settings.store?.save(this.state);
    await this.settings.publishBundle?.(this.caBundle());
  }
}

/**
 * A certificate and key from files (cert-manager, a mounted Secret): polled for changes, and loaded only
 * when the pair is valid together, so a half-written update keeps the old certificate in service.
 */
export class FileTls implements ServingTls {
  private listeners: ((pair: KeyPair) => void)[] = [];

  private constructor(
    private pair: KeyPair,
    private readonly certFile: string,
    private readonly keyFile: string,
    private readonly caFile: string | undefined,
    private ca: string,
    private readonly log: (message: string) => void,
  ) {}

  static async start(opts: {
    certFile: string;
    keyFile: string;
    caFile?: string;
    pollMs?: number;
    log?: (message: string) => void;
  }): Promise<FileTls> {
    const pair = await FileTls.read(opts.certFile, opts.keyFile);
    const ca = opts.caFile === undefined ? "" : await readFile(opts.caFile, "utf8");
    const t = new FileTls(pair, opts.certFile, opts.keyFile, opts.caFile, ca, opts.log ?? (() => undefined));
    const reload = (): void => void t.reload();
    for (const f of [opts.certFile, opts.keyFile, ...(opts.caFile === undefined ? [] : [opts.caFile])])
      watchFile(f, { interval: opts.pollMs ?? 1000 }, reload);
    return t;
  }

  private static async read(certFile: string, keyFile: string): Promise<KeyPair> {
    const [certPem, keyPem] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile, "utf8")]);
    // Throws when the key does not match the certificate: the caller keeps the old pair.
    createSecureContext({ cert: certPem, key: keyPem });
    if (splitPem(certPem).length === 0) throw new Error(`${certFile} holds no PEM certificate`);
    return { certPem, keyPem };
  }

  async reload(): Promise<void> {
    try {
      const pair = await FileTls.read(this.certFile, this.keyFile);
      if (this.caFile !== undefined) this.ca = await readFile(this.caFile, "utf8");
      if (pair.certPem === this.pair.certPem && pair.keyPem === this.pair.keyPem) return;
      this.pair = pair;
      for (const l of this.listeners) l(pair);
    } catch (err) {
      this.log(
        `serving certificate not reloaded, the old one stays: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  current(): KeyPair {
    return this.pair;
  }

  caBundle(): string {
    return this.ca;
  }

  onServing(listener: (pair: KeyPair) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    for (const f of [this.certFile, this.keyFile, ...(this.caFile === undefined ? [] : [this.caFile])])
      unwatchFile(f);
  }
}

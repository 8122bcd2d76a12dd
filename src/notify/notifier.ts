// Delivers alert events to sinks: a generic JSON webhook or a Slack-compatible incoming webhook, each with
// its own filter by event kind and severity. Bodies are HMAC-signed (signature.ts), retried with
// exponential backoff and full jitter on network errors, 408, 429 and 5xx; sink URLs (which often hold a
// token, as Slack's do) are never logged or put in an error: sinks are named by their `name` only.
import { randomUUID } from "node:crypto";
import { ConfigError } from "../config/errors.js";
import { redactUrl } from "../source/url.js";
import {
  eventProblem,
  SEVERITIES,
  summarize,
  type EventKind,
  type GitwardEvent,
  type Severity,
} from "./events.js";
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from "./signature.js";

export interface SinkConfig {
  /** Names the sink in logs and results (the URL never appears there). */
  name: string;
  type: "webhook" | "slack";
  url: string;
  /** HMAC key for X-Gitward-Signature; without it, bodies are sent unsigned. */
  secret?: string;
  /** Event kinds this sink receives (default: all). */
  kinds?: readonly EventKind[];
  /** Lowest severity this sink receives (default: info, i.e. everything). */
  minSeverity?: Severity;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };
export const DEFAULT_TIMEOUT_MS = 10_000;

/** What the notifier reports about each attempt; never holds a URL, header or body. */
export interface DeliveryLog {
  sink: string;
  kind: EventKind;
  delivery: string;
  attempt: number;
  status?: number;
  error?: string;
  /** Milliseconds until the next attempt, when one follows. */
  retryInMs?: number;
}

export interface DeliveryResult {
  sink: string;
  delivery: string;
  delivered: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

export interface NotifierOptions {
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  /** Injectable for tests: waiting between attempts, the jitter source, the clock. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => Date;
  log?: (entry: DeliveryLog) => void;
}

/** Whether a sink wants an event, by its kind and severity filters. */
export function sinkAccepts(sink: Pick<SinkConfig, "kinds" | "minSeverity">, event: GitwardEvent): boolean {
  if (sink.kinds !== undefined && !sink.kinds.includes(event.kind)) return false;
  const min = SEVERITIES.indexOf(sink.minSeverity ?? "info");
  return SEVERITIES.indexOf(event.severity) >= min;
}

/** The request body for a sink: gitward's JSON envelope, or Slack's `{ text }`. */
export function buildBody(sink: Pick<SinkConfig, "type">, event: GitwardEvent, delivery: string): string {
  const summary = summarize(event);
  if (sink.type === "slack") {
    return JSON.stringify({ text: `[${event.severity.toUpperCase()}] gitward: ${summary}` });
  }
  return JSON.stringify({ version: 1, delivery, summary, event });
}

/** Delay before attempt `attempt + 1`: full jitter over an exponential ceiling, or the server's Retry-After. */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfter?: string | null,
): number {
  if (retryAfter !== undefined && retryAfter !== null && /^[0-9]{1,6}$/.test(retryAfter.trim())) {
    return Math.min(policy.maxDelayMs, Number(retryAfter.trim()) * 1000);
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function validateSinks(sinks: readonly SinkConfig[]): void {
  const names = new Set<string>();
  for (const sink of sinks) {
    if (sink.name === "" || names.has(sink.name)) {
      throw new ConfigError(`alert sink names must be unique and non-empty: ${JSON.stringify(sink.name)}`);
    }
    names.add(sink.name);
    let url: URL;
    try {
      url = new URL(sink.url);
    } catch {
      throw new ConfigError(`alert sink ${sink.name}: the URL is not valid`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new ConfigError(`alert sink ${sink.name}: the URL must be http or https`);
    }
    if (sink.secret === "") throw new ConfigError(`alert sink ${sink.name}: the secret is empty`);
  }
}

export class Notifier {
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => Date;

  constructor(
    private readonly sinks: readonly SinkConfig[],
    private readonly options: NotifierOptions = {},
  ) {
    validateSinks(sinks);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => new Date());
  }

  /** Sends the event to every sink whose filters accept it; resolves when each has succeeded or given up. */
  async notify(event: GitwardEvent): Promise<DeliveryResult[]> {
    const problem = eventProblem(event);
    if (problem !== undefined) throw new TypeError(`alert event rejected at ${problem}`);
    const targets = this.sinks.filter((s) => sinkAccepts(s, event));
    return Promise.all(targets.map((sink) => this.deliver(sink, event)));
  }

  private async deliver(sink: SinkConfig, event: GitwardEvent): Promise<DeliveryResult> {
    // One delivery id for every attempt, so receivers can drop duplicates of a retried alert.
    const delivery = randomUUID();
    const body = buildBody(sink, event, delivery);
    let last: { status?: number; error?: string } = {};
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      // Signed afresh each attempt: the timestamp is the send time, which receivers check for freshness.
      const timestamp = Math.floor(this.now().getTime() / 1000);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": "gitward",
        [DELIVERY_HEADER]: delivery,
        [EVENT_HEADER]: event.kind,
      };
      if (sink.secret !== undefined) {
        headers[TIMESTAMP_HEADER] = String(timestamp);
        headers[SIGNATURE_HEADER] = signBody(sink.secret, timestamp, body);
      }
      let retryAfter: string | null = null;
      try {
        const response = await fetch(sink.url, {
          method: "POST",
          headers,
          body,
          // A redirect would carry the signed body to a place the configuration did not name.
          redirect: "error",
          signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        });
        await response.body?.cancel();
        last = { status: response.status };
        if (response.ok) {
          this.log({ sink: sink.name, kind: event.kind, delivery, attempt, status: response.status });
          return { sink: sink.name, delivery, delivered: true, attempts: attempt, status: response.status };
        }
        if (!retryable(response.status)) {
          this.log({ sink: sink.name, kind: event.kind, delivery, attempt, status: response.status });
          return {
            sink: sink.name,
            delivery,
            delivered: false,
            attempts: attempt,
            status: response.status,
            error: `HTTP ${response.status}`,
          };
        }
        retryAfter = response.headers.get("retry-after");
      } catch (err) {
        last = { error: redact(errorText(err), sink.url) };
      }
      const more = attempt < this.retry.maxAttempts;
      const wait = more ? backoffDelay(attempt, this.retry, this.random, retryAfter) : undefined;
      this.log({
        sink: sink.name,
        kind: event.kind,
        delivery,
        attempt,
        ...last,
        ...(wait === undefined ? {} : { retryInMs: wait }),
      });
      if (wait !== undefined) await this.sleep(wait);
    }
    return {
      sink: sink.name,
      delivery,
      delivered: false,
      attempts: this.retry.maxAttempts,
      ...(last.status === undefined ? {} : { status: last.status }),
      error: last.error ?? `HTTP ${last.status ?? 0}`,
    };
  }

  private log(entry: DeliveryLog): void {
    this.options.log?.(entry);
  }
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch() wraps the network error ("fetch failed"); its cause says what happened (ECONNREFUSED...).
  const cause = (err as { cause?: unknown }).cause;
  const causeText = cause instanceof Error ? `: ${(cause as { code?: string }).code ?? cause.message}` : "";
  return `${err.name === "TimeoutError" ? "timed out" : err.message}${causeText}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Removes the sink URL and its secret-bearing parts from a message: the URL as configured, then every URL
 * through the one URL redactor (user info, query values), then the sink's own user name, password, path
 * (a Slack-style webhook's token is its path) and query wherever they appear, raw or percent-decoded.
 */
export function redact(message: string, url: string): string {
  let out = redactUrl(message.split(url).join("<sink url>"));
  try {
    const u = new URL(url);
    for (const part of [u.username, u.password, u.pathname.length > 1 ? u.pathname : "", u.search]) {
      if (part === "") continue;
      // The parser keeps percent-escapes ("pa%2Fss"); a message may hold the decoded form ("pa/ss").
      for (const form of new Set([part, safeDecode(part)])) out = out.split(form).join("***");
    }
  } catch {
    // An invalid URL never reaches fetch: validateSinks refuses it.
  }
  return out;
}

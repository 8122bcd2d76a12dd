// The operator's structured log: pino writing JSON lines (stdout by default). Credential-like fields are
// censored by pino's redaction wherever they sit at the top level or one or two objects deep, so a
// config object, a request's headers or an error's properties can be logged without leaking a secret.
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Field names that hold credentials in gitward's config, in HTTP requests or in client errors. */
const CREDENTIAL_KEYS = [
  "password",
  "passphrase",
  "token",
  "accessToken",
  "refreshToken",
  "apiKey",
  "authorization",
  "Authorization",
  "cookie",
  "secret",
  "clientSecret",
  "hmacSecret",
  "privateKey",
  "identity",
  "sshKey",
  "knownHosts",
] as const;

/** Header names, as node:http gives them, whose values are credentials or signatures over a secret. */
const CREDENTIAL_HEADERS = [
  "authorization",
  "cookie",
  "set-cookie",
  "x-gitlab-token",
  "x-hub-signature",
  "x-hub-signature-256",
  "x-gitea-signature",
  "x-gitward-signature",
] as const;

export const REDACT_PATHS: readonly string[] = [
  ...CREDENTIAL_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  ...CREDENTIAL_HEADERS.flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`]),
  // A notification sink's URL often carries its credential (Slack's incoming-webhook URLs do).
  "sink.url",
  "*.sink.url",
  "sinks[*].url",
  "*.sinks[*].url",
];

export interface LoggerOptions {
  /** Where JSON lines go; stdout when absent. */
  destination?: DestinationStream;
  /** pino level name; "info" when absent. */
  level?: string;
  name?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? "info",
    ...(opts.name === undefined ? {} : { name: opts.name }),
    redact: { paths: [...REDACT_PATHS], censor: "[Redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    // "level":"warn" rather than 40, which is what log search in a cluster expects.
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}

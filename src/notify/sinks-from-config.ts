// Turns AlertSink documents (gitward.yaml or the cluster) into the sink settings the Notifier uses, reading
// each URL and HMAC secret from where the document points: an environment variable, a file, or a Secret.
// Errors name the sink and the source (variable name, file path, Secret name), never the value.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ConfigError } from "../config/errors.js";
import type { AlertSink, SecretValueSource } from "../config/types.js";
import type { SinkConfig } from "./notifier.js";

export interface SecretSources {
  /** Environment to read `env` sources from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Folder that relative `file` sources are relative to (the config file's folder). */
  baseDir?: string;
  /** Reads a key of a Secret; only the in-cluster operator has one. */
  readSecret?: (namespace: string, name: string, key: string) => Promise<string | undefined>;
}

/** Resolves every sink, or throws a ConfigError for the first source that cannot be read. */
export async function resolveAlertSinks(
  sinks: readonly AlertSink[],
  sources: SecretSources = {},
): Promise<SinkConfig[]> {
  const out: SinkConfig[] = [];
  for (const sink of sinks) {
    const label = `AlertSink ${sink.metadata.namespace}/${sink.metadata.name}`;
    const url = await resolveSecretValue(
      sink.spec.url,
      sink.metadata.namespace,
      `${label} spec.url`,
      sources,
    );
    const secret =
      sink.spec.hmacSecret === undefined
        ? undefined
        : await resolveSecretValue(
            sink.spec.hmacSecret,
            sink.metadata.namespace,
            `${label} spec.hmacSecret`,
            sources,
          );
    out.push({
      name: `${sink.metadata.namespace}/${sink.metadata.name}`,
      type: sink.spec.type,
      url,
      ...(secret === undefined ? {} : { secret }),
      ...(sink.spec.kinds === undefined ? {} : { kinds: sink.spec.kinds }),
      ...(sink.spec.minSeverity === undefined ? {} : { minSeverity: sink.spec.minSeverity }),
    });
  }
  return out;
}

/** Reads one secret value (a URL, an HMAC key) from where the configuration points; errors name the source. */
export async function resolveSecretValue(
  source: SecretValueSource,
  namespace: string,
  where: string,
  sources: SecretSources,
): Promise<string> {
  let value: string | undefined;
  if ("env" in source) {
    value = (sources.env ?? process.env)[source.env];
    if (value === undefined || value === "") {
      throw new ConfigError(`environment variable ${source.env} is not set`, where);
    }
  } else if ("file" in source) {
    const file = path.resolve(sources.baseDir ?? ".", source.file);
    try {
      value = (await readFile(file, "utf8")).replace(/\r?\n$/, "");
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new ConfigError(`cannot read ${file}: ${typeof code === "string" ? code : "unreadable"}`, where);
    }
  } else {
    if (sources.readSecret === undefined) {
      throw new ConfigError(
        `secretRef ${source.secretRef.name} can only be read in the cluster: use env or file here`,
        where,
      );
    }
    value = await sources.readSecret(namespace, source.secretRef.name, source.secretRef.key);
    if (value === undefined) {
      throw new ConfigError(
        `Secret ${namespace}/${source.secretRef.name} has no key ${source.secretRef.key}`,
        where,
      );
    }
  }
  if (value.trim() === "") throw new ConfigError("the value is empty", where);
  return value;
}

// `gitward secrets`: sealing keys in the cluster (keygen, cert) and sealed secrets in git (seal, reseal,
// validate, and unseal for debugging). Parses options, calls src/secrets and formats output; plaintext is
// only ever written by `unseal`, to stdout, on explicit request.
import type { KeyObject } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { Option, type Command } from "commander";
import { stringify } from "yaml";
import { ConfigError } from "../../config/errors.js";
import {
  DEFAULT_NAMESPACE,
  keygen,
  kubernetesSecretApi,
  loadClusterKeys,
  type SecretApi,
} from "../../secrets/key-store.js";
import {
  KEY_DEFAULTS,
  parseCertificate,
  readKeyFile,
  SealingKeyRing,
  type SealingKey,
} from "../../secrets/keys.js";
import { resealYamlText } from "../../secrets/reseal-file.js";
import { isScope } from "../../secrets/scope.js";
import { sealSecret } from "../../secrets/seal.js";
import { isSealedSecretLike } from "../../secrets/sealed-secret.js";
import { SCOPES, type Scope } from "../../secrets/types.js";
import { unsealSecret } from "../../secrets/unseal.js";
import { validateSealedSecret, type ValidationFinding } from "../../secrets/validate.js";
import { decodeUtf8 } from "../../render/files.js";
import { parseDocuments } from "../../secrets/yaml-input.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

interface ClusterFlags {
  kubeconfig?: string;
  namespace: string;
  output: OutputFormat;
}

export function registerSecrets(program: Command): void {
  const secrets = program
    .command("secrets")
    .description(
      "Sealed secrets, compatible with Bitnami Sealed Secrets (bitnami.com/v1alpha1 SealedSecret): only " +
        "the cluster's sealing keys can open them.",
    );
  registerKeygen(secrets);
  registerCert(secrets);
  registerSeal(secrets);
  registerReseal(secrets);
  registerValidate(secrets);
  registerUnseal(secrets);
}

const kubeconfigOption = () =>
  new Option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)");
const namespaceOption = () =>
  new Option("--namespace <ns>", "gitward's namespace, where the sealing keys live").default(
    DEFAULT_NAMESPACE,
  );

function registerKeygen(secrets: Command): void {
  secrets
    .command("keygen")
    .description(
      "Create a sealing key pair (RSA, self-signed certificate) as a Secret in gitward's namespace, when " +
        "there is none or the newest is older than the rotation period (or always, with --force). Old keys " +
        "stay, so what they sealed still unseals.",
    )
    .addOption(kubeconfigOption())
    .addOption(namespaceOption())
    .option(
      "--rotation-days <days>",
      "make a new key when the newest is older than this",
      String(KEY_DEFAULTS.rotationDays),
    )
    .option("--force", "make a new key now, whatever the newest key's age")
    .option("--key-size <bits>", "RSA modulus size", String(KEY_DEFAULTS.modulusLength))
    .addOption(outputOption())
    .action(async (flags: ClusterFlags & { rotationDays: string; force?: boolean; keySize: string }) => {
      const rotationDays = positiveInteger(flags.rotationDays, "--rotation-days");
      const modulusLength = positiveInteger(flags.keySize, "--key-size");
      if (modulusLength < 2048 || modulusLength > 8192 || modulusLength % 8 !== 0) {
        throw new ConfigError("must be a multiple of 8 between 2048 and 8192", "--key-size");
      }
      const result = await keygen(await secretApi(flags.kubeconfig), {
        namespace: flags.namespace,
        rotationDays,
        force: flags.force === true,
        modulusLength,
      });
      if (!result.ok) throw new ConfigError(result.message);
      warnSkipped(result.skipped);
      const summary = {
        created: result.created !== undefined,
        reason: result.reason,
        namespace: flags.namespace,
        newest: keySummary(result.newest),
        keys: result.total,
        skipped: result.skipped,
      };
      if (flags.output === "json") printJson(summary);
      else {
        const verb = result.created === undefined ? "kept" : "created";
        process.stdout.write(
          `${verb} sealing key ${result.newest.name} in ${flags.namespace} (${result.reason}); ` +
            `sha256 ${result.newest.fingerprint}; ${result.total} key(s) in all\n`,
        );
      }
    });
}

function registerCert(secrets: Command): void {
  secrets
    .command("cert")
    .description("Print the newest sealing certificate (PEM): all that CI and developers need to seal.")
    .addOption(kubeconfigOption())
    .addOption(namespaceOption())
    .addOption(outputOption())
    .action(async (flags: ClusterFlags) => {
      const loaded = await loadClusterKeys(await secretApi(flags.kubeconfig), flags.namespace);
      if (!loaded.ok) throw new ConfigError(loaded.message);
      warnSkipped(loaded.skipped);
      const newest = loaded.ring.keys.find((key) => key.certificate !== undefined);
      if (newest?.certificate === undefined) {
        throw new ConfigError(
          `no sealing key in namespace ${flags.namespace}; run \`gitward secrets keygen\``,
        );
      }
      const pem = newest.certificate.toString();
      if (flags.output === "json") printJson({ ...keySummary(newest), certificate: pem });
      else process.stdout.write(pem.endsWith("\n") ? pem : `${pem}\n`);
    });
}

function registerSeal(secrets: Command): void {
  secrets
    .command("seal")
    .description(
      "Seal a Secret read from stdin into a SealedSecret on stdout (the format kubeseal writes). Each value " +
        "is bound to namespace and name (strict), to the namespace (namespace-wide) or to nothing (cluster-wide).",
    )
    .requiredOption("--cert <file>", "the sealing certificate (PEM), from `gitward secrets cert`")
    .addOption(
      new Option("--scope <scope>", "sealing scope (default: the Secret's annotations, else strict)").choices(
        SCOPES,
      ),
    )
    .option("--name <name>", "use this name instead of the Secret's metadata.name")
    .option("--namespace <ns>", "use this namespace instead of the Secret's metadata.namespace")
    .addOption(outputOption().default("text", "text (YAML)"))
    .action(
      async (flags: {
        cert: string;
        scope?: string;
        name?: string;
        namespace?: string;
        output: OutputFormat;
      }) => {
        const cert = parseCertificate(await readInput(flags.cert), flags.cert);
        if (!cert.ok) throw new ConfigError(cert.message);
        const parsed = parseDocuments(await readStdin(), "stdin");
        if (!parsed.ok) throw new ConfigError(parsed.message);
        if (parsed.documents.length !== 1) {
          throw new ConfigError(`expected one Secret on stdin, found ${parsed.documents.length} documents`);
        }
        const scope: Scope | undefined =
          flags.scope !== undefined && isScope(flags.scope) ? flags.scope : undefined;
        const sealed = sealSecret(parsed.documents[0], cert.publicKey, {
          ...(scope === undefined ? {} : { scope }),
          ...(flags.name === undefined ? {} : { name: flags.name }),
          ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
        });
        if (!sealed.ok) throw new ConfigError(sealed.message);
        if (flags.output === "json") printJson(sealed.sealed);
        else process.stdout.write(stringify(sealed.sealed, { lineWidth: 0 }));
      },
    );
}

interface KeySourceFlags {
  kubeconfig?: string;
  key?: string[];
  keyNamespace: string;
  output: OutputFormat;
}

function addKeySourceOptions(command: Command): Command {
  return command
    .addOption(kubeconfigOption())
    .addOption(
      new Option("--key <file>", "offline: a sealing key file (PEM key, key Secret or List); repeatable")
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
        .conflicts("kubeconfig"),
    )
    .addOption(
      new Option("--key-namespace <ns>", "namespace of the sealing keys (with --kubeconfig)").default(
        DEFAULT_NAMESPACE,
      ),
    );
}

function registerReseal(secrets: Command): void {
  addKeySourceOptions(
    secrets
      .command("reseal")
      .description(
        "Re-encrypt the SealedSecrets in FILE... to the newest sealing key (after a rotation), in place. " +
          "Values already sealed to it are left as they are. Keys from the cluster (--kubeconfig) or from " +
          "--key files; they are held in memory only.",
      )
      .argument("<file...>", "YAML files holding SealedSecrets"),
  )
    .addOption(outputOption())
    .action(async (files: string[], flags: KeySourceFlags) => {
      const ring = await loadRing(flags);
      const report: {
        file: string;
        objects: { object: string; resealed: string[]; unchanged: string[] }[];
      }[] = [];
      const failures: { file: string; code: string; message: string }[] = [];
      for (const file of files) {
        const text = await readInput(file);
        const outcome = resealYamlText(text, file, ring);
        if (!outcome.ok) {
          failures.push({ file, code: outcome.code, message: outcome.message });
          continue;
        }
        if (outcome.text !== text) await writeAtomically(file, outcome.text);
        report.push({ file, objects: outcome.objects });
      }
      if (flags.output === "json")
        printJson({ newestKey: ring.newest?.fingerprint, files: report, failures });
      else {
        for (const entry of report) {
          for (const o of entry.objects) {
            process.stdout.write(
              `${entry.file}: ${o.object}: resealed ${o.resealed.length}, already on the newest key ${o.unchanged.length}\n`,
            );
          }
        }
        for (const f of failures)
          process.stderr.write(`gitward: ${f.code}: ${f.message} (file left unchanged)\n`);
      }
      process.exitCode = failures.length === 0 ? ExitCode.Ok : ExitCode.Findings;
    });
}

function registerValidate(secrets: Command): void {
  secrets
    .command("validate")
    .description(
      "Check that every SealedSecret in FILE... is well-formed and sealed to a known key: by key size with " +
        "--cert (what CI can check), by opening every value in memory with --key or --kubeconfig. " +
        "Exit 0 valid, 1 findings.",
    )
    .argument("<file...>", "YAML files holding SealedSecrets")
    .addOption(
      new Option("--cert <file>", "a sealing certificate values may be sealed to; repeatable").argParser(
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      ),
    )
    .option("--kubeconfig <file>", "open every value with the cluster's sealing keys")
    .addOption(
      new Option("--key <file>", "open every value with this sealing key file; repeatable")
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
        .conflicts("kubeconfig"),
    )
    .addOption(
      new Option("--key-namespace <ns>", "namespace of the sealing keys (with --kubeconfig)").default(
        DEFAULT_NAMESPACE,
      ),
    )
    .addOption(outputOption())
    .action(async (files: string[], flags: KeySourceFlags & { cert?: string[] }) => {
      const certificates: KeyObject[] = [];
      for (const file of flags.cert ?? []) {
        const cert = parseCertificate(await readInput(file), file);
        if (!cert.ok) throw new ConfigError(cert.message);
        certificates.push(cert.publicKey);
      }
      const ring =
        flags.kubeconfig !== undefined || flags.key !== undefined ? await loadRing(flags) : undefined;
      const results: { file: string; objects: number; findings: ValidationFinding[] }[] = [];
      for (const file of files) {
        const parsed = parseDocuments(await readInput(file), file);
        if (!parsed.ok) {
          results.push({ file, objects: 0, findings: [{ code: parsed.code, message: parsed.message }] });
          continue;
        }
        const sealedDocs = parsed.documents.filter(isSealedSecretLike);
        const findings = sealedDocs.flatMap((doc) =>
          validateSealedSecret(doc, { certificates, ...(ring === undefined ? {} : { keys: ring }) }),
        );
        results.push({ file, objects: sealedDocs.length, findings });
      }
      const bad = results.some((r) => r.findings.length > 0);
      if (flags.output === "json") printJson({ valid: !bad, files: results });
      else {
        for (const r of results) {
          if (r.findings.length === 0)
            process.stdout.write(`${r.file}: ${r.objects} SealedSecret(s) valid\n`);
          for (const f of r.findings) process.stdout.write(`${r.file}: ${f.code}: ${f.message}\n`);
        }
      }
      process.exitCode = bad ? ExitCode.Findings : ExitCode.Ok;
    });
}

function registerUnseal(secrets: Command): void {
  secrets
    .command("unseal")
    .description(
      "DEBUGGING ONLY: print the plaintext Secret of a SealedSecret (FILE or stdin), opened with a key " +
        "file. Never run it where output is logged. The reconcile never needs this.",
    )
    .argument("[file]", "YAML file holding one SealedSecret (default: stdin)")
    .addOption(
      new Option("--key <file>", "sealing key file (PEM key, key Secret or List); repeatable")
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
        .makeOptionMandatory(),
    )
    .addOption(outputOption().default("text", "text (YAML)"))
    .action(async (file: string | undefined, flags: { key: string[]; output: OutputFormat }) => {
      const ring = await loadRing({ key: flags.key, keyNamespace: DEFAULT_NAMESPACE, output: flags.output });
      const source = file ?? "stdin";
      const parsed = parseDocuments(file === undefined ? await readStdin() : await readInput(file), source);
      if (!parsed.ok) throw new ConfigError(parsed.message);
      const sealed = parsed.documents.filter(isSealedSecretLike);
      if (sealed.length !== 1)
        throw new ConfigError(`expected one SealedSecret, found ${sealed.length}`, source);
      const result = unsealSecret(sealed[0] as Record<string, unknown>, ring);
      if (!result.ok) {
        process.stderr.write(`gitward: ${result.code}: ${result.message}\n`);
        process.exitCode = ExitCode.Findings;
        return;
      }
      process.stderr.write(
        "gitward: WARNING: printing plaintext secret values; do not log or commit this output\n",
      );
      if (flags.output === "json") printJson(result.secret);
      else process.stdout.write(stringify(result.secret, { lineWidth: 0 }));
    });
}

async function secretApi(kubeconfig: string | undefined): Promise<SecretApi> {
  try {
    return await kubernetesSecretApi(kubeconfig);
  } catch (err) {
    const reason = err instanceof Error ? err.message : "unreadable";
    throw new ConfigError(`cannot load the kubeconfig (${reason})`, kubeconfig ?? "kubeconfig");
  }
}

async function loadRing(
  flags: Pick<KeySourceFlags, "kubeconfig" | "key" | "keyNamespace" | "output">,
): Promise<SealingKeyRing> {
  if (flags.key !== undefined) {
    const keys: SealingKey[] = [];
    for (const file of flags.key) {
      const read = readKeyFile(await readInput(file), file);
      if (!read.ok) throw new ConfigError(read.message);
      keys.push(...read.keys);
    }
    return new SealingKeyRing(keys);
  }
  if (flags.kubeconfig === undefined)
    throw new ConfigError("give --kubeconfig FILE or --key FILE for the sealing keys");
  const loaded = await loadClusterKeys(await secretApi(flags.kubeconfig), flags.keyNamespace);
  if (!loaded.ok) throw new ConfigError(loaded.message);
  warnSkipped(loaded.skipped);
  if (loaded.ring.keys.length === 0) {
    throw new ConfigError(
      `no sealing key in namespace ${flags.keyNamespace}; run \`gitward secrets keygen\``,
    );
  }
  return loaded.ring;
}

/** A labelled Secret that is no usable key: said on stderr (what is wrong, never its content). */
function warnSkipped(skipped: readonly string[]): void {
  for (const why of skipped) process.stderr.write(`gitward: warning: skipped a sealing key Secret: ${why}\n`);
}

function keySummary(key: SealingKey) {
  return {
    name: key.name,
    fingerprint: key.fingerprint,
    createdAt: key.createdAt?.toISOString(),
    notAfter: key.certificate === undefined ? undefined : new Date(key.certificate.validTo).toISOString(),
    bits: key.publicKey.asymmetricKeyDetails?.modulusLength,
  };
}

function positiveInteger(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new ConfigError(`must be a positive whole number, got "${text}"`, option);
  return value;
}

async function readInput(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConfigError(`cannot read the file (${typeof code === "string" ? code : "error"})`, file);
  }
  return strictText(bytes, file);
}

/** Strictly: a lenient decoder would seal U+FFFD in place of bytes that are not UTF-8, unseen. */
function strictText(bytes: Buffer, source: string): string {
  const decoded = decodeUtf8(bytes);
  if (decoded.ok) return decoded.text;
  throw new ConfigError("the input is not valid UTF-8; save it as UTF-8", `${source}:${decoded.line}`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return strictText(Buffer.concat(chunks), "stdin");
}

/** Writes next to the file and renames over it, so a crash never leaves a half-written SealedSecret. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.gitward-${process.pid}.tmp`);
  await writeFile(temp, text, { mode: 0o644 });
  await rename(temp, file);
}

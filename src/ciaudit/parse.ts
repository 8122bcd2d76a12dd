// Finds and parses the CI files of a repository (or of a folder of workflow files): GitHub workflows,
// composite actions and .gitlab-ci.yml with the files it includes locally. Files are untrusted: size and
// alias limits apply, includes must stay inside the root (symlinks resolved), and a file that cannot be
// read or parsed becomes an error the audit reports, never a silent skip.
import { readFileSync, realpathSync, statSync } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { isAlias, isCollection, isPair, LineCounter, parseDocument } from "yaml";
import { RenderErrorCode } from "../render/types.js";
import { get, items, str } from "./nav.js";
import type { CiAuditError, CiFile, CiFileKind } from "./types.js";

export const CI_LIMITS = {
  maxFileBytes: 1024 * 1024,
  maxAliasCount: 100,
  maxFiles: 5000,
  maxIncludes: 100,
} as const;

export interface Discovered {
  readonly files: CiFile[];
  readonly errors: CiAuditError[];
}

const YAML_EXT = /\.ya?ml$/;

/** Parses one CI file's text; `file` is its path relative to the root, used in every position. */
export function parseCiText(text: string, file: string, kind: CiFileKind): CiFile | CiAuditError {
  if (Buffer.byteLength(text) > CI_LIMITS.maxFileBytes) {
    return {
      code: RenderErrorCode.FileTooLarge,
      file,
      message: `${file} is larger than ${CI_LIMITS.maxFileBytes} bytes`,
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, logLevel: "error", uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const { line } = lineCounter.linePos(first.pos[0]);
    return {
      code: RenderErrorCode.Syntax,
      file,
      line,
      message: `${file}:${line}: ${first.message.split("\n")[0] ?? ""}`,
    };
  }
  try {
    // Building the values once enforces the alias limit (a billion-laughs file fails here, not in a rule).
    // Only a file with an alias can expand, and building the values costs a tenth of the audit: skip it
    // for the (usual) files with none.
    if (hasAlias(doc.contents)) doc.toJS({ maxAliasCount: CI_LIMITS.maxAliasCount });
  } catch (err) {
    return {
      code: RenderErrorCode.AliasLimit,
      file,
      message: `${file}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  return { kind, file, text, doc, lineCounter };
}

/** Whether any node of the tree is an alias (a plain walk: yaml's visit() costs more than the check). */
function hasAlias(node: unknown): boolean {
  if (isAlias(node)) return true;
  if (isPair(node)) return hasAlias(node.key) || hasAlias(node.value);
  if (isCollection(node)) return node.items.some(hasAlias);
  return false;
}

/** What kind of CI file a YAML file in a plain folder is, from its name and top-level keys. */
export function classify(name: string, file: CiFile): CiFileKind {
  const base = path.basename(name);
  if (base === "action.yml" || base === "action.yaml") return "github-action";
  if (base.endsWith(".gitlab-ci.yml") || base.endsWith(".gitlab-ci.yaml")) return "gitlab-ci";
  const root = file.doc.contents;
  if (get(root, "runs") !== undefined && get(root, "jobs") === undefined) return "github-action";
  if (get(root, "on") !== undefined || get(root, "jobs") !== undefined) return "github-workflow";
  return "gitlab-ci";
}

function isError(v: CiFile | CiAuditError): v is CiAuditError {
  return "code" in v;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

class Reader {
  readonly files: CiFile[] = [];
  readonly errors: CiAuditError[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly root: string) {}

  rel(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join("/") || path.basename(abs);
  }

  /**
   * Reads a file inside the root; `kind` undefined means classify it from its content. The file system
   * calls are synchronous on purpose: the audit reads up to thousands of small files one after another,
   * and the promise versions' thread-pool round trips cost more than the reads (a fifth of the audit).
   */
  async add(abs: string, kind: CiFileKind | undefined): Promise<CiFile | undefined> {
    const rel = this.rel(abs);
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      this.errors.push({ code: RenderErrorCode.NotFound, file: rel, message: `${rel} does not exist` });
      return undefined;
    }
    if (real !== this.root && !real.startsWith(this.root + path.sep)) {
      this.errors.push({
        code: RenderErrorCode.OutsideRepo,
        file: rel,
        message: `${rel} resolves outside ${this.root}`,
      });
      return undefined;
    }
    if (this.seen.has(real)) return undefined;
    this.seen.add(real);
    if (this.seen.size > CI_LIMITS.maxFiles) {
      this.errors.push({
        code: RenderErrorCode.TooManyFiles,
        file: rel,
        message: `more than ${CI_LIMITS.maxFiles} CI files`,
      });
      return undefined;
    }
    const info = statSync(real);
    if (!info.isFile()) {
      this.errors.push({
        code: RenderErrorCode.NotRegularFile,
        file: rel,
        message: `${rel} is not a regular file`,
      });
      return undefined;
    }
    if (info.size > CI_LIMITS.maxFileBytes) {
      this.errors.push({
        code: RenderErrorCode.FileTooLarge,
        file: rel,
        message: `${rel} is larger than ${CI_LIMITS.maxFileBytes} bytes`,
      });
      return undefined;
    }
    const text = readFileSync(real, "utf8");
    const parsed = parseCiText(text, rel, kind ?? "github-workflow");
    if (isError(parsed)) {
      this.errors.push(parsed);
      return undefined;
    }
    const file = kind === undefined ? { ...parsed, kind: classify(rel, parsed) } : parsed;
    this.files.push(file);
    if (file.kind === "gitlab-ci") await this.followIncludes(file);
    return file;
  }

  /** GitLab `include: local` (string, list, or {local: ...}); remote, project and template includes are
   *  outside the repository and reported by the rules, not read. */
  private async followIncludes(file: CiFile): Promise<void> {
    const include = get(file.doc.contents, "include");
    const locals: { value: string; line: number }[] = [];
    const lineOf = (n: unknown): number =>
      file.lineCounter.linePos((n as { range?: [number] } | undefined)?.range?.[0] ?? 0).line;
    const one = (n: ReturnType<typeof get>): void => {
      const s = str(n);
      if (s !== undefined) {
        if (!/^[a-z]+:\/\//i.test(s)) locals.push({ value: s, line: lineOf(n) });
        return;
      }
      const local = str(get(n, "local"));
      if (local !== undefined) locals.push({ value: local, line: lineOf(get(n, "local")) });
    };
    one(include);
    for (const item of items(include)) one(item);
    for (const inc of locals.slice(0, CI_LIMITS.maxIncludes)) {
      const target = inc.value.replace(/^\/+/, "");
      if (target.includes("*")) {
        await this.includeGlob(file, target, inc.line);
        continue;
      }
      const abs = path.resolve(this.root, target);
      if (abs !== this.root && !abs.startsWith(this.root + path.sep)) {
        this.errors.push({
          code: RenderErrorCode.OutsideRepo,
          file: file.file,
          line: inc.line,
          message: `${file.file}:${inc.line}: include ${inc.value} leaves the repository`,
        });
        continue;
      }
      if (!(await exists(abs))) {
        this.errors.push({
          code: RenderErrorCode.NotFound,
          file: file.file,
          line: inc.line,
          message: `${file.file}:${inc.line}: included file ${inc.value} does not exist`,
        });
        continue;
      }
      await this.add(abs, "gitlab-ci");
    }
  }

  /** `include: local: 'ci/*.yml'`: a `*` in the file name only (GitLab also allows `**`, refused here). */
  private async includeGlob(file: CiFile, target: string, line: number): Promise<void> {
    const dir = path.posix.dirname(target);
    const pattern = path.posix.basename(target);
    if (dir.includes("*")) {
      this.errors.push({
        code: RenderErrorCode.BadInput,
        file: file.file,
        line,
        message: `${file.file}:${line}: include ${target}: wildcards are followed in the file name only`,
      });
      return;
    }
    const absDir = path.resolve(this.root, dir);
    if (absDir !== this.root && !absDir.startsWith(this.root + path.sep)) {
      this.errors.push({
        code: RenderErrorCode.OutsideRepo,
        file: file.file,
        line,
        message: `${file.file}:${line}: include ${target} leaves the repository`,
      });
      return;
    }
    const names = (await readdir(absDir).catch(() => [] as string[]))
      .filter((n) => matchStar(pattern, n))
      .sort();
    for (const n of names) await this.add(path.join(absDir, n), "gitlab-ci");
  }
}

/** `*`-only glob match, linear: literal pieces are found left to right, each once. */
export function matchStar(pattern: string, name: string): boolean {
  const parts = pattern.split("*");
  const first = parts[0] ?? "";
  const last = parts[parts.length - 1] ?? "";
  if (parts.length === 1) return pattern === name;
  if (!name.startsWith(first) || name.length < first.length + last.length || !name.endsWith(last))
    return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const piece of parts.slice(1, -1)) {
    const found = name.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

async function listYaml(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => YAML_EXT.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

async function actionFiles(dir: string, depth: number): Promise<string[]> {
  if (depth > 4) return [];
  const out: string[] = [];
  const list = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const d of list.sort((a, b) => a.name.localeCompare(b.name))) {
    const abs = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...(await actionFiles(abs, depth + 1)));
    else if (d.name === "action.yml" || d.name === "action.yaml") out.push(abs);
  }
  return out;
}

/**
 * The CI files under `target`: a repository (its .github/workflows, action.yml files at the root and in
 * .github/actions, .gitlab-ci.yml and its local includes), a folder of workflow files, or one file.
 */
export async function discover(target: string): Promise<Discovered & { root: string }> {
  const absTarget = await realpath(target);
  const info = await stat(absTarget);
  const root = info.isDirectory() ? absTarget : path.dirname(absTarget);
  const reader = new Reader(root);
  if (!info.isDirectory()) {
    await reader.add(absTarget, undefined);
    return { root, files: reader.files, errors: reader.errors };
  }
  const workflows = await listYaml(path.join(root, ".github", "workflows"));
  const actions = [
    ...(await listYaml(root)).filter((f) => /^action\.ya?ml$/.test(path.basename(f))),
    ...(await actionFiles(path.join(root, ".github", "actions"), 0)),
  ];
  const gitlab = path.join(root, ".gitlab-ci.yml");
  const repoMode = workflows.length > 0 || actions.length > 0 || (await exists(gitlab));
  if (repoMode) {
    for (const f of workflows) await reader.add(f, "github-workflow");
    for (const f of actions) await reader.add(f, "github-action");
    if (await exists(gitlab)) await reader.add(gitlab, "gitlab-ci");
  } else {
    // A plain folder of CI files (a fixture set, an export): every YAML file in it, classified by content.
    for (const f of await listYaml(root)) await reader.add(f, undefined);
  }
  return { root, files: reader.files, errors: reader.errors };
}

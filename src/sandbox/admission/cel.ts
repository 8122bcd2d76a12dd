// CEL for admission: expressions of webhook matchConditions and of ValidatingAdmissionPolicies, compiled
// once per text (@bufbuild/cel) and run over the request's variables. Errors are values, never throws.
import { celEnv, isCelError, parse, plan } from "@bufbuild/cel";

type Program = (vars: Record<string, unknown>) => unknown;

const env = celEnv();
const cache = new Map<string, Program | string>();
const CACHE_LIMIT = 2000;

/** The compiled program, or the compile error's text. */
export function compile(expr: string): Program | string {
  const hit = cache.get(expr);
  if (hit !== undefined) return hit;
  let out: Program | string;
  try {
    const p = plan(env, parse(expr));
    out = (vars) => p(vars as never);
  } catch (err) {
    out = err instanceof Error ? err.message : String(err);
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(expr, out);
  return out;
}

export type Evaluated = { ok: true; value: unknown } | { ok: false; error: string };

/** Runs an expression: its value, or why it could not be evaluated (compile or runtime error). */
export function evaluate(expr: string, vars: Record<string, unknown>): Evaluated {
  const program = compile(expr);
  if (typeof program === "string") return { ok: false, error: `compilation failed: ${program}` };
  try {
    const value = program(vars);
    if (isCelError(value)) return { ok: false, error: value.message };
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** matchConditions: all true → matches; one false → skipped; an error (and none false) → the error. */
export function matchConditions(
  conditions: unknown,
  vars: Record<string, unknown>,
): { matches: boolean; error?: string } {
  let error: string | undefined;
  for (const c of Array.isArray(conditions) ? (conditions as unknown[]) : []) {
    const cond = c as { name?: unknown; expression?: unknown };
    const expr = typeof cond.expression === "string" ? cond.expression : "";
    const r = evaluate(expr, vars);
    if (!r.ok) {
      error ??= `matchCondition ${JSON.stringify(cond.name)}: ${r.error}`;
      continue;
    }
    if (r.value !== true) return { matches: false };
  }
  return error === undefined ? { matches: true } : { matches: false, error };
}

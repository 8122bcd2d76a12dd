// Custom rules in the shape of Kubernetes ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1):
// matchConstraints.resourceRules, matchConditions, variables and validations (expression, message,
// messageExpression), evaluated with @bufbuild/cel so a team's admission policies also run in CI.
import { celEnv, isCelError, parse, plan, type CelResult } from "@bufbuild/cel";
import type { Manifest } from "../render/types.js";
import { parseManifests } from "../render/parse.js";
import { RENDER_LIMITS } from "../render/types.js";
import type { Severity } from "../config/types.js";
import { asArray, field, isRecord, SEVERITIES, type Hit, type Revision, type Rule } from "./types.js";

/** The annotation on a policy that sets the severity of its findings (default high). */
export const SEVERITY_ANNOTATION = "gitward.dev/severity";

export const PolicyErrorCode = {
  /** A policy file that does not parse or is not a ValidatingAdmissionPolicy. */
  BadPolicy: "BAD_POLICY",
  /** A CEL expression that does not compile. */
  BadExpression: "BAD_EXPRESSION",
} as const;
export type PolicyErrorCode = (typeof PolicyErrorCode)[keyof typeof PolicyErrorCode];

export interface PolicyError {
  readonly code: PolicyErrorCode;
  readonly message: string;
}

type Program = (ctx: Record<string, unknown>) => CelResult;

interface ResourceRule {
  readonly apiGroups: string[];
  readonly apiVersions: string[];
  readonly resources: string[];
  readonly resourceNames: string[];
}

interface CompiledPolicy {
  readonly name: string;
  readonly file: string;
  readonly severity: Severity;
  readonly failurePolicy: "Fail" | "Ignore";
  readonly resourceRules: ResourceRule[];
  readonly excludeRules: ResourceRule[];
  readonly matchConditions: { name: string; program: Program }[];
  readonly variables: { name: string; program: Program }[];
  readonly validations: {
    expression: string;
    program: Program;
    message?: string;
    messageProgram?: Program;
  }[];
}

// Kinds whose resource name is not the lower-case plural of the kind.
const IRREGULAR: Record<string, string> = {
  Endpoints: "endpoints",
  NetworkPolicy: "networkpolicies",
  PodSecurityPolicy: "podsecuritypolicies",
  Ingress: "ingresses",
  IngressClass: "ingressclasses",
  StorageClass: "storageclasses",
  PriorityClass: "priorityclasses",
  RuntimeClass: "runtimeclasses",
  ValidatingAdmissionPolicy: "validatingadmissionpolicies",
};

/** The resource (plural) name of a kind, as RBAC and admission rules spell it. */
export function resourceOf(kind: string): string {
  const known = IRREGULAR[kind];
  if (known !== undefined) return known;
  const k = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function matchesRule(m: Manifest, r: ResourceRule): boolean {
  const { group, version } = splitApiVersion(m.apiVersion);
  const resource = resourceOf(m.kind);
  const any = (list: string[], v: string): boolean => list.includes("*") || list.includes(v);
  return (
    any(r.apiGroups, group) &&
    any(r.apiVersions, version) &&
    // "deployments/scale" names a subresource; gitward checks whole objects only.
    r.resources.some((x) => x === "*" || x === resource || x === `${resource}/*`) &&
    (r.resourceNames.length === 0 || r.resourceNames.includes(m.name))
  );
}

function resourceRules(v: unknown): ResourceRule[] {
  return asArray(v).flatMap((r) =>
    isRecord(r)
      ? [
          {
            apiGroups: asArray(r["apiGroups"]).map(String),
            apiVersions: r["apiVersions"] === undefined ? ["*"] : asArray(r["apiVersions"]).map(String),
            resources: asArray(r["resources"]).map(String),
            resourceNames: asArray(r["resourceNames"]).map(String),
          },
        ]
      : [],
  );
}

const ENV = celEnv();

function compile(expr: string, where: string, errors: PolicyError[]): Program | undefined {
  try {
    const p = plan(ENV, parse(expr));
    return (ctx) => p(ctx as never);
  } catch (err) {
    errors.push({
      code: PolicyErrorCode.BadExpression,
      message: `${where}: CEL expression does not compile: ${err instanceof Error ? err.message : String(err)}`,
    });
    return undefined;
  }
}

export interface LoadedPolicies {
  readonly rules: Rule[];
  readonly errors: PolicyError[];
}

/** Compiles the ValidatingAdmissionPolicy documents of one file's text into rules. Bindings are ignored. */
export function loadPolicies(text: string, file: string): LoadedPolicies {
  const errors: PolicyError[] = [];
  const parsed = parseManifests(text, file, RENDER_LIMITS);
  for (const e of parsed.errors) errors.push({ code: PolicyErrorCode.BadPolicy, message: e.message });
  const rules: Rule[] = [];
  for (const m of parsed.manifests) {
    if (m.kind === "ValidatingAdmissionPolicyBinding") continue;
    if (m.kind !== "ValidatingAdmissionPolicy" || !m.apiVersion.startsWith("admissionregistration.k8s.io/")) {
      errors.push({
        code: PolicyErrorCode.BadPolicy,
        message: `${file}:${m.origin.line}: ${m.kind} ${m.name} is not a ValidatingAdmissionPolicy (admissionregistration.k8s.io)`,
      });
      continue;
    }
    const c = compilePolicy(m, file, errors);
    if (c !== undefined) rules.push(ruleOf(c));
  }
  return { rules, errors };
}

function compilePolicy(m: Manifest, file: string, errors: PolicyError[]): CompiledPolicy | undefined {
  const where = `${file}:${m.origin.line} (${m.name})`;
  const spec = m.object["spec"];
  if (!isRecord(spec)) {
    errors.push({ code: PolicyErrorCode.BadPolicy, message: `${where}: spec is missing` });
    return undefined;
  }
  const before = errors.length;
  const named = (key: string): { name: string; program: Program }[] =>
    asArray(spec[key]).flatMap((v, i) => {
      const expr = field(v, "expression");
      const name = field(v, "name");
      if (typeof expr !== "string" || typeof name !== "string") {
        errors.push({
          code: PolicyErrorCode.BadPolicy,
          message: `${where}: ${key}[${i}] needs a name and an expression`,
        });
        return [];
      }
      const program = compile(expr, `${where} ${key}[${i}]`, errors);
      return program === undefined ? [] : [{ name, program }];
    });
  const matchConditions = named("matchConditions");
  const variables = named("variables");
  const validations = asArray(spec["validations"]).flatMap((v, i) => {
    const expression = field(v, "expression");
    if (typeof expression !== "string") {
      errors.push({
        code: PolicyErrorCode.BadPolicy,
        message: `${where}: validations[${i}] has no expression`,
      });
      return [];
    }
    const program = compile(expression, `${where} validations[${i}]`, errors);
    const message = field(v, "message");
    const me = field(v, "messageExpression");
    const messageProgram =
      typeof me === "string"
        ? compile(me, `${where} validations[${i}].messageExpression`, errors)
        : undefined;
    return program === undefined
      ? []
      : [
          {
            expression,
            program,
            ...(typeof message === "string" ? { message } : {}),
            ...(messageProgram === undefined ? {} : { messageProgram }),
          },
        ];
  });
  if (errors.length > before) return undefined;
  const sev = field(m.object, "metadata", "annotations", SEVERITY_ANNOTATION);
  return {
    name: m.name,
    file,
    severity: SEVERITIES.includes(sev as Severity) ? (sev as Severity) : "high",
    failurePolicy: spec["failurePolicy"] === "Ignore" ? "Ignore" : "Fail",
    resourceRules: resourceRules(field(spec, "matchConstraints", "resourceRules")),
    excludeRules: resourceRules(field(spec, "matchConstraints", "excludeResourceRules")),
    matchConditions,
    variables,
    validations,
  };
}

/** What the admission request would be if gitward applied the object: a CREATE by gitward. */
function requestOf(m: Manifest): Record<string, unknown> {
  const { group, version } = splitApiVersion(m.apiVersion);
  return {
    kind: { group, version, kind: m.kind },
    resource: { group, version, resource: resourceOf(m.kind) },
    name: m.name,
    namespace: m.namespace ?? "",
    operation: "CREATE",
    userInfo: {
      username: "system:serviceaccount:gitward-system:gitward",
      groups: ["system:serviceaccounts"],
    },
    dryRun: true,
  };
}

function ruleOf(p: CompiledPolicy): Rule {
  return {
    id: `vap/${p.name}`,
    severity: p.severity,
    title: `ValidatingAdmissionPolicy ${p.name} (${p.file})`,
    remediation: `Change the object so that it satisfies policy ${p.name} (${p.file}), or exempt it with a reason.`,
    check: function* (rev): Iterable<Hit> {
      for (const m of rev.manifests) {
        if (!p.resourceRules.some((r) => matchesRule(m, r)) || p.excludeRules.some((r) => matchesRule(m, r)))
          continue;
        const ns =
          rev.admission?.namespaceObject === undefined
            ? namespaceObject(rev, m)
            : rev.admission.namespaceObject;
        yield* evaluate(p, m, ns, rev.admission);
      }
    },
  };
}

/**
 * The `namespaceObject` admission would bind: the Namespace of the revision if it ships one, else a bare
 * Namespace of that name (labels unknown to a CI run), null for objects without a namespace.
 */
function namespaceObject(rev: Revision, m: Manifest): Record<string, unknown> | null {
  const ns = m.namespace ?? rev.destinationNamespace;
  if (ns === undefined || m.kind === "Namespace") return null;
  const shipped = rev.manifests.find((o) => o.kind === "Namespace" && o.apiVersion === "v1" && o.name === ns);
  return (
    shipped?.object ?? {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns, labels: {}, annotations: {} },
    }
  );
}

function* evaluate(
  p: CompiledPolicy,
  m: Manifest,
  nsObject: Readonly<Record<string, unknown>> | null,
  admission: Revision["admission"],
): Iterable<Hit> {
  const vars: Record<string, unknown> = {};
  const ctx: Record<string, unknown> = {
    object: m.object,
    oldObject: admission?.oldObject ?? null,
    request: admission?.request ?? requestOf(m),
    params: null,
    namespaceObject: nsObject,
    variables: vars,
  };
  const failed = (what: string, err: unknown): Hit | undefined =>
    p.failurePolicy === "Ignore"
      ? undefined
      : {
          manifest: m,
          message: `policy ${p.name}: ${what} could not be evaluated (${err instanceof Error ? err.message : String(err)}); failurePolicy is Fail`,
        };
  for (const mc of p.matchConditions) {
    const r = mc.program(ctx);
    if (isCelError(r)) {
      const h = failed(`matchCondition ${mc.name}`, r);
      if (h !== undefined) yield h;
      return;
    }
    if (r !== true) return;
  }
  // Kubernetes evaluates variables lazily; evaluating them in order gives the same values, since a variable
  // may only use the ones before it.
  for (const v of p.variables) {
    const r = v.program(ctx);
    if (isCelError(r)) {
      const h = failed(`variable ${v.name}`, r);
      if (h !== undefined) yield h;
      return;
    }
    vars[v.name] = r;
  }
  for (const val of p.validations) {
    const r = val.program(ctx);
    if (isCelError(r)) {
      const h = failed(`expression "${val.expression}"`, r);
      if (h !== undefined) yield h;
      continue;
    }
    if (r === true) continue;
    let message = val.message ?? `failed expression: ${val.expression}`;
    if (val.messageProgram !== undefined) {
      const mr = val.messageProgram(ctx);
      if (typeof mr === "string" && mr !== "" && !mr.includes("\n")) message = mr;
    }
    yield { manifest: m, message };
  }
}

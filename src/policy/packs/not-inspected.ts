// Objects that deploy other objects gitward does not render: Flux HelmRelease and Kustomization, Argo CD
// Application and ApplicationSet. Their workloads are rendered by those controllers from other sources, so
// a pass here says nothing about them; this rule says so, per object, instead of passing in silence.
import type { Manifest } from "../../render/types.js";
import type { Rule } from "../types.js";
import { asArray, field, show } from "../types.js";

interface Deployer {
  readonly group: string;
  readonly kind: string;
  /** What the object deploys, from its spec, for the message. */
  readonly describe: (m: Manifest) => string;
}

function ref(v: unknown): string {
  const kind = field(v, "kind");
  const name = field(v, "name");
  return typeof name === "string"
    ? `${typeof kind === "string" ? `${kind} ` : ""}${name}`
    : "an unnamed source";
}

function argoSource(s: unknown): string {
  const repo = field(s, "repoURL");
  const where = field(s, "chart") ?? field(s, "path");
  return `${show(repo)}${where === undefined ? "" : ` (${show(where)})`}`;
}

const DEPLOYERS: readonly Deployer[] = [
  {
    group: "helm.toolkit.fluxcd.io",
    kind: "HelmRelease",
    describe: (m) => {
      const chart = field(m.object, "spec", "chart", "spec");
      if (chart !== undefined)
        return `installs chart ${show(field(chart, "chart"))} from ${ref(field(chart, "sourceRef"))}`;
      return `installs the chart of ${ref(field(m.object, "spec", "chartRef"))}`;
    },
  },
  {
    group: "kustomize.toolkit.fluxcd.io",
    kind: "Kustomization",
    describe: (m) =>
      `applies path ${show(field(m.object, "spec", "path") ?? "./")} of ${ref(field(m.object, "spec", "sourceRef"))}`,
  },
  {
    group: "argoproj.io",
    kind: "Application",
    describe: (m) => {
      const sources = asArray(field(m.object, "spec", "sources"));
      const list = sources.length > 0 ? sources : [field(m.object, "spec", "source")];
      return `deploys ${list.map(argoSource).join(", ")}`;
    },
  },
  {
    group: "argoproj.io",
    kind: "ApplicationSet",
    describe: () => "generates Argo CD Applications from its generators",
  },
];

function deployerOf(m: Manifest): Deployer | undefined {
  const group = m.apiVersion.split("/")[0];
  return DEPLOYERS.find((d) => d.kind === m.kind && d.group === group && m.apiVersion.includes("/"));
}

export const notInspected: Rule = {
  id: "policy/not-inspected",
  severity: "low",
  title: "Flux and Argo CD objects that deploy other sources are reported as not inspected",
  remediation:
    "Check what they deploy where it is rendered: run gitward check on that path or chart (--render kustomize or helm); " +
    "exempt this rule on the object with the reason once that is done.",
  check: function* (rev) {
    for (const m of rev.manifests) {
      const d = deployerOf(m);
      if (d === undefined) continue;
      yield {
        manifest: m,
        path: "/spec",
        message: `${m.kind} ${m.name} ${d.describe(m)}; gitward does not render it, so the objects it deploys were not checked`,
      };
    }
  },
};

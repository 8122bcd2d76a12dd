// Images leaving CI: pushes of mutable tags (latest, branch-like tags) that anyone with push access can
// move later, and pushes from a workflow that neither signs the image nor attests its provenance, so the
// cluster has nothing to verify it by.
import { jobs, linesOf, usesAction, type Job } from "../model.js";
import { get, pos, posIn, str, type YNode } from "../nav.js";
import { subcommands, words } from "../shell.js";
import type { CiFile, CiRule, Position, RawFinding } from "../types.js";

const MUTABLE_TAGS = new Set([
  "latest",
  "edge",
  "nightly",
  "main",
  "master",
  "dev",
  "develop",
  "stable",
  "unstable",
]);
const PUSH_ACTIONS = [
  "docker/build-push-action",
  "docker/bake-action",
  "redhat-actions/push-to-registry",
  "mr-smithers-excellent/docker-build-push",
  "elgohr/publish-docker-github-action",
];
// Signing or provenance anywhere in the file: cosign, notation, GitHub attestations, SLSA generators,
// buildx provenance attestations.
const SIGNS =
  /\bcosign\b|sigstore\/|attest-build-provenance|actions\/attest\b|slsa-github-generator|slsa-framework|notation\s+sign|docker\s+trust\s+sign|gh\s+attestation|provenance:\s*['"]?(?:true|mode=max)|--provenance|--attest\b|\bsign:\s*true/i;

/** The tag a reference ends with, or "" for none (`img` alone pushes latest). Undefined for refs built
 *  from variables, whose tag is not known from the file. */
export function tagOf(ref: string): string | undefined {
  const clean = ref.replace(/^["']|["']$/g, "");
  if (clean.includes("@sha256:")) return undefined;
  const lastSlash = clean.lastIndexOf("/");
  const colon = clean.indexOf(":", lastSlash + 1);
  const tag = colon < 0 ? "" : clean.slice(colon + 1);
  if (/[$]/.test(tag) || (tag === "" && clean.includes("$"))) return undefined;
  return tag;
}

function mutable(ref: string): boolean {
  const tag = tagOf(ref);
  return (
    tag !== undefined &&
    (tag === "" ? !ref.includes("$") && ref.length > 0 : MUTABLE_TAGS.has(tag.toLowerCase()))
  );
}

interface Push {
  readonly at: Position;
  readonly job: string;
  readonly refs: readonly string[];
  /** Whether the refs are known (literal), so a mutable tag among them can be named. */
  readonly what: string;
}

function truthy(node: YNode): boolean {
  const v = str(node);
  return v !== undefined && v !== "false" && v !== "";
}

/** Every image push of a job: push actions with push: true, docker/podman/buildah push, buildx --push,
 *  kaniko --destination, ko. */
export function pushesOf(file: CiFile, job: Job): readonly Push[] {
  let cached = pushCache.get(job);
  if (cached === undefined) {
    cached = readPushes(file, job);
    pushCache.set(job, cached);
  }
  return cached;
}

// Two rules read the pushes of the same job; jobs are cached per file, so this is keyed on the job.
const pushCache = new WeakMap<Job, readonly Push[]>();

function readPushes(file: CiFile, job: Job): Push[] {
  const out: Push[] = [];
  for (const step of job.steps) {
    if (step.uses === undefined || !usesAction(step, ...PUSH_ACTIONS)) continue;
    const isBuildPush = usesAction(step, "docker/build-push-action", "docker/bake-action");
    if (isBuildPush && !truthy(get(step.with, "push"))) continue;
    const tags = (str(get(step.with, "tags")) ?? "")
      .split(/[\n,]/)
      .map((t) => t.trim())
      .filter((t) => t !== "");
    out.push({ at: pos(file, step.uses.node), job: job.id, refs: tags, what: step.uses.value });
  }
  for (const script of job.scripts) {
    for (const line of linesOf(script)) {
      for (const tool of ["docker", "podman", "buildah"]) {
        for (const sub of subcommands(line, tool, new Set(["--config", "-H", "--host", "--context"]))) {
          if (sub[0] === "push" || (sub[0] === "image" && sub[1] === "push")) {
            const ref = sub[0] === "push" ? sub[1] : sub[2];
            out.push({
              at: posIn(file, script.node, line),
              job: job.id,
              refs: ref === undefined ? [] : [ref],
              what: `${tool} push`,
            });
          }
        }
      }
      const buildxPush =
        /\bbuildx\s+(?:build|bake)\b/.test(line) && /--push\b|--output[= ]\S*push=true/.test(line);
      const kaniko =
        /\bkaniko\b|\/kaniko\/executor/.test(line) &&
        line.includes("--destination") &&
        !line.includes("--no-push");
      if (buildxPush || kaniko) {
        const ws = words(line);
        const refs: string[] = [];
        for (let i = 0; i < ws.length; i++) {
          const w = ws[i] ?? "";
          if (w === "-t" || w === "--tag" || w === "--destination" || w === "-d") refs.push(ws[i + 1] ?? "");
          else if (w.startsWith("--tag=") || w.startsWith("--destination="))
            refs.push(w.slice(w.indexOf("=") + 1));
        }
        out.push({
          at: posIn(file, script.node, line),
          job: job.id,
          refs,
          what: buildxPush ? "docker buildx --push" : "kaniko",
        });
      }
      if (/\bko\s+(?:build|publish|resolve|apply)\b/.test(line) && !line.includes("--push=false")) {
        out.push({ at: posIn(file, script.node, line), job: job.id, refs: [], what: "ko" });
      }
    }
  }
  return out;
}

function mutableTagPushes(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  for (const job of jobs(file)) {
    for (const push of pushesOf(file, job)) {
      const bad = push.refs.filter(mutable);
      if (bad.length > 0) {
        out.push({
          at: push.at,
          message: `job ${push.job}: ${push.what} pushes the mutable tag ${bad.map((r) => JSON.stringify(r)).join(", ")}`,
        });
      }
    }
  }
  return out;
}

function unsignedPushes(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  for (const job of jobs(file)) {
    const first = pushesOf(file, job)[0];
    if (first !== undefined) {
      out.push({
        at: first.at,
        message: `job ${job.id}: ${first.what} pushes an image, but nothing in this file signs it or attests its provenance`,
      });
    }
  }
  // The search for signing runs over the whole text; most files push nothing, so it runs only for those that do.
  return out.length > 0 && SIGNS.test(file.text) ? [] : out;
}

export const imageRules: CiRule[] = [
  {
    id: "ci/mutable-tag-push",
    severity: "high",
    title: "Pushes an image under a mutable tag",
    explanation:
      "The pipeline pushes `latest` (or an image with no tag, which is `latest`), or a branch-like tag such as " +
      "`main`, `edge`, `nightly`. A tag can be moved by anyone with push access to the registry, so the image a " +
      "tag names today is not the one it names tomorrow, and a deploy by tag cannot be verified or reproduced.",
    fix:
      "Push immutable tags (the commit SHA or a release version) and deploy by digest (`gitward images pin`); " +
      "enable tag immutability in the registry where it offers it.",
    peers: [],
    kinds: ["github-workflow", "github-action", "gitlab-ci"],
    check: mutableTagPushes,
  },
  {
    id: "ci/image-unsigned",
    severity: "medium",
    title: "Pushes an image without signature or provenance",
    explanation:
      "The workflow pushes an image but nothing in it signs the image (cosign, notation) or attests how it was " +
      "built (GitHub artifact attestations, SLSA provenance, buildx --provenance). Without them the cluster " +
      "cannot tell the image CI built from one pushed by anyone else holding the registry credentials.",
    fix:
      "Sign the pushed digest (`cosign sign --yes IMAGE@DIGEST` with keyless OIDC, or a key) and attest " +
      "provenance (actions/attest-build-provenance); require both in the TrustPolicy's images section.",
    peers: [],
    kinds: ["github-workflow", "github-action", "gitlab-ci"],
    check: unsignedPushes,
  },
];

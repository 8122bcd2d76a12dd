// The gates of a reconcile, all before the first write: source (fetch, rollback pin), verify (commit
// signatures against the TrustPolicy), render, and check (policy, images and their signatures,
// vulnerabilities, scope and sealed secrets). Each refuses the revision with a reason, or lets it pass.
import path from "node:path";
import { readConfigText } from "../config/load.js";
import { RegistryClient } from "../images/client.js";
import { checkRevision, failsAt } from "../policy/check.js";
import { imageFailureReason } from "../policy/image-trust.js";
import { resolveTools } from "../render/tool.js";
import { fetchSource, type FetchedSource } from "../source/fetch.js";
import { isAncestor } from "../source/walk.js";
import { verifyCommitRange } from "../trust/commit/range.js";
import { imagesOf, pinVerified } from "../trust/image/pin.js";
import { verifyImages } from "../trust/image/verify.js";
import { vulnerabilityRefusal } from "../vuln/reconcile-gate.js";
import { activePin, pinVerifyFrom } from "../day2/app-control.js";
import { checkoutCommit } from "./checkout.js";
import { prepareDesired } from "./desired.js";
import { clusterScopes, renderRevision, renderSettingsOf } from "./pipeline.js";
import { CODE_PATTERN, emptyFindings, refuse, short, signerOf, type Run } from "./reconcile-run.js";
import { cacheKey } from "./revision-cache.js";
import { ConditionType, type Step } from "./steps.js";

export const source: Step<Run> = {
  name: "source",
  async run(run) {
    const { spec } = run.app;
    const r = await fetchSource({
      url: spec.source.url,
      ref: spec.source.ref,
      cacheDir: run.env.cacheDir,
      ...(run.env.credentials === undefined ? {} : { credentials: run.env.credentials }),
    });
    if (!r.ok)
      return refuse(
        ConditionType.Ready,
        `SOURCE_${r.error.code}`,
        `fetching the source failed: ${r.error.message}`,
      );
    run.fetched = r.source;
    const pin = activePin(run.app, r.source.head);
    if (pin === undefined) return undefined;
    // A pinned revision must be in the history of the head it was pinned under: nothing else is applied.
    const known = await isAncestor(r.source.dir, pin.revision, r.source.head).catch(() => false);
    if (!known) {
      return refuse(
        ConditionType.Verified,
        "ROLLBACK_NOT_IN_HISTORY",
        `rollback revision ${short(pin.revision)} is not in the history of ${short(r.source.head)}; nothing was applied (run \`gitward resume\` to clear the pin)`,
      );
    }
    run.pin = pin;
    const { tagObject: _tag, ...rest } = r.source;
    run.fetched = { ...rest, head: pin.revision };
    return undefined;
  },
};

export const verify: Step<Run> = {
  name: "verify",
  async run(run) {
    const fetched = run.fetched as FetchedSource;
    const from =
      run.pin === undefined
        ? run.previous?.status.lastAppliedRevision
        : pinVerifyFrom(run.pin, run.previous?.status);
    const verdict = await verifyCommitRange({
      repoDir: fetched.dir,
      to: fetched.head,
      // No commits section (a TrustPolicy written for images only): no signer is trusted, so every
      // commit is refused, fail closed. gitward.yaml refuses such a reference at load already.
      policy: run.trust.spec.commits ?? { signers: [] },
      ...(from === undefined ? {} : { from }),
      ...(fetched.tagObject === undefined ? {} : { tagObject: fetched.tagObject }),
      ...(run.env.now === undefined ? {} : { now: run.env.now() }),
    });
    run.verdict = verdict;
    if (verdict.trusted) return undefined;
    const details: string[] = [];
    const codes = new Set<string>();
    for (const f of verdict.findings) {
      codes.add(f.code);
      details.push(`${f.code}: ${f.message}`);
    }
    for (const c of verdict.commits) {
      if (c.trusted) continue;
      for (const f of c.findings) {
        codes.add(f.code);
        details.push(`commit ${short(c.commit)} "${c.subject}": ${f.code}: ${f.message}`);
      }
    }
    for (const f of verdict.tag?.findings ?? []) {
      codes.add(f.code);
      details.push(`tag ${verdict.tag?.name ?? ""}: ${f.code}: ${f.message}`);
    }
    const reason = [...codes][0] ?? "UNTRUSTED";
    run.findings = {
      ...emptyFindings(),
      total: details.length,
      codes: [...codes].filter((c) => CODE_PATTERN.test(c)),
    };
    return refuse(
      ConditionType.Verified,
      reason,
      `revision ${short(fetched.head)} is not trusted (${reason}); nothing of it was applied, the last applied revision stays`,
      details,
    );
  },
  marks(run) {
    const n = run.verdict?.commits.length ?? 0;
    const signer = signerOf(run);
    return {
      condition: ConditionType.Verified,
      reason: "Trusted",
      message: `${n} new commit(s) verified${signer === undefined ? "" : `; head signed by ${signer}`}`,
    };
  },
};

export const renderStep: Step<Run> = {
  name: "render",
  async run(run) {
    const fetched = run.fetched as FetchedSource;
    const cached = run.env.revisionCache?.get(run.id, cacheKey(run));
    if (cached !== undefined) {
      run.manifests = cached.manifests;
      run.desired = cached.desired;
      run.findings = cached.findings;
      run.fromCache = true;
      return undefined;
    }
    const co = await checkoutCommit(fetched.dir, fetched.head, run.env.workDir);
    run.removeCheckout = () => co.remove();
    run.repoDir = co.dir;
    const r = await renderRevision({
      repoRoot: co.dir,
      settings: renderSettingsOf(run.app),
      namespace: run.app.spec.destination.namespace,
      tools: run.env.tools ?? resolveTools(),
    });
    if (!r.ok) {
      const details = r.errors.map(
        (e) =>
          `${e.file === undefined ? "" : `${e.file}${e.line === undefined ? "" : `:${e.line}`}: `}${e.code}: ${e.message}`,
      );
      run.findings = {
        ...emptyFindings(),
        total: r.errors.length,
        codes: [...new Set(r.errors.map((e) => e.code))],
      };
      return refuse(
        ConditionType.PolicyPassed,
        "RENDER_FAILED",
        `rendering revision ${short(fetched.head)} failed: ${r.errors[0]?.message ?? ""}`,
        details,
      );
    }
    run.manifests = r.manifests;
    return undefined;
  },
};

async function customPolicies(run: Run): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const p of run.trust.spec.policy?.custom ?? []) {
    const file = path.resolve(run.env.configDir ?? ".", p);
    out.push({ file: p, text: await readConfigText(file, "policy file") });
  }
  return out;
}

export const check: Step<Run> = {
  name: "check",
  async run(run) {
    if (run.fromCache === true) return undefined;
    const head = short((run.fetched as FetchedSource).head);
    let manifests = run.manifests ?? [];
    const allPinned = manifests.every((m) => imagesOf(m.object).every((i) => i.includes("@sha256:")));
    const policy = run.trust.spec.policy;
    const report = await checkRevision({
      manifests,
      ...(run.repoDir === undefined ? {} : { repoRoot: run.repoDir }),
      // Only this Application's files: a secret elsewhere in the repository is another one's finding.
      scanPath: run.app.spec.source.path ?? ".",
      ...(policy?.packs === undefined ? {} : { packs: policy.packs }),
      customPolicies: await customPolicies(run),
      ...(run.trust.spec.images === undefined ? {} : { imagePolicy: run.trust.spec.images }),
      destinationNamespace: run.app.spec.destination.namespace,
    });
    run.findings = {
      total: report.summary.findings,
      bySeverity: { ...report.summary.bySeverity },
      codes: [...new Set(report.findings.map((f) => f.ruleId))]
        .filter((c) => CODE_PATTERN.test(c))
        .slice(0, 100),
    };
    if (failsAt(report, policy?.failOn ?? "high")) {
      const details = [
        ...report.errors.map((e) => `${e.code}: ${e.message}`),
        ...report.findings.map(
          (f) =>
            `${f.origin.file}:${f.origin.line}: ${f.severity} ${f.ruleId}: ${f.message}${f.remediation === "" ? "" : ` (${f.remediation})`}`,
        ),
      ];
      const rank = { low: 0, medium: 1, high: 2, critical: 3 } as const;
      const first = [...report.findings].sort((a, b) => rank[b.severity] - rank[a.severity])[0];
      return refuse(
        ConditionType.PolicyPassed,
        "POLICY_FAILED",
        `revision ${head} breaks policy${first === undefined ? "" : `: ${first.ruleId}: ${first.message}`}`,
        details,
      );
    }

    const imagePolicy = run.trust.spec.images;
    if (imagePolicy !== undefined) {
      const images = [...new Set(manifests.flatMap((m) => imagesOf(m.object)))];
      if (images.length > 0) {
        const recorded =
          run.previous?.status.lastAttemptedRevision === run.fetched?.head
            ? (run.previous?.status.images ?? {})
            : {};
        const result = await verifyImages({
          images,
          policy: imagePolicy,
          recorded,
          client: run.env.registry ?? new RegistryClient({ hosts: imagePolicy.registryOptions ?? [] }),
        });
        if (!result.ok) {
          const details = [
            ...(result.policyErrors ?? []),
            ...result.results
              .filter((r) => !r.ok)
              .map((r) => `${r.ref}: ${r.code ?? "REFUSED"}: ${imageFailureReason(r)}`),
          ];
          const code = result.results.find((r) => !r.ok)?.code ?? "IMAGE_POLICY";
          return refuse(
            ConditionType.PolicyPassed,
            code,
            `revision ${head} uses an image that is not trusted (${code})`,
            details,
          );
        }
        run.resolvedImages = result.resolved;
        const vuln = await vulnerabilityRefusal({
          policy: imagePolicy,
          verified: result.results,
          client: run.env.registry ?? new RegistryClient({ hosts: imagePolicy.registryOptions ?? [] }),
          env: run.env.vulnerabilities,
          revision: head,
          now: run.env.now?.(),
        });
        if (vuln !== undefined) {
          run.findings = {
            total: run.findings.total + vuln.blocking,
            bySeverity: run.findings.bySeverity,
            codes: [...run.findings.codes, ...vuln.codes.filter((c) => CODE_PATTERN.test(c))].slice(0, 100),
          };
          return refuse(ConditionType.PolicyPassed, vuln.reason, vuln.message, vuln.details);
        }
        manifests = pinVerified(manifests, result.results, imagePolicy.requireDigest);
      }
    }

    const prepared = await prepareDesired(manifests, {
      app: run.app,
      scopeOf: clusterScopes(run.env.cluster, manifests),
      ...(run.env.sealingKeys === undefined ? {} : { sealingKeys: run.env.sealingKeys }),
    });
    if (!prepared.ok) {
      const reason = prepared.problems[0]?.code ?? "OUT_OF_SCOPE";
      return refuse(
        ConditionType.PolicyPassed,
        reason,
        `revision ${head} was refused: ${prepared.problems[0]?.message ?? ""}`,
        prepared.problems.map((p) => `${p.code}: ${p.message}`),
      );
    }
    run.desired = prepared.objects;
    if (run.env.revisionCache !== undefined && (imagePolicy === undefined || allPinned)) {
      run.env.revisionCache.set(run.id, {
        key: cacheKey(run),
        manifests: run.manifests ?? [],
        desired: prepared.objects,
        findings: run.findings,
      });
    }
    return undefined;
  },
  marks(run) {
    return {
      condition: ConditionType.PolicyPassed,
      reason: "Passed",
      message: `${run.desired?.length ?? 0} object(s) passed policy with ${run.findings.total} finding(s) below the threshold`,
    };
  },
};

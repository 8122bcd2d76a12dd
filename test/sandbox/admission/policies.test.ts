// ValidatingAdmissionPolicy + Binding in the sandbox, with a real kubectl: Deny refuses with kube-apiserver's
// message, Warn lets the write through with a Warning kubectl prints, Audit only lets it through; params,
// oldObject, request and namespaceObject reach CEL; failurePolicy decides evaluation errors.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { call, withSandbox } from "../helpers.js";

const ctx = withSandbox();
const ARG = "/apis/admissionregistration.k8s.io/v1";

beforeAll(async () => {
  await call(ctx.sb, "POST", "/api/v1/namespaces", {
    body: { metadata: { name: "p", labels: { tier: "prod" } } },
  });
});
afterEach(async () => {
  await call(ctx.sb, "DELETE", `${ARG}/validatingadmissionpolicybindings`);
  await call(ctx.sb, "DELETE", `${ARG}/validatingadmissionpolicies`);
});

const deployments = {
  operations: ["CREATE", "UPDATE"],
  apiGroups: ["apps"],
  apiVersions: ["v1"],
  resources: ["deployments"],
};

async function policy(name: string, spec: Record<string, unknown>): Promise<void> {
  const r = await call(ctx.sb, "POST", `${ARG}/validatingadmissionpolicies`, {
    body: {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name },
      spec: { matchConstraints: { resourceRules: [deployments] }, ...spec },
    },
  });
  expect(r.status, r.text).toBe(201);
}

async function bind(
  name: string,
  policyName: string,
  actions: string[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  const r = await call(ctx.sb, "POST", `${ARG}/validatingadmissionpolicybindings`, {
    body: {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name },
      spec: { policyName, validationActions: actions, ...extra },
    },
  });
  expect(r.status, r.text).toBe(201);
}

const maxReplicas = {
  validations: [
    {
      expression: "object.spec.replicas <= 5",
      messageExpression: "'replicas ' + string(object.spec.replicas) + ' is more than 5'",
    },
  ],
};

describe("ValidatingAdmissionPolicy with kubectl", () => {
  it("Deny refuses with the policy's message; a passing object is stored", async () => {
    await policy("max-replicas", maxReplicas);
    await bind("max-replicas-deny", "max-replicas", ["Deny"]);
    const r = await ctx.k.run(["create", "deployment", "big", "--image=nginx", "--replicas=9", "-n", "p"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `deployments.apps "big" is forbidden: ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-deny' denied request: replicas 9 is more than 5`,
    );
    expect((await call(ctx.sb, "GET", "/apis/apps/v1/namespaces/p/deployments/big")).status).toBe(404);
    const ok = await ctx.k.run(["create", "deployment", "small", "--image=nginx", "--replicas=2", "-n", "p"]);
    expect(ok.code, ok.stderr).toBe(0);
    // A patch is an UPDATE and judged by the object it would store.
    const patch = await ctx.k.run([
      "patch",
      "deployment",
      "small",
      "-n",
      "p",
      "-p",
      '{"spec":{"replicas":6}}',
    ]);
    expect(patch.stderr).toContain("replicas 6 is more than 5");
  });

  it("Warn lets the write through with a warning kubectl prints; Audit lets it through silently", async () => {
    await policy("max-replicas", maxReplicas);
    await bind("max-replicas-warn", "max-replicas", ["Warn"]);
    const r = await ctx.k.run(["create", "deployment", "warned", "--image=nginx", "--replicas=7", "-n", "p"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "Warning: Validation failed for ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-warn': replicas 7 is more than 5",
    );
    await call(ctx.sb, "DELETE", `${ARG}/validatingadmissionpolicybindings/max-replicas-warn`);
    await bind("max-replicas-audit", "max-replicas", ["Audit"]);
    const audited = await ctx.k.run([
      "create",
      "deployment",
      "audited",
      "--image=nginx",
      "--replicas=7",
      "-n",
      "p",
    ]);
    expect([audited.code, audited.stderr]).toEqual([0, ""]);
  });

  it("params from a ConfigMap, namespaceObject, request and oldObject reach the expressions", async () => {
    await call(ctx.sb, "POST", "/api/v1/namespaces/p/configmaps", {
      body: { metadata: { name: "limits" }, data: { max: "3" } },
    });
    await policy("limits", {
      paramKind: { apiVersion: "v1", kind: "ConfigMap" },
      matchConditions: [
        {
          name: "prod-only",
          expression:
            "'tier' in namespaceObject.metadata.labels && namespaceObject.metadata.labels['tier'] == 'prod'",
        },
      ],
      validations: [
        {
          expression: "object.spec.replicas <= int(params.data.max)",
          message: "too many replicas for this namespace",
        },
        {
          expression:
            "request.operation != 'UPDATE' || object.metadata.labels['app'] == oldObject.metadata.labels['app']",
          message: "the app label is immutable",
        },
      ],
    });
    await bind("limits", "limits", ["Deny"], {
      paramRef: { name: "limits", namespace: "p", parameterNotFoundAction: "Deny" },
    });
    expect(
      (await ctx.k.run(["create", "deployment", "four", "--image=nginx", "--replicas=4", "-n", "p"])).stderr,
    ).toContain("denied request: too many replicas for this namespace");
    expect(
      (await ctx.k.run(["create", "deployment", "four", "--image=nginx", "--replicas=4", "-n", "default"]))
        .code,
    ).toBe(0);
    expect(
      (await ctx.k.run(["create", "deployment", "three", "--image=nginx", "--replicas=3", "-n", "p"])).code,
    ).toBe(0);
    expect(
      (await ctx.k.run(["label", "deployment", "three", "app=other", "--overwrite", "-n", "p"])).stderr,
    ).toContain("the app label is immutable");
    // Without its params object the binding denies (parameterNotFoundAction Deny).
    await call(ctx.sb, "DELETE", "/api/v1/namespaces/p/configmaps/limits");
    expect(
      (await ctx.k.run(["create", "deployment", "one", "--image=nginx", "--replicas=1", "-n", "p"])).stderr,
    ).toContain("no params found for policy binding with `Deny` parameterNotFoundAction");
  });

  it("an expression that fails at run time denies under Fail and is skipped under Ignore; one that does not compile is refused", async () => {
    const broken = { validations: [{ expression: "object.spec.nothing.here == 1" }] };
    await policy("broken", broken);
    await bind("broken", "broken", ["Deny"]);
    const r = await ctx.k.run(["create", "deployment", "b1", "--image=nginx", "-n", "p"]);
    expect(r.stderr).toContain(
      "ValidatingAdmissionPolicy 'broken' with binding 'broken' denied request: expression 'object.spec.nothing.here == 1' resulted in error",
    );
    await call(ctx.sb, "DELETE", `${ARG}/validatingadmissionpolicies/broken`);
    await policy("broken", { ...broken, failurePolicy: "Ignore" });
    expect((await ctx.k.run(["create", "deployment", "b1", "--image=nginx", "-n", "p"])).code).toBe(0);
    const bad = await call(ctx.sb, "POST", `${ARG}/validatingadmissionpolicies`, {
      body: {
        metadata: { name: "syntax" },
        spec: {
          matchConstraints: { resourceRules: [deployments] },
          validations: [{ expression: "object.spec.(" }],
        },
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain("spec.validations[0].expression");
    const both = await call(ctx.sb, "POST", `${ARG}/validatingadmissionpolicybindings`, {
      body: {
        metadata: { name: "both" },
        spec: { policyName: "broken", validationActions: ["Deny", "Warn"] },
      },
    });
    expect(both.status).toBe(422);
  });

  it("kubectl apply installs a policy from YAML and server-side dry runs are judged too", async () => {
    const yaml = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: pinned}
spec:
  matchConstraints:
    resourceRules:
      - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}
  validations:
    - expression: "object.spec.containers.all(c, c.image.contains('@sha256:'))"
      message: images must be pinned by digest
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: pinned}
spec: {policyName: pinned, validationActions: [Deny]}
`;
    const applied = await ctx.k.run(["apply", "-f", "-"], { input: yaml });
    expect(applied.code, applied.stderr).toBe(0);
    const r = await ctx.k.run(["run", "tag", "--image=nginx:1.27", "-n", "p", "--dry-run=server"]);
    expect(r.stderr).toContain("images must be pinned by digest");
    const ok = await ctx.k.run([
      "run",
      "digest",
      `--image=nginx@sha256:${"b".repeat(64)}`,
      "-n",
      "p",
      "--dry-run=server",
    ]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

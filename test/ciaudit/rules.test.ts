// Each CI rule against a workflow it must report and one it must accept.
import { describe, expect, it } from "vitest";
import { CI_RULES } from "../../src/ciaudit/rules/index.js";
import { findings } from "./support.js";

const wf = (on: string, job: string, top = "permissions: {}\n"): string =>
  `on: ${on}\n${top}jobs:\n  j:\n    runs-on: ubuntu-latest\n${job}`;
const steps = (...lines: string[]): string => "    steps:\n" + lines.map((l) => l + "\n").join("");

describe("every rule is documented", () => {
  it("has an id, a severity, an explanation, a fix and at least one kind", () => {
    const ids = new Set<string>();
    for (const r of CI_RULES) {
      expect(r.id).toMatch(/^ci\/[a-z-]+$/);
      expect(ids.has(r.id)).toBe(false);
      ids.add(r.id);
      expect(r.explanation.length).toBeGreaterThan(80);
      expect(r.fix.length).toBeGreaterThan(20);
      expect(r.kinds.length).toBeGreaterThan(0);
    }
  });
});

describe("ci/cluster-credentials", () => {
  const id = "ci/cluster-credentials";
  it("reports kubeconfig secrets, set-context actions and credential commands, at their line", () => {
    const text = wf(
      "push",
      steps(
        "      - uses: azure/k8s-set-context@v4",
        "        with:",
        "          kubeconfig: ${{ secrets.PROD_KUBECONFIG }}",
        "      - run: |",
        "          echo start",
        "          gcloud container clusters get-credentials prod --zone x",
        "      - run: aws eks update-kubeconfig --name prod",
        "        env:",
        "          TOKEN: ${{ secrets.K8S_TOKEN }}",
      ),
    );
    expect(findings(text, id).map((f) => f.line)).toEqual([7, 9, 12, 13, 15]);
    const gl =
      'variables:\n  KUBECONFIG: /tmp/k\ndeploy:\n  script:\n    - echo ok\n    - kubectl --kubeconfig "$KUBE_CONFIG" get pods\n';
    expect(findings(gl, id, "gitlab-ci").map((f) => f.line)).toEqual([2, 6]);
  });
  it("accepts workflows that only install kubectl or use a throw-away cluster", () => {
    const text = wf(
      "push",
      steps(
        "      - uses: azure/setup-kubectl@v4",
        "      - uses: helm/kind-action@v1",
        "      - run: kubectl get pods",
        "        env:",
        "          TOKEN: ${{ secrets.NPM_TOKEN }}",
      ),
    );
    expect(findings(text, id)).toEqual([]);
    expect(
      findings("test:\n  script:\n    - kind create cluster\n    - echo $HOME\n", id, "gitlab-ci"),
    ).toEqual([]);
  });
});

describe("ci/ci-deploy", () => {
  const id = "ci/ci-deploy";
  it("reports kubectl writes after flags, helm upgrade, argocd sync and deploy actions", () => {
    const text = wf(
      "push",
      steps(
        "      - run: |",
        "          kubectl -n prod apply -f k8s/",
        "          kubectl --context prod set image deploy/x x=y",
        "          helm upgrade --install app ./chart",
        "          argocd app sync app",
        "      - uses: azure/k8s-deploy@v5",
      ),
    );
    expect(findings(text, id).map((f) => f.line)).toEqual([8, 9, 10, 11, 12]);
    expect(
      findings("deploy:\n  script:\n    - helm -n prod install app chart\n", id, "gitlab-ci"),
    ).toHaveLength(1);
  });
  it("accepts reads, dry runs, helm template/plugin install and jobs on a kind cluster", () => {
    const text = wf(
      "push",
      steps(
        "      - run: |",
        "          kubectl get pods",
        "          kubectl apply --dry-run=client -f x",
        "          helm template x ./chart",
        "          helm plugin install https://x",
        "          helm repo add a b",
      ),
    );
    expect(findings(text, id)).toEqual([]);
    const kind = wf(
      "pull_request",
      steps("      - uses: helm/kind-action@v1", "      - run: kubectl apply -f test/"),
    );
    expect(findings(kind, id)).toEqual([]);
  });
});

describe("ci/mutable-tag-push", () => {
  const id = "ci/mutable-tag-push";
  it("reports latest, an untagged push and branch tags, in scripts and build-push-action", () => {
    const text = wf(
      "push",
      steps(
        "      - run: docker push ghcr.io/o/app:latest",
        "      - run: docker push ghcr.io/o/app",
        "      - uses: docker/build-push-action@v6",
        "        with:",
        "          push: true",
        "          tags: ghcr.io/o/app:${{ github.sha }},ghcr.io/o/app:main",
        "      - run: docker buildx build --push -t o/app:nightly .",
      ),
    );
    expect(findings(text, id).map((f) => f.line)).toEqual([7, 8, 9, 13]);
    expect(
      findings("b:\n  script:\n    - docker push $CI_REGISTRY_IMAGE:latest\n", id, "gitlab-ci"),
    ).toHaveLength(1);
    expect(
      findings(
        "b:\n  script:\n    - /kaniko/executor --destination registry.example.com/app:latest\n",
        id,
        "gitlab-ci",
      ),
    ).toHaveLength(1);
  });
  it("accepts version and SHA tags, variable tags, and builds that do not push", () => {
    const text = wf(
      "push",
      steps(
        "      - run: docker push ghcr.io/o/app:v1.2.3",
        "      - run: docker push ghcr.io/o/app:${{ github.sha }}",
        "      - uses: docker/build-push-action@v6",
        "        with:",
        "          push: false",
        "          tags: ghcr.io/o/app:latest",
      ),
    );
    expect(findings(text, id)).toEqual([]);
  });
});

describe("ci/image-unsigned", () => {
  const id = "ci/image-unsigned";
  const push = [
    "      - uses: docker/build-push-action@v6",
    "        with:",
    "          push: true",
    "          tags: ghcr.io/o/app:${{ github.sha }}",
  ];
  it("reports a push in a workflow that neither signs nor attests", () => {
    expect(findings(wf("push", steps(...push)), id).map((f) => f.line)).toEqual([7]);
  });
  it("accepts a push followed by cosign or an attestation, and a workflow that pushes nothing", () => {
    expect(
      findings(
        wf(
          "push",
          steps(...push, "      - run: cosign sign --yes ghcr.io/o/app@${{ steps.b.outputs.digest }}"),
        ),
        id,
      ),
    ).toEqual([]);
    expect(
      findings(wf("push", steps(...push, "      - uses: actions/attest-build-provenance@v2")), id),
    ).toEqual([]);
    expect(findings(wf("push", steps("      - run: docker build -t x .")), id)).toEqual([]);
  });
});

describe("ci/dangerous-trigger", () => {
  const id = "ci/dangerous-trigger";
  const checkoutHead = [
    "      - uses: actions/checkout@v4",
    "        with:",
    "          ref: ${{ github.event.pull_request.head.sha }}",
  ];
  it("reports pull_request_target and workflow_run checking out or fetching the head", () => {
    expect(findings(wf("pull_request_target", steps(...checkoutHead)), id).map((f) => f.line)).toEqual([9]);
    expect(
      findings(
        wf(
          "workflow_run",
          steps("      - run: gh pr checkout ${{ github.event.workflow_run.pull_requests[0].number }}"),
        ),
        id,
      ),
    ).toHaveLength(1);
    expect(
      findings(
        wf(
          "issue_comment",
          steps("      - run: git fetch origin pull/${{ github.event.issue.number }}/head:pr"),
        ),
        id,
      ),
    ).toHaveLength(1);
  });
  it("accepts the same checkout on pull_request, and pull_request_target checking out the base", () => {
    expect(findings(wf("pull_request", steps(...checkoutHead)), id)).toEqual([]);
    expect(
      findings(
        wf("pull_request_target", steps("      - uses: actions/checkout@v4", "      - run: echo labels")),
        id,
      ),
    ).toEqual([]);
  });
});

describe("ci/template-injection", () => {
  const id = "ci/template-injection";
  it("reports untrusted event fields in run: and github-script, and GitLab variables unquoted or eval'd", () => {
    const text = wf(
      "issues",
      steps(
        "      - run: |",
        "          echo ok",
        '          echo "${{ github.event.issue.title }}"',
        "      - uses: actions/github-script@v7",
        "        with:",
        "          script: console.log('${{ github.event.comment.body }}')",
        "      - run: echo ${{ github.head_ref }}",
      ),
    );
    expect(findings(text, id).map((f) => f.line)).toEqual([9, 12, 13]);
    const gl = findings(
      'j:\n  script:\n    - echo $CI_COMMIT_MESSAGE\n    - eval "git tag $CI_COMMIT_BRANCH"\n',
      id,
      "gitlab-ci",
    );
    expect(gl.map((f) => [f.line, f.severity])).toEqual([
      [3, "medium"],
      [4, "high"],
    ]);
  });
  it("accepts trusted contexts, values passed through env, and quoted GitLab variables", () => {
    const text = wf(
      "issues",
      "    env:\n      TITLE: ${{ github.event.issue.title }}\n" +
        steps(
          '      - run: echo "$TITLE" ${{ github.sha }} ${{ github.event.issue.number }} ${{ secrets.X }}',
        ),
    );
    expect(findings(text, id)).toEqual([]);
    expect(
      findings(
        "j:\n  script:\n    - echo \"$CI_COMMIT_MESSAGE\"\n    - echo '$CI_COMMIT_BRANCH'\n",
        id,
        "gitlab-ci",
      ),
    ).toEqual([]);
  });
});

describe("permissions", () => {
  it("ci/permissions-missing: no top-level block and a job without one; accepted with either", () => {
    const id = "ci/permissions-missing";
    expect(findings(wf("push", steps("      - run: x"), ""), id)).toHaveLength(1);
    expect(findings(wf("push", steps("      - run: x")), id)).toEqual([]);
    expect(
      findings(wf("push", "    permissions:\n      contents: read\n" + steps("      - run: x"), ""), id),
    ).toEqual([]);
  });
  it("ci/permissions-write-all: at workflow or job level; accepted for scoped writes", () => {
    const id = "ci/permissions-write-all";
    expect(
      findings(
        wf("push", "    permissions: write-all\n" + steps("      - run: x"), "permissions: write-all\n"),
        id,
      ).map((f) => f.line),
    ).toEqual([2, 6]);
    expect(
      findings(wf("push", "    permissions:\n      packages: write\n" + steps("      - run: x")), id),
    ).toEqual([]);
  });
  it("ci/id-token-unused: id-token: write with nothing using OIDC; accepted next to cosign or a cloud login", () => {
    const id = "ci/id-token-unused";
    const perms = "    permissions:\n      id-token: write\n";
    expect(findings(wf("push", perms + steps("      - run: make test")), id)).toHaveLength(1);
    expect(
      findings(wf("push", steps("      - run: make"), "permissions:\n  id-token: write\n"), id),
    ).toHaveLength(1);
    expect(findings(wf("push", perms + steps("      - uses: sigstore/cosign-installer@v3")), id)).toEqual([]);
    expect(
      findings(wf("push", perms + steps("      - uses: aws-actions/configure-aws-credentials@v4")), id),
    ).toEqual([]);
  });
  it("ci/secrets-inherit: reported for inherit, not for named secrets", () => {
    const id = "ci/secrets-inherit";
    const call = (s: string): string =>
      `on: push\npermissions: {}\njobs:\n  call:\n    uses: o/r/.github/workflows/x.yml@v1\n    secrets: ${s}\n`;
    expect(findings(call("inherit"), id).map((f) => f.line)).toEqual([6]);
    expect(findings(call("\n      TOKEN: ${{ secrets.TOKEN }}"), id)).toEqual([]);
  });
  it("ci/checkout-persist-credentials: low, medium next to an artifact upload; accepted with persist-credentials: false", () => {
    const id = "ci/checkout-persist-credentials";
    expect(
      findings(wf("push", steps("      - uses: actions/checkout@v4")), id).map((f) => f.severity),
    ).toEqual(["low"]);
    expect(
      findings(
        wf("push", steps("      - uses: actions/checkout@v4", "      - uses: actions/upload-artifact@v4")),
        id,
      ).map((f) => f.severity),
    ).toEqual(["medium"]);
    expect(
      findings(
        wf(
          "push",
          steps("      - uses: actions/checkout@v4", "        with:", "          persist-credentials: false"),
        ),
        id,
      ),
    ).toEqual([]);
  });
});

describe("pinning", () => {
  it("ci/unpinned-action: tags, branches, short SHAs, docker tags and reusable workflows", () => {
    const id = "ci/unpinned-action";
    const text =
      wf(
        "push",
        steps(
          "      - uses: actions/checkout@v4",
          "      - uses: o/a@main",
          "      - uses: o/a@11bd719",
          "      - uses: docker://alpine:3",
        ),
      ) + "  call:\n    uses: o/r/.github/workflows/x.yml@v1\n";
    expect(findings(text, id).map((f) => [f.line, f.severity])).toEqual([
      [7, "low"],
      [8, "medium"],
      [9, "medium"],
      [10, "medium"],
      [12, "medium"],
    ]);
  });
  it("ci/unpinned-action accepts full SHAs, local actions and docker digests", () => {
    const id = "ci/unpinned-action";
    const text = wf(
      "push",
      steps(
        "      - uses: o/a@11bd71901bbe5b1630ceea73d27597364c9af683 # v4",
        "      - uses: ./.github/actions/x",
        "      - uses: docker://alpine@sha256:" + "a".repeat(64),
      ),
    );
    expect(findings(text, id)).toEqual([]);
  });
  it("ci/unpinned-image: job containers, services and GitLab images by tag; digests and variables accepted", () => {
    const id = "ci/unpinned-image";
    const text = wf(
      "push",
      "    container: node:22\n    services:\n      db:\n        image: postgres:16\n" +
        steps("      - run: x"),
    );
    expect(findings(text, id).map((f) => f.line)).toEqual([6, 9]);
    expect(
      findings(
        wf("push", `    container:\n      image: node@sha256:${"b".repeat(64)}\n` + steps("      - run: x")),
        id,
      ),
    ).toEqual([]);
    const gl =
      "image: ruby:3\nj:\n  image: { name: $IMG }\n  services: [ 'redis:7', { name: 'pg@sha256:" +
      "c".repeat(64) +
      "' } ]\n  script: [x]\n";
    expect(findings(gl, id, "gitlab-ci").map((f) => f.line)).toEqual([1, 4]);
  });
});

describe("runners and caches", () => {
  it("ci/self-hosted-public: self-hosted on pull_request; accepted on push", () => {
    const id = "ci/self-hosted-public";
    const job = (on: string): string =>
      `on: ${on}\npermissions: {}\njobs:\n  j:\n    runs-on: [self-hosted, linux]\n    steps: [{ run: x }]\n`;
    expect(findings(job("[pull_request, push]"), id).map((f) => f.line)).toEqual([5]);
    expect(findings(job("push"), id)).toEqual([]);
    expect(
      findings(
        `on: pull_request\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps: [{ run: x }]\n`,
        id,
      ),
    ).toEqual([]);
  });
  it("ci/cache-poisoning: caches in release workflows and publishing jobs; accepted without cache or outside releases", () => {
    const id = "ci/cache-poisoning";
    const release = "\n  push:\n    tags: ['v*']";
    expect(
      findings(
        wf(
          release,
          steps(
            "      - uses: actions/setup-node@v4",
            "        with:",
            "          cache: npm",
            "      - run: npm ci",
          ),
        ),
        id,
      ).map((f) => f.line),
    ).toEqual([9]);
    expect(findings(wf("release", steps("      - uses: actions/setup-go@v5")), id)).toHaveLength(1);
    expect(
      findings(wf("push", steps("      - uses: actions/cache@v4", "      - run: npm publish")), id),
    ).toHaveLength(1);
    expect(
      findings(
        wf(
          release,
          steps(
            "      - uses: actions/setup-go@v5",
            "        with:",
            "          cache: false",
            "      - uses: actions/setup-node@v4",
          ),
        ),
        id,
      ),
    ).toEqual([]);
    expect(
      findings(wf("push", steps("      - uses: actions/cache@v4", "      - run: npm test")), id),
    ).toEqual([]);
  });
});

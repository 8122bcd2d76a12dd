// Pinning rewrites every pod-template image (containers, init and ephemeral containers) of Pods, workloads
// and CronJobs to the verified digest, and leaves other objects and unknown images alone.
import { describe, expect, it } from "vitest";
import { imagesOf, pinPodTemplateImages, pinnedFrom } from "../../../src/trust/image/pin.js";

const digest = `sha256:${"c".repeat(64)}`;
const pinned = pinnedFrom([
  { ref: "reg.example.com/team/app:v1", pinned: `reg.example.com/team/app:v1@${digest}`, ok: true },
  { ref: "reg.example.com/team/bad:v1", pinned: `reg.example.com/team/bad:v1@${digest}`, ok: false },
]);

describe("pinPodTemplateImages", () => {
  it("pins containers, init and ephemeral containers of a Deployment without changing the input", () => {
    const deployment = {
      kind: "Deployment",
      spec: {
        template: {
          spec: {
            initContainers: [{ name: "i", image: "reg.example.com/team/app:v1" }],
            containers: [
              { name: "a", image: "reg.example.com/team/app:v1" },
              { name: "b", image: "other:v2" },
            ],
            ephemeralContainers: [{ name: "e", image: "reg.example.com/team/app:v1" }],
          },
        },
      },
    };
    const { object, changes } = pinPodTemplateImages(deployment, pinned);
    expect(imagesOf(object)).toEqual([
      `reg.example.com/team/app:v1@${digest}`,
      "other:v2",
      `reg.example.com/team/app:v1@${digest}`,
      `reg.example.com/team/app:v1@${digest}`,
    ]);
    expect(changes.map((c) => c.path)).toEqual([
      "spec.template.spec.containers[0].image",
      "spec.template.spec.initContainers[0].image",
      "spec.template.spec.ephemeralContainers[0].image",
    ]);
    expect(deployment.spec.template.spec.containers[0]?.image).toBe("reg.example.com/team/app:v1");
  });

  it("pins Pods and CronJobs, and never pins an image whose verification failed", () => {
    const pod = {
      kind: "Pod",
      spec: {
        containers: [{ image: "reg.example.com/team/app:v1" }, { image: "reg.example.com/team/bad:v1" }],
      },
    };
    const cron = {
      kind: "CronJob",
      spec: {
        jobTemplate: {
          spec: { template: { spec: { containers: [{ image: "reg.example.com/team/app:v1" }] } } },
        },
      },
    };
    expect(imagesOf(pinPodTemplateImages(pod, pinned).object)).toEqual([
      `reg.example.com/team/app:v1@${digest}`,
      "reg.example.com/team/bad:v1",
    ]);
    expect(pinPodTemplateImages(cron, pinned).changes[0]?.path).toBe(
      "spec.jobTemplate.spec.template.spec.containers[0].image",
    );
    expect(pinPodTemplateImages({ kind: "ConfigMap", data: { image: "x" } }, pinned).changes).toEqual([]);
  });
});

// kubectl's own commands against the sandbox: `create deployment|job|cronjob|service|secret|...` and `run`
// send protobuf bodies, which the sandbox decodes to the exact object (a protobuf body with a field the
// schema lacks is refused with 415); `expose`, `scale`, `label` and `set image` use GET, patches and scale.
import { describe, expect, it } from "vitest";
import protobuf from "protobufjs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { makeServingCertificates } from "../support/webhook.js";
import { call, withSandbox } from "./helpers.js";

const ctx = withSandbox();

async function ok(args: string[]): Promise<string> {
  const r = await ctx.k.run(args);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

async function getJson(kind: string, name: string): Promise<unknown> {
  return JSON.parse(await ok(["get", kind, name, "-n", "default", "-o", "json"])) as unknown;
}

/** The value at a path of keys and indexes in a decoded JSON object (undefined where it is absent). */
function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const key of path.split(".")) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A protobuf body by hand: the k8s\0 envelope around a ConfigMap with whatever fields are given. */
function configMapBody(extra: (w: protobuf.Writer) => void): Buffer {
  const meta = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string("odd")
    .finish();
  const cm = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .bytes(meta);
  extra(cm);
  const typeMeta = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string("v1")
    .uint32((2 << 3) | 2)
    .string("ConfigMap")
    .finish();
  const envelope = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .bytes(typeMeta)
    .uint32((2 << 3) | 2)
    .bytes(cm.finish())
    .finish();
  return Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), envelope]);
}

describe("kubectl create with protobuf bodies", () => {
  it("create deployment stores the spec kubectl sent", async () => {
    expect(
      await ok(["create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "--port=80"]),
    ).toContain("deployment.apps/web created");
    const d = await getJson("deployment", "web");
    expect(at(d, "spec.replicas")).toBe(2);
    expect(at(d, "spec.selector")).toEqual({ matchLabels: { app: "web" } });
    expect(at(d, "spec.template.metadata.labels")).toEqual({ app: "web" });
    const c = at(d, "spec.template.spec.containers");
    expect(c).toHaveLength(1);
    expect(at(c, "0.name")).toBe("nginx");
    expect(at(c, "0.image")).toBe("nginx:1.27");
    expect(at(c, "0.ports")).toEqual([expect.objectContaining({ containerPort: 80 })]);
  });

  it("create deployment --replicas=0 keeps the meant zero", async () => {
    await ok(["create", "deployment", "idle", "--image=nginx:1.27", "--replicas=0"]);
    expect(at(await getJson("deployment", "idle"), "spec.replicas")).toBe(0);
  });

  it("run stores args, env, labels and restartPolicy", async () => {
    await ok([
      "run",
      "p",
      "--image=busybox",
      "--restart=Never",
      "--env=A=b",
      "--labels=x=y",
      "--",
      "sleep",
      "1",
    ]);
    const p = await getJson("pod", "p");
    expect(at(p, "metadata.labels")).toEqual({ x: "y" });
    expect(at(p, "spec.restartPolicy")).toBe("Never");
    const c = at(p, "spec.containers.0");
    expect([at(c, "name"), at(c, "image")]).toEqual(["p", "busybox"]);
    expect(at(c, "args")).toEqual(["sleep", "1"]);
    expect(at(c, "env")).toEqual([{ name: "A", value: "b" }]);
  });

  it("create job and create cronjob store the pod command and the schedule", async () => {
    await ok(["create", "job", "j", "--image=busybox", "--", "echo", "hi"]);
    const j = await getJson("job", "j");
    const jc = at(j, "spec.template.spec.containers.0");
    expect([at(jc, "image"), at(jc, "command")]).toEqual(["busybox", ["echo", "hi"]]);
    expect(at(j, "spec.template.spec.restartPolicy")).toBe("Never");
    await ok(["create", "cronjob", "c", "--image=busybox", "--schedule=*/5 * * * *"]);
    const c = await getJson("cronjob", "c");
    expect(at(c, "spec.schedule")).toBe("*/5 * * * *");
    expect(at(c, "spec.jobTemplate.spec.template.spec.containers.0.image")).toBe("busybox");
  });

  it("create service clusterip and nodeport carry port and an integer targetPort", async () => {
    await ok(["create", "service", "clusterip", "s", "--tcp=80:8080"]);
    const s = await getJson("service", "s");
    expect(at(s, "spec.type")).toBe("ClusterIP");
    expect(at(s, "spec.selector")).toEqual({ app: "s" });
    expect(at(s, "spec.ports")).toEqual([
      expect.objectContaining({ port: 80, targetPort: 8080, protocol: "TCP" }),
    ]);
    await ok(["create", "service", "nodeport", "n", "--tcp=81:web"]);
    const n = await getJson("service", "n");
    expect(at(n, "spec.type")).toBe("NodePort");
    expect(at(n, "spec.ports.0.targetPort")).toBe("web");
  });

  it("create poddisruptionbudget, priorityclass, quota and ingress", async () => {
    await ok(["create", "poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=0"]);
    const pdb = await getJson("pdb", "pdb");
    expect(at(pdb, "spec")).toEqual({ minAvailable: 0, selector: { matchLabels: { app: "web" } } });
    await ok(["create", "priorityclass", "high", "--value=1000", "--description=important"]);
    const pc = JSON.parse(await ok(["get", "priorityclass", "high", "-o", "json"])) as Record<
      string,
      unknown
    >;
    expect([at(pc, "value"), at(pc, "description")]).toEqual([1000, "important"]);
    await ok(["create", "quota", "q", "--hard=cpu=1,memory=1G,pods=2"]);
    expect(at(await getJson("quota", "q"), "spec.hard")).toEqual({ cpu: "1", memory: "1G", pods: "2" });
    await ok(["create", "ingress", "ing", "--rule=foo.com/bar=svc1:8080"]);
    const rule = at(await getJson("ingress", "ing"), "spec.rules.0");
    expect(at(rule, "host")).toBe("foo.com");
    expect(at(rule, "http.paths.0")).toEqual({
      path: "/bar",
      pathType: "Exact",
      backend: { service: { name: "svc1", port: { number: 8080 } } },
    });
  });

  it("create service loadbalancer and the kinds decoded before (namespace, token, auth) still pass the field check", async () => {
    await ok(["create", "service", "loadbalancer", "lb", "--tcp=443:8443"]);
    expect(at(await getJson("service", "lb"), "spec.type")).toBe("LoadBalancer");
    expect(await ok(["create", "namespace", "ns1"])).toContain("namespace/ns1 created");
    await ok(["create", "serviceaccount", "robot"]);
    const token = (await ok(["create", "token", "robot"])).trim();
    const as = await ok(["auth", "whoami", `--token=${token}`, "-o", "jsonpath={.status.userInfo.username}"]);
    expect(as).toBe("system:serviceaccount:default:robot");
    expect(await ok(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])).not.toBe("");
    expect((await ok(["auth", "can-i", "get", "pods"])).trim()).toBe("yes");
    expect(await ok(["auth", "can-i", "--list"])).toContain("Resources");
  });

  it("autoscale creates an autoscaling/v2 HorizontalPodAutoscaler with its CPU and memory targets", async () => {
    await ok(["create", "deployment", "scaled", "--image=nginx:1.27"]);
    await ok(["autoscale", "deployment", "scaled", "--min=2", "--max=5", "--cpu=80%", "--memory=200Mi"]);
    const hpa = await getJson("hpa", "scaled");
    expect(at(hpa, "spec.scaleTargetRef")).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "scaled",
    });
    expect([at(hpa, "spec.minReplicas"), at(hpa, "spec.maxReplicas")]).toEqual([2, 5]);
    expect(at(hpa, "spec.metrics")).toEqual([
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
      },
      {
        type: "Resource",
        resource: { name: "memory", target: { type: "AverageValue", averageValue: "200Mi" } },
      },
    ]);
  });

  it("create configmap keeps an empty value and create secret keeps its bytes", async () => {
    await ok(["create", "configmap", "e", "--from-literal=empty=", "--from-literal=full=x"]);
    expect(at(await getJson("configmap", "e"), "data")).toEqual({ empty: "", full: "x" });
    await ok(["create", "secret", "generic", "sec", "--from-literal=pw=s3cr3t"]);
    expect(at(await getJson("secret", "sec"), "data.pw")).toBe(Buffer.from("s3cr3t").toString("base64"));
  });

  it("expose, scale, label and set image: the GET, POST, merge and strategic patches and the scale subresource they use", async () => {
    const image = `nginx@sha256:${"c".repeat(64)}`;
    await ok(["create", "deployment", "shop", `--image=${image}`, "-n", "default"]);
    expect(await ok(["expose", "deployment", "shop", "--port=80", "--target-port=8080"])).toContain(
      "service/shop exposed",
    );
    const svc = await getJson("service", "shop");
    expect(at(svc, "spec.selector")).toEqual({ app: "shop" });
    expect(at(svc, "spec.ports")).toEqual([
      expect.objectContaining({ port: 80, targetPort: 8080, protocol: "TCP" }),
    ]);
    expect(await ok(["scale", "deployment", "shop", "--replicas=4"])).toContain(
      "deployment.apps/shop scaled",
    );
    expect(at(await getJson("deployment", "shop"), "spec.replicas")).toBe(4);
    expect(await ok(["label", "deployment", "shop", "tier=front"])).toContain("deployment.apps/shop labeled");
    expect(at(await getJson("deployment", "shop"), "metadata.labels")).toEqual({
      app: "shop",
      tier: "front",
    });
    expect(await ok(["set", "image", "deployment/shop", "nginx=nginx:1.28"])).toContain("image updated");
    const d = await getJson("deployment", "shop");
    expect(at(d, "spec.template.spec.containers.0.image")).toBe("nginx:1.28");
    expect(at(d, "metadata.generation")).toBe(3);
    await ok(["run", "solo", "--image=busybox", "--port=9090"]);
    await ok(["expose", "pod", "solo", "--name=solo-svc"]);
    expect(at(await getJson("service", "solo-svc"), "spec.ports.0")).toEqual(
      expect.objectContaining({ port: 9090, targetPort: 9090 }),
    );
    await ok(["label", "pod", "solo", "x=y"]);
    await ok(["set", "image", "pod/solo", "solo=busybox:1.37"]);
    expect(at(await getJson("pod", "solo"), "spec.containers.0.image")).toBe("busybox:1.37");
  });

  it("create secret docker-registry and tls, and headless and externalname services", async () => {
    await ok([
      "create",
      "secret",
      "docker-registry",
      "pull",
      "--docker-server=r.example",
      "--docker-username=u",
      "--docker-password=p",
    ]);
    const pull = await getJson("secret", "pull");
    expect(at(pull, "type")).toBe("kubernetes.io/dockerconfigjson");
    const cfg = JSON.parse(
      Buffer.from(
        String((at(pull, "data") as Record<string, unknown>)[".dockerconfigjson"]),
        "base64",
      ).toString("utf8"),
    ) as unknown;
    expect(at(cfg, "auths")).toHaveProperty(["r.example", "username"], "u");
    const certs = await makeServingCertificates();
    await writeFile(path.join(ctx.k.dir, "tls.crt"), certs.certPem);
    await writeFile(path.join(ctx.k.dir, "tls.key"), certs.keyPem);
    await ok([
      "create",
      "secret",
      "tls",
      "serving",
      `--cert=${path.join(ctx.k.dir, "tls.crt")}`,
      `--key=${path.join(ctx.k.dir, "tls.key")}`,
    ]);
    const tls = await getJson("secret", "serving");
    expect(at(tls, "type")).toBe("kubernetes.io/tls");
    expect(
      Buffer.from(String((at(tls, "data") as Record<string, unknown>)["tls.crt"]), "base64").toString("utf8"),
    ).toBe(certs.certPem);
    await ok(["create", "service", "clusterip", "headless", "--clusterip=None"]);
    expect(at(await getJson("service", "headless"), "spec.clusterIP")).toBe("None");
    await ok(["create", "service", "externalname", "ext", "--external-name=example.com"]);
    const ext = await getJson("service", "ext");
    expect([at(ext, "spec.type"), at(ext, "spec.externalName")]).toEqual(["ExternalName", "example.com"]);
  });

  it("--dry-run=server -o yaml answers the object and stores nothing", async () => {
    const out = await ok([
      "create",
      "deployment",
      "dry",
      "--image=nginx:1.27",
      "--dry-run=server",
      "-o",
      "yaml",
    ]);
    expect(out).toContain("image: nginx:1.27");
    expect(out).toContain("name: dry");
    const r = await ctx.k.run(["get", "deployment", "dry", "-n", "default"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("NotFound");
  });

  it("refuses a protobuf body with a field the schema lacks (415), and accepts the same body without it", async () => {
    const path = "/api/v1/namespaces/default/configmaps";
    const type = "application/vnd.kubernetes.protobuf";
    // Field 9 of ConfigMap does not exist; protobufjs alone would drop it and store the rest.
    const bad = configMapBody((w) => w.uint32((9 << 3) | 2).string("hidden"));
    const refused = await call(ctx.sb, "POST", path, { raw: bad, type });
    expect(refused.status).toBe(415);
    expect(refused.text).toContain("ConfigMap: field 9");
    expect(refused.text).toContain("kubectl apply");
    // Unknown inside a nested message (ObjectMeta field 99) is caught too.
    const nested = configMapBody((w) =>
      w.uint32((1 << 3) | 2).bytes(
        protobuf.Writer.create()
          .uint32((99 << 3) | 0)
          .uint32(1)
          .finish(),
      ),
    );
    expect((await call(ctx.sb, "POST", path, { raw: nested, type })).status).toBe(415);
    // And inside a map entry (ConfigMap.data entry field 3).
    const entry = configMapBody((w) =>
      w.uint32((2 << 3) | 2).bytes(
        protobuf.Writer.create()
          .uint32((1 << 3) | 2)
          .string("k")
          .uint32((3 << 3) | 0)
          .uint32(7)
          .finish(),
      ),
    );
    const inMap = await call(ctx.sb, "POST", path, { raw: entry, type });
    expect([inMap.status, inMap.text.includes("ConfigMap.data: field 3")]).toEqual([415, true]);
    expect((await call(ctx.sb, "GET", `${path}/odd`)).status).toBe(404);
    const good = configMapBody((w) =>
      w.uint32((2 << 3) | 2).bytes(
        protobuf.Writer.create()
          .uint32((1 << 3) | 2)
          .string("k")
          .uint32((2 << 3) | 2)
          .string("v")
          .finish(),
      ),
    );
    const created = await call(ctx.sb, "POST", path, { raw: good, type });
    expect(created.status).toBe(201);
    expect(created.json["data"]).toEqual({ k: "v" });
  });
});

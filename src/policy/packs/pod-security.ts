// The Kubernetes Pod Security Standards as rules: every control of the Baseline profile and every
// additional control of the Restricted profile, applied to the pod template of every workload kind.
// Control names and allowed values follow https://kubernetes.io/docs/concepts/security/pod-security-standards/.
import type { Hit, Pack, Revision, Rule } from "../types.js";
import { asArray, field, isRecord, show } from "../types.js";
import {
  containers,
  describeContainer,
  podTemplates,
  type ContainerRef,
  type PodTemplate,
} from "../workloads.js";

type PodCheck = (t: PodTemplate) => Iterable<string>;

function podRule(r: Omit<Rule, "check">, check: PodCheck): Rule {
  return {
    ...r,
    check: function* (rev: Revision): Iterable<Hit> {
      for (const t of podTemplates(rev.manifests)) {
        for (const message of check(t)) yield { manifest: t.manifest, message };
      }
    },
  };
}

function sc(c: ContainerRef): Record<string, unknown> {
  const s = c.c["securityContext"];
  return isRecord(s) ? s : {};
}

function podSc(t: PodTemplate): Record<string, unknown> {
  const s = t.spec["securityContext"];
  return isRecord(s) ? s : {};
}

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const SELINUX_TYPES = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);
const RESTRICTED_VOLUMES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

function capName(c: unknown): string {
  // The standard compares capability names with and without the CAP_ prefix alike.
  return typeof c === "string" ? c.replace(/^CAP_/i, "").toUpperCase() : String(c);
}

export const hostProcess = podRule(
  {
    id: "pod-security/host-process",
    severity: "critical",
    title: "Windows HostProcess containers are not allowed",
    remediation: "Remove securityContext.windowsOptions.hostProcess or set it to false.",
  },
  function* (t) {
    if (field(podSc(t), "windowsOptions", "hostProcess") === true)
      yield "the pod sets windowsOptions.hostProcess: true";
    for (const c of containers(t.spec)) {
      if (field(sc(c), "windowsOptions", "hostProcess") === true) {
        yield `${describeContainer(c)} sets windowsOptions.hostProcess: true`;
      }
    }
  },
);

export const hostNamespaces = podRule(
  {
    id: "pod-security/host-namespaces",
    severity: "high",
    title: "Sharing the host's network, PID or IPC namespace is not allowed",
    remediation: "Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false).",
  },
  function* (t) {
    for (const k of ["hostNetwork", "hostPID", "hostIPC"]) {
      if (t.spec[k] === true) yield `the pod sets ${k}: true`;
    }
  },
);

export const privileged = podRule(
  {
    id: "pod-security/privileged",
    severity: "critical",
    title: "Privileged containers are not allowed",
    remediation: "Remove securityContext.privileged or set it to false.",
  },
  function* (t) {
    for (const c of containers(t.spec))
      if (sc(c)["privileged"] === true) yield `${describeContainer(c)} is privileged`;
  },
);

export const capabilitiesBaseline = podRule(
  {
    id: "pod-security/capabilities",
    severity: "high",
    title: "Only the default capabilities may be added",
    remediation: `Add only these capabilities, or none: ${[...BASELINE_CAPABILITIES].join(", ")}.`,
  },
  function* (t) {
    for (const c of containers(t.spec)) {
      for (const cap of asArray(field(sc(c), "capabilities", "add"))) {
        if (!BASELINE_CAPABILITIES.has(capName(cap)))
          yield `${describeContainer(c)} adds capability ${capName(cap)}`;
      }
    }
  },
);

export const hostPathVolumes = podRule(
  {
    id: "pod-security/host-path",
    severity: "high",
    title: "HostPath volumes are not allowed",
    remediation: "Replace the hostPath volume with a persistentVolumeClaim, configMap, secret or emptyDir.",
  },
  function* (t) {
    for (const v of asArray(t.spec["volumes"])) {
      if (isRecord(v) && v["hostPath"] !== undefined)
        yield `volume "${String(v["name"])}" is a hostPath volume`;
    }
  },
);

export const hostPorts = podRule(
  {
    id: "pod-security/host-ports",
    severity: "high",
    title: "Host ports are not allowed",
    remediation: "Remove hostPort from the container ports; expose the pod with a Service instead.",
  },
  function* (t) {
    for (const c of containers(t.spec)) {
      for (const p of asArray(c.c["ports"])) {
        const hp = field(p, "hostPort");
        if (hp !== undefined && hp !== 0) yield `${describeContainer(c)} uses hostPort ${show(hp)}`;
      }
    }
  },
);

export const appArmor = podRule(
  {
    id: "pod-security/apparmor",
    severity: "high",
    title: "The AppArmor profile may not be overridden or disabled",
    remediation: "Use the RuntimeDefault or a Localhost AppArmor profile, or leave it unset.",
  },
  function* (t) {
    const annotations = t.metadata["annotations"];
    if (isRecord(annotations)) {
      for (const [k, v] of Object.entries(annotations)) {
        if (!k.startsWith("container.apparmor.security.beta.kubernetes.io/")) continue;
        if (typeof v !== "string" || !(v === "runtime/default" || v.startsWith("localhost/"))) {
          yield `annotation ${k} is "${String(v)}"`;
        }
      }
    }
    const check = (s: Record<string, unknown>, who: string): string | undefined => {
      const type = field(s, "appArmorProfile", "type");
      return type === undefined || type === "RuntimeDefault" || type === "Localhost"
        ? undefined
        : `${who} sets appArmorProfile.type ${show(type)}`;
    };
    const p = check(podSc(t), "the pod");
    if (p !== undefined) yield p;
    for (const c of containers(t.spec)) {
      const m = check(sc(c), describeContainer(c));
      if (m !== undefined) yield m;
    }
  },
);

export const seLinux = podRule(
  {
    id: "pod-security/selinux",
    severity: "high",
    title: "The SELinux type may only be a container type, and user and role may not be set",
    remediation: "Remove seLinuxOptions.user and .role; use type container_t (or leave it unset).",
  },
  function* (t) {
    const check = function* (s: Record<string, unknown>, who: string): Iterable<string> {
      const o = s["seLinuxOptions"];
      if (!isRecord(o)) return;
      if (o["type"] !== undefined && !SELINUX_TYPES.has(show(o["type"])))
        yield `${who} sets SELinux type ${show(o["type"])}`;
      if (o["user"] !== undefined && o["user"] !== "") yield `${who} sets an SELinux user`;
      if (o["role"] !== undefined && o["role"] !== "") yield `${who} sets an SELinux role`;
    };
    yield* check(podSc(t), "the pod");
    for (const c of containers(t.spec)) yield* check(sc(c), describeContainer(c));
  },
);

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;
const LIFECYCLE_HOOKS = ["postStart", "preStop"] as const;
const NETWORK_HANDLERS = ["httpGet", "tcpSocket"] as const;

export const hostProbes = podRule(
  {
    id: "pod-security/host-probes",
    severity: "high",
    title: "Probes and lifecycle hooks may not set a host",
    remediation:
      "Remove .host from the probe or lifecycle hook's httpGet/tcpSocket (or set it to \"\"), so it targets the pod's own IP.",
  },
  function* (t) {
    // A set host lets the kubelet, from the node's network, reach any address on the pod's behalf
    // (Baseline since Kubernetes v1.34, KEP-4940).
    for (const c of containers(t.spec)) {
      const handlers = [
        ...PROBES.map((p) => ({ where: p, handler: c.c[p] })),
        ...LIFECYCLE_HOOKS.map((h) => ({ where: `lifecycle.${h}`, handler: field(c.c, "lifecycle", h) })),
      ];
      for (const { where, handler } of handlers) {
        for (const kind of NETWORK_HANDLERS) {
          const host = field(handler, kind, "host");
          if (host !== undefined && host !== null && host !== "")
            yield `${describeContainer(c)} sets ${where}.${kind}.host ${show(host)}`;
        }
      }
    }
  },
);

export const procMount = podRule(
  {
    id: "pod-security/proc-mount",
    severity: "high",
    title: "The default /proc mask is required",
    remediation: "Remove securityContext.procMount or set it to Default.",
  },
  function* (t) {
    for (const c of containers(t.spec)) {
      const pm = sc(c)["procMount"];
      if (pm !== undefined && pm !== "Default") yield `${describeContainer(c)} sets procMount ${show(pm)}`;
    }
  },
);

export const seccompBaseline = podRule(
  {
    id: "pod-security/seccomp",
    severity: "high",
    title: "The seccomp profile may not be Unconfined",
    remediation: "Set seccompProfile.type to RuntimeDefault (or Localhost).",
  },
  function* (t) {
    if (field(podSc(t), "seccompProfile", "type") === "Unconfined")
      yield "the pod sets seccompProfile Unconfined";
    for (const c of containers(t.spec)) {
      if (field(sc(c), "seccompProfile", "type") === "Unconfined")
        yield `${describeContainer(c)} sets seccompProfile Unconfined`;
    }
  },
);

export const sysctls = podRule(
  {
    id: "pod-security/sysctls",
    severity: "high",
    title: "Only safe sysctls may be set",
    remediation: `Remove the sysctl; allowed are ${[...SAFE_SYSCTLS].join(", ")}.`,
  },
  function* (t) {
    for (const s of asArray(podSc(t)["sysctls"])) {
      const name = field(s, "name");
      if (typeof name !== "string" || !SAFE_SYSCTLS.has(name)) yield `the pod sets sysctl ${String(name)}`;
    }
  },
);

export const volumeTypes = podRule(
  {
    id: "pod-security/volume-types",
    severity: "medium",
    title:
      "Only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret volumes",
    remediation: "Use a persistentVolumeClaim (or another allowed volume type) instead.",
  },
  function* (t) {
    for (const v of asArray(t.spec["volumes"])) {
      if (!isRecord(v)) continue;
      const types = Object.keys(v).filter((k) => k !== "name");
      for (const type of types) {
        if (!RESTRICTED_VOLUMES.has(type)) yield `volume "${String(v["name"])}" has type ${type}`;
      }
    }
  },
);

export const privilegeEscalation = podRule(
  {
    id: "pod-security/privilege-escalation",
    severity: "medium",
    title: "Privilege escalation must be disallowed",
    remediation: "Set securityContext.allowPrivilegeEscalation: false on every container.",
  },
  function* (t) {
    for (const c of containers(t.spec)) {
      if (sc(c)["allowPrivilegeEscalation"] !== false) {
        yield `${describeContainer(c)} does not set allowPrivilegeEscalation: false`;
      }
    }
  },
);

export const runAsNonRoot = podRule(
  {
    id: "pod-security/run-as-non-root",
    severity: "medium",
    title: "Containers must run as non-root",
    remediation: "Set securityContext.runAsNonRoot: true on the pod (or on every container).",
  },
  function* (t) {
    const pod = podSc(t)["runAsNonRoot"];
    for (const c of containers(t.spec)) {
      const own = sc(c)["runAsNonRoot"];
      if (own === false || (own === undefined && pod !== true)) {
        yield `${describeContainer(c)} may run as root (runAsNonRoot is not true)`;
      }
    }
  },
);

export const runAsUser = podRule(
  {
    id: "pod-security/run-as-user",
    severity: "medium",
    title: "runAsUser may not be 0",
    remediation: "Set runAsUser to a non-zero user id, or remove it.",
  },
  function* (t) {
    if (podSc(t)["runAsUser"] === 0) yield "the pod sets runAsUser: 0";
    for (const c of containers(t.spec))
      if (sc(c)["runAsUser"] === 0) yield `${describeContainer(c)} sets runAsUser: 0`;
  },
);

export const seccompRestricted = podRule(
  {
    id: "pod-security/seccomp-required",
    severity: "medium",
    title: "A seccomp profile (RuntimeDefault or Localhost) must be set",
    remediation: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
  },
  function* (t) {
    const ok = (v: unknown): boolean => v === "RuntimeDefault" || v === "Localhost";
    const pod = field(podSc(t), "seccompProfile", "type");
    for (const c of containers(t.spec)) {
      const own = field(sc(c), "seccompProfile", "type");
      if (own === undefined ? !ok(pod) : !ok(own))
        yield `${describeContainer(c)} has no RuntimeDefault or Localhost seccomp profile`;
    }
  },
);

export const capabilitiesRestricted = podRule(
  {
    id: "pod-security/capabilities-drop-all",
    severity: "medium",
    title: "Containers must drop ALL capabilities and may add back only NET_BIND_SERVICE",
    remediation: 'Set securityContext.capabilities.drop: ["ALL"]; add only NET_BIND_SERVICE if needed.',
  },
  function* (t) {
    for (const c of containers(t.spec)) {
      // Ephemeral containers are exempt from this control in the standard.
      if (c.kind === "ephemeralContainer") continue;
      const drop = asArray(field(sc(c), "capabilities", "drop")).map(capName);
      if (!drop.includes("ALL")) yield `${describeContainer(c)} does not drop ALL capabilities`;
      for (const cap of asArray(field(sc(c), "capabilities", "add"))) {
        if (capName(cap) !== "NET_BIND_SERVICE")
          yield `${describeContainer(c)} adds capability ${capName(cap)}`;
      }
    }
  },
);

const BASELINE_RULES = [
  hostProcess,
  hostNamespaces,
  privileged,
  capabilitiesBaseline,
  hostPathVolumes,
  hostPorts,
  appArmor,
  seLinux,
  procMount,
  seccompBaseline,
  sysctls,
  hostProbes,
];

export const podSecurityBaseline: Pack = {
  id: "pod-security-baseline",
  description: "Pod Security Standards, Baseline profile: known privilege escalations are prevented.",
  rules: BASELINE_RULES,
};

export const podSecurityRestricted: Pack = {
  id: "pod-security-restricted",
  description: "Pod Security Standards, Restricted profile: Baseline plus current pod hardening practice.",
  rules: [
    ...BASELINE_RULES,
    volumeTypes,
    privilegeEscalation,
    runAsNonRoot,
    runAsUser,
    seccompRestricted,
    capabilitiesRestricted,
  ],
};

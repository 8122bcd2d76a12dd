// The Kubernetes Pod Security Standards as rules: every control of the Baseline profile and every
// additional control of the Restricted profile, with the semantics of the Pod Security Admission checks at
// policy version v1.34 (k8s.io/pod-security-admission/policy): exact, case-sensitive values; all three
// container lists; pod-level fallbacks where PSA has them; the Windows exemptions of the Linux-only controls.
import type { Hit, Pack, Revision, Rule } from "../types.js";
import { asArray, field, isRecord, show } from "../types.js";
import {
  containers,
  describeContainer,
  podTemplates,
  type ContainerRef,
  type PodTemplate,
} from "../workloads.js";

/** One violation: what is wrong and the JSON pointer of the field that says so. */
interface Violation {
  readonly message: string;
  readonly path: string;
}
type PodCheck = (t: PodTemplate) => Iterable<Violation>;

function podRule(r: Omit<Rule, "check">, check: PodCheck): Rule {
  return {
    ...r,
    check: function* (rev: Revision): Iterable<Hit> {
      for (const t of podTemplates(rev.manifests)) {
        for (const { message, path } of check(t)) yield { manifest: t.manifest, message, path };
      }
    },
  };
}

function v(message: string, path: string): Violation {
  return { message, path };
}

/** A JSON pointer segment (RFC 6901): annotation keys hold "/". */
function seg(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Every container with its pointer, read the way PSA's visitContainers reads them (all three lists). */
function all(t: PodTemplate): ContainerRef[] {
  return containers(t.spec, t.specPath);
}

function sc(c: ContainerRef): Record<string, unknown> {
  const s = c.c["securityContext"];
  return isRecord(s) ? s : {};
}

function podSc(t: PodTemplate): Record<string, unknown> {
  const s = t.spec["securityContext"];
  return isRecord(s) ? s : {};
}

/** A field that is present: JSON null decodes to Go's nil pointer, which PSA reads as unset. */
function isSet(x: unknown): boolean {
  return x !== undefined && x !== null;
}

/**
 * From policy version 1.25, PSA exempts pods with spec.os.name "windows" from the Linux-only Restricted
 * controls (privilege escalation, seccomp, capabilities): the API refuses those fields on Windows pods.
 */
function isWindows(t: PodTemplate): boolean {
  return field(t.spec, "os", "name") === "windows";
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
// The safe set of policy version 1.32 and later (tcp_rmem and tcp_wmem joined it in 1.32).
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
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
]);
const SELINUX_TYPES = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);
// `image` volumes are allowed since Kubernetes 1.33 (PSA restrictedVolumes).
const RESTRICTED_VOLUMES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "image",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

/** seccompProfile.type and appArmorProfile.type values PSA accepts wherever a profile is set. */
function confinedProfile(type: unknown): boolean {
  return type === "RuntimeDefault" || type === "Localhost";
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
      yield v(
        "the pod sets windowsOptions.hostProcess: true",
        `${t.specPath}/securityContext/windowsOptions/hostProcess`,
      );
    for (const c of all(t)) {
      if (field(sc(c), "windowsOptions", "hostProcess") === true) {
        yield v(
          `${describeContainer(c)} sets windowsOptions.hostProcess: true`,
          `${c.path}/securityContext/windowsOptions/hostProcess`,
        );
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
      if (t.spec[k] === true) yield v(`the pod sets ${k}: true`, `${t.specPath}/${k}`);
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
    for (const c of all(t))
      if (sc(c)["privileged"] === true)
        yield v(`${describeContainer(c)} is privileged`, `${c.path}/securityContext/privileged`);
  },
);

/** The entries of capabilities.add with their pointers; PSA compares the names exactly as written. */
function* added(c: ContainerRef): Iterable<{ cap: unknown; path: string }> {
  const list = asArray(field(sc(c), "capabilities", "add"));
  for (const [i, cap] of list.entries())
    yield { cap, path: `${c.path}/securityContext/capabilities/add/${i}` };
}

export const capabilitiesBaseline = podRule(
  {
    id: "pod-security/capabilities",
    severity: "high",
    title: "Only the default capabilities may be added",
    remediation: `Add only these capabilities, or none: ${[...BASELINE_CAPABILITIES].join(", ")}.`,
  },
  function* (t) {
    for (const c of all(t)) {
      // Exact and case-sensitive, as in PSA: "CAP_CHOWN" or "chown" is not in the default set.
      for (const { cap, path } of added(c)) {
        if (typeof cap !== "string" || !BASELINE_CAPABILITIES.has(cap))
          yield v(`${describeContainer(c)} adds capability ${show(cap)}`, path);
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
    for (const [i, vol] of asArray(t.spec["volumes"]).entries()) {
      if (isRecord(vol) && isSet(vol["hostPath"]))
        yield v(
          `volume "${String(vol["name"])}" is a hostPath volume`,
          `${t.specPath}/volumes/${i}/hostPath`,
        );
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
    for (const c of all(t)) {
      for (const [j, p] of asArray(c.c["ports"]).entries()) {
        const hp = field(p, "hostPort");
        if (isSet(hp) && hp !== 0)
          yield v(`${describeContainer(c)} uses hostPort ${show(hp)}`, `${c.path}/ports/${j}/hostPort`);
      }
    }
  },
);

const APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/";

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
      for (const [k, val] of Object.entries(annotations)) {
        if (!k.startsWith(APPARMOR_ANNOTATION)) continue;
        // PSA allows an empty value, runtime/default and localhost/<profile>.
        if (
          typeof val !== "string" ||
          !(val === "" || val === "runtime/default" || val.startsWith("localhost/"))
        )
          yield v(`annotation ${k} is ${show(val)}`, `${t.metadataPath}/annotations/${seg(k)}`);
      }
    }
    const check = (s: Record<string, unknown>, who: string, at: string): Violation | undefined => {
      const profile = s["appArmorProfile"];
      // A profile that is set must name its type: PSA reads a missing type as "", which is not allowed.
      return !isSet(profile) || confinedProfile(field(profile, "type"))
        ? undefined
        : v(`${who} sets appArmorProfile.type ${show(field(profile, "type"))}`, `${at}/appArmorProfile/type`);
    };
    const p = check(podSc(t), "the pod", `${t.specPath}/securityContext`);
    if (p !== undefined) yield p;
    for (const c of all(t)) {
      const m = check(sc(c), describeContainer(c), `${c.path}/securityContext`);
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
    const check = function* (s: Record<string, unknown>, who: string, at: string): Iterable<Violation> {
      const o = s["seLinuxOptions"];
      if (!isRecord(o)) return;
      const base = `${at}/seLinuxOptions`;
      if (isSet(o["type"]) && !(typeof o["type"] === "string" && SELINUX_TYPES.has(o["type"])))
        yield v(`${who} sets SELinux type ${show(o["type"])}`, `${base}/type`);
      if (isSet(o["user"]) && o["user"] !== "") yield v(`${who} sets an SELinux user`, `${base}/user`);
      if (isSet(o["role"]) && o["role"] !== "") yield v(`${who} sets an SELinux role`, `${base}/role`);
    };
    yield* check(podSc(t), "the pod", `${t.specPath}/securityContext`);
    for (const c of all(t)) yield* check(sc(c), describeContainer(c), `${c.path}/securityContext`);
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
    for (const c of all(t)) {
      const handlers = [
        ...PROBES.map((p) => ({ where: p, handler: c.c[p] })),
        ...LIFECYCLE_HOOKS.map((h) => ({ where: `lifecycle.${h}`, handler: field(c.c, "lifecycle", h) })),
      ];
      for (const { where, handler } of handlers) {
        for (const kind of NETWORK_HANDLERS) {
          const host = field(handler, kind, "host");
          if (isSet(host) && host !== "")
            yield v(
              `${describeContainer(c)} sets ${where}.${kind}.host ${show(host)}`,
              `${c.path}/${where.replace(".", "/")}/${kind}/host`,
            );
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
    // Policy version 1.34 has no hostUsers: false relaxation (that came with 1.35, and Restricted keeps
    // the strict rule even then).
    for (const c of all(t)) {
      const pm = sc(c)["procMount"];
      if (isSet(pm) && pm !== "Default")
        yield v(`${describeContainer(c)} sets procMount ${show(pm)}`, `${c.path}/securityContext/procMount`);
    }
  },
);

/** Who sets a seccomp profile PSA refuses: set (not null) with a type other than RuntimeDefault/Localhost. */
function* badSeccomp(t: PodTemplate): Iterable<Violation> {
  const pod = podSc(t)["seccompProfile"];
  if (isSet(pod) && !confinedProfile(field(pod, "type")))
    yield v(
      `the pod sets seccompProfile type ${show(field(pod, "type"))}`,
      `${t.specPath}/securityContext/seccompProfile/type`,
    );
  for (const c of all(t)) {
    const own = sc(c)["seccompProfile"];
    if (isSet(own) && !confinedProfile(field(own, "type")))
      yield v(
        `${describeContainer(c)} sets seccompProfile type ${show(field(own, "type"))}`,
        `${c.path}/securityContext/seccompProfile/type`,
      );
  }
}

export const seccompBaseline = podRule(
  {
    id: "pod-security/seccomp",
    severity: "high",
    title: "A seccomp profile that is set must be RuntimeDefault or Localhost (never Unconfined)",
    remediation: "Set seccompProfile.type to RuntimeDefault (or Localhost), or remove the seccompProfile.",
  },
  badSeccomp,
);

export const sysctls = podRule(
  {
    id: "pod-security/sysctls",
    severity: "high",
    title: "Only safe sysctls may be set",
    remediation: `Remove the sysctl; allowed are ${[...SAFE_SYSCTLS].join(", ")}.`,
  },
  function* (t) {
    for (const [i, s] of asArray(podSc(t)["sysctls"]).entries()) {
      const name = field(s, "name");
      if (typeof name !== "string" || !SAFE_SYSCTLS.has(name))
        yield v(`the pod sets sysctl ${show(name)}`, `${t.specPath}/securityContext/sysctls/${i}/name`);
    }
  },
);

export const volumeTypes = podRule(
  {
    id: "pod-security/volume-types",
    severity: "medium",
    title:
      "Only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes",
    remediation: "Use a persistentVolumeClaim (or another allowed volume type) instead.",
  },
  function* (t) {
    for (const [i, vol] of asArray(t.spec["volumes"]).entries()) {
      if (!isRecord(vol)) continue;
      // Stricter than PSA in one way, on purpose: a key this list does not know is refused, where PSA
      // (reading typed Go structs) never sees it. A null source is unset in both.
      for (const [type, source] of Object.entries(vol)) {
        if (type === "name" || !isSet(source) || RESTRICTED_VOLUMES.has(type)) continue;
        yield v(
          `volume "${String(vol["name"])}" has type ${type}`,
          `${t.specPath}/volumes/${i}/${seg(type)}`,
        );
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
    if (isWindows(t)) return;
    for (const c of all(t)) {
      if (sc(c)["allowPrivilegeEscalation"] !== false) {
        yield v(
          `${describeContainer(c)} does not set allowPrivilegeEscalation: false`,
          `${c.path}/securityContext/allowPrivilegeEscalation`,
        );
      }
    }
  },
);

export const runAsNonRoot = podRule(
  {
    id: "pod-security/run-as-non-root",
    severity: "medium",
    title: "Containers must run as non-root",
    remediation:
      "Set securityContext.runAsNonRoot: true on the pod (or on every container), and never false.",
  },
  function* (t) {
    // As PSA at policy version 1.34: a pod-level false is refused even when every container says true; a
    // container's own value wins over the pod's. (hostUsers: false relaxes this only from 1.35, or behind
    // the alpha UserNamespacesPodSecurityStandards gate, which is off by default.)
    const pod = podSc(t)["runAsNonRoot"];
    if (pod === false)
      yield v("the pod sets runAsNonRoot: false", `${t.specPath}/securityContext/runAsNonRoot`);
    for (const c of all(t)) {
      const own = sc(c)["runAsNonRoot"];
      if (own === false)
        yield v(`${describeContainer(c)} sets runAsNonRoot: false`, `${c.path}/securityContext/runAsNonRoot`);
      else if (own !== true && pod !== true)
        yield v(
          `${describeContainer(c)} may run as root (runAsNonRoot is not true)`,
          `${c.path}/securityContext/runAsNonRoot`,
        );
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
    if (podSc(t)["runAsUser"] === 0)
      yield v("the pod sets runAsUser: 0", `${t.specPath}/securityContext/runAsUser`);
    for (const c of all(t))
      if (sc(c)["runAsUser"] === 0)
        yield v(`${describeContainer(c)} sets runAsUser: 0`, `${c.path}/securityContext/runAsUser`);
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
    if (isWindows(t)) return;
    // A profile set to a refused type is a finding wherever it is (the pod level too, even when every
    // container sets its own); a container without one needs a valid pod-level profile.
    yield* badSeccomp(t);
    const podOk = confinedProfile(field(podSc(t), "seccompProfile", "type"));
    for (const c of all(t)) {
      if (!isSet(sc(c)["seccompProfile"]) && !podOk)
        yield v(
          `${describeContainer(c)} has no RuntimeDefault or Localhost seccomp profile`,
          `${c.path}/securityContext/seccompProfile`,
        );
    }
  },
);

export const capabilitiesRestricted = podRule(
  {
    id: "pod-security/capabilities-drop-all",
    severity: "medium",
    title: "Containers must drop ALL capabilities and may add back only NET_BIND_SERVICE",
    remediation:
      'Set securityContext.capabilities.drop: ["ALL"] (upper case); add only NET_BIND_SERVICE if needed.',
  },
  function* (t) {
    if (isWindows(t)) return;
    // Every container list, ephemeral containers included (PSA's visitContainers), and the names exactly
    // as written: drop: ["all"] is not "ALL" to PSA.
    for (const c of all(t)) {
      const drop = asArray(field(sc(c), "capabilities", "drop"));
      if (!drop.includes("ALL")) {
        const near = drop.find((d) => typeof d === "string" && d.toUpperCase() === "ALL");
        yield v(
          near === undefined
            ? `${describeContainer(c)} does not drop ALL capabilities`
            : `${describeContainer(c)} drops ${JSON.stringify(near)}, not "ALL" (capability names are case-sensitive)`,
          `${c.path}/securityContext/capabilities/drop`,
        );
      }
      for (const { cap, path } of added(c)) {
        if (cap !== "NET_BIND_SERVICE") yield v(`${describeContainer(c)} adds capability ${show(cap)}`, path);
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

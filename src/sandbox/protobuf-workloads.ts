// Protobuf schema of the workload and networking kinds kubectl's typed commands send (`create deployment|
// job|cronjob|service|poddisruptionbudget|priorityclass|quota|ingress`, `run`, `autoscale`): messages and
// field numbers from Kubernetes' generated.proto files (k8s.io/api core, apps, batch, policy, scheduling,
// networking v1; autoscaling v2).
// Only the fields named here are accepted; protobuf.ts refuses a body with any other field (fail closed).

/** Messages in package k8s; ObjectMeta, LabelSelector, Time and the references live in protobuf.ts. */
export const workloadSchema = `
message IntOrString { optional int64 type = 1; optional int32 intVal = 2; optional string strVal = 3; }
message Quantity { optional string string = 1; }
message KeyToPath { optional string key = 1; optional string path = 2; optional int32 mode = 3; }
message ConfigMapKeySelector { optional LocalObjectReference localObjectReference = 1; optional string key = 2; optional bool optional = 3; }
message SecretKeySelector { optional LocalObjectReference localObjectReference = 1; optional string key = 2; optional bool optional = 3; }
message ObjectFieldSelector { optional string apiVersion = 1; optional string fieldPath = 2; }
message ResourceFieldSelector { optional string containerName = 1; optional string resource = 2; optional Quantity divisor = 3; }
message EnvVarSource { optional ObjectFieldSelector fieldRef = 1; optional ResourceFieldSelector resourceFieldRef = 2; optional ConfigMapKeySelector configMapKeyRef = 3; optional SecretKeySelector secretKeyRef = 4; }
message EnvVar { optional string name = 1; optional string value = 2; optional EnvVarSource valueFrom = 3; }
message ConfigMapEnvSource { optional LocalObjectReference localObjectReference = 1; optional bool optional = 2; }
message SecretEnvSource { optional LocalObjectReference localObjectReference = 1; optional bool optional = 2; }
message EnvFromSource { optional string prefix = 1; optional ConfigMapEnvSource configMapRef = 2; optional SecretEnvSource secretRef = 3; }
message ContainerPort { optional string name = 1; optional int32 hostPort = 2; optional int32 containerPort = 3; optional string protocol = 4; optional string hostIP = 5; }
message ResourceRequirements { map<string, Quantity> limits = 1; map<string, Quantity> requests = 2; }
message VolumeMount { optional string name = 1; optional bool readOnly = 2; optional string mountPath = 3; optional string subPath = 4; optional string mountPropagation = 5; optional string subPathExpr = 6; optional string recursiveReadOnly = 7; }
message ExecAction { repeated string command = 1; }
message HTTPHeader { optional string name = 1; optional string value = 2; }
message HTTPGetAction { optional string path = 1; optional IntOrString port = 2; optional string host = 3; optional string scheme = 4; repeated HTTPHeader httpHeaders = 5; }
message TCPSocketAction { optional IntOrString port = 1; optional string host = 2; }
message GRPCAction { optional int32 port = 1; optional string service = 2; }
message ProbeHandler { optional ExecAction exec = 1; optional HTTPGetAction httpGet = 2; optional TCPSocketAction tcpSocket = 3; optional GRPCAction grpc = 4; }
message Probe { optional ProbeHandler handler = 1; optional int32 initialDelaySeconds = 2; optional int32 timeoutSeconds = 3; optional int32 periodSeconds = 4; optional int32 successThreshold = 5; optional int32 failureThreshold = 6; optional int64 terminationGracePeriodSeconds = 7; }
message Capabilities { repeated string add = 1; repeated string drop = 2; }
message SecurityContext { optional Capabilities capabilities = 1; optional bool privileged = 2; optional int64 runAsUser = 4; optional bool runAsNonRoot = 5; optional bool readOnlyRootFilesystem = 6; optional bool allowPrivilegeEscalation = 7; optional int64 runAsGroup = 8; optional string procMount = 9; }
message Container {
  optional string name = 1; optional string image = 2; repeated string command = 3; repeated string args = 4; optional string workingDir = 5;
  repeated ContainerPort ports = 6; repeated EnvVar env = 7; optional ResourceRequirements resources = 8; repeated VolumeMount volumeMounts = 9;
  optional Probe livenessProbe = 10; optional Probe readinessProbe = 11; optional string terminationMessagePath = 13; optional string imagePullPolicy = 14;
  optional SecurityContext securityContext = 15; optional bool stdin = 16; optional bool stdinOnce = 17; optional bool tty = 18;
  repeated EnvFromSource envFrom = 19; optional string terminationMessagePolicy = 20; optional Probe startupProbe = 22; optional string restartPolicy = 24;
}
message EmptyDirVolumeSource { optional string medium = 1; optional Quantity sizeLimit = 2; }
message SecretVolumeSource { optional string secretName = 1; repeated KeyToPath items = 2; optional int32 defaultMode = 3; optional bool optional = 4; }
message PersistentVolumeClaimVolumeSource { optional string claimName = 1; optional bool readOnly = 2; }
message ConfigMapVolumeSource { optional LocalObjectReference localObjectReference = 1; repeated KeyToPath items = 2; optional int32 defaultMode = 3; optional bool optional = 4; }
message VolumeSource { optional EmptyDirVolumeSource emptyDir = 2; optional SecretVolumeSource secret = 6; optional PersistentVolumeClaimVolumeSource persistentVolumeClaim = 10; optional ConfigMapVolumeSource configMap = 19; }
message Volume { optional string name = 1; optional VolumeSource volumeSource = 2; }
message PodSecurityContext { optional int64 runAsUser = 2; optional bool runAsNonRoot = 3; repeated int64 supplementalGroups = 4; optional int64 fsGroup = 5; optional int64 runAsGroup = 6; optional string fsGroupChangePolicy = 9; }
message Toleration { optional string key = 1; optional string operator = 2; optional string value = 3; optional string effect = 4; optional int64 tolerationSeconds = 5; }
message PodSpec {
  repeated Volume volumes = 1; repeated Container containers = 2; optional string restartPolicy = 3; optional int64 terminationGracePeriodSeconds = 4;
  optional int64 activeDeadlineSeconds = 5; optional string dnsPolicy = 6; map<string, string> nodeSelector = 7; optional string serviceAccountName = 8;
  optional string serviceAccount = 9; optional string nodeName = 10; optional bool hostNetwork = 11; optional bool hostPID = 12; optional bool hostIPC = 13;
  optional PodSecurityContext securityContext = 14; repeated LocalObjectReference imagePullSecrets = 15; optional string hostname = 16;
  optional string subdomain = 17; optional string schedulerName = 19; repeated Container initContainers = 20; optional bool automountServiceAccountToken = 21;
  repeated Toleration tolerations = 22; optional string priorityClassName = 24; optional int32 priority = 25; optional bool shareProcessNamespace = 27;
  optional string runtimeClassName = 29; optional bool enableServiceLinks = 30; optional string preemptionPolicy = 31; map<string, Quantity> overhead = 32;
  optional bool setHostnameAsFQDN = 35; optional bool hostUsers = 37; optional string hostnameOverride = 41;
}
message PodTemplateSpec { optional ObjectMeta metadata = 1; optional PodSpec spec = 2; }
message PodStatus {
  optional string phase = 1; optional string message = 3; optional string reason = 4; optional string hostIP = 5; optional string podIP = 6;
  optional Time startTime = 7; optional string qosClass = 9; optional string nominatedNodeName = 11; optional string resize = 14; optional int64 observedGeneration = 17;
}
message Pod { optional ObjectMeta metadata = 1; optional PodSpec spec = 2; optional PodStatus status = 3; }
message RollingUpdateDeployment { optional IntOrString maxUnavailable = 1; optional IntOrString maxSurge = 2; }
message DeploymentStrategy { optional string type = 1; optional RollingUpdateDeployment rollingUpdate = 2; }
message DeploymentSpec {
  optional int32 replicas = 1; optional LabelSelector selector = 2; optional PodTemplateSpec template = 3; optional DeploymentStrategy strategy = 4;
  optional int32 minReadySeconds = 5; optional int32 revisionHistoryLimit = 6; optional bool paused = 7; optional int32 progressDeadlineSeconds = 9;
}
message DeploymentStatus {
  optional int64 observedGeneration = 1; optional int32 replicas = 2; optional int32 updatedReplicas = 3; optional int32 availableReplicas = 4;
  optional int32 unavailableReplicas = 5; optional int32 readyReplicas = 7; optional int32 collisionCount = 8; optional int32 terminatingReplicas = 9;
}
message Deployment { optional ObjectMeta metadata = 1; optional DeploymentSpec spec = 2; optional DeploymentStatus status = 3; }
message JobSpec {
  optional int32 parallelism = 1; optional int32 completions = 2; optional int64 activeDeadlineSeconds = 3; optional LabelSelector selector = 4;
  optional bool manualSelector = 5; optional PodTemplateSpec template = 6; optional int32 backoffLimit = 7; optional int32 ttlSecondsAfterFinished = 8;
  optional string completionMode = 9; optional bool suspend = 10; optional int32 backoffLimitPerIndex = 12; optional int32 maxFailedIndexes = 13;
  optional string podReplacementPolicy = 14; optional string managedBy = 15;
}
message JobStatus {
  optional Time startTime = 2; optional Time completionTime = 3; optional int32 active = 4; optional int32 succeeded = 5; optional int32 failed = 6;
  optional string completedIndexes = 7; optional int32 ready = 9; optional string failedIndexes = 10; optional int32 terminating = 11;
}
message Job { optional ObjectMeta metadata = 1; optional JobSpec spec = 2; optional JobStatus status = 3; }
message JobTemplateSpec { optional ObjectMeta metadata = 1; optional JobSpec spec = 2; }
message CronJobSpec {
  optional string schedule = 1; optional int64 startingDeadlineSeconds = 2; optional string concurrencyPolicy = 3; optional bool suspend = 4;
  optional JobTemplateSpec jobTemplate = 5; optional int32 successfulJobsHistoryLimit = 6; optional int32 failedJobsHistoryLimit = 7; optional string timeZone = 8;
}
message CronJobStatus { repeated ObjectReference active = 1; optional Time lastScheduleTime = 4; optional Time lastSuccessfulTime = 5; }
message CronJob { optional ObjectMeta metadata = 1; optional CronJobSpec spec = 2; optional CronJobStatus status = 3; }
message ServicePort { optional string name = 1; optional string protocol = 2; optional int32 port = 3; optional IntOrString targetPort = 4; optional int32 nodePort = 5; optional string appProtocol = 6; }
message ServiceSpec {
  repeated ServicePort ports = 1; map<string, string> selector = 2; optional string clusterIP = 3; optional string type = 4; repeated string externalIPs = 5;
  optional string sessionAffinity = 7; optional string loadBalancerIP = 8; repeated string loadBalancerSourceRanges = 9; optional string externalName = 10;
  optional string externalTrafficPolicy = 11; optional int32 healthCheckNodePort = 12; optional bool publishNotReadyAddresses = 13; optional string ipFamilyPolicy = 17;
  repeated string clusterIPs = 18; repeated string ipFamilies = 19; optional bool allocateLoadBalancerNodePorts = 20; optional string loadBalancerClass = 21;
  optional string internalTrafficPolicy = 22; optional string trafficDistribution = 23;
}
message LoadBalancerStatus { }
message ServiceStatus { optional LoadBalancerStatus loadBalancer = 1; }
message Service { optional ObjectMeta metadata = 1; optional ServiceSpec spec = 2; optional ServiceStatus status = 3; }
message ResourceQuotaSpec { map<string, Quantity> hard = 1; repeated string scopes = 2; }
message ResourceQuotaStatus { map<string, Quantity> hard = 1; map<string, Quantity> used = 2; }
message ResourceQuota { optional ObjectMeta metadata = 1; optional ResourceQuotaSpec spec = 2; optional ResourceQuotaStatus status = 3; }
message PodDisruptionBudgetSpec { optional IntOrString minAvailable = 1; optional LabelSelector selector = 2; optional IntOrString maxUnavailable = 3; optional string unhealthyPodEvictionPolicy = 4; }
message PodDisruptionBudgetStatus {
  optional int64 observedGeneration = 1; optional int32 disruptionsAllowed = 3; optional int32 currentHealthy = 4; optional int32 desiredHealthy = 5; optional int32 expectedPods = 6;
}
message PodDisruptionBudget { optional ObjectMeta metadata = 1; optional PodDisruptionBudgetSpec spec = 2; optional PodDisruptionBudgetStatus status = 3; }
message PriorityClass { optional ObjectMeta metadata = 1; optional int32 value = 2; optional bool globalDefault = 3; optional string description = 4; optional string preemptionPolicy = 5; }
message ServiceBackendPort { optional string name = 1; optional int32 number = 2; }
message IngressServiceBackend { optional string name = 1; optional ServiceBackendPort port = 2; }
message IngressBackend { optional IngressServiceBackend service = 4; }
message HTTPIngressPath { optional string path = 1; optional IngressBackend backend = 2; optional string pathType = 3; }
message HTTPIngressRuleValue { repeated HTTPIngressPath paths = 1; }
message IngressRuleValue { optional HTTPIngressRuleValue http = 1; }
message IngressRule { optional string host = 1; optional IngressRuleValue ingressRuleValue = 2; }
message IngressTLS { repeated string hosts = 1; optional string secretName = 2; }
message IngressSpec { optional IngressBackend defaultBackend = 1; repeated IngressTLS tls = 2; repeated IngressRule rules = 3; optional string ingressClassName = 4; }
message IngressLoadBalancerStatus { }
message IngressStatus { optional IngressLoadBalancerStatus loadBalancer = 1; }
message Ingress { optional ObjectMeta metadata = 1; optional IngressSpec spec = 2; optional IngressStatus status = 3; }
message CrossVersionObjectReference { optional string kind = 1; optional string name = 2; optional string apiVersion = 3; }
message MetricTarget { optional string type = 1; optional Quantity value = 2; optional Quantity averageValue = 3; optional int32 averageUtilization = 4; }
message ResourceMetricSource { optional string name = 1; optional MetricTarget target = 2; }
message ContainerResourceMetricSource { optional string name = 1; optional MetricTarget target = 2; optional string container = 3; }
message MetricSpec { optional string type = 1; optional ResourceMetricSource resource = 4; optional ContainerResourceMetricSource containerResource = 7; }
message HPAScalingPolicy { optional string type = 1; optional int32 value = 2; optional int32 periodSeconds = 3; }
message HPAScalingRules { optional string selectPolicy = 1; repeated HPAScalingPolicy policies = 2; optional int32 stabilizationWindowSeconds = 3; optional Quantity tolerance = 4; }
message HorizontalPodAutoscalerBehavior { optional HPAScalingRules scaleUp = 1; optional HPAScalingRules scaleDown = 2; }
message HorizontalPodAutoscalerSpec { optional CrossVersionObjectReference scaleTargetRef = 1; optional int32 minReplicas = 2; optional int32 maxReplicas = 3; repeated MetricSpec metrics = 4; optional HorizontalPodAutoscalerBehavior behavior = 5; }
message HorizontalPodAutoscalerStatus { optional int64 observedGeneration = 1; optional Time lastScaleTime = 2; optional int32 currentReplicas = 3; optional int32 desiredReplicas = 4; }
message HorizontalPodAutoscaler { optional ObjectMeta metadata = 1; optional HorizontalPodAutoscalerSpec spec = 2; optional HorizontalPodAutoscalerStatus status = 3; }
`;

/** Message type by "apiVersion/Kind" of the envelope. */
export const workloadKinds: Record<string, string> = {
  "v1/Pod": "Pod",
  "v1/Service": "Service",
  "v1/ResourceQuota": "ResourceQuota",
  "apps/v1/Deployment": "Deployment",
  "batch/v1/Job": "Job",
  "batch/v1/CronJob": "CronJob",
  "policy/v1/PodDisruptionBudget": "PodDisruptionBudget",
  "scheduling.k8s.io/v1/PriorityClass": "PriorityClass",
  "networking.k8s.io/v1/Ingress": "Ingress",
  "autoscaling/v2/HorizontalPodAutoscaler": "HorizontalPodAutoscaler",
};

/**
 * Go writes a pointer field only when it is set, so a zero or false there was meant (replicas: 0,
 * automountServiceAccountToken: false); a non-pointer zero is Go's empty value, which JSON omits. Fields
 * without omitempty (PriorityClass.value, ContainerPort.containerPort) are kept as JSON would carry them.
 */
export const meaningfulZero = new Set([
  "ServiceAccount.automountServiceAccountToken",
  "ConfigMap.immutable",
  "Secret.immutable",
  "TokenRequestSpec.expirationSeconds",
  "DeploymentSpec.replicas",
  "DeploymentSpec.revisionHistoryLimit",
  "DeploymentSpec.progressDeadlineSeconds",
  "JobSpec.parallelism",
  "JobSpec.completions",
  "JobSpec.activeDeadlineSeconds",
  "JobSpec.backoffLimit",
  "JobSpec.backoffLimitPerIndex",
  "JobSpec.maxFailedIndexes",
  "JobSpec.manualSelector",
  "JobSpec.ttlSecondsAfterFinished",
  "JobSpec.suspend",
  "CronJobSpec.startingDeadlineSeconds",
  "CronJobSpec.suspend",
  "CronJobSpec.successfulJobsHistoryLimit",
  "CronJobSpec.failedJobsHistoryLimit",
  "PodSpec.terminationGracePeriodSeconds",
  "PodSpec.activeDeadlineSeconds",
  "PodSpec.automountServiceAccountToken",
  "PodSpec.shareProcessNamespace",
  "PodSpec.enableServiceLinks",
  "PodSpec.setHostnameAsFQDN",
  "PodSpec.hostUsers",
  "PodSpec.priority",
  "Probe.terminationGracePeriodSeconds",
  "SecurityContext.privileged",
  "SecurityContext.runAsUser",
  "SecurityContext.runAsGroup",
  "SecurityContext.runAsNonRoot",
  "SecurityContext.readOnlyRootFilesystem",
  "SecurityContext.allowPrivilegeEscalation",
  "PodSecurityContext.runAsUser",
  "PodSecurityContext.runAsGroup",
  "PodSecurityContext.runAsNonRoot",
  "PodSecurityContext.fsGroup",
  "ConfigMapKeySelector.optional",
  "SecretKeySelector.optional",
  "ConfigMapEnvSource.optional",
  "SecretEnvSource.optional",
  "ConfigMapVolumeSource.defaultMode",
  "ConfigMapVolumeSource.optional",
  "SecretVolumeSource.defaultMode",
  "SecretVolumeSource.optional",
  "KeyToPath.mode",
  "Toleration.tolerationSeconds",
  "ServiceSpec.allocateLoadBalancerNodePorts",
  "ContainerPort.containerPort",
  "ServicePort.port",
  "PriorityClass.value",
  "HorizontalPodAutoscalerSpec.minReplicas",
  "HorizontalPodAutoscalerSpec.maxReplicas",
  "MetricTarget.averageUtilization",
  "HPAScalingRules.stabilizationWindowSeconds",
]);

/** Go-embedded structs whose fields JSON carries in the parent (`json:",inline"`). */
export const inlined = new Set(["localObjectReference", "handler", "volumeSource", "ingressRuleValue"]);

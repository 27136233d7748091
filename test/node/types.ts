// types.ts: the parts of core/v1 Pod, Secret and ConfigMap the node agent reads. Plain JSON as the
// API serves it (src/sources/kube/client.ts); fields the agent ignores are left out.

/** KeyRef names a key of a Secret or ConfigMap (env valueFrom). */
export interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/** EnvVar is one container environment variable. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
    secretKeyRef?: KeyRef;
    configMapKeyRef?: KeyRef;
  };
}

/** EnvFromSource imports every key of a Secret or ConfigMap. */
export interface EnvFromSource {
  prefix?: string;
  secretRef?: { name: string; optional?: boolean };
  configMapRef?: { name: string; optional?: boolean };
}

/** Probe is a readiness probe (liveness and startup probes are not run; see README.md). */
export interface Probe {
  httpGet?: {
    path?: string;
    port: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command: string[] };
  grpc?: { port: number };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

/** Container is one container of a Pod spec. */
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
}

/** KeyToPath projects one key of a Secret or ConfigMap volume to a relative path. */
export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** Volume is one Pod volume; Secret, ConfigMap and emptyDir are supported. */
export interface Volume {
  name: string;
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  emptyDir?: Record<string, unknown>;
}

/** Pod is a core/v1 Pod as far as the agent reads it. */
export interface Pod {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
  };
  spec: {
    nodeName?: string;
    schedulerName?: string;
    serviceAccountName?: string;
    restartPolicy?: "Always" | "OnFailure" | "Never";
    terminationGracePeriodSeconds?: number;
    initContainers?: Container[];
    containers: Container[];
    volumes?: Volume[];
  };
  status?: Record<string, unknown>;
}

/** DataObject is a Secret (data base64) or ConfigMap (data plain, binaryData base64). */
export interface DataObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

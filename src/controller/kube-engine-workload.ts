// kube-engine-workload.ts: the Deployment (or DaemonSet) that runs one EngineGroup's engines, as
// the controller wants it — pure, so the reconciler (kube-engines.ts) only compares and writes.
// The desired object carries a hash of itself (replicas aside: scaling is not a new revision);
// the reconciler updates a workload only when that hash changes, so what the API server fills in
// (defaults, status) never looks like drift and one change is one update, not a loop.
import { createHash } from "node:crypto";
import type {
  V1Affinity,
  V1Container,
  V1DaemonSetSpec,
  V1DeploymentSpec,
  V1PodSpec,
  V1TopologySpreadConstraint,
} from "@kubernetes/client-node";
import type { EngineGroupSpec } from "../k8s/engine-group.ts";

/** ENGINE_APP is the app.kubernetes.io/name of every engine workload and pod (the PodMonitor selects it). */
export const ENGINE_APP = "portico-engine";
/** GROUP_LABEL names the group on a workload and its pods. */
export const GROUP_LABEL = "portico.dev/engine-group";
/** HASH_ANNOTATION holds the hash of the desired workload the controller last wrote. */
export const HASH_ANNOTATION = "portico.dev/spec-hash";
/** LINK_SECRET is the Secret with the engine link's CA certificate and token (mounted read-only). */
export const LINK_SECRET = "portico-engine-link";
/** LINK_DIR is where engines find ca.crt and token. */
export const LINK_DIR = "/etc/portico/link";
/** ENGINE_CAPABILITIES are the only capabilities an engine container keeps (announcing and low ports). */
export const ENGINE_CAPABILITIES = ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"] as const;
/** ENGINE_ADMIN_PORT is the engine's admin port (/healthz, /readyz, /metrics), named "admin". */
export const ENGINE_ADMIN_PORT = 9902;

/** workloadName is the name of a group's Deployment or DaemonSet. */
export function workloadName(group: string): string {
  return `portico-engine-${group}`;
}

/** EngineGroupRef is a group as the reconciler sees it; uid is absent for the implicit default group. */
export interface EngineGroupRef {
  name: string;
  uid?: string;
  spec: EngineGroupSpec;
}

/** WorkloadOptions are the cluster-wide settings of every engine workload. */
export interface WorkloadOptions {
  namespace: string;
  image: string;
  /** controllerAddress is HOST:PORT of the controller's engine link (portico-controller.NS.svc:9443). */
  controllerAddress: string;
  /** drainSeconds is how long an engine drains on SIGTERM; the grace period is longer (default 30). */
  drainSeconds?: number;
  /** minReadySeconds: a new engine counts as available only after this long ready (default 10). */
  minReadySeconds?: number;
}

/** Workload is a desired Deployment or DaemonSet with its hash. */
export interface Workload {
  kind: "Deployment" | "DaemonSet";
  name: string;
  /** replicas is what a Deployment should run (undefined for a DaemonSet). */
  replicas: number | undefined;
  hash: string;
  object: {
    apiVersion: "apps/v1";
    kind: "Deployment" | "DaemonSet";
    metadata: {
      name: string;
      namespace: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
      ownerReferences?: Record<string, unknown>[];
    };
    spec: V1DeploymentSpec | V1DaemonSetSpec;
  };
}

/** desiredReplicas is the replica count of a group: spec.replicas, or with autoscaling the hook's
 * answer (default minReplicas) kept within min..max. */
export function desiredReplicas(g: EngineGroupRef, hook?: (g: EngineGroupRef) => number | undefined): number {
  const a = g.spec.autoscaling;
  if (!a) return g.spec.replicas ?? 1;
  const want = hook?.(g) ?? a.minReplicas;
  return Math.min(a.maxReplicas, Math.max(a.minReplicas, Math.round(want)));
}

/** workloadProblem names what in g's spec a workload cannot carry, or undefined when it can (the
 * CRD's schema refuses most of this; a group applied before the schema, or without it, may not). */
export function workloadProblem(g: EngineGroupRef): string | undefined {
  const s = g.spec;
  // The group name is a label value on every engine pod: 63 characters at most.
  if (!/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(g.name))
    return `EngineGroup ${g.name}: the name must be at most 63 lowercase letters, digits, '-' or '.' to label its engines`;
  const where = `EngineGroup ${g.name}`;
  if (s.workload !== undefined && s.workload !== "Deployment" && s.workload !== "DaemonSet")
    return `${where}: spec.workload "${String(s.workload)}" is not Deployment or DaemonSet`;
  if (s.replicas !== undefined && !(Number.isInteger(s.replicas) && s.replicas >= 0))
    return `${where}: spec.replicas ${String(s.replicas)} is not a whole number ≥ 0`;
  const a = s.autoscaling;
  if (
    a &&
    !(
      Number.isInteger(a.minReplicas) &&
      Number.isInteger(a.maxReplicas) &&
      0 < a.minReplicas &&
      a.minReplicas <= a.maxReplicas
    )
  )
    return `${where}: spec.autoscaling needs whole numbers 1 ≤ minReplicas ≤ maxReplicas (got ${String(a.minReplicas)}..${String(a.maxReplicas)})`;
  const spread = s.placement?.spreadAcross;
  if (spread !== undefined && spread !== "None" && !(spread in TOPOLOGY))
    return `${where}: spec.placement.spreadAcross "${String(spread)}" is not Node, Zone or None`;
  const w = s.workers;
  if (w !== undefined && w !== "auto" && !(Number.isInteger(w) && w >= 1 && w <= 256))
    return `${where}: spec.workers ${String(w)} is not 1-256 or "auto"`;
  return undefined;
}

const TOPOLOGY = { Node: "kubernetes.io/hostname", Zone: "topology.kubernetes.io/zone" } as const;

/** engineWorkload builds the workload of group g running replicas engines (ignored for a DaemonSet). */
export function engineWorkload(g: EngineGroupRef, replicas: number, o: WorkloadOptions): Workload {
  const kind = g.spec.workload ?? "Deployment";
  const name = workloadName(g.name);
  const labels = { "app.kubernetes.io/name": ENGINE_APP, [GROUP_LABEL]: g.name };
  const drain = o.drainSeconds ?? 30;
  const pod: V1PodSpec = {
    // Engines listen on VIP addresses of the node they run on, as the controller's engine did.
    hostNetwork: true,
    dnsPolicy: "ClusterFirstWithHostNet",
    // Room to drain: open connections finish before the kubelet's SIGKILL.
    terminationGracePeriodSeconds: drain + 10,
    containers: [engineContainer(g, o)],
    volumes: [
      {
        name: "link",
        // Only what an engine needs: the CA to pin and its token, not the controller's key.
        secret: {
          secretName: LINK_SECRET,
          defaultMode: 0o440,
          items: [
            { key: "ca.crt", path: "ca.crt" },
            { key: "token", path: "token" },
          ],
        },
      },
      { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
    ],
  };
  const p = g.spec.placement ?? {};
  if (p.nodeSelector && Object.keys(p.nodeSelector).length > 0) pod.nodeSelector = p.nodeSelector;
  if (p.tolerations && p.tolerations.length > 0) pod.tolerations = p.tolerations as V1PodSpec["tolerations"];
  const spread = p.spreadAcross ?? "Node";
  if (spread !== "None") {
    const topologyKey = TOPOLOGY[spread];
    // A DaemonSet runs one engine per node already; spreading is a Deployment's question.
    if (kind === "Deployment") {
      const c: V1TopologySpreadConstraint = {
        maxSkew: 1,
        topologyKey,
        // Two engines on one node share its fate; zones may be fewer than engines, so only prefer those.
        whenUnsatisfiable: spread === "Node" ? "DoNotSchedule" : "ScheduleAnyway",
        labelSelector: { matchLabels: labels },
      };
      pod.topologySpreadConstraints = [c];
    }
    if (g.spec.haMode === "ActiveStandby") {
      // An active engine and its standby on one node (or zone) would fail together.
      const affinity: V1Affinity = {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { topologyKey, labelSelector: { matchLabels: labels } } },
          ],
        },
      };
      pod.affinity = affinity;
    }
  }
  const template = { metadata: { labels }, spec: pod };
  const minReadySeconds = o.minReadySeconds ?? 10;
  const spec: V1DeploymentSpec | V1DaemonSetSpec =
    kind === "Deployment"
      ? {
          selector: { matchLabels: labels },
          // One engine at a time, never below the asked capacity: a new engine is ready (and has
          // been for minReadySeconds) before an old one is told to drain.
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          minReadySeconds,
          revisionHistoryLimit: 5,
          template,
        }
      : {
          selector: { matchLabels: labels },
          // On host ports a second engine cannot start beside the old one on the same node, so
          // a DaemonSet replaces in place, one node at a time (docs/engines.md).
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
          minReadySeconds,
          revisionHistoryLimit: 5,
          template,
        };
  const metadata: Workload["object"]["metadata"] = { name, namespace: o.namespace, labels, annotations: {} };
  if (g.uid)
    metadata.ownerReferences = [
      {
        apiVersion: "portico.dev/v1alpha1",
        kind: "EngineGroup",
        name: g.name,
        uid: g.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
  const object: Workload["object"] = { apiVersion: "apps/v1", kind, metadata, spec };
  const hash = hashOf(object);
  metadata.annotations[HASH_ANNOTATION] = hash;
  const r = kind === "Deployment" ? replicas : undefined;
  if (r !== undefined) (spec as V1DeploymentSpec).replicas = r;
  return { kind, name, replicas: r, hash, object };
}

/** engineContainer is the `portico engine` container of group g. */
function engineContainer(g: EngineGroupRef, o: WorkloadOptions): V1Container {
  const args = [
    "engine",
    "--controller",
    o.controllerAddress,
    "--group",
    g.name,
    "--ca-file",
    `${LINK_DIR}/ca.crt`,
    "--token-file",
    `${LINK_DIR}/token`,
    "--admin",
    `0.0.0.0:${ENGINE_ADMIN_PORT}`,
    "--workers",
    String(g.spec.workers ?? 1),
  ];
  const l = g.spec.limits ?? {};
  if (l.maxConnections) args.push("--max-connections", String(l.maxConnections));
  if (l.maxConnectionRate) args.push("--max-connection-rate", String(l.maxConnectionRate));
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  const c: V1Container = {
    name: "engine",
    image: o.image,
    args,
    env: [
      { name: "POD_NAME", ...field("metadata.name") },
      { name: "NODE_NAME", ...field("spec.nodeName") },
    ],
    ports: [{ name: "admin", containerPort: ENGINE_ADMIN_PORT, protocol: "TCP" }],
    readinessProbe: {
      httpGet: { path: "/readyz", port: "admin" },
      periodSeconds: 2,
      failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: "admin" },
      periodSeconds: 10,
      failureThreshold: 3,
    },
    volumeMounts: [
      { name: "link", mountPath: LINK_DIR, readOnly: true },
      // The root filesystem is read-only: BIRD's generated configuration and control socket go to
      // the temporary directory, a small memory-backed volume of the pod's own.
      { name: "tmp", mountPath: "/tmp" },
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      // Only what announcing VIPs and listening on them need (docs/networking.md): NET_ADMIN to add
      // VIP addresses with their lease and let BIRD open its sessions (TCP-MD5 keys), NET_RAW for
      // gratuitous ARP (arping) and BFD, NET_BIND_SERVICE for VIP ports below 1024.
      capabilities: { drop: ["ALL"], add: [...ENGINE_CAPABILITIES] },
    },
  };
  const r = g.spec.resources ?? {};
  const size: Record<string, string> = {};
  if (r.cpu) size.cpu = r.cpu;
  if (r.memory) size.memory = r.memory;
  // Requests equal to limits: the engine gets the size it was measured at (Guaranteed QoS when both are set).
  if (Object.keys(size).length > 0) c.resources = { requests: size, limits: { ...size } };
  return c;
}

/** hashOf is a short digest of a JSON value with its keys sorted (insertion order must not matter). */
export function hashOf(v: unknown): string {
  return createHash("sha256").update(canonical(v)).digest("hex").slice(0, 16);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

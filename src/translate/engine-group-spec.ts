// engine-group-spec.ts: an EngineGroup's spec checked and completed. The CRD's schema and CEL
// rules refuse the same mistakes at the API server; files reach Portico unchecked, so the pipeline
// checks here (hold.ts keeps the last valid version of a group that fails) and every later step
// reads the spec with its defaults applied.
import type { EngineGroup, EngineGroupSpec, HaMode } from "../k8s/engine-group.ts";
import { DEFAULT_ENGINE_GROUP } from "../k8s/engine-group.ts";
import { bgpSpecProblems, DEFAULT_LEASE_SECONDS, DEFAULT_WITHDRAW_DELAY_SECONDS } from "./announce.ts";

/** HA_MODES are the haMode values, in the order docs/engines.md explains them. */
export const HA_MODES: readonly HaMode[] = ["ActiveActive", "ActiveStandby", "NPlusM"];

/** GroupSpec is an EngineGroup spec with every default applied. */
export interface GroupSpec {
  replicas: number;
  autoscaling?: { minReplicas: number; maxReplicas: number; targetUtilization: number };
  resources: { cpu?: string; memory?: string };
  workers: number | "auto";
  workload: "Deployment" | "DaemonSet";
  placement: {
    nodeSelector: Record<string, string>;
    tolerations: NonNullable<NonNullable<EngineGroupSpec["placement"]>["tolerations"]>;
    spreadAcross: "Node" | "Zone" | "None";
  };
  haMode: HaMode;
  /** spares is M of NPlusM; 0 for the other modes, which have none. */
  spares: number;
  limits: { maxConnections: number; maxConnectionRate: number };
  /** announcement is how the group's engines announce VIPs (leases, drain delay). */
  announcement: { leaseSeconds: number; withdrawDelaySeconds: number };
}

/** SpecProblem is why a spec cannot be used: a stable reason, the field, and the message. */
export interface SpecProblem {
  reason: string;
  field: string;
  message: string;
}

/** QUANTITY is a Kubernetes resource quantity as the CRD's pattern accepts it ("500m", "2", "512Mi"). */
const QUANTITY = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|[kMGTPE]|[KMGTPE]i)?$/;

const SUFFIX: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** parseQuantity reads a quantity as a number (cores for cpu, bytes for memory); undefined when malformed. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === "number" && Number.isFinite(q) && q >= 0) return q;
  if (typeof q !== "string") return undefined;
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  return Number(m[1]) * SUFFIX[m[3] ?? ""]!;
}

/** count checks an integer field in [min, max]; the message names the field. */
function count(field: string, v: unknown, min: number, max = 1000): SpecProblem | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return undefined;
  return {
    reason: "InvalidCount",
    field,
    message: `${field}: ${JSON.stringify(v)} is not a whole number from ${min} to ${max}`,
  };
}

/** oneOf checks an enum field. */
function oneOf(
  field: string,
  v: unknown,
  allowed: readonly string[],
  reason: string,
): SpecProblem | undefined {
  if (v === undefined || (typeof v === "string" && allowed.includes(v))) return undefined;
  return {
    reason,
    field,
    message: `${field}: ${JSON.stringify(v)} is not one of ${allowed.join(", ")}`,
  };
}

/** specProblems lists what is wrong with a group's spec, in field order; empty when it can be used. */
export function specProblems(group: Pick<EngineGroup, "spec">): SpecProblem[] {
  const raw: unknown = group.spec;
  if (raw !== undefined && (raw === null || typeof raw !== "object" || Array.isArray(raw)))
    return [{ reason: "InvalidSpec", field: "spec", message: "spec: must be a map of fields" }];
  const spec = (raw ?? {}) as EngineGroupSpec;
  const out: (SpecProblem | undefined)[] = [count("spec.replicas", spec.replicas, 0)];
  const auto = spec.autoscaling;
  if (auto !== undefined) {
    out.push(count("spec.autoscaling.minReplicas", auto.minReplicas ?? "(missing)", 0));
    out.push(count("spec.autoscaling.maxReplicas", auto.maxReplicas ?? "(missing)", 1));
    out.push(count("spec.autoscaling.targetUtilization", auto.targetUtilization, 1));
    if (auto.targetUtilization !== undefined && auto.targetUtilization > 100)
      out.push({
        reason: "InvalidCount",
        field: "spec.autoscaling.targetUtilization",
        message: `spec.autoscaling.targetUtilization: ${auto.targetUtilization} is above 100 (percent)`,
      });
    if (typeof auto.minReplicas === "number" && typeof auto.maxReplicas === "number")
      if (auto.minReplicas > auto.maxReplicas)
        out.push({
          reason: "MinAboveMax",
          field: "spec.autoscaling.minReplicas",
          message: `spec.autoscaling.minReplicas ${auto.minReplicas} is above maxReplicas ${auto.maxReplicas}`,
        });
  }
  for (const r of ["cpu", "memory"] as const) {
    const v: unknown = spec.resources?.[r];
    if (v !== undefined && parseQuantity(v) === undefined)
      out.push({
        reason: "InvalidQuantity",
        field: `spec.resources.${r}`,
        message: `spec.resources.${r}: ${JSON.stringify(v)} is not a quantity (write "500m" or "2" for cpu, "512Mi" for memory)`,
      });
  }
  const w: unknown = spec.workers;
  // 256, as the CRD and the engine's --workers allow: a file must not accept what the API refuses.
  if (w !== undefined && w !== "auto") out.push(count("spec.workers", w, 1, 256));
  out.push(oneOf("spec.workload", spec.workload, ["Deployment", "DaemonSet"], "UnknownWorkload"));
  out.push(
    oneOf(
      "spec.placement.spreadAcross",
      spec.placement?.spreadAcross,
      ["Node", "Zone", "None"],
      "UnknownSpread",
    ),
  );
  out.push(oneOf("spec.haMode", spec.haMode, HA_MODES, "UnknownHaMode"));
  out.push(count("spec.spares", spec.spares, 0));
  if (spec.haMode === "NPlusM") {
    const engines = auto ? auto.minReplicas : (spec.replicas ?? 1);
    const spares = spec.spares ?? 1;
    if (typeof engines === "number" && typeof spares === "number" && spares >= engines)
      out.push({
        reason: "TooManySpares",
        field: "spec.spares",
        message: `spec.spares ${spares} leaves no active engine of ${engines} (${auto ? "autoscaling.minReplicas" : "replicas"}); NPlusM needs spares below the engine count`,
      });
  }
  for (const l of ["maxConnections", "maxConnectionRate"] as const) {
    const v: unknown = spec.limits?.[l];
    if (v !== undefined && !(typeof v === "number" && Number.isInteger(v) && v >= 0))
      out.push({
        reason: "InvalidLimit",
        field: `spec.limits.${l}`,
        message: `spec.limits.${l}: ${JSON.stringify(v)} is not a whole number ≥ 0 (0 is off)`,
      });
  }
  out.push(...bgpSpecProblems(spec));
  return out.filter((p): p is SpecProblem => p !== undefined);
}

/** withDefaults completes a valid spec (specProblems is empty) with every default. */
export function withDefaults(spec: EngineGroupSpec | undefined): GroupSpec {
  const s = spec ?? {};
  const haMode = s.haMode ?? "ActiveActive";
  const out: GroupSpec = {
    replicas: s.replicas ?? 1,
    resources: { ...(s.resources ?? {}) },
    workers: s.workers ?? 1,
    workload: s.workload ?? "Deployment",
    placement: {
      nodeSelector: { ...(s.placement?.nodeSelector ?? {}) },
      tolerations: [...(s.placement?.tolerations ?? [])],
      spreadAcross: s.placement?.spreadAcross ?? "Node",
    },
    haMode,
    spares: haMode === "NPlusM" ? (s.spares ?? 1) : 0,
    limits: {
      maxConnections: s.limits?.maxConnections ?? 0,
      maxConnectionRate: s.limits?.maxConnectionRate ?? 0,
    },
    announcement: {
      leaseSeconds: s.announcement?.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
      withdrawDelaySeconds: s.announcement?.withdrawDelaySeconds ?? DEFAULT_WITHDRAW_DELAY_SECONDS,
    },
  };
  if (s.autoscaling)
    out.autoscaling = {
      minReplicas: s.autoscaling.minReplicas,
      maxReplicas: s.autoscaling.maxReplicas,
      targetUtilization: s.autoscaling.targetUtilization ?? 70,
    };
  return out;
}

/** BUILTIN_DEFAULT_GROUP is the group "default" when no manifest names it: ActiveActive, one engine. */
export const BUILTIN_DEFAULT_GROUP: EngineGroup = {
  apiVersion: "portico.dev/v1alpha1",
  kind: "EngineGroup",
  metadata: { name: DEFAULT_ENGINE_GROUP },
  spec: { haMode: "ActiveActive", replicas: 1 },
};

// status.ts: a Pod's status from what its runner knows — pure, so the rules (phase from container
// states, the four conditions) read in one place. The agent writes it only when it differs.

/** PodFacts are what the runner knows about a Pod beyond its containers. */
export interface RunnerFacts {
  podIP?: string;
  hostIP: string;
  startTime: string;
  /** initialized: every init container finished with exit 0. */
  initialized: boolean;
  /** initFailed: an init container failed and will not be retried (restartPolicy Never). */
  initFailed: boolean;
  initStatuses: Record<string, unknown>[];
  statuses: Record<string, unknown>[];
}

type ContainerState = { running?: unknown; terminated?: { exitCode: number }; waiting?: { reason?: string } };

/** phaseOf is the Pod phase: Failed/Succeeded once every container terminated for good, Running
 * while any runs or waits to restart, Pending before. */
export function phaseOf(f: RunnerFacts): string {
  if (f.initFailed) return "Failed";
  const states = f.statuses.map((s) => s.state as ContainerState);
  if (states.length > 0 && states.every((s) => s.terminated))
    return states.every((s) => s.terminated!.exitCode === 0) ? "Succeeded" : "Failed";
  if (states.some((s) => s.running || s.terminated || s.waiting?.reason === "CrashLoopBackOff"))
    return "Running";
  return "Pending";
}

/** podStatus is the status subresource body for the facts, with conditions whose transition
 * times come from previous (the status last written) when their status did not change. */
export function podStatus(
  f: RunnerFacts,
  previous: Record<string, unknown> | undefined,
  at: string,
): Record<string, unknown> {
  const ready = f.statuses.length > 0 && f.statuses.every((s) => s.ready === true);
  const old = (previous?.conditions ?? []) as { type: string; status: string; lastTransitionTime?: string }[];
  const cond = (type: string, ok: boolean, reason?: string) => {
    const status = ok ? "True" : "False";
    const prev = old.find((c) => c.type === type);
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : at,
      ...(!ok && reason ? { reason } : {}),
    };
  };
  return {
    phase: phaseOf(f),
    hostIP: f.hostIP,
    hostIPs: [{ ip: f.hostIP }],
    ...(f.podIP ? { podIP: f.podIP, podIPs: [{ ip: f.podIP }] } : {}),
    startTime: f.startTime,
    conditions: [
      cond("PodReadyToStartContainers", f.podIP !== undefined),
      cond("Initialized", f.initialized, "ContainersNotInitialized"),
      cond("Ready", ready, "ContainersNotReady"),
      cond("ContainersReady", ready, "ContainersNotReady"),
      cond("PodScheduled", true),
    ],
    ...(f.initStatuses.length > 0 ? { initContainerStatuses: f.initStatuses } : {}),
    containerStatuses: f.statuses,
  };
}

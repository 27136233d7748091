// autoscale.ts: the replica count of an autoscaled EngineGroup (spec.autoscaling), decided from
// the group's utilization (sizing.ts groupPoints). Up fast, down slowly, as the Kubernetes HPA's
// default behaviour and Avi's SE autoscaling do: a group short of capacity drops connections, one
// with a spare engine only costs that engine. Pure: the clock and the last scaling times come in.
//   up:   the last 2 points at or above target → at once, by as many engines as the busier of them
//         needs to be back at target (never fewer than one more);
//   down: every point of the last 5 min below target, and the peak of those 5 min would still be
//         below target on one engine fewer → one engine fewer, at most once per 5 min, and not
//         within 5 min of a scale-up (an up-down-up cycle costs two rollouts for nothing);
//   always within min..max; stale or missing load holds the count.
import type { GroupPoint } from "./sizing.ts";

/** SCALE_DOWN_STABLE_MS is how long load must stay below target before one engine is removed. */
export const SCALE_DOWN_STABLE_MS = 5 * 60_000;
/** STALE_MS: a latest point older than this is not acted on (the engines went quiet, or the link did). */
export const STALE_MS = 60_000;

/** ReplicaInput is everything decideReplicas reads. */
export interface ReplicaInput {
  current: number;
  min: number;
  max: number;
  /** targetUtilization is the share of measured capacity to run at, percent (spec default 70). */
  targetUtilization: number;
  /** history is the group's points (any order); utilization × engines is the demand in engines. */
  history: readonly Pick<GroupPoint, "at" | "utilization" | "engines">[];
  now: number;
  /** lastScaleUp and lastScaleDown are when the count last went up or down (ms), if ever. */
  lastScaleUp?: number;
  lastScaleDown?: number;
}

/** ReplicaDecision is the count to run and why, a sentence fit for a Kubernetes Event. */
export interface ReplicaDecision {
  replicas: number;
  reason: string;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** decideReplicas answers how many engines the group should run now, and why. */
export function decideReplicas(i: ReplicaInput): ReplicaDecision {
  const target = i.targetUtilization / 100;
  const clamp = (n: number) => Math.min(i.max, Math.max(i.min, n));
  if (i.current < i.min)
    return {
      replicas: i.min,
      reason: `scaled up from ${i.current} to ${i.min} engines: minReplicas is ${i.min}`,
    };
  if (i.current > i.max)
    return {
      replicas: i.max,
      reason: `scaled down from ${i.current} to ${i.max} engines: maxReplicas is ${i.max}`,
    };
  const points = [...i.history].filter((p) => p.at <= i.now).sort((a, b) => a.at - b.at);
  const latest = points[points.length - 1];
  if (latest === undefined || i.now - latest.at > STALE_MS)
    return { replicas: i.current, reason: `holding ${i.current} engines: no recent load reports` };
  const demand = (p: (typeof points)[number]) => p.utilization * p.engines;

  // Reports from before the last scale-up measured the smaller count: the new engines' come first.
  const lastTwo = points.filter((p) => i.lastScaleUp === undefined || p.at > i.lastScaleUp).slice(-2);
  if (lastTwo.length === 2 && lastTwo.every((p) => p.utilization >= target)) {
    const busiest = Math.max(...lastTwo.map(demand));
    // Every engine reported and still ≥ target: one more at least. Fewer reported: new ones are
    // still starting, and the count may already be enough.
    const all = lastTwo.every((p) => p.engines >= i.current);
    const want = Math.max(Math.ceil(busiest / target - 1e-9), all ? i.current + 1 : i.current);
    const replicas = clamp(want);
    const seen = `utilization ${lastTwo.map((p) => pct(p.utilization)).join(" and ")} in the last two reports is at or above the ${i.targetUtilization}% target`;
    if (replicas === i.current)
      return {
        replicas,
        reason: `holding ${i.current} engines: ${seen}, but ${want > i.max ? `maxReplicas is ${i.max}` : `${i.current} engines carry it once all of them report`}`,
      };
    const capped = want > i.max ? ` (${want} wanted; maxReplicas is ${i.max})` : "";
    return {
      replicas,
      reason: `scaled up from ${i.current} to ${replicas} engines: ${seen}; ${replicas} engines run it at ${pct(busiest / replicas)}${capped}`,
    };
  }

  const since = i.now - SCALE_DOWN_STABLE_MS;
  const recent = points.filter((p) => p.at >= since);
  const belowFor = points[0]!.at <= since && recent.every((p) => p.utilization < target);
  const hold = (why: string) => ({
    replicas: i.current,
    reason: `holding ${i.current} engines: utilization ${pct(latest.utilization)} against the ${i.targetUtilization}% target${why}`,
  });
  if (i.current <= i.min || !belowFor) return hold(i.current <= i.min ? ` (minReplicas is ${i.min})` : "");
  const peak = Math.max(...recent.map(demand));
  const after = peak / (i.current - 1);
  if (after >= target)
    return hold(`; ${i.current - 1} engines would run the last 5 min's peak at ${pct(after)}`);
  const cooling = [i.lastScaleUp, i.lastScaleDown].some(
    (t) => t !== undefined && i.now - t < SCALE_DOWN_STABLE_MS,
  );
  if (cooling) return hold("; the count changed less than 5 min ago");
  return {
    replicas: i.current - 1,
    reason: `scaled down from ${i.current} to ${i.current - 1} engines: utilization stayed below the ${i.targetUtilization}% target for 5 min and ${i.current - 1} engines run its peak at ${pct(after)}`,
  };
}

// health.ts: the health score of a virtual service, an engine group and a pool of addresses —
// 0 to 100, with the reasons that lowered it (issue 15 item 4). Pure: the callers (store.ts for
// services, the health route for groups and pools) gather the figures.
//
// The model is Avi's in spirit: a score starts at 100 and each kind of trouble takes points —
// performance (Apdex against the latency target), errors, resources (backends down, the engine's
// saturation, addresses left) and security (attacks). score = max(0, 100 − Σ penalties), each
// penalty a whole number of points; a reason is listed only when it took at least one. The curves
// (docs/analytics.md) are chosen so that one thing entirely broken drives the score to
// 0 (every backend down, every request failing, no address for a waiting Service) while a slight
// drift costs a few points: 1% errors take 10, Apdex 0.9 takes 5.
import type { Health, HealthReason } from "./types.ts";

/** ServiceHealthInput are a virtual service's figures over the scored window. */
export interface ServiceHealthInput {
  requests: number;
  /** errors are 5xx responses and broken exchanges (status 0). */
  errors: number;
  /** apdex against the service's latency target (1 when no request). */
  apdex: number;
  targetMs: number;
  /** p99Ms of the total time over the window, when known: named in the latency reason. */
  p99Ms?: number;
  backendsDown: number;
  backendsTotal: number;
  /** downBackends names the backends down ("10.0.0.5:80"), when known: listed in the reason. */
  downBackends?: readonly string[];
  /** saturation is the busiest serving engine's event-loop utilisation (0..1), when known. */
  saturation?: number;
  /** attacks are requests a WAF blocked or would have blocked. */
  attacks: number;
}

/** LATENCY_WEIGHT is the most the latency reason takes: Apdex 0 (every request frustrated) leaves 50. */
export const LATENCY_WEIGHT = 50;
/** SATURATION_THRESHOLD is the event-loop utilisation above which an engine counts as saturated. */
export const SATURATION_THRESHOLD = 0.8;
/** SATURATION_WEIGHT is the most saturation takes (a loop 100% busy). */
export const SATURATION_WEIGHT = 30;
/** ATTACK_WEIGHT is the most attacks take: an attacked service still serves, so security is capped. */
export const ATTACK_WEIGHT = 25;

/** serviceHealth scores one virtual service. */
export function serviceHealth(input: ServiceHealthInput): Health {
  const { reasons, add } = collect();
  if (input.requests > 0) {
    const apdex = clamp01(input.apdex);
    const p99 = input.p99Ms !== undefined ? `p99 ${ms(input.p99Ms)} against a ` : "";
    const target = p99 ? `${ms(input.targetMs)} target` : `a ${ms(input.targetMs)} target`;
    add("latency", LATENCY_WEIGHT * (1 - apdex), `${p99}${target}: Apdex ${apdex.toFixed(2)}`);
    const rate = clamp01(input.errors / input.requests);
    // √rate: the first percent of failures matters most (1% → 10 points, 25% → 50, all → 100).
    add(
      "errors",
      100 * Math.sqrt(rate),
      `${input.errors} of ${input.requests} requests failed (5xx or broken): ${pct(rate)}`,
    );
    if (input.attacks > 0) {
      const share = clamp01(input.attacks / input.requests);
      add(
        "attacks",
        Math.min(ATTACK_WEIGHT, 5 + 50 * share),
        `${input.attacks} requests blocked or flagged by the WAF (${pct(share)} of requests)`,
      );
    }
  }
  backendsReason(input, add);
  saturationReason(input.saturation, "the busiest engine serving it", add);
  return finish(reasons);
}

/** backendsReason: all down takes everything; some down take up to 60 (capacity lost, still serving). */
function backendsReason(input: ServiceHealthInput, add: Add): void {
  const { backendsDown: down, backendsTotal: total } = input;
  if (total <= 0 || down <= 0) return;
  const names = input.downBackends?.length ? `: ${list(input.downBackends)}` : "";
  const penalty = down >= total ? 100 : 60 * (down / total);
  add("backends", penalty, `${down} of ${total} backends down${names}`);
}

type Add = (kind: HealthReason["kind"], penalty: number, message: string) => void;

/** saturationReason takes up to SATURATION_WEIGHT as the event loop goes from 80% to 100% busy. */
function saturationReason(elu: number | undefined, who: string, add: Add): void {
  if (elu === undefined || !(elu > SATURATION_THRESHOLD)) return;
  const over = (clamp01(elu) - SATURATION_THRESHOLD) / (1 - SATURATION_THRESHOLD);
  add(
    "saturation",
    SATURATION_WEIGHT * over,
    `${who}: event loop ${pct(elu)} busy (above ${pct(SATURATION_THRESHOLD)})`,
  );
}

/** GroupEngineInput is one engine of a group as the controller sees it (fleet view). */
export interface GroupEngineInput {
  name: string;
  /** ready: connected, acked the current push, every listener bound. */
  ready: boolean;
  /** eventLoopUtilization of its latest load report (busiest worker, 0..1). */
  eventLoopUtilization?: number;
}

/** GroupHealthInput are an engine group's engines and the scores of the services it serves. */
export interface GroupHealthInput {
  group: string;
  /** vips the group serves. */
  vips: number;
  /** engines, when the controller knows its engines (absent: no fleet, only the in-process engine). */
  engines?: readonly GroupEngineInput[];
  /** services are the scores of the virtual services the group serves, when known (by vsKey). */
  services?: Readonly<Record<string, Health>>;
}

/** SERVICES_WEIGHT: a group loses this share of its worst service's lost points. */
export const SERVICES_WEIGHT = 0.5;

/** groupHealth scores one engine group: engines not ready, the busiest engine, its worst service. */
export function groupHealth(input: GroupHealthInput): Health {
  const { reasons, add } = collect();
  const engines = input.engines;
  if (engines !== undefined) {
    const notReady = engines.filter((e) => !e.ready).map((e) => e.name);
    if (engines.length === 0 && input.vips > 0)
      add("engines", 100, `no engine serves group ${input.group} (${input.vips} VIPs)`);
    else if (notReady.length > 0) {
      const all = notReady.length === engines.length;
      add(
        "engines",
        all ? 100 : 60 * (notReady.length / engines.length),
        `${notReady.length} of ${engines.length} engines not ready: ${list(notReady)}`,
      );
    }
    let busiest: GroupEngineInput | undefined;
    for (const e of engines)
      if ((e.eventLoopUtilization ?? 0) > (busiest?.eventLoopUtilization ?? 0)) busiest = e;
    if (busiest) saturationReason(busiest.eventLoopUtilization, `engine ${busiest.name}`, add);
  }
  const worst = Object.entries(input.services ?? {}).sort(
    ([a, x], [b, y]) => x.score - y.score || a.localeCompare(b),
  )[0];
  if (worst && worst[1].score < 100) {
    const [vs, h] = worst;
    const top = [...h.reasons].sort((a, b) => b.penalty - a.penalty)[0];
    add(
      top?.kind ?? "errors",
      SERVICES_WEIGHT * (100 - h.score),
      `virtual service ${vs} scores ${h.score}${top ? ` (${top.message})` : ""}`,
    );
  }
  return finish(reasons);
}

/** PoolFamilyInput are one address family's figures of a pool (`portico get pools`). */
export interface PoolFamilyInput {
  family: "IPv4" | "IPv6";
  used: number;
  free: number;
}

/** PoolHealthInput are a VIP pool's figures: per family, the requests waiting, its Ready condition. */
export interface PoolHealthInput {
  pool: string;
  families: readonly PoolFamilyInput[];
  /** waiting are the VIP request keys that could not get an address from this pool. */
  waiting: readonly string[];
  /** notReady is the Ready condition's "Reason: message" when the pool is not Ready. */
  notReady?: string;
}

/** POOL_FULL_THRESHOLD: a family more than this share used starts losing points (none left: 40). */
export const POOL_FULL_THRESHOLD = 0.8;

/** poolHealth scores one VIP pool: requests left without an address, addresses running out. */
export function poolHealth(input: PoolHealthInput): Health {
  const { reasons, add } = collect();
  if (input.notReady !== undefined) add("addresses", 100, `pool not Ready: ${input.notReady}`);
  const n = input.waiting.length;
  // A waiting request is a Service or Gateway with no address: an outage for it, not a drift.
  if (n > 0)
    add(
      "addresses",
      50 + 10 * n,
      `${n} VIP request${n === 1 ? "" : "s"} could not get an address: ${list(input.waiting)}`,
    );
  for (const f of input.families) {
    const total = f.used + f.free;
    if (total <= 0 || f.used <= 0) continue;
    const share = f.used / total;
    if (share <= POOL_FULL_THRESHOLD) continue;
    const penalty = (40 * (share - POOL_FULL_THRESHOLD)) / (1 - POOL_FULL_THRESHOLD);
    add("addresses", penalty, `${f.family}: ${f.free} of ${total} addresses free (${pct(share)} used)`);
  }
  return finish(reasons);
}

/** collect starts a reason list; add rounds a penalty to whole points and drops one under a point. */
function collect(): { reasons: HealthReason[]; add: Add } {
  const reasons: HealthReason[] = [];
  const add: Add = (kind, penalty, message) => {
    const p = Math.min(100, Math.round(penalty));
    if (p >= 1) reasons.push({ kind, penalty: p, message });
  };
  return { reasons, add };
}

/** finish sorts reasons by penalty (largest first) and scores. */
function finish(reasons: HealthReason[]): Health {
  reasons.sort((a, b) => b.penalty - a.penalty);
  const lost = reasons.reduce((s, r) => s + r.penalty, 0);
  return { score: Math.max(0, 100 - lost), reasons };
}

function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}

function pct(v: number): string {
  const p = v * 100;
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}

/** ms renders a duration: "250 ms", "1.2 s". */
function ms(v: number): string {
  return v >= 1000 ? `${+(v / 1000).toFixed(2)} s` : `${+v.toFixed(1)} ms`;
}

/** list names up to three items and how many more. */
function list(items: readonly string[]): string {
  const head = items.slice(0, 3).join(", ");
  return items.length > 3 ? `${head} and ${items.length - 3} more` : head;
}

// sizing.ts: how close a group's engines are to saturation, and what to change (issue 13.5). Pure:
// it reads the engines' load histories (EngineLoad, link/protocol.ts) and a Calibration — the
// per-core capacity `portico size --calibrate` measured — and the clock is an argument.
//
// Saturation is demand over capacity. An engine's demand, in cores, is what its traffic would cost
// at the calibrated rates: plain requests / HTTP capacity + TLS requests / HTTPS capacity + each
// handshake's extra cost (1 / handshake capacity − 1 / HTTPS capacity: the handshake measurement
// also carried one request). The CPU cores it actually used count too (the larger wins), so work
// the calibration does not price (L4 bytes, big bodies, retries) still shows. Without a
// calibration only the CPU figure is left, and the advice says so.
import type { Calibration, EngineGroupStatus, EngineStatusEntry } from "../../k8s/engine-group.ts";
import type { EngineLoad } from "../../link/protocol.ts";

/** SizingEngine is one engine of a group as sizing needs it (EngineView: identity.vcpu, history). */
export interface SizingEngine {
  name: string;
  vcpu: number;
  history: readonly EngineLoad[];
}

/** GroupPoint is a group's load in one time bucket (utilization: demand over the group's capacity). */
export interface GroupPoint {
  at: number;
  /** utilization is demand cores over the vCPUs of the engines that reported, 0..1 (more: overloaded). */
  utilization: number;
  /** engines reported in the bucket; demandCores = utilization × their vCPUs. */
  engines: number;
  demandCores: number;
  requestsPerSecond: number;
  tlsRequestsPerSecond: number;
}

/** GroupSizing is the verdict on one group: numbers and the advice in words. */
export interface GroupSizing {
  group: string;
  engines: number;
  vcpu: number;
  calibrated: boolean;
  /** peak is the busiest bucket of the window; absent when no engine reported in it. */
  peak?: GroupPoint;
  /** perEngine is each engine's saturation in its latest report (0..1), for `portico size -o wide`. */
  perEngine: { name: string; vcpu: number; saturation: number | undefined }[];
  advice: string;
}

/** SizingOptions: window (default 1 h) and headroom (default 0.3) shape the advice. */
export interface SizingOptions {
  now: number;
  windowMs?: number;
  /** headroom is the share of capacity to keep free at peak, 0..0.9. */
  headroom?: number;
  /** bucketMs is the time bucket engines' reports are summed in (default 10 s: 5 reports each). */
  bucketMs?: number;
}

/** DEFAULT_WINDOW_MS is the span the peak is taken over. */
export const DEFAULT_WINDOW_MS = 3_600_000;
/** DEFAULT_HEADROOM is the share of capacity the advice keeps free at peak. */
export const DEFAULT_HEADROOM = 0.3;
/** SIZES are the vCPU sizes the advice offers for bigger engines. */
const SIZES = [0.5, 1, 2, 4, 8, 16, 32, 64];

/** demandCores is what one report's traffic costs in cores: calibrated, or the CPU it used. */
export function demandCores(l: EngineLoad, cal: Calibration | undefined): number {
  if (cal === undefined) return l.cpuCores;
  const c = cal.perCore;
  const tls = Math.min(l.tlsRequestsPerSecond ?? 0, l.requestsPerSecond);
  const handshakeExtra = Math.max(0, 1 / c.tlsHandshakesPerSecond - 1 / c.httpsRequestsPerSecond);
  const priced =
    (l.requestsPerSecond - tls) / c.httpRequestsPerSecond +
    tls / c.httpsRequestsPerSecond +
    l.tlsHandshakesPerSecond * handshakeExtra;
  return Math.max(priced, l.cpuCores);
}

/** saturation is one report's demand over the engine's vCPUs (1 = at measured capacity). */
export function saturation(l: EngineLoad, vcpu: number, cal: Calibration | undefined): number {
  return demandCores(l, cal) / Math.max(vcpu, 0.001);
}

/** groupPoints sums the engines' reports per time bucket, oldest first, from `since` on. */
export function groupPoints(
  engines: readonly SizingEngine[],
  cal: Calibration | undefined,
  since: number,
  bucketMs = 10_000,
): GroupPoint[] {
  interface Acc {
    // Per engine in the bucket: time-weighted sums, so 5 reports of one engine count as one engine.
    per: Map<string, { ms: number; demand: number; rps: number; tls: number; vcpu: number }>;
  }
  const buckets = new Map<number, Acc>();
  for (const e of engines) {
    for (const l of e.history) {
      if (l.at < since) continue;
      const b = Math.floor(l.at / bucketMs);
      const acc = buckets.get(b) ?? { per: new Map() };
      buckets.set(b, acc);
      const p = acc.per.get(e.name) ?? { ms: 0, demand: 0, rps: 0, tls: 0, vcpu: e.vcpu };
      acc.per.set(e.name, p);
      const ms = Math.max(1, l.intervalMs);
      p.ms += ms;
      p.demand += demandCores(l, cal) * ms;
      p.rps += l.requestsPerSecond * ms;
      p.tls += (l.tlsRequestsPerSecond ?? 0) * ms;
    }
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, acc]) => {
      let demand = 0;
      let vcpu = 0;
      let rps = 0;
      let tls = 0;
      for (const p of acc.per.values()) {
        demand += p.demand / p.ms;
        rps += p.rps / p.ms;
        tls += p.tls / p.ms;
        vcpu += p.vcpu;
      }
      return {
        at: b * bucketMs,
        utilization: demand / Math.max(vcpu, 0.001),
        engines: acc.per.size,
        demandCores: demand,
        requestsPerSecond: rps,
        tlsRequestsPerSecond: tls,
      };
    });
}

/** sizeGroup computes a group's peak over the window and the advice for the headroom asked. */
export function sizeGroup(
  group: string,
  engines: readonly SizingEngine[],
  cal: Calibration | undefined,
  o: SizingOptions,
): GroupSizing {
  const windowMs = o.windowMs ?? DEFAULT_WINDOW_MS;
  const headroom = o.headroom ?? DEFAULT_HEADROOM;
  const vcpu = engines.reduce((t, e) => t + e.vcpu, 0);
  const points = groupPoints(engines, cal, o.now - windowMs, o.bucketMs);
  const peak = points.reduce<GroupPoint | undefined>(
    (best, p) => (best === undefined || p.utilization > best.utilization ? p : best),
    undefined,
  );
  const perEngine = engines.map((e) => {
    const last = e.history[e.history.length - 1];
    return { name: e.name, vcpu: e.vcpu, saturation: last && saturation(last, e.vcpu, cal) };
  });
  const shape = fleetShape(engines);
  const span = `over the last ${durationWords(windowMs)}`;
  const uncalibrated =
    "no calibration: this is CPU use only; run `portico size --calibrate` to measure per-core capacity";
  let advice: string;
  if (engines.length === 0) advice = `group ${group}: no engines`;
  else if (peak === undefined) advice = `group ${group}: no load reports ${span} on ${shape}`;
  else {
    const what = `peak ${rateWords(peak.requestsPerSecond)} req/s${trafficKind(peak)} ${span} on ${shape}`;
    const of = cal ? "of measured capacity" : `CPU of ${formatNumber(vcpu)} vCPU`;
    advice =
      `group ${group}: ${what}, ${Math.round(peak.utilization * 100)}% ${of}; ` +
      change(engines.length, vcpu, peak.demandCores, headroom) +
      (cal ? "" : ` (${uncalibrated})`);
  }
  return { group, engines: engines.length, vcpu, calibrated: cal !== undefined, peak, perEngine, advice };
}

/** sizingStatus is a verdict as the EngineGroup's status.sizing carries it (saturation in percent). */
export function sizingStatus(s: GroupSizing, now: number): NonNullable<EngineGroupStatus["sizing"]> {
  return {
    saturation: s.peak ? Math.round(s.peak.utilization * 100) : 0,
    peak: s.peak ? `${rateWords(s.peak.requestsPerSecond)} req/s${trafficKind(s.peak)}` : "no load reports",
    advice: s.advice,
    at: new Date(now).toISOString(),
  };
}

/** loadSummary is one engine's latest report as the group's status lists it. */
export function loadSummary(
  l: EngineLoad,
  vcpu: number,
  cal: Calibration | undefined,
): NonNullable<EngineStatusEntry["load"]> {
  return {
    requestsPerSecond: Math.round(l.requestsPerSecond),
    connectionsOpen: l.connectionsOpen,
    cpuCores: Math.round(l.cpuCores * 100) / 100,
    saturationPercent: Math.round(saturation(l, vcpu, cal) * 100),
  };
}

/** change says what fleet keeps `headroom` free at a peak demand of `demand` cores. */
function change(count: number, vcpu: number, demand: number, headroom: number): string {
  const pct = `${Math.round(headroom * 100)}% headroom`;
  const need = demand / (1 - headroom);
  const per = vcpu / count;
  const engines = Math.max(1, Math.ceil(need / per - 1e-9));
  if (need <= vcpu + 1e-9)
    return engines < count ? `${pct} holds; ${engines} × ${formatNumber(per)} vCPU would do` : `${pct} holds`;
  const size = SIZES.find((s) => s * count >= need - 1e-9);
  const bigger = size === undefined ? "" : ` or ${count} × ${formatNumber(size)} vCPU`;
  return `for ${pct} run ${engines} engines${bigger}`;
}

/** fleetShape is "2 engines × 1 vCPU", or "3 engines, 5 vCPU in all" when sizes differ. */
function fleetShape(engines: readonly SizingEngine[]): string {
  const n = engines.length;
  const noun = n === 1 ? "engine" : "engines";
  const sizes = new Set(engines.map((e) => e.vcpu));
  if (sizes.size === 1) return `${n} ${noun} × ${formatNumber(engines[0]!.vcpu)} vCPU`;
  return `${n} ${noun}, ${formatNumber(engines.reduce((t, e) => t + e.vcpu, 0))} vCPU in all`;
}

/** trafficKind labels a peak " HTTPS", " HTTP" or " (40% HTTPS)". */
function trafficKind(p: GroupPoint): string {
  if (p.requestsPerSecond <= 0) return "";
  const share = p.tlsRequestsPerSecond / p.requestsPerSecond;
  if (share >= 0.9) return " HTTPS";
  if (share <= 0.1) return " HTTP";
  return ` (${Math.round(share * 100)}% HTTPS)`;
}

/** rateWords writes 38400 as "38k", 1234 as "1.2k", 950 as "950". */
export function rateWords(n: number): string {
  if (n >= 1e6) return `${formatNumber(n / 1e6, n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${formatNumber(n / 1e3, n >= 1e4 ? 0 : 1)}k`;
  return formatNumber(n, n >= 10 ? 0 : 1);
}

/** formatNumber drops a trailing ".0". */
function formatNumber(n: number, digits = 1): string {
  return String(Number(n.toFixed(digits)));
}

/** durationWords writes 3600000 as "hour", 900000 as "15 min", 7200000 as "2 h". */
export function durationWords(ms: number): string {
  if (ms === 3_600_000) return "hour";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

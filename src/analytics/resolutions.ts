// resolutions.ts: how long the controller keeps analytics and at what resolution. A virtual
// service keeps every counter at three resolutions (5 s for an hour, 1 min for a day, 1 h for 30
// days); routes and backends, which are ten to a hundred times as many, keep coarser rings so that
// 1,000 routes stay within the documented memory (docs/analytics.md). Mergeable latency
// sketches and top lists are kept per virtual service in a small pyramid (PYRAMID) that window
// summaries merge.
import type { Window } from "./types.ts";

/** Resolution is one ring's bucket length and how many buckets it keeps. */
export interface Resolution {
  name: "5s" | "1m" | "5m" | "1h" | "1d";
  ms: number;
  slots: number;
}

const S5: Resolution = { name: "5s", ms: 5_000, slots: 720 };
const M1: Resolution = { name: "1m", ms: 60_000, slots: 1_440 };
const H1: Resolution = { name: "1h", ms: 3_600_000, slots: 720 };

/** RESOLUTIONS are a virtual service's counter rings: 5 s for 1 h, 1 min for 24 h, 1 h for 30 days. */
export const RESOLUTIONS: readonly Resolution[] = [S5, M1, H1];

/** DETAIL_RESOLUTIONS are a route's or a backend's rings: 1 min for 1 h, 1 h for 24 h, 1 day for 30 days. */
export const DETAIL_RESOLUTIONS: readonly Resolution[] = [
  { name: "1m", ms: 60_000, slots: 60 },
  { name: "1h", ms: 3_600_000, slots: 24 },
  { name: "1d", ms: 86_400_000, slots: 30 },
];

/**
 * PYRAMID are a virtual service's sketch and top-list rings: minutes of the last 10 minutes (the 5m
 * window reads the last 5; the service's 1 min ring takes its quantiles from the cells as they
 * close, so a batch up to 9 minutes late, an engine's queue after an outage, still counts in its
 * minute's quantiles), 5 minutes of the last hour (1h), hours of the last day (6h, 24h), days of
 * the last 30 (7d, 30d). Cells are the costliest thing kept, so there are few of them.
 */
export const PYRAMID: readonly Resolution[] = [
  { name: "1m", ms: 60_000, slots: 10 },
  { name: "5m", ms: 300_000, slots: 12 },
  { name: "1h", ms: 3_600_000, slots: 24 },
  { name: "1d", ms: 86_400_000, slots: 30 },
];

/** pyramidIndex picks the cell ring a window's summary merges. */
export function pyramidIndex(w: Window): 0 | 1 | 2 | 3 {
  return w === "5m" ? 0 : w === "1h" ? 1 : w === "6h" || w === "24h" ? 2 : 3;
}

/** WINDOW_MS is each query window's length. */
export const WINDOW_MS: Record<Window, number> = {
  "5m": 300_000,
  "1h": 3_600_000,
  "6h": 21_600_000,
  "24h": 86_400_000,
  "7d": 604_800_000,
  "30d": 2_592_000_000,
};

/** WINDOWS lists the accepted windows in order. */
export const WINDOWS = Object.keys(WINDOW_MS) as Window[];

/** isWindow tells a query's window parameter is one of WINDOWS. */
export function isWindow(w: string): w is Window {
  return Object.hasOwn(WINDOW_MS, w);
}

/** windowIndex picks the ring of rings for a window: 5m/1h → [0], 6h/24h → [1], 7d/30d → [2]. */
export function windowIndex(w: Window): 0 | 1 | 2 {
  return w === "5m" || w === "1h" ? 0 : w === "6h" || w === "24h" ? 1 : 2;
}

// engine-table.ts: `portico get engines` — one row per engine from a FleetView (GET
// /api/v1/engines): who it is, what it serves, how loaded it is. Rows carry every column (-o wide);
// ENGINE_COLUMNS is the narrow view. Pure.
import type { Row } from "../tables.ts";
import type { EngineView, FleetView } from "./view.ts";

/** ENGINE_COLUMNS are the columns `-o table` shows. */
export const ENGINE_COLUMNS = [
  "NAME",
  "GROUP",
  "NODE",
  "ACKED",
  "READY",
  "REQ/S",
  "CONNS",
  "CPU",
  "AGE",
] as const;

/** age is a kubectl-style duration: 45s, 12m, 3h, 2d. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

// num prints a rate or a count compactly: 0, 12, 1.5k, 38k.
function num(v: number | undefined, digits = 0): string {
  if (v === undefined) return "-";
  if (Math.abs(v) >= 10_000) return `${Math.round(v / 1000)}k`;
  if (Math.abs(v) >= 1_000) return `${(v / 1000).toFixed(1)}k`;
  return v.toFixed(digits);
}

function ready(e: EngineView): string {
  if (!e.connected) return "Gone";
  return e.ready ? "True" : "False";
}

/** engineRows lays out a FleetView, every column; now is the reader's clock (ms since the epoch). */
export function engineRows(view: FleetView, now = Date.now()): Row[] {
  return view.engines.map((e) => ({
    NAME: e.identity.name,
    GROUP: e.identity.group,
    NODE: e.identity.node,
    ACKED: e.acked ? String(e.acked.version) : "-",
    READY: ready(e),
    "REQ/S": num(e.load?.requestsPerSecond),
    CONNS: num(e.load?.connectionsOpen),
    CPU: e.load ? e.load.cpuCores.toFixed(2) : "-",
    AGE: e.connectedSince ? age(now - Date.parse(e.connectedSince)) : "-",
    VERSION: e.identity.version,
    "EPOCH/SEQ": e.acked ? `${e.acked.epoch}/${e.acked.seq}` : "-",
    PENDING: e.pending ? String(e.pending.version) : "-",
    ELU: e.load ? e.load.eventLoopUtilization.toFixed(2) : "-",
    "LAG-P99": e.load ? `${num(e.load.lagP99Ms)}ms` : "-",
    VCPU: String(e.identity.vcpu),
    "LAST-HEARD": e.local ? "-" : `${age(e.lastHeardMsAgo)} ago`,
    "LAST-NACK": e.lastNack ? `version ${e.lastNack.version}: ${e.lastNack.error}` : "",
    ANNOUNCED: e.announce ? String(e.announce.vips.filter((v) => v.state === "Announced").length) : "-",
    BGP: bgpColumn(e),
  }));
}

// bgpColumn lists the engine's BGP sessions as NAME=STATE ("tor1=Established,core=Active"); "-" without any.
function bgpColumn(e: EngineView): string {
  const peers = e.announce?.peers ?? [];
  return peers.length > 0 ? peers.map((p) => `${p.name}=${p.state}`).join(",") : "-";
}

/** narrowEngines keeps ENGINE_COLUMNS. */
export function narrowEngines(rows: readonly Row[]): Row[] {
  return rows.map((r) => Object.fromEntries(ENGINE_COLUMNS.map((c) => [c, r[c] ?? ""])));
}

// fleet-metrics.ts: the fleet's Prometheus series, appended to the local engine's exposition —
// one gauge family per fact, labelled by engine and group (the cardinality is the engine count).
import { escapeLabel } from "../../engine/prom.ts";
import type { EngineView, FleetView } from "./view.ts";

interface Family {
  name: string;
  help: string;
  value: (e: EngineView) => number | undefined;
}

const FAMILIES: readonly Family[] = [
  {
    name: "portico_engine_up",
    help: "1 while the engine is connected (the local engine: always), 0 for an hour after it left.",
    value: (e) => (e.connected ? 1 : 0),
  },
  {
    name: "portico_engine_ready",
    help: "1 when the engine acked the current push and bound every listener it should.",
    value: (e) => (e.ready ? 1 : 0),
  },
  {
    name: "portico_engine_acked_version",
    help: "Snapshot version the engine last acknowledged (what it serves).",
    value: (e) => e.acked?.version,
  },
  {
    name: "portico_engine_acked_seq",
    help: "Push sequence number the engine last acknowledged, within the controller's epoch.",
    value: (e) => e.acked?.seq,
  },
  {
    name: "portico_engine_requests_per_second",
    help: "HTTP requests per second in the engine's latest load report.",
    value: (e) => e.load?.requestsPerSecond,
  },
  {
    name: "portico_engine_connections_open",
    help: "Client connections open in the engine's latest load report.",
    value: (e) => e.load?.connectionsOpen,
  },
  {
    name: "portico_engine_connections_per_second",
    help: "New client connections per second in the engine's latest load report.",
    value: (e) => e.load?.connectionsPerSecond,
  },
  {
    name: "portico_engine_cpu_cores",
    help: "CPU time per wall second (1 = one core busy) in the engine's latest load report.",
    value: (e) => e.load?.cpuCores,
  },
  {
    name: "portico_engine_event_loop_utilization",
    help: "Busiest worker's event-loop utilization (0..1) in the engine's latest load report.",
    value: (e) => e.load?.eventLoopUtilization,
  },
];

/** fleetMetrics renders the fleet's gauges for engines; a family with no sample is left out. */
export function fleetMetrics(engines: readonly EngineView[]): string {
  const out: string[] = [];
  for (const f of FAMILIES) {
    const samples = engines.flatMap((e) => {
      const v = f.value(e);
      if (v === undefined || !Number.isFinite(v)) return [];
      return [
        `${f.name}{engine="${escapeLabel(e.identity.name)}",group="${escapeLabel(e.identity.group)}"} ${v}`,
      ];
    });
    if (samples.length === 0) continue;
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`, ...samples);
  }
  return out.length > 0 ? out.join("\n") + "\n" : "";
}

/**
 * announceMetrics renders who announces each VIP (portico_vip_announcer_info, one series per engine
 * announcing a VIP now) and each connected engine's BGP sessions (portico_bgp_session_up) from the
 * engines' reports; the cardinality is VIPs × announcers and engines × peers.
 */
export function announceMetrics(view: Pick<FleetView, "engines" | "announcements">): string {
  const out: string[] = [];
  const info = (view.announcements ?? []).flatMap((v) =>
    v.announcers
      .filter((a) => a.state === "Announced")
      .map(
        (a) =>
          `portico_vip_announcer_info{vip="${escapeLabel(v.address)}",group="${escapeLabel(v.group)}",engine="${escapeLabel(a.engine)}",node="${escapeLabel(a.node)}",mode="${v.mode}"} 1`,
      ),
  );
  if (info.length > 0)
    out.push(
      "# HELP portico_vip_announcer_info 1 for each engine announcing a VIP now (L2: its owner; BGP: every engine exporting the route).",
      "# TYPE portico_vip_announcer_info gauge",
      ...info,
    );
  const sessions = view.engines
    .filter((e) => e.connected)
    .flatMap((e) =>
      (e.announce?.peers ?? []).map(
        (p) =>
          `portico_bgp_session_up{engine="${escapeLabel(e.identity.name)}",peer="${escapeLabel(p.name)}"} ${p.state === "Established" ? 1 : 0}`,
      ),
    );
  if (sessions.length > 0)
    out.push(
      "# HELP portico_bgp_session_up 1 while the engine's BGP session to the peer is Established, as the engine reported it.",
      "# TYPE portico_bgp_session_up gauge",
      ...sessions,
    );
  return out.length > 0 ? out.join("\n") + "\n" : "";
}

// analytics-routes.ts: the admin API's analytics answers, read by the console (issue 15).
//   GET /api/v1/analytics/services?window=W                          ServiceSummary[], busiest first
//   GET /api/v1/analytics/series?vs=KEY&window=W[&route=R|&backend=B] Series (the VS, a route or a backend)
//   GET /api/v1/analytics/top?vs=KEY&window=W                        TopLists merged over the window
// W is one of 5m, 1h, 6h, 24h, 7d, 30d (default 1h). Bad parameters are 400 saying what to send;
// an unknown virtual service, route or backend is 404 naming it. With a tenant scope
// (tenant-scope.ts) only the tenant's virtual services are listed, and another's answers as unknown.
import type { FleetView } from "../controller/fleet/view.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import { isWindow, WINDOWS } from "../analytics/resolutions.ts";
import type { AnalyticsStore } from "../analytics/store.ts";
import { summarizeAll, type AnalyticsContext } from "../analytics/summary.ts";
import type { Window } from "../analytics/types.ts";
import type { TenantScope } from "./tenant-scope.ts";

/** AnalyticsReader is what these routes read: the store and what the controller knows beside it. */
export interface AnalyticsReader {
  store: AnalyticsStore;
  /** snapshot is the snapshot now serving: latency targets, and each service's backends. */
  snapshot(): EngineSnapshot | undefined;
  /** endpoints is each backend's health as the engine sees it, when the engine reports it. */
  endpoints?(): readonly { pool: string; backend: string; healthy: boolean }[] | undefined;
}

type Send = (status: number, type: string, body: string) => void;

/** serveAnalyticsRoute answers path if it is an analytics route and returns true. */
export function serveAnalyticsRoute(
  reader: AnalyticsReader | undefined,
  engines: FleetView | undefined,
  url: string,
  send: Send,
  scope?: TenantScope,
): boolean {
  const u = new URL(url, "http://admin");
  const m = /^\/api\/v1\/analytics\/([a-z]+)$/.exec(u.pathname);
  if (!m) return false;
  if (!reader) {
    send(404, "text/plain", "analytics is off in this Portico (no analytics store)\n");
    return true;
  }
  const q = u.searchParams;
  const w = q.get("window") ?? "1h";
  if (!isWindow(w)) {
    send(400, "text/plain", `window=${JSON.stringify(w)}: send one of ${WINDOWS.join(", ")}\n`);
    return true;
  }
  const json = (doc: unknown) => send(200, "application/json", JSON.stringify(doc) + "\n");
  const { store } = reader;
  switch (m[1]) {
    case "services":
      json(
        summarizeAll(store, w, contextOf(reader, engines)).filter((s) => !scope || scope.services.has(s.vs)),
      );
      return true;
    case "series":
    case "top":
      answer(m[1], store, q, w, json, send, scope);
      return true;
    default:
      send(
        404,
        "text/plain",
        "not found: try /api/v1/analytics/services?window=W, /api/v1/analytics/series?vs=KEY&window=W, /api/v1/analytics/top?vs=KEY&window=W\n",
      );
      return true;
  }
}

function answer(
  what: "series" | "top",
  store: AnalyticsStore,
  q: URLSearchParams,
  w: Window,
  json: (doc: unknown) => void,
  send: Send,
  scope: TenantScope | undefined,
): void {
  const vs = q.get("vs");
  if (!vs)
    return send(
      400,
      "text/plain",
      `${what} needs vs=KEY: a virtual service key from /api/v1/analytics/services\n`,
    );
  if (!store.has(vs) || (scope && !scope.services.has(vs)))
    return send(404, "text/plain", `no analytics for virtual service ${JSON.stringify(vs)}\n`);
  if (what === "top") return json(store.top(vs, w));
  const route = q.get("route");
  const backend = q.get("backend");
  if (route !== null && backend !== null)
    return send(400, "text/plain", "give route=NAME or backend=KEY, not both\n");
  const sel = route !== null ? { route } : backend !== null ? { backend } : {};
  const series = store.series(vs, w, sel);
  if (!series) {
    const [kind, name] = route !== null ? ["route", route] : ["backend", backend];
    return send(
      404,
      "text/plain",
      `virtual service ${JSON.stringify(vs)} has no ${kind} ${JSON.stringify(name)}\n`,
    );
  }
  json(series);
}

/** contextOf tells the summaries each service's target, backends and the engines' saturation. */
export function contextOf(reader: AnalyticsReader, engines: FleetView | undefined): AnalyticsContext {
  const snap = reader.snapshot();
  const live = new Map<string, boolean>();
  for (const e of reader.endpoints?.() ?? []) live.set(`${e.pool} ${e.backend}`, e.healthy);
  return {
    targetMs: (vs) => snap?.analytics?.targetsMs?.[vs],
    backends: (vs) => (snap ? backendsOf(snap, vs, live) : undefined),
    saturation: (names) => {
      let max: number | undefined;
      for (const e of engines?.engines ?? [])
        if (e.load && (names.includes(e.identity.name) || (e.local && names.includes("local"))))
          max = Math.max(max ?? 0, e.load.eventLoopUtilization);
      return max;
    },
  };
}

/**
 * backendsOf counts the endpoints of the pools a virtual service forwards to and how many are down:
 * unhealthy in the engine's report when it has one for the endpoint, else not ready in the snapshot.
 */
export function backendsOf(
  snap: EngineSnapshot,
  vs: string,
  live: ReadonlyMap<string, boolean>,
): { down: number; total: number } | undefined {
  const pools = poolsOf(snap, vs);
  if (!pools) return undefined;
  let down = 0;
  let total = 0;
  for (const name of pools) {
    for (const ep of snap.pools[name]?.endpoints ?? []) {
      total++;
      const id = ep.address.includes(":") ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
      const healthy = live.get(`${name} ${id}`) ?? ep.ready;
      if (!healthy) down++;
    }
  }
  return { down, total };
}

// poolsOf finds the pools behind a virtual service key: an L4 listener's pool, an HTTP virtual
// host's forwarding routes' pools, or (a listener key without host) its SNI routes' pools.
function poolsOf(snap: EngineSnapshot, vs: string): Set<string> | undefined {
  const l4 = snap.l4.find((l) => l.name === vs);
  if (l4) return new Set([l4.pool]);
  const cut = vs.lastIndexOf(" ");
  const [listener, host] = cut < 0 ? [vs, undefined] : [vs.slice(0, cut), vs.slice(cut + 1)];
  const http = snap.http.find((l) => l.name === listener);
  if (!http) return undefined;
  const pools = new Set<string>();
  if (host === undefined) {
    for (const r of http.sniRoutes ?? []) for (const b of r.backends) pools.add(b.pool);
    return pools;
  }
  const vh = http.virtualHosts.find((v) => v.hostname === host);
  if (!vh) return undefined;
  for (const r of vh.routes)
    if (r.action.type === "Forward") for (const b of r.action.backends) pools.add(b.pool);
  return pools;
}

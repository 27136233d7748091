// analytics-logs-routes.ts: the request log and the full-log switches on the admin API
// (docs/analytics.md), behind `portico logs`:
//   GET  /api/v1/analytics/logs?vs=&reason=&status=&route=&client=&q=&since=&until=&before=&limit=
//        → LogRecord[] newest first; 400 names a bad parameter and what to send
//   GET  /api/v1/analytics/logs/stats                 → what the log holds and lost (LogStats)
//   GET  /api/v1/analytics/full-logs                  → the active switches [{vs, until}]
//   POST /api/v1/analytics/full-logs?vs=KEY&minutes=N → 202 {vs, until}: every request of KEY is
//        logged for N minutes (1–60); minutes=0 turns it off; 404 when no virtual service is KEY
// With a tenant scope (tenant-scope.ts) every answer and switch covers the tenant's virtual services
// only; another's key answers 404 as an unknown one would, and stats (totals of every tenant) 403.
import type { IncomingMessage } from "node:http";
import type { FullLogs } from "../analytics/full-logs.ts";
import { FULL_LOGS_MAX_MINUTES } from "../analytics/full-logs.ts";
import { parseLogQuery, QueryError } from "../analytics/log-query.ts";
import type { LogStore } from "../analytics/log-store.ts";
import { vsKey } from "../analytics/types.ts";
import type { TenantScope } from "./tenant-scope.ts";

/** LogsView is what these routes read and change; the controller owns it. */
export interface LogsView {
  logs: LogStore;
  fullLogs: FullLogs;
  /** services are the virtual service keys (vsKey) of the serving snapshot; undefined before one serves. */
  services(): ReadonlySet<string> | undefined;
  clock?: () => number;
}

type Send = (status: number, type: string, body: string) => void;

const LOGS = "/api/v1/analytics/logs";
const STATS = "/api/v1/analytics/logs/stats";
const FULL = "/api/v1/analytics/full-logs";

/** json sends a document as JSON. */
function json(send: Send, status: number, doc: unknown): void {
  send(status, "application/json", JSON.stringify(doc, null, 2) + "\n");
}

/** serveLogRoutes answers path if it is one of these routes and returns true; false leaves it to the caller. */
export function serveLogRoutes(
  req: IncomingMessage,
  path: string,
  send: Send,
  view: LogsView | undefined,
  scope?: TenantScope,
): boolean {
  if (path !== LOGS && path !== STATS && path !== FULL) return false;
  if (!view) {
    send(
      404,
      "text/plain",
      "no request log here: the controller keeps it (portico run, portico controller)\n",
    );
    return true;
  }
  const params = new URL(req.url ?? "/", "http://x").searchParams;
  const now = (view.clock ?? Date.now)();
  if (path === LOGS || path === STATS) {
    if (req.method !== "GET" && req.method !== "HEAD")
      send(405, "text/plain", `method not allowed: GET ${path}\n`);
    else if (path === STATS && scope)
      send(
        403,
        "text/plain",
        `the log's totals cover every tenant; a view of tenant ${scope.tenant} has ${LOGS}\n`,
      );
    else if (path === STATS) json(send, 200, view.logs.stats());
    else {
      try {
        const q = parseLogQuery(params, now);
        if (scope && q.vs !== undefined && !scope.services.has(q.vs))
          send(
            404,
            "text/plain",
            `no virtual service ${JSON.stringify(q.vs)} in the view of tenant ${scope.tenant}\n`,
          );
        else
          json(
            send,
            200,
            view.logs.query(scope && q.vs === undefined ? { ...q, vsIn: [...scope.services] } : q),
          );
      } catch (err) {
        if (!(err instanceof QueryError)) throw err;
        send(400, "text/plain", `${err.message}\n`);
      }
    }
    return true;
  }
  if (req.method === "GET" || req.method === "HEAD")
    json(
      send,
      200,
      view.fullLogs.active().filter((f) => !scope || scope.services.has(f.vs)),
    );
  else if (req.method === "POST") setFullLogs(params, send, view, scope);
  else send(405, "text/plain", `method not allowed: GET or POST ${FULL}?vs=KEY&minutes=N\n`);
  return true;
}

/** setFullLogs answers POST full-logs?vs=KEY&minutes=N. */
function setFullLogs(
  params: URLSearchParams,
  send: Send,
  view: LogsView,
  scope: TenantScope | undefined,
): void {
  const vs = params.get("vs") ?? "";
  const m = params.get("minutes") ?? "";
  if (vs === "")
    return send(
      400,
      "text/plain",
      `vs= is missing: give the virtual service's key (GET /api/v1/analytics/services lists them)\n`,
    );
  if (!/^\d{1,2}$/.test(m) || Number(m) > FULL_LOGS_MAX_MINUTES)
    return send(
      400,
      "text/plain",
      `minutes=${JSON.stringify(m)}: give a whole number from 1 to ${FULL_LOGS_MAX_MINUTES} (0 turns full logs off)\n`,
    );
  const minutes = Number(m);
  const all = view.services();
  // A tenant knows only its own keys: no suggestion, and no switch, names another's.
  const known = scope && all ? new Set([...all].filter((k) => scope.services.has(k))) : all;
  // Turning off is always allowed (the service may have gone since the switch was set), but not
  // through a tenant's view: a key it cannot see may be another's (a gone one's switch expires by itself).
  if ((minutes > 0 || scope !== undefined) && !known?.has(vs)) {
    // A host or listener alone is the usual slip: offer the keys that contain it.
    const close = [...(known ?? [])].filter((k) => k.includes(vs)).slice(0, 5);
    return send(
      404,
      "text/plain",
      `no virtual service ${JSON.stringify(vs)} serves now` +
        (close.length > 0 ? `; did you mean ${close.map((k) => JSON.stringify(k)).join(", ")}?` : "") +
        ' (keys: the listener for L4 and TLS, "LISTENER HOST" for an HTTP virtual host)\n',
    );
  }
  const until = view.fullLogs.set(vs, minutes);
  json(
    send,
    202,
    until === undefined ? { vs, off: true } : { vs, until, untilTime: new Date(until).toISOString() },
  );
}

/** serviceKeys lists the virtual service keys (vsKey of analytics/types.ts) a snapshot serves. */
export function serviceKeys(snapshot: {
  l4: readonly { name: string }[];
  http: readonly { name: string; virtualHosts: readonly { hostname: string }[] }[];
}): Set<string> {
  const keys = new Set<string>();
  for (const l of snapshot.l4) keys.add(l.name);
  for (const l of snapshot.http) {
    // The listener alone keys its TLS passthrough (SNI) routes; each virtual host keys its HTTP.
    keys.add(l.name);
    for (const v of l.virtualHosts) keys.add(vsKey(l.name, v.hostname));
  }
  return keys;
}

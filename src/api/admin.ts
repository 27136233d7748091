// admin.ts: the admin HTTP API (loopback by default). Not a hot path, so node:http is fine here.
//   GET /healthz        200 while the data plane's event loop is responsive (the engine thread's report in
//                       `portico run`, else this thread's; docs/health.md);
//                       its detail also names problems that a restart would not fix (a failing state save)
//   GET /readyz         200 when a snapshot is applied and every listener it needs is bound, else 503
//   GET /api/v1/status  JSON list of {kind, namespace, name, status} as Portico would write them
//   GET /api/v1/errors  input problems (file:line) and the last rejected snapshot, if any
//   GET /api/v1/engines the engines and what each serves (controller/fleet/view.ts), with --engine-listen
//   GET /api/v1/tables/*, /api/v1/explain/*, /api/v1/translate, /api/v1/validate  (cli-routes.ts)
//   GET /api/v1/analytics/health  health scores of virtual services, engine groups, VIP pools (analytics-health-routes.ts)
//   GET /api/v1/analytics/services|series|top  traffic, latency and health per virtual service (analytics-routes.ts)
//   GET /metrics        Prometheus text exposition
//   POST /api/v1/certificates/renew?secret=NS/NAME  order the built-in ACME issuer's certificate
//                       stored under that Secret now (`portico certificates renew`); 202, or 404
//   GET /api/v1/analytics/logs, GET|POST /api/v1/analytics/full-logs   the request log (analytics-logs-routes.ts)
//   GET /, /ui/*        the console (ui-routes.ts), with opts.console
//   GET /api/v1/whoami  who the request is: {tenant} for a tenant-scoped token, else the tenants to filter by
// With opts.token every route but /healthz, /readyz, /metrics and the console's files needs
// `Authorization: Bearer TOKEN` (admin-auth.ts; a non-loopback --admin requires one). A token
// scoped to a tenant, or `?tenant=NAME` from a full admin, narrows every /api/v1 answer to that
// tenant (tenant-scope.ts); /healthz, /readyz and /metrics are not narrowed.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serveCliRoute } from "./cli-routes.ts";
import {
  serveAnalyticsHealth,
  type AnalyticsHealthReader,
  type HealthRouteView,
} from "./analytics-health-routes.ts";
import { contextOf, serveAnalyticsRoute, type AnalyticsReader } from "./analytics-routes.ts";
import { summarizeAll } from "../analytics/summary.ts";
import { serveLogRoutes, type LogsView } from "./analytics-logs-routes.ts";
import { serveUi } from "./ui-routes.ts";
import {
  AdminGuard,
  foreignRequest,
  isLoopback,
  OPEN_PATHS,
  type AdminTokenEntry,
  type Identity,
} from "./admin-auth.ts";
import { scopeErrors, scopeFleet, objectVisible, tenantScope, type TenantScope } from "./tenant-scope.ts";
import { createLogger, type Logger } from "../controller/log.ts";
import { LOOP_WINDOW_MS, LoopWatch, type EngineLiveness } from "../controller/loop-watch.ts";

type Send = (status: number, type: string, body: string, headers?: Record<string, string>) => void;

/** AdminView is what the admin API reads; the controller owns it. */
export interface AdminView extends HealthRouteView {
  /** readiness lists the checks of /readyz; ready when every one is ok. */
  readiness(): { name: string; ok: boolean; detail: string }[];
  statuses(): unknown[];
  errors(): unknown;
  /** metrics may be a promise: in `portico run` the engine answers from another thread. */
  metrics(): string | Promise<string>;
  /** engineLiveness is the data plane's own loop report when the engine runs on another thread
   * (`portico run`): /healthz then judges the engine, not this thread. Undefined: this thread. */
  engineLiveness?(): EngineLiveness | undefined;
  /** analytics, when the controller keeps analytics, answers /api/v1/analytics/* (analytics-routes.ts). */
  analytics?: AnalyticsReader;
  /** notes are extra /healthz detail lines: problems the process lives with, such as a failing state save. */
  notes?(): string[];
  /**
   * analyticsElsewhere, when it returns a reason, answers every /api/v1/analytics/* route 503 with
   * it: a standby replica of `portico controller` (engines report to the leader alone), whose
   * figures would be empty or stale and whose full-log switches no engine would see.
   */
  analyticsElsewhere?(): string | undefined;
}

/** startAdmin serves view on host:port and resolves with the bound address. */
export async function startAdmin(
  view: AdminView,
  host: string,
  port: number,
  opts: {
    stallLimitMs?: number;
    log?: Logger;
    /** renew orders the built-in issuer's certificate for Secret "ns/name" now; false if none is requested. */
    renew?: (secret: string) => boolean;
    /** logs is the controller's request log and full-log switches; absent: those routes say where it is. */
    logs?: LogsView;
    /** console serves the Portico console at / (portico run, portico controller). */
    console?: boolean;
    /** token, when set, is required as a bearer token on everything but the open paths (admin-auth.ts AdminGuard). */
    token?: string | readonly AdminTokenEntry[];
  } = {},
): Promise<{ server: Server; url: string }> {
  const log = opts.log ?? createLogger();
  const onError = (err: unknown) =>
    log("error", "admin request failed", { error: (err as Error)?.stack ?? String(err) });
  const loop = new LoopWatch();
  const limit = opts.stallLimitMs ?? STALL_LIMIT_MS;
  const guard = new AdminGuard(opts.token, isLoopback(host));
  const renewals = new Map<string, number>();
  const open = guard.openWarning();
  if (open) log("warn", open);
  const handle = (req: IncomingMessage, send: Send, who: Identity, scope: TenantScope | undefined): void => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/api/v1/certificates/renew")
      return renew(
        req,
        send,
        opts.renew && scope ? scopedRenew(opts.renew, scope) : opts.renew,
        scope && renewals,
      );
    if (path?.startsWith("/api/v1/analytics/")) {
      const elsewhere = view.analyticsElsewhere?.();
      if (elsewhere !== undefined) return send(503, "text/plain", `${elsewhere}\n`);
    }
    if (serveLogRoutes(req, path ?? "/", send, opts.logs, scope)) return;
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "method not allowed\n");
    if (serveCliRoute(view, path ?? "/", send, scope)) return;
    if (serveAnalyticsHealth(view, healthReader(view), req.url ?? "/", send, scope)) return;
    if (path?.startsWith("/api/v1/analytics/"))
      return void serveAnalyticsRoute(view.analytics, view.engines?.(), req.url!, send, scope);
    switch (path) {
      case "/api/v1/whoami":
        return send(200, "application/json", JSON.stringify(whoami(view, who, scope), null, 2) + "\n");
      case "/healthz": {
        const stall = loop.longestStallMs();
        const window = `in the last ${LOOP_WINDOW_MS / 1000} s (limit ${limit} ms)`;
        const engine = view.engineLiveness?.();
        // With the engine on another thread, liveness is the data plane's: a long translation here
        // must not get a healthy data plane restarted, and a wedged engine must not answer 200.
        const ok = engine ? engine.ageMs < limit && engine.stallMs < limit : stall < limit;
        const lines = engine
          ? [
              `engine event loop: longest stall ${engine.stallMs} ms ${window}; last heard ${engine.ageMs} ms ago`,
              `controller event loop: longest stall ${stall} ms ${window} (not a liveness failure)`,
            ]
          : [`event loop: longest stall ${stall} ms ${window}`];
        lines.push(`uptime: ${Math.round(process.uptime())} s`, ...(view.notes?.() ?? []));
        const detail = lines.map((l) => `${l}\n`).join("");
        return send(ok ? 200 : 503, "text/plain", `${ok ? "ok" : "event loop unresponsive"}\n${detail}`);
      }
      case "/readyz": {
        const checks = view.readiness();
        const ok = checks.every((c) => c.ok);
        const lines = checks.map((c) => `[${c.ok ? "+" : "-"}] ${c.name}: ${c.detail}`);
        return send(ok ? 200 : 503, "text/plain", `${ok ? "ready" : "not ready"}\n${lines.join("\n")}\n`);
      }
      case "/api/v1/status": {
        const all = view.statuses() as { kind: string; namespace?: string; name: string }[];
        const mine = scope ? all.filter((o) => objectVisible(scope, o.kind, o.namespace, o.name)) : all;
        return send(200, "application/json", JSON.stringify(mine, null, 2) + "\n");
      }
      case "/api/v1/errors": {
        const errors = scope ? scopeErrors(view.errors(), scope) : view.errors();
        return send(200, "application/json", JSON.stringify(errors, null, 2) + "\n");
      }
      case "/api/v1/engines": {
        const all = view.engines?.();
        const fleet = all && scope ? scopeFleet(all, scope) : all;
        if (fleet === undefined)
          return send(
            404,
            "text/plain",
            "no engine port: this Portico serves with its in-process engine only (start portico run with --engine-listen HOST:PORT to accept engines)\n",
          );
        return send(200, "application/json", JSON.stringify(fleet, null, 2) + "\n");
      }
      case "/metrics":
        // The engine may answer from another thread (portico run), so metrics can be a promise.
        return void Promise.resolve(view.metrics()).then(
          (text) => send(200, "text/plain; version=0.0.4", text),
          (e: unknown) => send(503, "text/plain", `engine metrics unavailable: ${String(e)}\n`),
        );
      default:
        return send(
          404,
          "text/plain",
          "not found: try /healthz, /readyz, /api/v1/status, /api/v1/errors, /api/v1/engines, /api/v1/tables/KIND, " +
            "/api/v1/explain/KIND/NS/NAME, /api/v1/translate, /api/v1/validate, /api/v1/analytics/services, /metrics\n",
        );
    }
  };
  const server = createServer((req, res) => {
    const send: Send = (status, type, body, headers) => {
      if (res.headersSent) return;
      res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers });
      res.end(body);
    };
    // A request must never take the process down: in `portico run` this thread is the controller,
    // and an uncaught throw here would end the run and the traffic with it.
    try {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      if (opts.console && serveUi(req, res, path)) return;
      const who = guard.identify(req, path);
      if (typeof who === "string") {
        res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="portico"' });
        return void res.end(who);
      }
      // Without a token (loopback), requests a web page sends are refused; probes and scrapes pass.
      const foreign = !who.bearer && !OPEN_PATHS.has(path) ? foreignRequest(req) : undefined;
      if (foreign !== undefined) return send(403, "text/plain", foreign);
      const scope = path.startsWith("/api/v1/") ? scopeOf(req, who, view) : undefined;
      if (typeof scope === "string") return send(404, "text/plain", scope);
      handle(req, send, who, scope);
    } catch (err) {
      if (err instanceof URIError) return send(400, "text/plain", `bad percent-encoding in ${req.url}\n`);
      onError(err);
      send(500, "text/plain", `internal error: ${(err as Error)?.message ?? String(err)}\n`);
    }
  });
  server.once("close", () => loop.stop());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const h = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return { server, url: `http://${h}:${addr.port}` };
}

/**
 * scopeOf is the tenant a request is narrowed to: its token's, else `?tenant=NAME` of a full admin
 * (empty: all), consumed from req.url so no route sees an unknown parameter; a string is the 404
 * to send (a tenant that does not exist, or another than the token's).
 */
function scopeOf(req: IncomingMessage, who: Identity, view: AdminView): TenantScope | string | undefined {
  const u = new URL(req.url ?? "/", "http://admin");
  const asked = u.searchParams.get("tenant");
  if (asked !== null) {
    u.searchParams.delete("tenant");
    req.url = u.pathname + u.search;
  }
  const none = `no Tenant ${JSON.stringify(asked)}; GET /api/v1/tables/tenants lists them\n`;
  if (who.tenant !== undefined) {
    if (asked !== null && asked !== "" && asked !== who.tenant) return none;
    return tenantScope(who.tenant, view.inspect());
  }
  if (asked === null || asked === "") return undefined;
  const scope = tenantScope(asked, view.inspect());
  return scope.exists ? scope : none;
}

/** whoami says who the request is and, for a full admin, the tenants it may filter by. */
function whoami(view: AdminView, who: Identity, scope: TenantScope | undefined) {
  if (who.tenant !== undefined)
    return { scoped: true, tenant: who.tenant, exists: scope?.exists ?? false, tenants: [who.tenant] };
  const tenants = (view.inspect()?.set.tenants ?? []).map((t) => t.metadata.name).sort();
  return { scoped: false, ...(scope ? { tenant: scope.tenant } : {}), tenants };
}

/** scopedRenew orders renewals of Secrets in the tenant's namespaces only; another's answers as absent. */
function scopedRenew(fn: (secret: string) => boolean, scope: TenantScope): (secret: string) => boolean {
  return (secret) => scope.namespaces.has(secret.split("/")[0] ?? "") && fn(secret);
}

/** RENEW_EVERY_MS: a tenant-scoped token orders one Secret's renewal at most this often (each order spends the shared ACME account's rate limits). */
export const RENEW_EVERY_MS = 10 * 60_000;

/**
 * renew answers POST /api/v1/certificates/renew?secret=NS/NAME (NAME alone: namespace default).
 * last, for a scoped caller, holds when each Secret's renewal was last ordered: a second order
 * within RENEW_EVERY_MS is 429 with Retry-After.
 */
function renew(
  req: IncomingMessage,
  send: Send,
  fn: ((secret: string) => boolean) | undefined,
  last?: Map<string, number>,
): void {
  if (req.method !== "POST") return send(405, "text/plain", "method not allowed: POST ?secret=NS/NAME\n");
  if (!fn) return send(404, "text/plain", "no built-in ACME issuer runs here\n");
  const q = new URL(req.url ?? "/", "http://x").searchParams.get("secret") ?? "";
  if (!/^([a-z0-9.-]+\/)?[a-z0-9.-]+$/.test(q))
    return send(
      400,
      "text/plain",
      `secret=${JSON.stringify(q)}: give NAMESPACE/NAME of the certificate's Secret\n`,
    );
  const secret = q.includes("/") ? q : `default/${q}`;
  const wait = (last?.get(secret) ?? -Infinity) + RENEW_EVERY_MS - Date.now();
  if (wait > 0)
    return send(
      429,
      "text/plain",
      `renewal of ${secret} was ordered less than ${RENEW_EVERY_MS / 60_000} minutes ago (each order spends the ACME account's rate limits); try again in ${Math.ceil(wait / 1000)} s, or ask an operator with a full admin token\n`,
      { "retry-after": String(Math.ceil(wait / 1000)) },
    );
  if (!fn(secret))
    return send(
      404,
      "text/plain",
      `no certificate is requested from a CertificateIssuer under Secret ${secret} (see GET /api/v1/status, kind CertificateIssuer)\n`,
    );
  last?.set(secret, Date.now());
  send(
    202,
    "text/plain",
    `renewal of ${secret} ordered; its state is in GET /api/v1/status (kind CertificateIssuer)\n`,
  );
}

/** STALL_LIMIT_MS: a loop blocked this long (far beyond any GC pause or snapshot compile) is not healthy. */
const STALL_LIMIT_MS = 5_000;

// healthReader scores the virtual services from the store's window summaries (groups and pools
// need no store), unless the view brings its own.
function healthReader(view: AdminView): AnalyticsHealthReader | undefined {
  if (view.analyticsHealth) return view.analyticsHealth;
  const a = view.analytics;
  return a && { services: (w) => summarizeAll(a.store, w, contextOf(a, view.engines?.())) };
}

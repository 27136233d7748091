// analytics-health-routes.ts: GET /api/v1/analytics/health[?window=W] — the health scores of every
// virtual service, engine group and VIP pool (issue 15 item 4; docs/analytics.md).
// Groups and pools are scored from what the controller knows now (the fleet's engines and their
// loads, the IPAM outcome `portico get pools` shows); services come from the analytics store's
// window figures through AnalyticsHealthReader, and are absent (empty) without one. Pure reads.
// A tenant scope keeps its services, and the groups and pools it may use scored from those alone.
import { groupHealth, poolHealth, type GroupEngineInput } from "../analytics/health.ts";
import type { Health, ServiceSummary, Window } from "../analytics/types.ts";
import type { FleetView } from "../controller/fleet/view.ts";
import type { Inspection } from "../controller/views.ts";
import { waitingOn } from "../ipam/view.ts";
import { DEFAULT_ENGINE_GROUP } from "../k8s/engine-group.ts";
import type { CliView } from "./cli-routes.ts";
import { keyVisible, type TenantScope } from "./tenant-scope.ts";

/** HEALTH_PATH is the route's path. */
export const HEALTH_PATH = "/api/v1/analytics/health";

/** WINDOWS are the windows a query may name (types.ts Window); the default is the first. */
const WINDOWS: readonly Window[] = ["5m", "1h", "6h", "24h", "7d", "30d"];

/** ServiceRow is what the route needs of a scored virtual service (a ServiceSummary has it all). */
export type ServiceRow = Pick<ServiceSummary, "vs" | "kind" | "listener" | "vhost" | "health">;

/** AnalyticsHealthReader gives the scored virtual services over a window (the analytics store). */
export interface AnalyticsHealthReader {
  services(window: Window): readonly ServiceRow[];
}

/** HealthRouteView is what the route reads: the serving snapshot, the engines, and the scored services if any. */
export interface HealthRouteView extends CliView {
  /** analyticsHealth overrides the store's summaries (admin.ts reads them from view.analytics). */
  analyticsHealth?: AnalyticsHealthReader;
}

/** GroupRow is one engine group's score and the figures behind it. */
export interface GroupRow extends Health {
  group: string;
  vips: number;
  /** engines and ready count the group's engines; absent without a fleet (the in-process engine only). */
  engines?: number;
  ready?: number;
}

/** PoolRow is one VIP pool's score and the figures behind it (as `portico get pools`). */
export interface PoolRow extends Health {
  pool: string;
  used: number;
  free: number;
  pending: number;
}

/** HealthAnswer is the route's body. */
export interface HealthAnswer {
  window: Window;
  services: (ServiceRow & { group: string })[];
  groups: GroupRow[];
  pools: PoolRow[];
}

type Send = (status: number, type: string, body: string) => void;

/** serveAnalyticsHealth answers url if its path is HEALTH_PATH and returns true; false leaves it to the caller. */
export function serveAnalyticsHealth(
  view: HealthRouteView,
  reader: AnalyticsHealthReader | undefined,
  url: string,
  send: Send,
  scope?: TenantScope,
): boolean {
  const u = new URL(url, "http://admin");
  if (u.pathname !== HEALTH_PATH) return false;
  const w = u.searchParams.get("window") ?? WINDOWS[0]!;
  if (!(WINDOWS as readonly string[]).includes(w)) {
    send(400, "text/plain", `window=${JSON.stringify(w)}: use one of ${WINDOWS.join(", ")}\n`);
    return true;
  }
  const now = view.inspect();
  if (!now) {
    send(503, "text/plain", "no snapshot serving yet; retry once /readyz answers 200\n");
    return true;
  }
  const all = reader?.services(w as Window) ?? [];
  const services = scope ? all.filter((s) => scope.services.has(s.vs)) : all;
  const visible = scope && ((key: string) => keyVisible(scope, key));
  const answer = healthAnswer(now, view.engines?.(), services, w as Window, visible);
  if (scope) {
    answer.groups = answer.groups.filter((g) => scope.group(g.group));
    answer.pools = answer.pools.filter((p) => scope.pool(p.pool));
  }
  send(200, "application/json", JSON.stringify(answer, null, 2) + "\n");
  return true;
}

/**
 * healthAnswer scores groups and pools from the snapshot and fleet, and joins the services' scores.
 * visible, for a tenant-scoped request, keeps to the objects it may see: a group counts only the
 * VIPs of those objects' listeners, and a pool's waiting requests (its reasons, pending) only theirs,
 * as a shared group or pool must not tell one tenant what another runs or waits for.
 */
export function healthAnswer(
  now: Inspection,
  fleet: FleetView | undefined,
  services: readonly ServiceRow[],
  window: Window,
  visible?: (key: string) => boolean,
): HealthAnswer {
  const { set, out } = now;
  const groupOfListener = new Map<string, string>();
  const seenVips = new Map<string, Set<string>>();
  for (const l of [...out.snapshot.l4, ...out.snapshot.http]) {
    const group = l.group ?? DEFAULT_ENGINE_GROUP;
    groupOfListener.set(l.name, group);
    if (visible?.(l.name)) seenVips.set(group, (seenVips.get(group) ?? new Set()).add(l.address));
  }
  const scored = services.map((s) => ({
    ...s,
    group: groupOfListener.get(s.listener) ?? DEFAULT_ENGINE_GROUP,
  }));
  const groups = Object.entries(out.groups)
    .filter(([, g]) => g.exists)
    .map(([group, g]): GroupRow => {
      const engines: GroupEngineInput[] | undefined = fleet?.engines
        .filter((e) => e.identity.group === group)
        .map((e) => ({
          name: e.identity.name,
          ready: e.ready,
          ...(e.load ? { eventLoopUtilization: e.load.eventLoopUtilization } : {}),
        }));
      const mine = Object.fromEntries(scored.filter((s) => s.group === group).map((s) => [s.vs, s.health]));
      const vips = visible ? (seenVips.get(group)?.size ?? 0) : g.vips.length;
      const h = groupHealth({ group, vips, services: mine, ...(engines ? { engines } : {}) });
      return {
        group,
        vips,
        ...(engines ? { engines: engines.length, ready: engines.filter((e) => e.ready).length } : {}),
        ...h,
      };
    });
  const pools = set.vipPools.map((p): PoolRow => {
    const name = p.metadata.name;
    const ps = out.allocations.poolStatus[name];
    const waiting = waitingOn(name, out.allocations, out.translate.vipRequests)
      .map((w) => w.key)
      .filter((k) => !visible || visible(k));
    const ready = ps?.conditions?.find((c) => c.type === "Ready");
    const families = [
      { family: "IPv4" as const, used: ps?.assignedIPv4 ?? 0, free: ps?.availableIPv4 ?? 0 },
      { family: "IPv6" as const, used: ps?.assignedIPv6 ?? 0, free: ps?.availableIPv6 ?? 0 },
    ];
    const h = poolHealth({
      pool: name,
      families,
      waiting,
      ...(ready && ready.status !== "True" ? { notReady: `${ready.reason}: ${ready.message ?? ""}` } : {}),
    });
    const used = families[0]!.used + families[1]!.used;
    // A huge IPv6 range saturates at MAX_SAFE_INTEGER; the sum must not go past it.
    const free = Math.min(Number.MAX_SAFE_INTEGER, families[0]!.free + families[1]!.free);
    return { pool: name, used, free, pending: waiting.length, ...h };
  });
  return { window, services: scored, groups, pools };
}

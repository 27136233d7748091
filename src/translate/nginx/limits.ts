// limits.ts: ingress-nginx's per-client limits, as access configs of the route (Route.extraAccess),
// counted per client address and per Ingress (every route of the Ingress shares the counters, as
// ingress-nginx's zones are per Ingress):
//   limit-rps / limit-rpm: requests per second / minute, with a burst of rate × limit-burst-multiplier
//     (default 5) allowed at once — plus one, as nginx's limit_req nodelay lets the first request
//     and `burst` more through. Both may be set; each must allow.
//   limit-connections: requests in flight at once per client address (503 past it, like nginx).
//   limit-whitelist: CIDRs that none of these count.
// Portico answers a rate-limited request 429 Too Many Requests with Retry-After, as it does for an
// AccessPolicy; ingress-nginx answers 503 unless its ConfigMap sets limit-req-status-code (many
// users set 429). 429 says "slow down", which clients and retry libraries act on; 503 says the
// service is down. docs/annotations.md says so.
// A limit value Portico cannot read fails closed (403 for every client, with the reason on the
// Ingress): serving without the limit would be wider than asked. limit-rate / limit-rate-after
// (bandwidth per connection) are not implemented: a non-zero value is reported.
import type { Ingress } from "../../k8s/types.ts";
import type { AccessConfig, RateLimit, Route } from "../../model/ir.ts";
import type { TranslateContext } from "../context.ts";
import { keyOf, refOf } from "../status.ts";
import type { RouteApplier } from "./apply.ts";
import { cidrList } from "./source-range.ts";
import {
  nginxAnnotation,
  refuseAll,
  reportAnnotation,
  wholeNumber,
  withExtraAccess,
} from "./traffic-report.ts";

/** DEFAULT_BURST_MULTIPLIER is ingress-nginx's limit-burst-multiplier default. */
export const DEFAULT_BURST_MULTIPLIER = 5;

/** IngressLimits are the limit annotations of one Ingress, read: configs to add, or why it fails closed. */
export interface IngressLimits {
  configs: AccessConfig[];
  refuse?: string;
  problems: string[];
}

/** readLimits reads the limit annotations of ing. */
export function readLimits(ing: Ingress): IngressLimits {
  const problems: string[] = [];
  const key = keyOf(refOf(ing));
  // closes: an unreadable value refuses every client (a limit); else it is reported below (the multiplier).
  const read = (name: string, closes = true): number | undefined | "bad" => {
    const v = nginxAnnotation(ing, name);
    if (v === undefined) return undefined;
    const n = wholeNumber(v);
    if (n !== undefined) return n;
    if (!closes) return "bad";
    problems.push(
      `${name}: ${JSON.stringify(v)} is not a whole number; every client of this Ingress is refused (403) until it is fixed`,
    );
    return "bad";
  };
  const rps = read("limit-rps");
  const rpm = read("limit-rpm");
  const conns = read("limit-connections");
  const mult = read("limit-burst-multiplier", false);
  for (const name of ["limit-rate", "limit-rate-after"]) {
    const v = nginxAnnotation(ing, name);
    if (v !== undefined && v !== "0")
      problems.push(`${name}: bandwidth limits are not implemented by Portico; responses are not slowed`);
  }
  const bad = [rps, rpm, conns].includes("bad");
  if (bad) return { configs: [], refuse: "invalid limit annotation", problems };
  let multiplier = DEFAULT_BURST_MULTIPLIER;
  if (typeof mult === "number" && mult >= 1) multiplier = mult;
  else if (mult !== undefined)
    problems.push(
      `limit-burst-multiplier: must be a whole number of at least 1; using ${DEFAULT_BURST_MULTIPLIER}`,
    );
  let exempt: string[] | undefined;
  const wl = nginxAnnotation(ing, "limit-whitelist");
  if (wl !== undefined) {
    const got = cidrList(wl);
    // Ignoring an exemption limits more clients, never fewer: reported, not failed closed.
    if (typeof got === "string") problems.push(`limit-whitelist: ${got}; no client is exempt`);
    else exempt = got;
  }
  const limit = (requests: number, periodMs: number): RateLimit => ({
    requests,
    periodMs,
    burst: requests * multiplier + 1,
    key: { type: "ClientAddress" },
  });
  const configs: AccessConfig[] = [];
  // "0" leaves a limit off, as in ingress-nginx.
  const on = (n: number | undefined | "bad"): n is number => typeof n === "number" && n > 0;
  // In ingress-nginx's order: connections, then per minute, then per second.
  if (on(conns)) configs.push({ policy: `${key} (limit-connections)`, concurrency: conns });
  if (on(rpm)) configs.push({ policy: `${key} (limit-rpm)`, rateLimit: limit(rpm, 60_000) });
  if (on(rps)) configs.push({ policy: `${key} (limit-rps)`, rateLimit: limit(rps, 1000) });
  if (exempt !== undefined) for (const c of configs) c.exempt = exempt;
  return { configs, problems };
}

/** applyLimits adds the Ingress's limits to the route (Route.extraAccess). */
export const applyLimits: RouteApplier = (ctx, ing, route) => {
  const l = readLimits(ing);
  report(ctx, ing, l.problems);
  if (l.refuse !== undefined) {
    return withExtraAccess(route, refuseAll(ing, l.refuse));
  }
  let out: Route = route;
  for (const c of l.configs) out = withExtraAccess(out, c);
  return out;
};

function report(ctx: TranslateContext, ing: Ingress, problems: readonly string[]): void {
  for (const p of problems) reportAnnotation(ctx, ing, p);
}

// pool-policy.ts: how a Service's backends are balanced and health-checked, from annotations on
// the Service — the same for its LoadBalancer ports, Ingress backends and Gateway API backendRefs.
//   portico.dev/load-balancing: round-robin (default) | least-request | source-ip-hash
//                               | header-hash:<Header-Name> | cookie-hash:<cookie-name>
//   portico.dev/health-check:   tcp | http | http:<path>          (off when absent)
//   portico.dev/health-check-interval: a Gateway API duration (GEP-2257), 1s..5m (default 5s)
//   portico.dev/health-check-host: Host header for HTTP checks
import type { Service } from "../k8s/types.ts";
import type { Algorithm, HealthCheck } from "../model/ir.ts";
import { parseDuration } from "./httproute-filters.ts";

/** ANN_LB, ANN_HC... name the annotations read here. */
export const ANN_LB = "portico.dev/load-balancing";
export const ANN_HC = "portico.dev/health-check";
export const ANN_HC_INTERVAL = "portico.dev/health-check-interval";
export const ANN_HC_HOST = "portico.dev/health-check-host";

/** PoolPolicy is the algorithm and optional health check, plus problems found in the annotations. */
export interface PoolPolicy {
  algorithm: Algorithm;
  healthCheck?: HealthCheck;
  problems: string[];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseAlgorithm(text: string | undefined, problems: string[]): Algorithm {
  if (text === undefined || text === "" || text === "round-robin") return { type: "RoundRobin" };
  if (text === "least-request") return { type: "LeastRequest" };
  if (text === "source-ip-hash") return { type: "ConsistentHash", on: "SourceIP" };
  const m = /^(header|cookie)-hash:(.+)$/.exec(text);
  if (m && TOKEN.test(m[2]!)) {
    return m[1] === "header"
      ? { type: "ConsistentHash", on: "Header", name: m[2]!.toLowerCase() }
      : { type: "ConsistentHash", on: "Cookie", name: m[2]! };
  }
  problems.push(
    `${ANN_LB}: "${text}" is not one of round-robin, least-request, source-ip-hash, header-hash:<name>, cookie-hash:<name>; using round-robin`,
  );
  return { type: "RoundRobin" };
}

function parseHealthCheck(ann: Record<string, string>, problems: string[]): HealthCheck | undefined {
  const spec = ann[ANN_HC];
  if (spec === undefined || spec === "") return undefined;
  let intervalMs = 5000;
  const iv = ann[ANN_HC_INTERVAL];
  if (iv !== undefined) {
    const ms = parseDuration(iv);
    if (ms === undefined || ms < 1000 || ms > 300_000) {
      problems.push(`${ANN_HC_INTERVAL}: "${iv}" must be a duration from 1s to 5m, like "10s"; using 5s`);
    } else intervalMs = ms;
  }
  // Timeout below the interval so a check never overlaps the next; rise/fall as HAProxy's defaults.
  const base = { intervalMs, timeoutMs: Math.min(2000, intervalMs), rise: 2, fall: 3 };
  if (spec === "tcp") return { type: "TCP", ...base };
  const m = /^http(?::(\/\S*))?$/.exec(spec);
  if (!m) {
    problems.push(`${ANN_HC}: "${spec}" must be tcp, http or http:/path; no health check configured`);
    return undefined;
  }
  const hc: HealthCheck = { type: "HTTP", path: m[1] ?? "/", expectedStatuses: [200, 399], ...base };
  const host = ann[ANN_HC_HOST];
  if (host) hc.host = host;
  return hc;
}

/** poolPolicy reads a Service's balancing and health-check annotations. */
export function poolPolicy(svc: Service): PoolPolicy {
  const ann = svc.metadata.annotations ?? {};
  const problems: string[] = [];
  const algorithm = parseAlgorithm(ann[ANN_LB], problems);
  const healthCheck = parseHealthCheck(ann, problems);
  return healthCheck ? { algorithm, healthCheck, problems } : { algorithm, problems };
}

/** checkPoolPolicies is a pass: every Service whose balancing or health-check annotations are
 * wrong gets a notice (LoadBalancer Services also get a condition, from service-lb.ts), since an
 * Ingress or route backend has no status of its own to carry it. */
export function checkPoolPolicies(ctx: { set: { services: readonly Service[] }; notices: string[] }): void {
  for (const svc of ctx.set.services) {
    for (const p of poolPolicy(svc).problems) {
      ctx.notices.push(`Service/${svc.metadata.namespace ?? "default"}/${svc.metadata.name}: ${p}`);
    }
  }
}

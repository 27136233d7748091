// tcproute.ts: TCPRoute and UDPRoute, a listener port forwarded as a byte stream or datagrams.
// Their rules have no matches, so a listener serves the first attached route (oldest first) and
// the first rule of it; weighted backendRefs become one pool whose endpoint weights carry the
// split, because an L4 listener forwards to a single pool.
import type { Pool } from "../model/ir.ts";
import { resolveRefs, type BackendEnv, type BackendRefSpec, type RouteRefs } from "./gateway-backends.ts";
import { keyOfObj, type RouteObject } from "./gateway-types.ts";

/** L4Rule is what an L4 route contributes: a pool key, or nothing when no backend is usable. */
export interface L4Rule {
  owner: RouteObject;
  name: string;
  pool?: string;
}

/** gcd and lcm keep merged endpoint weights integral. */
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

/**
 * mergePools makes one pool from weighted pools: each backend's weight is spread evenly over its
 * endpoints, scaled by the least common multiple of the endpoint counts so weights stay integers.
 */
export function mergePools(name: string, parts: { pool: Pool; weight: number }[]): Pool {
  const counts = parts.map((p) => Math.max(1, p.pool.endpoints.length));
  const scale = counts.reduce(lcm, 1);
  const endpoints = parts.flatMap((p, i) =>
    p.pool.endpoints.map((e) => ({ ...e, weight: (p.weight * scale) / counts[i]! })),
  );
  return { name, algorithm: { type: "RoundRobin" }, endpoints, protocol: parts[0]?.pool.protocol ?? "tcp" };
}

/** compileL4Route resolves the first rule of a TCPRoute, UDPRoute or TLSRoute into a pool. */
export function compileL4Route(
  env: BackendEnv,
  obj: RouteObject,
  refs: RouteRefs,
  protocol: "tcp" | "udp",
): L4Rule {
  const rules = (obj.spec?.rules ?? []) as { backendRefs?: BackendRefSpec[] }[];
  const name = `${keyOfObj(obj)}#0`;
  const { backends } = resolveRefs(env, refs, rules[0]?.backendRefs ?? [], protocol);
  if (backends.length === 0) return { owner: obj, name };
  if (backends.length === 1) return { owner: obj, name, pool: backends[0]!.pool };
  const merged = mergePools(
    name,
    backends.map((b) => ({ pool: env.ctx.pools[b.pool]!, weight: b.weight })),
  );
  env.ctx.pools[merged.name] = merged;
  return { owner: obj, name, pool: merged.name };
}

// upstreams.ts: Upstreams over one snapshot's pools. Each pool gets two balancers: one over ready
// endpoints and one over terminating-but-serving endpoints, the last resort when no ready one is
// usable; endpoints that are neither never get traffic. Health and in-flight counts live outside
// (shared by all snapshots) so a swap keeps them for endpoints that remain.
import type { Pool } from "../model/ir.ts";
import type { Backend, PickContext, Upstreams } from "./contracts.ts";
import { healthKey, type HealthRegistry } from "./health/registry.ts";
import { createBalancer, type Balancer, type BalancerOptions, type PickInput } from "./lb/index.ts";
import { stickyIndex } from "./lb/sticky.ts";

/** InFlight counts requests/connections in progress per pool + backend, across snapshots. */
export class InFlight {
  private readonly counts = new Map<string, number>();

  /** get returns the count for a key made by healthKey. */
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** busy says whether anything is in flight to any backend (the idle heap check asks). */
  busy(): boolean {
    return this.counts.size > 0;
  }

  /** add changes a count, dropping it at zero so the map stays bounded. */
  add(key: string, delta: number): void {
    const n = (this.counts.get(key) ?? 0) + delta;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }
}

interface PoolState {
  name: string;
  /** signature is the pool's algorithm and endpoints as JSON: equal means the state can be reused. */
  signature: string;
  primary: Balancer;
  fallback: Balancer | undefined;
  backends: Backend[];
  /** input is the PickInput every pick of this pool reuses (picks are synchronous). */
  input: PickInput;
  /** exclude holds the current pick's ctx.exclude for input.usable. */
  exclude: ReadonlySet<string> | undefined;
  /** sticky maps affinity tokens to the ready backends; made at the first pick with ctx.prefer. */
  sticky?: Map<string, Backend>;
}

/** EndpointStatus is one backend of one pool as status pages and metrics show it. */
export interface EndpointStatus {
  pool: string;
  backend: string;
  /** lastResort: terminating but serving, used only when no ready endpoint is usable. */
  lastResort: boolean;
  healthy: boolean;
  inflight: number;
}

/** UpstreamDeps are shared by every snapshot's UpstreamSet. */
export interface UpstreamDeps {
  health: HealthRegistry;
  inflight: InFlight;
  balancer?: BalancerOptions;
  /** previous is the set being replaced: unchanged pools keep their balancers (no table rebuild, WRR keeps its phase). */
  previous?: UpstreamSet;
}

/** backendsOfPool splits a pool's endpoints into ready and last-resort backends. */
export function backendsOfPool(pool: Pool): { ready: Backend[]; terminating: Backend[] } {
  const ready: Backend[] = [];
  const terminating: Backend[] = [];
  for (const endpoint of pool.endpoints) {
    const id = `${endpoint.address}:${endpoint.port}`;
    const b: Backend = {
      id,
      address: endpoint.address,
      port: endpoint.port,
      endpoint,
      healthKey: healthKey(pool.name, id),
    };
    if (endpoint.ready) ready.push(b);
    else if (endpoint.serving && endpoint.terminating) terminating.push(b);
  }
  return { ready, terminating };
}

/** UpstreamSet implements Upstreams for one snapshot. */
export class UpstreamSet implements Upstreams {
  private readonly pools = new Map<string, PoolState>();
  private readonly deps: UpstreamDeps;

  constructor(pools: Record<string, Pool>, deps: UpstreamDeps) {
    this.deps = deps;
    for (const pool of Object.values(pools)) {
      const signature = JSON.stringify([pool.algorithm, pool.endpoints]);
      const old = deps.previous?.pools.get(pool.name);
      if (old?.signature === signature) {
        this.pools.set(pool.name, old);
        continue;
      }
      const { ready, terminating } = backendsOfPool(pool);
      const { health, inflight } = deps;
      const name = pool.name;
      const state: PoolState = {
        name,
        signature,
        primary: createBalancer(pool.algorithm, ready, deps.balancer),
        fallback:
          terminating.length > 0 ? createBalancer(pool.algorithm, terminating, deps.balancer) : undefined,
        backends: [...ready, ...terminating],
        input: {
          ctx: { sourceIp: "" },
          usable: (b) => !(state.exclude?.has(b.id) ?? false) && health.usable(name, b.id, b.healthKey),
          load: (b) => inflight.get(b.healthKey ?? healthKey(name, b.id)),
        },
        exclude: undefined,
      };
      this.pools.set(name, state);
    }
  }

  /** keys lists the health keys of every usable endpoint of this snapshot. */
  keys(): Set<string> {
    const out = new Set<string>();
    for (const p of this.pools.values()) for (const b of p.backends) out.add(healthKey(p.name, b.id));
    return out;
  }

  /** endpoints lists every candidate backend with its health, sorted by pool then backend. */
  endpoints(): EndpointStatus[] {
    const out: EndpointStatus[] = [];
    for (const p of [...this.pools.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      for (const b of p.backends) {
        out.push({
          pool: p.name,
          backend: b.id,
          lastResort: !b.endpoint.ready,
          healthy: this.deps.health.usable(p.name, b.id),
          inflight: this.deps.inflight.get(healthKey(p.name, b.id)),
        });
      }
    }
    return out;
  }

  /** backends lists a pool's candidate backends (ready first). */
  backends(pool: string): readonly Backend[] {
    return this.pools.get(pool)?.backends ?? [];
  }

  /** up says whether pool has an endpoint that may take traffic now (health-aware DNS records). */
  up(pool: string): boolean {
    const p = this.pools.get(pool);
    if (p === undefined) return false;
    const health = this.deps.health;
    for (const b of p.backends) if (health.usable(p.name, b.id, b.healthKey)) return true;
    return false;
  }

  pick(pool: string, ctx: PickContext): Backend | undefined {
    const p = this.pools.get(pool);
    if (!p) return undefined;
    const input = p.input;
    input.ctx = ctx;
    p.exclude = ctx.exclude;
    // Session affinity: the cookie's backend while it is ready and usable (only ready ones are indexed).
    if (ctx.prefer !== undefined) {
      const s = (p.sticky ??= stickyIndex(
        p.backends.filter((x) => x.endpoint.ready && x.endpoint.weight > 0),
      )).get(ctx.prefer);
      if (s !== undefined && input.usable(s)) {
        p.exclude = undefined;
        return s;
      }
    }
    const b = p.primary.pick(input) ?? p.fallback?.pick(input);
    p.exclude = undefined;
    return b;
  }

  begin(pool: string, backend: Backend): void {
    this.deps.inflight.add(backend.healthKey ?? healthKey(pool, backend.id), 1);
  }

  end(pool: string, backend: Backend, ok: boolean): void {
    const key = backend.healthKey ?? healthKey(pool, backend.id);
    this.deps.inflight.add(key, -1);
    this.deps.health.passive(pool, backend.id, ok, key);
  }
}

// testing.ts: synthetic batches for the store's tests (two engines, known samples).
import { mulberry32 } from "../ipam/testing.ts";
import { Sketch } from "./sketch.ts";
import type { AnalyticsBatch, Measures, ServiceBatch, TimingPart } from "./types.ts";

/** measures builds a Measures: requests by status code, latency samples per part (ms). */
export function measures(
  codes: Record<string, number>,
  samples: Partial<Record<TimingPart, number[]>> = {},
  extra: Partial<Measures> = {},
): Measures {
  const latency: Measures["latency"] = {};
  for (const [part, values] of Object.entries(samples) as [TimingPart, number[]][]) {
    const s = new Sketch();
    for (const v of values) s.add(v);
    latency[part] = s.toData();
  }
  const requests = Object.values(codes).reduce((a, b) => a + b, 0);
  return {
    requests,
    codes,
    bytesIn: requests * 100,
    bytesOut: requests * 1000,
    connNew: 0,
    connOpen: 0,
    tls: {},
    tlsFailures: 0,
    http: {},
    latency,
    resets: 0,
    timeouts: 0,
    denied: 0,
    ...extra,
  };
}

/** service builds an HTTP virtual host's batch with the given total, routes and backends. */
export function service(
  total: Measures,
  routes: Record<string, Measures> = {},
  backends: Record<string, Measures> = {},
  top: ServiceBatch["top"] = {},
): ServiceBatch {
  return {
    kind: "http",
    listener: "IngressClass/portico:80",
    vhost: "shop.example",
    total,
    routes,
    backends,
    top,
  };
}

/** batch wraps services into one engine's batch ending at `at`. */
export function batch(engine: string, at: number, services: Record<string, ServiceBatch>): AnalyticsBatch {
  return { engine, at, intervalMs: 5_000, services, logs: [], dropped: 0 };
}

/** VS is the key of service()'s virtual host. */
export const VS = "IngressClass/portico:80 shop.example";

/** latencies spread like a real service's: most around base, a tail to 20 × base. */
function spread(base: number): number[] {
  return Array.from({ length: 60 }, (_, i) => base * (1 + (i % 12) / 6) * (i % 20 === 0 ? 20 : 1));
}

// Templates shared by every batch (the store never mutates what it is given).
const ROUTE_T: Measures[] = [5, 8, 13, 21].map((b) =>
  measures({ "200": 50, "404": 3, "503": 1 }, { total: spread(b), ttfb: spread(b / 2) }),
);
const TOTAL_T: Measures[] = [5, 8, 13, 21].map((b) =>
  measures(
    { "200": 500, "404": 30, "503": 10, "0": 2 },
    {
      total: spread(b),
      request: spread(0.2),
      connect: spread(0.5),
      ttfb: spread(b / 2),
      transfer: spread(1),
    },
    { connNew: 40, connOpen: 120 },
  ),
);

// REALISTIC_* are the bound test's latencies (realistic: true), spread as a real service's are:
// a log-normal body (median 1.7 × base, σ 0.35: 0.9–3.2 × base between its 5th and 95th
// percentiles, so a busy interval fills every 2% bin from 1 × to 3 × base), and a tail of 3% of
// the samples spread evenly on a log scale from 3 × to 20 × base, for bases of 5, 8, 13 and 21 ms
// (ttfb half of it; request 0.2, connect 0.5, transfer 1 ms), each service and route keeping its
// own (a service's latency level is steady from minute to minute; its samples are not). The
// default instead rotates every series through the four bases, batch by batch: p50 jumping 60%
// every interval is no service's (docs/analytics.md gives its figure too). One sample per request: 46–67 a route
// and 462–672 a service per batch, the counters (requests, bytes, connections) drawn too. Drawn
// from seeded generators in PHASES variants per base that batches take in turn, so successive
// batches fill different bins and no two buckets of a ring's page are alike (a page holds 60;
// repeated buckets would flatter a compressed page). The default (spread above) takes ~15
// distinct values a sketch and the same counters every batch, which understates what packed
// sketches and pages cost (docs/analytics.md: Memory and disk per 1,000 routes).
const PHASES = 97;

/** realistic draws n latencies around base (ms): see REALISTIC_* above. */
export function realistic(base: number, n: number, rnd: () => number): number[] {
  return Array.from({ length: n }, () => {
    if (rnd() < 0.03) return base * 3 * Math.pow(20 / 3, rnd());
    // Box–Muller: a standard normal from two uniforms.
    const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    return base * 1.7 * Math.exp(0.35 * z);
  });
}

const BASES = [5, 8, 13, 21];
const REALISTIC_ROUTE_T: Measures[][] = BASES.map((b, i) => {
  const rnd = mulberry32(1 + i);
  return Array.from({ length: PHASES }, () => {
    const ok = 42 + Math.floor(rnd() * 22); // 42–63 requests: counters vary from batch to batch, as real ones do
    const n = ok + 4;
    return measures(
      { "200": ok, "404": 3, "503": 1 },
      { total: realistic(b, n, rnd), ttfb: realistic(b / 2, n, rnd) },
    );
  });
});
const REALISTIC_TOTAL_T: Measures[][] = BASES.map((b, i) => {
  const rnd = mulberry32(101 + i);
  return Array.from({ length: PHASES }, () => {
    const ok = 420 + Math.floor(rnd() * 211); // 420–630
    const n = ok + 42;
    return measures(
      { "200": ok, "404": 30, "503": 10, "0": 2 },
      {
        total: realistic(b, n, rnd),
        request: realistic(0.2, n, rnd),
        connect: realistic(0.5, n, rnd),
        ttfb: realistic(b / 2, n, rnd),
        transfer: realistic(1, n, rnd),
      },
      { connNew: 30 + Math.floor(rnd() * 20), connOpen: 100 + Math.floor(rnd() * 50) },
    );
  });
});

/**
 * syntheticBatch is batch number k of a fleet of services × routes (one backend per route), as one
 * engine ships it; realistic: the latencies of REALISTIC_* (the bound test's), else spread's.
 */
export function syntheticBatch(
  engine: string,
  at: number,
  k: number,
  SERVICES: number,
  ROUTES: number,
  realisticLatency = false,
): AnalyticsBatch {
  // Realistic: each series keeps its own latency level (base) and draws anew every batch; the
  // default rotates four templates through every series.
  const routeT = (i: number) =>
    realisticLatency ? REALISTIC_ROUTE_T[i % 4]![(k + i) % PHASES]! : ROUTE_T[(i + k) % 4]!;
  const backendT = (i: number) => (realisticLatency ? routeT(i) : ROUTE_T[i % 4]!);
  const totalT = (i: number) =>
    realisticLatency ? REALISTIC_TOTAL_T[i % 4]![k % PHASES]! : TOTAL_T[(i + k) % 4]!;
  const services: Record<string, ServiceBatch> = {};
  for (let v = 0; v < SERVICES; v++) {
    const routes: Record<string, Measures> = {};
    const backends: Record<string, Measures> = {};
    for (let r = 0; r < ROUTES; r++) {
      routes[`HTTPRoute/ns${v}/route${r}#0`] = routeT(v + r);
      backends[`ns${v}/svc${r}:80 10.${v}.${r}.1:8080`] = backendT(v + r);
    }
    const top: ServiceBatch["top"] = {
      urls: Object.fromEntries(
        Array.from({ length: 20 }, (_, i) => [`/api/v${i}/item/${(k + i) % 97}`, 20 - i]),
      ),
      clients: Object.fromEntries(
        Array.from({ length: 20 }, (_, i) => [`198.51.100.${(k * 7 + i) % 250}`, 20 - i]),
      ),
      userAgents: { "Chrome 131 / Windows": 300, "Firefox 133 / Linux": 100, "curl/8.11": 20 },
      codes: { "200": 500, "404": 30, "503": 10 },
      backends: Object.fromEntries(Object.keys(backends).map((b, i) => [b, 50 - i])),
      routes: Object.fromEntries(Object.keys(routes).map((r, i) => [r, 50 - i])),
    };
    services[`Gateway/ns${v}/gw:443 host${v}.example`] = {
      kind: "http",
      listener: `Gateway/ns${v}/gw:443`,
      vhost: `host${v}.example`,
      total: totalT(v),
      routes,
      backends,
      top,
    };
  }
  return { engine, at, intervalMs: 5_000, services, logs: [], dropped: 0 };
}

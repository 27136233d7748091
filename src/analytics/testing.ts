// testing.ts: synthetic batches for the store's tests (two engines, known samples).
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

/** syntheticBatch is batch number k of a fleet of services × routes (one backend per route), as one engine ships it. */
export function syntheticBatch(
  engine: string,
  at: number,
  k: number,
  SERVICES: number,
  ROUTES: number,
): AnalyticsBatch {
  const services: Record<string, ServiceBatch> = {};
  for (let v = 0; v < SERVICES; v++) {
    const routes: Record<string, Measures> = {};
    const backends: Record<string, Measures> = {};
    for (let r = 0; r < ROUTES; r++) {
      routes[`HTTPRoute/ns${v}/route${r}#0`] = ROUTE_T[(v + r + k) % 4]!;
      backends[`ns${v}/svc${r}:80 10.${v}.${r}.1:8080`] = ROUTE_T[(v + r) % 4]!;
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
      total: TOTAL_T[(v + k) % 4]!,
      routes,
      backends,
      top,
    };
  }
  return { engine, at, intervalMs: 5_000, services, logs: [], dropped: 0 };
}

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

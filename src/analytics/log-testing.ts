// log-testing.ts: records for the request log's tests (a builder with real-looking defaults).
import type { LogRecord } from "./types.ts";

/** logRecord is a 200 GET record at `at` for vs, with fields overridden by `over`. */
export function logRecord(at: number, vs: string, over: Partial<LogRecord> = {}): LogRecord {
  return {
    at,
    vs,
    reasons: ["5xx"],
    engine: "local",
    listener: vs.split(" ")[0]!,
    route: "Ingress/default/web#0",
    backend: "Service/default/web:80 10.0.0.7:8080",
    client: "192.0.2.10",
    method: "GET",
    authority: "shop.example.com",
    path: "/cart",
    protocol: "HTTP/1.1",
    status: 503,
    userAgent: "curl/8.11.1",
    browser: "",
    os: "",
    bytesIn: 120,
    bytesOut: 340,
    timings: { total: 12.5, ttfb: 10 },
    error: "",
    ...over,
  };
}

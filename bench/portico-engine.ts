// portico-engine.ts: runs Portico's engine for the benchmark topology, with no controller: it
// builds the EngineSnapshot (IR) itself and applies it. With --workers=N>1 it runs a WorkerGroup
// (src/engine/workers/) of N engine processes sharing the listeners (reusePort), as `portico run
// --workers N` does.
//   --address=127.0.0.12 --http-port=8000 --https-port=8443 --tcp-port=9000
//   --backend=127.0.0.2:8080 --tcp-backend=127.0.0.3:5201 --cert=PEM --key=PEM --workers=1
//   --metrics   count as `portico run` does (Prometheus counters and the load report): what
//               `portico size --calibrate` measures; the benchmark leaves it off, like its references
//   --subscriber=noop|metrics  a do-nothing subscriber of the response event (what publishing it
//               costs), or Metrics without the load sampler: bench:user-causes splits --metrics so
//   --analytics collect analytics as `portico run` does (the collector, its batch taken once a
//               second as the heartbeat does): bench:user-causes attributes their cost with it
//
// What only a flag uses (metrics, analytics, workers) is imported when the flag is given, and
// parseArgs comes through require: the idle test reads this process's RSS, which should hold the
// engine, not tools it does not run (src/engine/lazy-node.ts: an ES import of node:util also
// loads assert and worker_threads).
import { subscribe } from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Engine } from "../src/engine/engine.ts";
import { compileHttp } from "../src/engine/l7/compile.ts";
import { HTTP_RESPONSE_CHANNEL } from "../src/engine/l7/events.ts";
import type { EngineSnapshot, Pool } from "../src/model/ir.ts";
import type * as Util from "node:util";

const { parseArgs } = createRequire(import.meta.url)("node:util") as typeof Util;

/** BenchSnapshotOptions place the bench's listeners and backends. */
export interface BenchSnapshotOptions {
  address: string;
  httpPort: number;
  httpsPort: number;
  tcpPort: number;
  backend: { address: string; port: number };
  tcpBackend: { address: string; port: number };
  certPem: string;
  keyPem: string;
}

/** pool is a one-endpoint pool, as a Service with one ready pod translates. */
function pool(name: string, address: string, port: number, protocol: Pool["protocol"]): Pool {
  return {
    name,
    algorithm: { type: "RoundRobin" },
    endpoints: [{ address, port, weight: 1, ready: true, serving: true, terminating: false }],
    protocol,
  };
}

/**
 * benchSnapshot is the bench topology as IR: HTTP and HTTPS listeners routing every host and
 * path to the web pool (what HAProxy's default_backend and nginx's `location /` do), and a
 * TCP virtual service to the iperf3 server.
 */
export function benchSnapshot(o: BenchSnapshotOptions): EngineSnapshot {
  const web = "bench/web:80";
  const iperf = "bench/iperf:5201";
  const virtualHosts = [
    {
      hostname: "*",
      routes: [
        {
          name: "Ingress/bench/web#0",
          match: { path: { type: "Prefix" as const, value: "/" } },
          action: { type: "Forward" as const, backends: [{ pool: web, weight: 1 }] },
        },
      ],
    },
  ];
  // Timeouts match the reference configs (120 s client keep-alive, no request cap).
  const common = { virtualHosts, requestTimeoutMs: 60000, idleTimeoutMs: 120000 };
  return {
    version: 1,
    l4: [
      {
        name: "Service/bench/iperf:9000/TCP",
        address: o.address,
        port: o.tcpPort,
        protocol: "TCP",
        pool: iperf,
        idleTimeoutMs: 120000,
        connectTimeoutMs: 5000,
      },
    ],
    http: [
      { name: "bench:http", address: o.address, port: o.httpPort, ...common },
      {
        name: "bench:https",
        address: o.address,
        port: o.httpsPort,
        tls: {
          sni: [{ hostname: "bench.local", certificate: "bench/tls" }],
          defaultCertificate: "bench/tls",
        },
        ...common,
      },
    ],
    pools: {
      [web]: pool(web, o.backend.address, o.backend.port, "http1"),
      [iperf]: pool(iperf, o.tcpBackend.address, o.tcpBackend.port, "tcp"),
    },
    certificates: { "bench/tls": { certPem: o.certPem, keyPem: o.keyPem } },
  };
}

/** hostPort splits "a.b.c.d:port". */
function hostPort(s: string): { address: string; port: number } {
  const i = s.lastIndexOf(":");
  return { address: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/** serve runs one engine process until SIGTERM/SIGINT. */
async function serve(
  o: BenchSnapshotOptions,
  reusePort: boolean,
  counting: boolean,
  analytics: boolean,
  subscriber?: string,
): Promise<void> {
  // Logging off, as in the reference configs: no log function means no log lines.
  const engine = new Engine({ compileHttp, reusePort });
  const { Metrics } = counting || subscriber === "metrics" ? await import("../src/engine/metrics.ts") : {};
  if (counting && Metrics !== undefined) {
    const { LoadSampler } = await import("../src/engine/load.ts");
    new Metrics({ connections: () => engine.connections() }).subscribe();
    new LoadSampler({ connectionsOpen: () => engine.connections().active }).subscribe();
  }
  if (subscriber === "noop") subscribe(HTTP_RESPONSE_CHANNEL, () => {});
  else if (subscriber === "metrics" && Metrics !== undefined)
    new Metrics({ connections: () => engine.connections() }).subscribe();
  if (analytics) {
    const { startCollector } = await import("../src/analytics/collector.ts");
    // As engine-port.ts starts it; the heartbeat (engine-bridge.ts) takes a batch once a second.
    const shipper = startCollector(() => engine.snapshot?.analytics, {});
    setInterval(() => shipper?.take(), 1000).unref();
  }
  const r = engine.apply(benchSnapshot(o));
  if (!r.ok) throw new Error(`snapshot rejected: ${r.error}`);
  await engine.settled();
  const bad = engine.status().listeners.filter((l) => l.state !== "bound");
  if (bad.length > 0) throw new Error(`listeners not bound: ${JSON.stringify(bad)}`);
  console.log(
    `portico-engine ${process.pid}: serving ${o.address} (${engine.status().listeners.length} listeners)`,
  );
  const stop = (): void => {
    void engine.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/**
 * supervise runs the snapshot on a WorkerGroup of n engine processes sharing the ports
 * (reusePort), exactly what `portico run --workers n` does, and ends with them.
 */
async function supervise(n: number, o: BenchSnapshotOptions, counting: boolean): Promise<void> {
  const { WorkerGroup } = await import("../src/engine/workers/group.ts");
  const group = await WorkerGroup.start({ workers: n, log: () => {}, metrics: counting });
  const r = await group.apply(benchSnapshot(o));
  if (!r.ok) throw new Error(`snapshot rejected: ${r.error}`);
  console.log(`portico-engine ${process.pid}: ${n} workers serving ${o.address}`);
  const stop = (): void => {
    void group.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (import.meta.main) {
  const { values: v } = parseArgs({
    options: {
      address: { type: "string", default: "127.0.0.12" },
      "http-port": { type: "string", default: "8000" },
      "https-port": { type: "string", default: "8443" },
      "tcp-port": { type: "string", default: "9000" },
      backend: { type: "string", default: "127.0.0.2:8080" },
      "tcp-backend": { type: "string", default: "127.0.0.3:5201" },
      cert: { type: "string" },
      key: { type: "string" },
      workers: { type: "string", default: "1" },
      "reuse-port": { type: "boolean", default: false },
      metrics: { type: "boolean", default: false },
      analytics: { type: "boolean", default: false },
      subscriber: { type: "string" },
    },
  });
  const workers = Number(v.workers);
  if (!v.cert || !v.key) throw new Error("--cert and --key are required");
  const o: BenchSnapshotOptions = {
    address: v.address,
    httpPort: Number(v["http-port"]),
    httpsPort: Number(v["https-port"]),
    tcpPort: Number(v["tcp-port"]),
    backend: hostPort(v.backend),
    tcpBackend: hostPort(v["tcp-backend"]),
    certPem: readFileSync(v.cert, "utf8"),
    keyPem: readFileSync(v.key, "utf8"),
  };
  if (workers > 1) await supervise(workers, o, v.metrics);
  else await serve(o, v["reuse-port"], v.metrics, v.analytics, v.subscriber);
}

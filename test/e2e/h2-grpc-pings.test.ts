// h2-grpc-pings.test.ts: a real grpc-go client (ghz) through a GRPCRoute's route to an h2c
// backend, thousands of calls over few connections, cleartext and TLS: not one connection cut and
// not one call failed. grpc-go's BDP estimator sends a PING each time it received DATA with none
// outstanding — far more than maxPings per window — and the HTTP/2 guard once took that for a
// PING flood (docs/http2.md, "PING"). Runs on the engine's codec as set: the default node:http2
// here, the own codec in h2-grpc-pings-own.test.ts (PORTICO_H2_CODEC=own).
// ghz is built by scripts/ghz/build.sh (from scripts/peers.sh); the test skips only without Go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { once } from "node:events";
import { execFile, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import type { AddressInfo } from "node:net";
import type { HttpListener } from "../../src/model/ir.ts";
import { compileHttpWith } from "../../src/engine/l7/compile.ts";
import { defaultLimits } from "../../src/engine/l7/runtime.ts";
import {
  RoundRobinUpstreams,
  catchAllListener,
  listen,
  poolOf,
  snapshotOf,
} from "../../src/engine/l7/testing.ts";
import { Metrics } from "../../src/engine/metrics.ts";
import { grpcPath } from "../../src/translate/grpcroute.ts";
import { selfSigned } from "../support/certs.ts";

const root = resolve(import.meta.dirname, "../..");
const GHZ = resolve(root, ".cache/grpc-bench/ghz");
const CALLS = 10_000;

// Builds ghz if it is not (quick when it is); exit 3 is "Go is not installed".
const build = spawnSync("bash", [resolve(root, "scripts/ghz/build.sh")], {
  stdio: ["ignore", "inherit", "inherit"],
});
const skip =
  build.status === 3 ? "Go is not installed: ghz (scripts/ghz/build.sh) cannot be built; SKIPPED" : false;
if (skip) console.warn(`WARNING: ${skip}`);
else assert.equal(build.status, 0, "scripts/ghz/build.sh failed (its output is above)");

// The backend: unary echo as a gRPC server answers it — the message back, grpc-status in trailers.
const backend = http2.createServer();
backend.on("stream", (stream) => {
  stream.on("error", () => {});
  const parts: Buffer[] = [];
  stream.on("data", (d: Buffer) => parts.push(d));
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(Buffer.concat(parts));
  });
});
backend.listen(0, "127.0.0.1");
await once(backend, "listening");

const cert = selfSigned(["grpc.example.com"]);
const pools = { grpc: poolOf("grpc", [(backend.address() as AddressInfo).port], "h2c") };
const metrics = new Metrics().subscribe();

// What a GRPCRoute with method bench.Echo/Echo compiles to: an exact path to an h2c pool.
function listenerOf(name: string, tls: boolean): HttpListener {
  const l = catchAllListener(name, tls ? { tls: { sni: [], defaultCertificate: "ns/cert" } } : {});
  const route = l.virtualHosts[0]!.routes[0]!;
  route.match = { path: grpcPath({ service: "bench.Echo", method: "Echo" }) };
  route.action = { type: "Forward", backends: [{ pool: "grpc", weight: 1 }] };
  return l;
}
async function start(l: HttpListener) {
  const deps = {
    snapshot: snapshotOf(l, pools, { "ns/cert": cert }),
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  };
  return listen({ current: compileHttpWith(l, deps, defaultLimits) });
}
const plain = await start(listenerOf("h2c:80", false));
const secure = await start(listenerOf("h2:443", true));
after(() => {
  metrics.close();
  for (const s of [plain.server, secure.server, backend]) s.close();
});

// cuts sums portico_http2_cut_connections_total of listener over every reason.
function cuts(listener: string): string[] {
  const re = new RegExp(
    `^portico_http2_cut_connections_total\\{listener="${listener}",reason="(\\w+)"\\} (\\d+)$`,
    "gm",
  );
  return [...metrics.render().matchAll(re)].filter((m) => m[2] !== "0").map((m) => `${m[1]}=${m[2]}`);
}

interface GhzReport {
  count: number;
  rps: number;
  statusCodeDistribution: Record<string, number>;
  errorDistribution?: Record<string, number>;
}

// ghz runs CALLS calls over 4 connections, 64 in flight — grpc-go's defaults otherwise.
function ghz(port: number, tls: boolean): Promise<GhzReport> {
  const argv = [
    ...["--proto", resolve(root, "test/peers/echo.proto"), "--call", "bench.Echo/Echo"],
    ...["-d", JSON.stringify({ data: Buffer.alloc(64, 1).toString("base64") })],
    ...(tls ? ["--skipTLS", "--authority", "grpc.example.com"] : ["--insecure"]),
    ...["--connections", "4", "-c", "64", "-n", String(CALLS), "--timeout", "20s", "-O", "json"],
    `127.0.0.1:${port}`,
  ];
  return new Promise((done, fail) =>
    execFile(GHZ, argv, { maxBuffer: 256 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (stdout.length === 0) return fail(new Error(`ghz printed nothing (${err?.message}): ${stderr}`));
      done(JSON.parse(stdout) as GhzReport);
    }),
  );
}

for (const [name, tls] of [
  ["h2c:80", false],
  ["h2:443", true],
] as const) {
  test(
    `grpc-go client, ${CALLS} calls over ${tls ? "TLS" : "h2c"}: no connection cut, no call failed`,
    { skip },
    async () => {
      const r = await ghz(tls ? secure.port : plain.port, tls);
      assert.deepEqual(cuts(name), [], "portico_http2_cut_connections_total");
      assert.deepEqual(r.statusCodeDistribution, { OK: CALLS }, JSON.stringify(r.errorDistribution ?? {}));
      assert.equal(r.count, CALLS);
      console.log(`${name}: ${CALLS} calls OK at ${Math.round(r.rps)}/s (noisy: shared machine)`);
    },
  );
}

// grpc-report.test.ts: reading ghz's summary, and bench:grpc's ratio, spread and verdicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ghzArgv, grpcHaproxyConfig, grpcManifest, DEFAULT_LOAD } from "./grpc-configs.ts";
import { grpcRatio, parseGhz, renderGrpcReport, type GrpcSample, type GrpcWho } from "./grpc-report.ts";
import { defaultTopology } from "./topology.ts";

// ghz v0.120.0's summary of a -z run straight to bench/grpc-echo (histogram trimmed): 18 calls
// were still in flight when the duration ended and ghz closed its connections under them.
const GHZ = `
Summary:
  Count:	9158
  Total:	2.03 s
  Slowest:	178.80 ms
  Fastest:	0.27 ms
  Average:	6.15 ms
  Requests/sec:	4512.70

Response time histogram:
  0.274   [1]    |
  18.127  [8850] |∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎

Latency distribution:
  10 % in 1.97 ms 
  50 % in 4.23 ms 
  99 % in 50.55 ms 

Status code distribution:
  [OK]            9140 responses   
  [Unavailable]   18 responses     

Error distribution:
  [8]   rpc error: code = Unavailable desc = error reading from server: read tcp 127.0.0.1:43080->127.0.0.4:50051: use of closed network connection   
  [10]  rpc error: code = Unavailable desc = error reading from server: read tcp 127.0.0.1:43054->127.0.0.4:50051: use of closed network connection   
`;

test("parseGhz reads rate, count, p50/p99; calls ghz cut at its own stop are not failures", () => {
  const r = parseGhz(GHZ);
  assert.equal(r.rps, 4512.7);
  assert.equal(r.count, 9158);
  assert.equal(r.p50Ms, 4.23);
  assert.equal(r.p99Ms, 50.55);
  assert.equal(r.cancelled, 18);
  assert.equal(r.errors, 0);
});

test("parseGhz counts other non-OK calls, and a run without an OK call, as failures", () => {
  const reset = GHZ.replace(/use of closed network connection/g, "EOF");
  assert.equal(parseGhz(reset).errors, 18);
  const none = GHZ.replace(/\[OK\]\s+9140 responses/, "").replace(
    /\[Unavailable\]\s+18/,
    "[Unavailable]   9158",
  );
  assert.ok(parseGhz(none).errors > 0);
  assert.equal(parseGhz(GHZ.replace("4.23 ms", "812.5 µs")).p50Ms, 0.8125);
  assert.throws(() => parseGhz("dial tcp: connection refused"), /no summary/);
});

const s = (who: GrpcWho, round: number, rps: number, errors = 0): GrpcSample => ({
  caseId: "grpc-h2c",
  who,
  round,
  rps,
  count: rps * 10,
  p99Ms: 100_000 / rps,
  errors,
  cancelled: 0,
  cpuUs: who === "direct" ? undefined : 1e6 / rps,
});

test("grpcRatio pairs rounds; verdicts: reportable, failed calls, spread over ±15%", () => {
  const samples = [s("Portico", 1, 800), s("HAProxy", 1, 1000), s("Portico", 2, 900), s("HAProxy", 2, 1000)];
  samples.push(s("Portico", 3, 850), s("HAProxy", 3, 1000), s("direct", 1, 5000));
  const r = grpcRatio(samples, "grpc-h2c")!;
  assert.equal(r.ratio, 0.85);
  assert.deepEqual(r.roundRatios, [0.8, 0.9, 0.85]);
  assert.equal(r.verdict, "reportable");
  assert.ok(Math.abs(r.cpuRatio! - 1000 / 850) < 1e-9);
  assert.equal(
    grpcRatio([s("Portico", 1, 900, 2), s("HAProxy", 1, 1000)], "grpc-h2c")!.verdict,
    "calls failed: not reportable",
  );
  const noisy = [s("Portico", 1, 500), s("HAProxy", 1, 1000), s("Portico", 2, 900), s("HAProxy", 2, 1000)];
  noisy.push(s("Portico", 3, 900), s("HAProxy", 3, 1000));
  assert.match(grpcRatio(noisy, "grpc-h2c")!.verdict, /repeat the run/);
  assert.equal(grpcRatio([s("direct", 1, 5000)], "grpc-h2c"), undefined);
  const md = renderGrpcReport({
    startedAt: "T",
    settings: {},
    cases: [{ id: "grpc-h2c", title: "gRPC h2c" }],
    samples,
    commands: {},
    notes: [],
  });
  assert.match(md, /\| direct \| 5,000 \|/);
  assert.match(md, /Portico ÷ HAProxy: \*\*0\.85×\*\*/);
});

test("the configurations: HAProxy speaks h2 both ways, Portico's GRPCRoute names the echo method", () => {
  const t = defaultTopology("/tmp/x");
  const cfg = grpcHaproxyConfig(t);
  assert.match(cfg, /bind 127\.0\.0\.142:8000 proto h2\n/);
  assert.match(cfg, /alpn h2\n/);
  assert.match(cfg, /server s1 127\.0\.0\.140:50051 proto h2\n/);
  const yaml = grpcManifest({ t, certPem: "C", keyPem: "K" });
  assert.match(yaml, /kind: GRPCRoute/);
  assert.match(yaml, /method: \{ service: bench\.Echo, method: Echo \}/);
  const argv = ghzArgv({
    ghz: "ghz",
    proto: "p",
    host: "h",
    port: 1,
    tls: true,
    seconds: 3,
    load: DEFAULT_LOAD,
  });
  assert.ok(argv.includes("--skipTLS") && !argv.includes("--insecure"));
  assert.equal(argv.at(-1), "h:1");
});

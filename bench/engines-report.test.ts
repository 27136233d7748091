// engines-report.test.ts: bench:engines' flags, pinning, manifest, medians and report.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import {
  caveats,
  engineCpuList,
  enginesManifest,
  parseEnginesArgs,
  renderEnginesReport,
  summariseEngines,
  type EnginesSample,
} from "./engines-report.ts";

test("parseEnginesArgs: defaults, sorted unique counts, and errors that name the flag", () => {
  assert.deepEqual(parseEnginesArgs([]), {
    seconds: 10,
    rounds: 3,
    counts: [1, 2, 3],
    calibration: undefined,
    calibrateSeconds: 3,
    skipInstall: false,
  });
  const o = parseEnginesArgs(["--duration=4", "--rounds=2", "--engines=3,1,1", "--calibration=/x/c.json"]);
  assert.deepEqual([o.seconds, o.rounds, o.counts, o.calibration], [4, 2, [1, 3], "/x/c.json"]);
  assert.throws(
    () => parseEnginesArgs(["--duration=0"]),
    /--duration must be a whole number from 1 to 3600, not "0"/,
  );
  assert.throws(() => parseEnginesArgs(["--engines=1,x"]), /--engines .* not "x"/);
  assert.throws(() => parseEnginesArgs(["--bogus"]), /usage: npm run bench:engines/);
});

test("engineCpuList keeps CPU 0 for the load and spreads engines over the rest", () => {
  assert.deepEqual(engineCpuList(2, 3), ["1", "1", "1"]);
  assert.deepEqual(engineCpuList(4, 4), ["1", "2", "3", "1"]);
  assert.deepEqual(engineCpuList(1, 2), ["0", "0"]);
});

test("enginesManifest puts one VIP in an ActiveActive group routed to the backend", () => {
  const docs = enginesManifest({
    vip: "127.0.0.20",
    replicas: 3,
    backend: { address: "127.0.0.21", port: 8080 },
  })
    .split(/^---$/m)
    .map((d) => parse(d) as { kind: string; spec?: Record<string, unknown>; endpoints?: unknown });
  const kind = (k: string) => docs.find((d) => d.kind === k)!;
  assert.deepEqual(kind("VipPool").spec, { addresses: ["127.0.0.20/32"], engineGroup: "edge" });
  assert.deepEqual(kind("EngineGroup").spec, { replicas: 3, haMode: "ActiveActive" });
  assert.deepEqual(kind("EndpointSlice").endpoints, [
    { addresses: ["127.0.0.21"], conditions: { ready: true } },
  ]);
});

const sample = (engines: number, round: number, rps: number, cores: number[]): EnginesSample => ({
  engines,
  round,
  requestsPerSecond: rps,
  p99Ms: rps / 10000,
  errors: 0,
  engineCores: cores,
});

test("summariseEngines takes medians per engine count and ratios to the smallest", () => {
  const rows = summariseEngines([
    sample(1, 1, 10000, [0.9]),
    sample(2, 1, 15000, [0.5, 0.4]),
    sample(1, 2, 20000, [1]),
    sample(2, 2, 17000, [0.6, 0.5]),
    sample(1, 3, 30000, [0.8]),
  ]);
  assert.deepEqual(
    rows.map((r) => [r.engines, r.requestsPerSecond, r.ratio, r.engineCores, r.values]),
    [
      [1, 20000, 1, [0.9], [10000, 20000, 30000]],
      [2, 16000, 0.8, [0.55, 0.45], [15000, 17000]],
    ],
  );
  assert.equal(rows[1]!.totalCores, 1);
});

test("the report shows the table, the size output, and the 2-CPU caveat only where it applies", () => {
  const rows = summariseEngines([sample(1, 1, 40000, [0.95]), sample(2, 1, 38000, [0.45, 0.4])]);
  const input = {
    startedAt: "2026-12-06T18:00:00Z",
    environment: { CPU: "x × 2" },
    settings: { rounds: "1" },
    rows,
    wrkCommand: "taskset -c 0 wrk -t1 -c64 -d4s --latency http://VIP:8000/",
    cpuCount: 2,
    engineCpus: ["1", "1"],
    sizeCommand: "portico size --admin 127.0.0.1:1 --state-dir STATE --window 10s",
    sizeOutput: "GROUP   ENGINES\nedge    2\n",
    notes: [],
  };
  const md = renderEnginesReport(input);
  assert.match(md, /\| 1 \| 40,000 \| 1\.00× \| 4\.00 \| 0\.95 \| 0\.95 \| 0 \| 40,000 \|/);
  assert.match(md, /\| 2 \| 38,000 \| 0\.95× \| 3\.80 \| 0\.45, 0\.40 \| 0\.85 \| 0 \| 38,000 \|/);
  assert.match(md, /measures what splitting the same CPU/);
  assert.match(
    md,
    /\$ portico size --admin 127\.0\.0\.1:1 --state-dir STATE --window 10s\nGROUP {3}ENGINES\nedge {4}2\n```/,
  );
  assert.doesNotMatch(
    renderEnginesReport({ ...input, cpuCount: 8, engineCpus: ["1", "2"] }),
    /Read this first/,
  );
  assert.deepEqual(
    caveats({ rows, engineCpus: ["1", "1"] }).map((c) => c.slice(0, 40)),
    ["The 2 engines share 1 CPU, but each repo", "With 2 engine(s) the engines left part o"],
  );
  assert.deepEqual(caveats({ rows: rows.slice(0, 1), engineCpus: ["1"] }), []);
});

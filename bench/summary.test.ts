// summary.test.ts: medians, ratios and target verdicts; the docs splice; the chart's shape.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CASES } from "./cases.ts";
import { ratioChartSvg } from "./chart.ts";
import { END, START, spliceResults } from "./docs.ts";
import { cpuSeconds } from "./procs.ts";
import { projectedScaling, renderReport } from "./report.ts";
import { missingPackages } from "./setup.ts";
import { median, summarise, type Sample } from "./summary.ts";
import type { ProxyName } from "./topology.ts";

const ka = CASES.find((c) => c.id === "http-ka-64")!;

function sample(proxy: ProxyName, value: number, p99Ms: number, errors = 0): Sample {
  return { proxy, caseId: ka.id, round: 1, result: { value, p50Ms: 1, p99Ms, errors }, rssKiB: 20480 };
}

test("median handles odd, even and empty inputs without sorting its argument", () => {
  const xs = [3, 1, 2];
  assert.equal(median(xs), 2);
  assert.deepEqual(xs, [3, 1, 2]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test("summarise computes ratios and meets the target only with throughput, p99 and no errors", () => {
  const base = [
    sample("HAProxy", 100, 10),
    sample("HAProxy", 120, 10),
    sample("HAProxy", 110, 10),
    sample("nginx", 105, 9),
  ];
  const [good] = summarise([ka], [...base, sample("Portico", 90, 12)]);
  assert.equal(good!.stats.HAProxy!.value, 110);
  assert.ok(Math.abs(good!.ratios.porticoHaproxy! - 90 / 110) < 1e-9);
  assert.ok(Math.abs(good!.ratios.porticoNginx! - 90 / 105) < 1e-9);
  assert.equal(good!.met, true);
  assert.equal(good!.stats.HAProxy!.rssMiB, 20);

  const [slowTail] = summarise([ka], [...base, sample("Portico", 90, 16)]);
  assert.equal(slowTail!.met, false);
  const [slow] = summarise([ka], [...base, sample("Portico", 80, 10)]);
  assert.equal(slow!.met, false);
  const [wrong] = summarise([ka], [...base, sample("Portico", 200, 5, 1)]);
  assert.equal(wrong!.met, false);
  const [absent] = summarise([ka], base);
  assert.equal(absent!.met, undefined);
  assert.equal(absent!.ratios.porticoHaproxy, undefined);
});

test("spliceResults replaces only the marked section and demotes headings", () => {
  const doc = `# Performance\n\nHow to run.\n\n${START}\nold\n${END}\n\nAfter.\n`;
  const out = spliceResults(doc, "# Portico benchmark\n\n## Summary\n");
  assert.ok(out.startsWith("# Performance\n\nHow to run."));
  assert.ok(out.endsWith("\n\nAfter.\n"));
  assert.ok(out.includes("## Portico benchmark\n\n### Summary"));
  assert.ok(!out.includes("old"));
  assert.ok(spliceResults("# P\n", "# R\n").includes(`${START}\n## R\n${END}`));
});

test("ratioChartSvg draws one bar per measured ratio and names missing ones", () => {
  const rows = summarise([ka], [sample("HAProxy", 100, 10), sample("nginx", 105, 9)]);
  const svg = ratioChartSvg(rows, "sub");
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 1 + 2); // one bar + two legend swatches
  assert.match(svg, /Portico: not run/);
  assert.match(svg, /1\.05/);
});

test("missingPackages maps absent files to Debian packages, once each", () => {
  const none = missingPackages(() => false);
  assert.ok(
    none.includes("haproxy") && none.includes("nghttp2-client") && none.includes("libnginx-mod-stream"),
  );
  assert.equal(new Set(none).size, none.length);
  assert.deepEqual(
    missingPackages(() => true),
    [],
  );
});

test("CPU per request: medians per proxy, a column in the report, and the projected worker scaling", () => {
  const s = (proxy: ProxyName, value: number, cpuUs?: number): Sample => ({
    ...sample(proxy, value, 1),
    cpuUs,
  });
  const [sum] = summarise(
    [ka],
    [s("HAProxy", 100, 20), s("Portico", 90, 25), s("Portico", 80, 30), s("Portico", 85)],
  );
  assert.equal(sum!.stats.Portico!.cpuUs, 27.5, "the median of the rounds that measured it");
  assert.equal(
    projectedScaling({ caseId: ka.id, workers: 2, cpus: "0,1", oneCoreCpuUs: 20, multiCpuUs: 22 }),
    40 / 22,
  );
  assert.equal(projectedScaling({ caseId: ka.id, workers: 2, cpus: "0,1", oneCoreCpuUs: 20 }), undefined);
  const report = renderReport({
    startedAt: "t",
    environment: {},
    settings: {},
    commands: {},
    summaries: [sum!],
    idle: [],
    idleCommand: "",
    multicore: [
      { caseId: ka.id, workers: 2, cpus: "0,1", oneCore: 90, multi: 100, oneCoreCpuUs: 20, multiCpuUs: 25 },
    ],
    notes: [],
  });
  assert.match(report, /\| Portico \| 85 \| 1\.000 \| 1\.000 \| 27\.5 \|/);
  assert.match(report, /\| 20\.0 \/ 25\.0 \| 1\.60× \|/);
});

test("cpuSeconds counts the CPU a process has used", () => {
  // Spin until the kernel's own account (getrusage) says 0.1 s of CPU was used, not for a wall-clock
  // time: on a loaded machine 150 ms of wall time can be far less CPU. /proc must then agree.
  const before = cpuSeconds(process.pid);
  const start = process.cpuUsage();
  const spent = () => {
    const d = process.cpuUsage(start);
    return (d.user + d.system) / 1e6;
  };
  while (spent() < 0.1); // busy
  const used = cpuSeconds(process.pid) - before;
  // /proc counts in clock ticks (10 ms): allow one tick short; the upper bound is other threads' share.
  assert.ok(used >= 0.09 && used < spent() + 5, `used ${used} s, getrusage ${spent()} s`);
});

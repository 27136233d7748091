// soak-report.test.ts: the soak's growth rule on made-up series (a leak, warm-up that settles,
// noise with an outlier, a run too short) and the HTTP/2 return-to-baseline verdict.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  growth,
  h2Verdict,
  METRICS,
  renderSoakReport,
  slope,
  soakVerdict,
  type MetricId,
  type SoakSample,
} from "./soak-report.ts";

const rss = METRICS.find((m) => m.id === "rssMiB")!;
const fds = METRICS.find((m) => m.id === "fds")!;

/** series makes samples from cycle 3 on with rssMiB (and the other metrics constant). */
function series(ys: number[], id: MetricId = "rssMiB"): SoakSample[] {
  return ys.map((y, i) => ({
    cycle: i + 3,
    values: {
      rssMiB: 100,
      heapMiB: 15,
      heapTotalMiB: 30,
      externalMiB: 5,
      arrayBuffersMiB: 1,
      handles: 6,
      fds: 200,
      backendConns: 64,
      [id]: y,
    },
  }));
}

test("slope is the least-squares slope", () => {
  assert.equal(slope([1, 2, 3, 4], [10, 12, 14, 16]), 2);
  assert.equal(slope([1, 2, 3], [5, 5, 5]), 0);
  assert.equal(slope([1], [5]), 0);
});

test("a steady leak grows: the second half sits higher and still climbs", () => {
  const g = growth(rss, series([100, 102, 104, 106, 108, 110, 112, 114]));
  assert.equal(g.verdict, "grows");
  assert.equal(g.secondSlope, 2);
  assert.equal(g.rise, 6);
});

test("warm-up that settles in the first half, noise and an outlier are flat", () => {
  assert.equal(growth(rss, series([100, 110, 118, 120, 120, 121, 120, 120])).verdict, "flat");
  assert.equal(growth(rss, series([120, 119, 121, 120, 120, 121, 119, 120])).verdict, "flat");
  // One high reading at the very end tilts the fit but not the median.
  assert.equal(growth(rss, series([120, 119, 121, 120, 120, 121, 119, 140])).verdict, "flat");
  // Falling is no growth.
  assert.equal(growth(rss, series([130, 128, 126, 124, 122, 120, 118, 116])).verdict, "flat");
  // Descriptors: a few more or less are within the tolerance.
  assert.equal(growth(fds, series([200, 205, 198, 203, 201, 206, 199, 204], "fds")).verdict, "flat");
  assert.equal(growth(fds, series([200, 210, 220, 230, 240, 250, 260, 270], "fds")).verdict, "grows");
});

test("fewer than 3 cycles per half gives no verdict; the run's verdict names what grows", () => {
  assert.equal(growth(rss, series([100, 110, 120, 130, 140])).verdict, "too short");
  const leak = series([100, 102, 104, 106, 108, 110, 112, 114]);
  const gs = METRICS.map((m) => growth(m, leak));
  assert.equal(soakVerdict(gs), "grows: RSS (MiB)");
  assert.equal(
    soakVerdict(METRICS.map((m) => growth(m, series([100, 100, 100, 100, 100, 100])))),
    "no growth",
  );
  assert.match(soakVerdict([growth(rss, series([1, 2]))]), /too short/);
});

test("h2Verdict: within 10% of the level before the load", () => {
  const base = { beforeMiB: 100, afterMiB: 180, settleSeconds: 30, requests: 1 };
  assert.equal(h2Verdict({ ...base, settledMiB: 109 }), "meets (+9.0%, ≤ +10%)");
  assert.equal(h2Verdict({ ...base, settledMiB: 95 }), "meets (-5.0%, ≤ +10%)");
  assert.equal(h2Verdict({ ...base, settledMiB: 115 }), "not met (+15.0%, > +10%)");
  const md = renderSoakReport({
    startedAt: "T",
    settings: { a: "b" },
    h2: { ...base, settledMiB: 101 },
    warmup: series([90]),
    samples: series([100, 100, 100, 100, 100, 100]),
    notes: [],
  });
  assert.match(md, /\*\*no growth\*\*/);
  assert.match(md, /\| 100\.0 MiB \| 180\.0 MiB \| 101\.0 MiB \| meets/);
  assert.match(md, /\| 3 \(warm-up\) \|/);
});

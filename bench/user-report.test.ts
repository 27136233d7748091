// user-report.test.ts: the user-mode bench's ratios, spread and verdicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ratioRows,
  renderUserReport,
  spreadOf,
  verdict,
  type Contestant,
  type UserSample,
} from "./user-report.ts";

const s = (who: Contestant, round: number, rps: number, errors = 0): UserSample => ({
  caseId: "http-ka-64",
  who,
  round,
  requestsPerSecond: rps,
  cpuUs: 1e6 / rps,
  errors,
});

test("spreadOf is the largest distance from the median, relative to it", () => {
  assert.equal(spreadOf([100, 110, 90]), 0.1);
  assert.equal(spreadOf([100, 100, 125]), 0.25);
  assert.equal(spreadOf([]), undefined);
});

test("ratioRows pairs rounds; verdicts: target, errors, spread over ±15%", () => {
  const samples = [
    s("run", 1, 900),
    s("HAProxy", 1, 1000),
    s("run", 2, 950),
    s("HAProxy", 2, 1000),
    s("run", 3, 1000),
    s("HAProxy", 3, 1000),
    s("engine", 1, 1000),
  ];
  const rows = ratioRows(["http-ka-64"], samples);
  const run = rows.find((r) => r.a === "run" && r.b === "HAProxy")!;
  assert.equal(run.ratio, 0.95);
  assert.deepEqual(run.roundRatios, [0.9, 0.95, 1]);
  assert.equal(verdict(run, samples), "meets ≥ 0.9×");
  // engine/HAProxy has one paired round; run/engine too; nginx appears nowhere, so no row with it.
  assert.ok(!rows.some((r) => r.b === "nginx" || r.a === "nginx"));
  const slow = [s("run", 1, 800), s("HAProxy", 1, 1000)];
  assert.equal(verdict(ratioRows(["http-ka-64"], slow)[0]!, slow), "below 0.9×");
  const broken = [s("run", 1, 950, 3), s("HAProxy", 1, 1000)];
  assert.equal(verdict(ratioRows(["http-ka-64"], broken)[0]!, broken), "errors: not met");
  const noisy = [
    s("run", 1, 600),
    s("HAProxy", 1, 1000),
    s("run", 2, 950),
    s("HAProxy", 2, 1000),
    s("run", 3, 1000),
    s("HAProxy", 3, 1000),
  ];
  assert.match(verdict(ratioRows(["http-ka-64"], noisy)[0]!, noisy), /repeat the run/);
  const md = renderUserReport({
    startedAt: "T",
    settings: {},
    caseIds: ["http-ka-64"],
    samples,
    commands: {},
    notes: [],
  });
  assert.match(md, /\| run \/ HAProxy \| 0\.95× \|/);
});

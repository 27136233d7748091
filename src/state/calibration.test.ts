import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Calibration } from "../k8s/engine-group.ts";
import { CALIBRATION_FILE, readCalibration, writeCalibration } from "./calibration.ts";
import { StateError } from "./errors.ts";

const CAL: Calibration = {
  measuredAt: "2026-12-06T17:00:00Z",
  how: "test",
  perCore: { httpRequestsPerSecond: 1, httpsRequestsPerSecond: 2, tlsHandshakesPerSecond: 3 },
};

test("calibration: written atomically into a new directory, read back; none is undefined", (t) => {
  const base = mkdtempSync(join(tmpdir(), "portico-cal-"));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, "state");
  assert.equal(readCalibration(dir), undefined);
  assert.equal(writeCalibration(dir, CAL), join(dir, CALIBRATION_FILE));
  assert.deepEqual(readCalibration(dir), CAL);
  writeCalibration(dir, { ...CAL, how: "again" });
  assert.equal(readCalibration(dir)!.how, "again");
  assert.deepEqual(readdirSync(dir), [CALIBRATION_FILE], "no temp file left behind");
});

test("calibration: a broken file is refused naming the file and the command that rewrites it", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "portico-cal-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, CALIBRATION_FILE);
  for (const [text, why] of [
    ["{", /not a calibration \(/],
    ["[]", /not a JSON object/],
    [
      JSON.stringify({ measuredAt: "x", how: "y" }),
      /perCore.httpRequestsPerSecond must be a positive number/,
    ],
    [
      JSON.stringify({ ...CAL, perCore: { ...CAL.perCore, tlsHandshakesPerSecond: 0 } }),
      /perCore.tlsHandshakesPerSecond must be a positive number/,
    ],
    [JSON.stringify({ ...CAL, how: 1 }), /measuredAt and how must be strings/],
  ] as const) {
    writeFileSync(file, text);
    assert.throws(
      () => readCalibration(dir),
      (e: unknown) =>
        e instanceof StateError &&
        e.message.startsWith(`${file}: `) &&
        why.test(e.message) &&
        e.message.endsWith(`run 'portico size --calibrate --state-dir ${dir}' again`),
    );
  }
});

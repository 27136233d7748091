// calibration.ts: the measured per-core capacity (`portico size --calibrate`) as a file of the
// state directory, calibration.json, beside portico.db and the engine link's files. A file, not a
// table: it is written once by a command that may run while a Portico owns the database (whose
// lock it must not take), and it is read by `portico size` and by the controller for FleetView.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Calibration } from "../k8s/engine-group.ts";
import { StateError } from "./errors.ts";
import { installFile } from "./files.ts";

/** CALIBRATION_FILE is the calibration's file name in the state directory. */
export const CALIBRATION_FILE = "calibration.json";

/** readCalibration returns the recorded calibration, undefined when none was; a broken file is a StateError naming it. */
export function readCalibration(dir: string): Calibration | undefined {
  const file = join(dir, CALIBRATION_FILE);
  if (!existsSync(file)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new StateError(
      "PORTICO_STATE_UNREADABLE",
      `${file}: not a calibration (${(err as Error).message}); run 'portico size --calibrate --state-dir ${dir}' again`,
    );
  }
  const problem = calibrationProblem(doc);
  if (problem !== undefined)
    throw new StateError(
      "PORTICO_STATE_UNREADABLE",
      `${file}: ${problem}; run 'portico size --calibrate --state-dir ${dir}' again`,
    );
  return doc as Calibration;
}

/** writeCalibration records cal in dir (created if missing), replacing the last one atomically. */
export function writeCalibration(dir: string, cal: Calibration): string {
  const file = join(dir, CALIBRATION_FILE);
  const tmp = `${file}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify(cal, null, 2) + "\n");
    installFile(tmp, file, dir);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new StateError("PORTICO_STATE_WRITE", `${file}: cannot write (${(err as Error).message})`);
  }
  return file;
}

/** calibrationProblem says what is wrong with a parsed calibration file, or undefined. */
export function calibrationProblem(doc: unknown): string | undefined {
  const d = doc as Partial<Calibration> | null;
  if (typeof d !== "object" || d === null || Array.isArray(d)) return "not a JSON object";
  if (typeof d.measuredAt !== "string" || typeof d.how !== "string")
    return "measuredAt and how must be strings";
  const p = d.perCore as Record<string, unknown> | undefined;
  for (const k of ["httpRequestsPerSecond", "httpsRequestsPerSecond", "tlsHandshakesPerSecond"]) {
    const v = p?.[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
      return `perCore.${k} must be a positive number`;
  }
  return undefined;
}

// size.ts: `portico size` — how close each engine group is to saturation and what to change, from
// a running Portico's fleet (GET /api/v1/engines, a FleetView) and the calibration recorded by
// `portico size --calibrate` (the controller serves it in the FleetView; else the state directory's).
import { parseArgs } from "node:util";
import type { EngineView, FleetView } from "../controller/fleet/view.ts";
import {
  DEFAULT_HEADROOM,
  DEFAULT_WINDOW_MS,
  sizeGroup,
  type GroupSizing,
  rateWords,
} from "../controller/fleet/sizing.ts";
import { renderTable, type Row } from "../controller/tables.ts";
import { readCalibration, writeCalibration } from "../state/calibration.ts";
import { stateDirOf } from "../state/location.ts";
import type { Calibration } from "../k8s/engine-group.ts";
import { CliError } from "./args.ts";
import { fetchAdmin } from "./offline.ts";
import { parseDuration } from "./reload-flags.ts";

/** SizeReport is what `portico size -o json` prints. */
export interface SizeReport {
  calibration?: Calibration & { source: string };
  windowMs: number;
  headroom: number;
  groups: GroupSizing[];
}

/** headroomOf reads "30%" or "0.3" as 0.3; 0-90% only (keeping more than 90% free is not sizing). */
export function headroomOf(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  const v = m ? Number(m[1]) / (m[2] === "%" || Number(m[1]) > 1 ? 100 : 1) : NaN;
  if (!(v >= 0 && v <= 0.9)) throw new CliError(`--headroom must be a share like 30% (0-90%), not "${text}"`);
  return v;
}

/** windowOf reads "1h", "15m", "90s" as milliseconds (at least 10 s, at most a day). */
export function windowOf(text: string): number {
  const h = /^(\d+(?:\.\d+)?)h$/.exec(text.trim());
  const ms = h ? Number(h[1]) * 3_600_000 : parseDuration(text);
  if (ms === undefined || ms < 10_000 || ms > 86_400_000)
    throw new CliError(`--window must be a duration from 10s to 24h, like 1h or 15m, not "${text}"`);
  return ms;
}

/** sizeFleet groups a FleetView's engines and sizes each group (sorted by name). */
export function sizeFleet(
  fleet: FleetView,
  cal: Calibration | undefined,
  o: { now: number; windowMs: number; headroom: number; group?: string },
): GroupSizing[] {
  const groups = new Map<string, EngineView[]>();
  for (const e of fleet.engines) {
    const g = e.identity.group;
    if (o.group !== undefined && g !== o.group) continue;
    groups.set(g, [...(groups.get(g) ?? []), e]);
  }
  return [...groups.keys()].sort().map((g) =>
    sizeGroup(
      g,
      groups.get(g)!.map((e) => ({
        name: e.identity.name,
        vcpu: e.identity.vcpu,
        history: e.history.length > 0 ? e.history : e.load ? [e.load] : [],
      })),
      cal,
      o,
    ),
  );
}

/** renderSizing is the table (one row per group) followed by each group's advice. */
export function renderSizing(r: SizeReport): string {
  const rows: Row[] = r.groups.map((g) => ({
    GROUP: g.group,
    ENGINES: String(g.engines),
    VCPU: String(g.vcpu),
    "PEAK REQ/S": g.peak ? rateWords(g.peak.requestsPerSecond) : "-",
    SATURATION: g.peak ? `${Math.round(g.peak.utilization * 100)}%${g.calibrated ? "" : " (CPU)"}` : "-",
  }));
  const cal = r.calibration
    ? `calibration (${r.calibration.source}), measured ${r.calibration.measuredAt}: per core ${rateWords(r.calibration.perCore.httpRequestsPerSecond)} req/s HTTP, ${rateWords(r.calibration.perCore.httpsRequestsPerSecond)} req/s HTTPS, ${rateWords(r.calibration.perCore.tlsHandshakesPerSecond)} TLS handshakes/s\n`
    : "no calibration recorded: saturation is CPU use only; run `portico size --calibrate` on a machine like the engines'\n";
  if (r.groups.length === 0) return cal + "No engines found.\n";
  return cal + "\n" + renderTable(rows) + "\n" + r.groups.map((g) => g.advice + "\n").join("");
}

/** main runs `portico size` or `portico size --calibrate`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        admin: { type: "string" },
        group: { type: "string" },
        headroom: { type: "string" },
        window: { type: "string" },
        output: { type: "string", short: "o" },
        calibrate: { type: "boolean" },
        duration: { type: "string" },
        "state-dir": { type: "string" },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun 'portico help' for usage.`);
  }
  const v = parsed.values;
  const output = v.output ?? "table";
  if (output !== "table" && output !== "json")
    throw new CliError(`-o must be table or json, not "${output}"`);
  const stateDir = stateDirOf(v["state-dir"]);
  if (v.calibrate) {
    const given = (["admin", "group", "headroom", "window"] as const).filter((k) => v[k] !== undefined);
    if (given.length > 0)
      throw new CliError(
        `--${given.join(", --")}: not used by --calibrate (it measures this machine; run 'portico size' after)`,
      );
    return runCalibration(v.duration ?? "5s", stateDir, output);
  }
  if (v.duration !== undefined) throw new CliError("--duration is for --calibrate");
  const windowMs = v.window === undefined ? DEFAULT_WINDOW_MS : windowOf(v.window);
  const headroom = v.headroom === undefined ? DEFAULT_HEADROOM : headroomOf(v.headroom);
  const { doc: fleet, status } = await fetchAdmin<FleetView>(v.admin ?? "127.0.0.1:9901", "/api/v1/engines");
  if (status !== 200 || !Array.isArray(fleet.engines))
    throw new CliError(
      `the running Portico has no engine fleet view (GET /api/v1/engines answered ${status}); it may be older than 'portico size'`,
      1,
    );
  const local = fleet.calibration === undefined ? readCalibration(stateDir) : undefined;
  const cal = fleet.calibration ?? local;
  const groups = sizeFleet(fleet, cal, { now: Date.now(), windowMs, headroom, group: v.group });
  if (v.group !== undefined && groups.length === 0)
    throw new CliError(
      `group ${v.group}: no engines of that group are connected; 'portico size' lists every group`,
      1,
    );
  const report: SizeReport = {
    ...(cal
      ? { calibration: { ...cal, source: local ? `${stateDir}/calibration.json` : "from the controller" } }
      : {}),
    windowMs,
    headroom,
    groups,
  };
  process.stdout.write(output === "json" ? JSON.stringify(report, null, 2) + "\n" : renderSizing(report));
  return 0;
}

/** runCalibration measures, records and prints the per-core capacity. */
async function runCalibration(
  durationText: string,
  stateDir: string,
  output: "table" | "json",
): Promise<number> {
  const ms = parseDuration(durationText);
  if (ms === undefined || ms < 1000 || ms > 600_000 || ms % 1000 !== 0)
    throw new CliError(`--duration must be whole seconds from 1s to 10m, like 5s, not "${durationText}"`);
  const { calibrate } = await import("./calibrate.ts");
  const say = (line: string) => process.stderr.write(`calibrate: ${line}\n`);
  const { calibration, runs } = await calibrate(ms / 1000, say);
  const file = writeCalibration(stateDir, calibration);
  if (output === "json") {
    process.stdout.write(JSON.stringify({ calibration, runs, file }, null, 2) + "\n");
    return 0;
  }
  const p = calibration.perCore;
  process.stdout.write(
    `per core: ${p.httpRequestsPerSecond} req/s HTTP keep-alive, ${p.httpsRequestsPerSecond} req/s HTTPS keep-alive, ${p.tlsHandshakesPerSecond} TLS handshakes/s (a new connection per request)\n` +
      `how: ${calibration.how}\n` +
      `recorded in ${file} (portico size and the controller read it from there)\n`,
  );
  return 0;
}

// harness.ts: what the side benches (bench:analytics, bench:user, bench:mix) share around their
// rounds: the processes they started and stop on every exit (Ctrl-C and failure too), the
// unrecorded warm-up, and writing the report.
import { rmSync, writeFileSync } from "node:fs";
import { runCommand, type Running } from "./procs.ts";
import type { Topology } from "./topology.ts";

/** Lifecycle holds a bench's long-lived processes; stopAll ends them, the first started last. */
export class Lifecycle {
  readonly running: Running[] = [];
  private readonly log: (msg: string) => void;

  constructor(log: (msg: string) => void) {
    this.log = log;
    process.on("SIGINT", () => {
      log("interrupted: stopping everything");
      void this.stopAll().then(() => process.exit(130));
    });
  }

  async stopAll(): Promise<void> {
    for (const p of this.running.splice(0).reverse()) await p.stop();
  }

  /** stop ends one process now and forgets it. */
  async stop(p: Running): Promise<void> {
    await p.stop();
    const i = this.running.indexOf(p);
    if (i >= 0) this.running.splice(i, 1);
  }

  /** run runs main; on failure it prints the error, stops everything and exits 1. */
  run(main: () => Promise<void>): void {
    main().catch(async (e: unknown) => {
      console.error(e);
      await this.stopAll();
      process.exit(1);
    });
  }

  /** finish writes the report to md, prints it and removes the run directory. */
  finish(report: string, md: string, dir: string): void {
    writeFileSync(md, report + "\n");
    console.log(`\n${report}\n`);
    this.log(`report: ${md}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * noted runs one recorded load run; when it throws, the failure is logged and added to notes (the
 * report lists them) and the bench goes on with its next run.
 */
export async function noted(
  tag: string,
  notes: string[],
  log: (msg: string) => void,
  run: () => Promise<void>,
): Promise<void> {
  try {
    await run();
  } catch (e) {
    const msg = `${tag} failed: ${(e as Error).message.split("\n")[0]}`;
    log(msg);
    notes.push(msg);
  }
}

/**
 * warmUp is the unrecorded 1 s `wrk -c64` per scheme the benches give a proxy before its rounds,
 * so JITs, pools and session caches are primed alike.
 */
export async function warmUp(
  t: Topology,
  host: string,
  schemes: readonly ("http" | "https")[] = ["http", "https"],
): Promise<void> {
  for (const scheme of schemes)
    await runCommand(
      [
        ...["taskset", "-c", t.loadCpus, "wrk", "-t1", "-c64", "-d1s"],
        `${scheme}://${host}:${scheme === "http" ? t.httpPort : t.httpsPort}/`,
      ],
      30_000,
    );
}

/** RUN_OPTIONS are the parseArgs options every side bench takes (see timing). */
export const RUN_OPTIONS = {
  quick: { type: "boolean", default: false },
  rounds: { type: "string" },
  duration: { type: "string" },
  "skip-install": { type: "boolean", default: false },
} as const;

/** timing reads --rounds and --duration: 5 rounds of 10 s, or with --quick 1 round of 3 s. */
export function timing(opt: { quick?: boolean; rounds?: string; duration?: string }): {
  rounds: number;
  seconds: number;
} {
  return {
    rounds: Number(opt.rounds ?? (opt.quick ? 1 : 5)),
    seconds: Number(opt.duration ?? (opt.quick ? 3 : 10)),
  };
}

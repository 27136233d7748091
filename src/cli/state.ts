// state.ts: `portico state restore|reset [--state-dir DIR]` — the documented ways out when Portico
// refuses its state file (docs/state.md). Both refuse while a Portico runs on the directory.
import { parseArgs } from "node:util";
import { CliError } from "./args.ts";
import { stateDirOf } from "../state/location.ts";
import { resetState, restoreState } from "../state/restore.ts";

/** main runs one state subcommand; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { "state-dir": { type: "string" } } });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun 'portico help' for usage.`);
  }
  const [action, ...extra] = parsed.positionals;
  if (extra.length > 0 || (action !== "restore" && action !== "reset"))
    throw new CliError("usage: portico state restore|reset [--state-dir DIR]");
  const dir = stateDirOf(parsed.values["state-dir"]);
  if (action === "restore") {
    const out = restoreState(dir);
    process.stdout.write(
      `restored ${dir}/portico.db from portico.db.bak: ${out.allocations} VIP allocations\n` +
        out.keptAside.map((f) => `kept aside: ${f}\n`).join(""),
    );
  } else {
    const out = resetState(dir);
    process.stdout.write(
      `reset ${dir}: a new empty state database; every Service gets a new address on the next start\n` +
        out.keptAside.map((f) => `kept aside: ${f}\n`).join(""),
    );
  }
  return 0;
}

// args.ts: command-line parsing shared by every subcommand, on node:util parseArgs.
import { parseArgs } from "node:util";
import { parseReloadFlags, RELOAD_OPTIONS, type ReloadFlags } from "./reload-flags.ts";

/** CliError is a usage or input problem; main prints its message and exits with its code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** CommonFlags are the flags every subcommand understands. */
export interface CommonFlags {
  stateDir?: string;
  admin: string;
  output: "yaml" | "json" | "table";
  classless: boolean;
  httpPort: number;
  httpsPort: number;
  /** workers is `portico run --workers`: engine processes, a count or "auto" (one per CPU). */
  workers?: string;
  /** accessLog is `portico run --access-log FILE|-`: a JSON line per HTTP request. */
  accessLog?: string;
  /** reload is how `portico run` watches and reads its files (docs/reloads.md). */
  reload: ReloadFlags;
  positionals: string[];
}

/** parseCommon reads the shared flags; unknown flags are an error naming the flag. */
export function parseCommon(argv: string[]): CommonFlags {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        "state-dir": { type: "string" },
        admin: { type: "string", default: "127.0.0.1:9901" },
        output: { type: "string", short: "o" },
        "no-classless": { type: "boolean", default: false },
        "http-port": { type: "string", default: "80" },
        "https-port": { type: "string", default: "443" },
        workers: { type: "string" },
        "access-log": { type: "string" },
        ...RELOAD_OPTIONS,
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun 'portico help' for usage.`);
  }
  const v = parsed.values;
  const output = (v.output ?? "yaml") as CommonFlags["output"];
  if (!["yaml", "json", "table"].includes(output))
    throw new CliError(`-o must be yaml, json or table, not "${output}"`);
  return {
    stateDir: v["state-dir"],
    admin: v.admin ?? "127.0.0.1:9901",
    output,
    classless: !v["no-classless"],
    httpPort: port(v["http-port"] ?? "80", "--http-port"),
    httpsPort: port(v["https-port"] ?? "443", "--https-port"),
    workers: v.workers,
    accessLog: v["access-log"],
    reload: reload(v),
    positionals: parsed.positionals,
  };
}

function reload(v: Parameters<typeof parseReloadFlags>[0]): ReloadFlags {
  try {
    return parseReloadFlags(v);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

function port(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 65535)
    throw new CliError(`${flag} must be a port ${min}-65535, not "${text}"`);
  return n;
}

/** splitHostPort parses "HOST:PORT" or "[v6]:PORT". */
export function splitHostPort(text: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text);
  if (!m) throw new CliError(`expected HOST:PORT, got "${text}" (e.g. 127.0.0.1:9901)`);
  // Port 0 asks the kernel for a free port (tests); the bound address is logged.
  return { host: m[1]!, port: port(m[2]!, "port", 0) };
}

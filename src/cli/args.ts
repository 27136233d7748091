// args.ts: command-line parsing shared by every subcommand, on node:util parseArgs.
import { parseArgs } from "node:util";

/** CliError is a usage or input problem; main prints its message and exits with its code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** OUTPUTS are the values of `-o` every `get`, `translate` and `explain` takes. */
export const OUTPUTS = ["table", "wide", "yaml", "json"] as const;

/** Output is one `-o` value: aligned text (table, wide: more columns) or a document (yaml, json). */
export type Output = (typeof OUTPUTS)[number];

/** CommonFlags are the flags every subcommand understands. */
export interface CommonFlags {
  stateDir?: string;
  admin: string;
  /** adminGiven is true when --admin was on the command line: ask that running Portico. */
  adminGiven: boolean;
  /** output is `-o`, absent when not given (each command has its own default). */
  output?: Output;
  classless: boolean;
  httpPort: number;
  httpsPort: number;
  /** workers is `portico run --workers`: engine processes, a count or "auto" (one per CPU). */
  workers?: string;
  /** accessLog is `portico run --access-log FILE|-`: a JSON line per HTTP request. */
  accessLog?: string;
  /** given lists the flags on the command line (`--http-port`, `-o`, ...), defaulted ones not. */
  given: string[];
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
        admin: { type: "string" },
        output: { type: "string", short: "o" },
        "no-classless": { type: "boolean" },
        "http-port": { type: "string" },
        "https-port": { type: "string" },
        workers: { type: "string" },
        "access-log": { type: "string" },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun 'portico help' for usage.`);
  }
  const v = parsed.values;
  return {
    stateDir: v["state-dir"],
    admin: v.admin ?? "127.0.0.1:9901",
    adminGiven: v.admin !== undefined,
    ...(v.output !== undefined ? { output: outputOf(v.output) } : {}),
    classless: !v["no-classless"],
    httpPort: port(v["http-port"] ?? "80", "--http-port"),
    httpsPort: port(v["https-port"] ?? "443", "--https-port"),
    workers: v.workers,
    accessLog: v["access-log"],
    given: Object.keys(v).map((k) => (k === "output" ? "-o" : `--${k}`)),
    positionals: parsed.positionals,
  };
}

/** refuseFlags fails (exit 2) when one of `flags` was given: a setting the command would not
 * honour is reported, not silently ignored. */
export function refuseFlags(f: CommonFlags, flags: readonly string[], why: string): void {
  const bad = f.given.filter((g) => flags.includes(g));
  if (bad.length > 0) throw new CliError(`${bad.join(", ")}: ${why}`);
}

/** outputOf checks a `-o` value; anything else is a usage error (exit 2) listing the choices. */
export function outputOf(text: string): Output {
  if (!(OUTPUTS as readonly string[]).includes(text))
    throw new CliError(`-o must be one of ${OUTPUTS.join(", ")}, not "${text}"`);
  return text as Output;
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

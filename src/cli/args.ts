// args.ts: command-line parsing shared by every subcommand, on node:util parseArgs.
import { parseArgs } from "node:util";
import type { EngineLimits } from "../engine/limits.ts";
import { bodyBufferProblem, bodyTimeoutMs, parseByteSize } from "../translate/body-limits.ts";

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
  /** limits are the engine-wide limits set by flags (docs/limits.md); the rest keep their defaults. */
  limits: Partial<EngineLimits>;
  /** freshState is `portico run --fresh-state`: set the saved state aside and start empty. */
  freshState: boolean;
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
        "max-connections": { type: "string" },
        "max-connections-per-listener": { type: "string" },
        "max-connection-rate": { type: "string" },
        "request-body-buffer": { type: "string" },
        "request-body-timeout": { type: "string" },
        "fresh-state": { type: "boolean", default: false },
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
    limits: limitFlags(v),
    freshState: v["fresh-state"] ?? false,
    positionals: parsed.positionals,
  };
}

// limitFlags reads the engine-wide limits; a value out of range names the flag and an example.
function limitFlags(v: Record<string, string | boolean | undefined>): Partial<EngineLimits> {
  const out: Partial<EngineLimits> = {};
  const count = (
    flag: string,
    key: "maxConnections" | "maxConnectionsPerListener" | "connectionRatePerClient",
  ) => {
    const text = v[flag];
    if (typeof text !== "string") return;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 100_000_000)
      throw new CliError(`--${flag} must be a whole number (0 switches it off), not "${text}"`);
    out[key] = n;
  };
  count("max-connections", "maxConnections");
  count("max-connections-per-listener", "maxConnectionsPerListener");
  count("max-connection-rate", "connectionRatePerClient");
  const buffer = v["request-body-buffer"];
  if (typeof buffer === "string") {
    const bad = bodyBufferProblem(buffer);
    if (bad !== undefined) throw new CliError(`--request-body-buffer ${bad}`);
    out.requestBodyBufferBytes = parseByteSize(buffer)!;
  }
  const timeout = v["request-body-timeout"];
  if (typeof timeout === "string") {
    const ms = bodyTimeoutMs(timeout);
    if (ms === undefined)
      throw new CliError(
        `--request-body-timeout must be a duration from 1s to 1h, like "30s", not "${timeout}"`,
      );
    out.requestBodyTimeoutMs = ms;
  }
  return out;
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

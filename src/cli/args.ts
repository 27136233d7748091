// args.ts: command-line parsing shared by every subcommand, on node:util parseArgs.
import { parseArgs } from "node:util";
import type { EngineLimits } from "../engine/limits.ts";
import { bodyBufferProblem, bodyTimeoutMs, parseByteSize } from "../translate/body-limits.ts";
import { parseReloadFlags, RELOAD_OPTIONS, type ReloadFlags } from "./reload-flags.ts";

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

/** RUN_ONLY_FLAGS are the flags only `portico run` honours; other commands refuse them. */
export const RUN_ONLY_FLAGS: readonly string[] = [
  "--workers",
  "--access-log",
  "--waf-log",
  "--fresh-state",
  "--max-connections",
  "--max-connections-per-listener",
  "--max-connection-rate",
  "--request-body-buffer",
  "--request-body-timeout",
  "--file-settle",
  "--removal-confirm",
  "--rescan-interval",
  "--engine-listen",
  "--no-local-engine",
  "--analytics",
];

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
  /** wafLog is `portico run --waf-log FILE|-`: a JSON line per exchange with WAF hits (docs/waf.md). */
  wafLog?: string;
  /** limits are the engine-wide limits set by flags (docs/limits.md); the rest keep their defaults. */
  limits: Partial<EngineLimits>;
  /** freshState is `portico run --fresh-state`: set the saved state aside and start empty. */
  freshState: boolean;
  /** engineListen is `portico run --engine-listen HOST:PORT`: accept remote engines there (docs/engines.md). */
  engineListen?: string;
  /** localEngine is false with `portico run --no-local-engine`: no in-process engine, remote ones only. */
  localEngine: boolean;
  /** analytics is `portico run --analytics on|off` (default on): the engine's traffic collectors (docs/analytics.md). */
  analytics: boolean;
  /** given lists the flags on the command line (`--http-port`, `-o`, ...), defaulted ones not. */
  given: string[];
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
        admin: { type: "string" },
        output: { type: "string", short: "o" },
        "no-classless": { type: "boolean" },
        "http-port": { type: "string" },
        "https-port": { type: "string" },
        workers: { type: "string" },
        "access-log": { type: "string" },
        "waf-log": { type: "string" },
        ...LIMIT_OPTIONS,
        "fresh-state": { type: "boolean" },
        "engine-listen": { type: "string" },
        "no-local-engine": { type: "boolean" },
        analytics: { type: "string" },
        ...RELOAD_OPTIONS,
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
    wafLog: v["waf-log"],
    limits: limitFlags(v),
    freshState: v["fresh-state"] ?? false,
    ...(v["engine-listen"] !== undefined ? { engineListen: v["engine-listen"] } : {}),
    localEngine: !v["no-local-engine"],
    analytics: onOff(v.analytics, "--analytics"),
    given: Object.keys(v).map((k) => (k === "output" ? "-o" : `--${k}`)),
    reload: reload(v),
    positionals: parsed.positionals,
  };
}

/** onOff reads an on|off flag (absent: on); anything else is a usage error naming the flag. */
export function onOff(text: string | undefined, flag: string): boolean {
  if (text === undefined || text === "on") return true;
  if (text === "off") return false;
  throw new CliError(`${flag} must be "on" or "off", not "${text}"`);
}

/** LIMIT_OPTIONS are the parseArgs specs of the engine-wide limit flags (run, engine; docs/limits.md). */
export const LIMIT_OPTIONS = {
  "max-connections": { type: "string" },
  "max-connections-per-listener": { type: "string" },
  "max-connection-rate": { type: "string" },
  "request-body-buffer": { type: "string" },
  "request-body-timeout": { type: "string" },
} as const;

/** limitFlags reads the engine-wide limit flags (run, engine); a bad value names the flag and an example. */
export function limitFlags(v: Record<string, string | boolean | undefined>): Partial<EngineLimits> {
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

function reload(v: Parameters<typeof parseReloadFlags>[0]): ReloadFlags {
  try {
    return parseReloadFlags(v);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** port parses a port number for flag, refusing anything outside min-65535 (a usage error). */
export function port(text: string, flag: string, min = 1): number {
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

/** bindError turns a listen error the user can fix (a port in use or not allowed, an address not
 * on this host) into one line naming flag (--admin, ...); anything else passes through. */
export function bindError(err: unknown, flag: string, value: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why: Record<string, string> = {
    EADDRINUSE: "is in use by another process; stop it or choose another port",
    EACCES: "is not allowed for this user (a port below 1024 needs privileges); choose another port",
    EADDRNOTAVAIL: "is not an address of this host; use 127.0.0.1 or an address this host has",
  };
  if (code === undefined || !(code in why)) return err;
  return new CliError(`${flag} ${value}: ${why[code]} (${flag} HOST:PORT)`, 1);
}

// reload-flags.ts: the `portico run` flags that tune how manifest files are watched and read
// (docs/reloads.md): limits on what is read, the stability hold-off, removal confirmation, rescan.
import type { Limits, Timing } from "../sources/file/source.ts";

/** RELOAD_OPTIONS are the parseArgs option specs of the reload flags. */
export const RELOAD_OPTIONS = {
  "max-file-size": { type: "string" },
  "max-objects": { type: "string" },
  "file-settle": { type: "string" },
  "removal-confirm": { type: "string" },
  "rescan-interval": { type: "string" },
} as const;

/** ReloadFlags is what the reload flags set; absent values keep the source's defaults. */
export interface ReloadFlags {
  timing: Timing;
  limits: Limits;
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1 << 20,
  g: 1e9,
  gb: 1e9,
  gib: 1 << 30,
};

/** parseSize reads "64MiB", "50MB", "1048576"; undefined when text is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  return m && unit ? Math.round(Number(m[1]) * unit) : undefined;
}

/** parseDuration reads "100ms", "2s", "1m", "0"; undefined when text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : m[2] === "ms" || n === 0 ? n : undefined;
}

/** parseReloadFlags turns the flag values into source settings; a bad value throws naming the flag. */
export function parseReloadFlags(v: Partial<Record<keyof typeof RELOAD_OPTIONS, string>>): ReloadFlags {
  const get = <T>(
    flag: keyof typeof RELOAD_OPTIONS,
    parse: (s: string) => T | undefined,
    example: string,
  ) => {
    const text = v[flag];
    if (text === undefined) return undefined;
    const value = parse(text);
    if (value === undefined) throw new Error(`--${flag} must look like ${example}, not "${text}"`);
    return value;
  };
  const count = (s: string) => (/^\d+$/.test(s) && Number(s) > 0 ? Number(s) : undefined);
  const positive = (s: string) => {
    const n = parseSize(s);
    return n && n > 0 ? n : undefined;
  };
  const timing: Timing = {};
  const limits: Limits = {};
  const settle = get("file-settle", parseDuration, "100ms");
  const confirm = get("removal-confirm", parseDuration, "2s");
  const rescan = get("rescan-interval", parseDuration, "5s (0: off)");
  const maxBytes = get("max-file-size", positive, "64MiB");
  const maxObjects = get("max-objects", count, "50000");
  if (settle !== undefined) timing.settleMs = settle;
  if (confirm !== undefined) timing.confirmMs = confirm;
  if (rescan !== undefined) timing.rescanMs = rescan;
  if (maxBytes !== undefined) limits.maxFileBytes = maxBytes;
  if (maxObjects !== undefined) limits.maxObjects = maxObjects;
  return { timing, limits };
}

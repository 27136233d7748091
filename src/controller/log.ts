// log.ts: structured JSON log lines on a stream (stderr by default). One line per event, so
// `jq` and log shippers read them; never pass Secret data or private keys as fields.

/** LogLevel orders log lines by importance. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Logger writes one structured line. */
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** createLogger returns a Logger writing JSON lines at or above min to out. */
export function createLogger(
  out: { write(s: string): unknown } = process.stderr,
  min: LogLevel = (process.env.PORTICO_LOG_LEVEL as LogLevel) ?? "info",
  now: () => Date = () => new Date(),
): Logger {
  const floor = rank[min] ?? rank.info;
  return (level, msg, fields) => {
    if (rank[level] < floor) return;
    out.write(JSON.stringify({ time: now().toISOString(), level, msg, ...fields }) + "\n");
  };
}

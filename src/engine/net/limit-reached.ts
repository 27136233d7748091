// limit-reached.ts: how the engine reports a limit it enforced (a connection refused at a cap, a
// request body that timed out). Each event is published for metrics; the log gets at most one
// line per limit and listener per interval, with the count of the interval, so a flood cannot
// become a flood of log lines. Nothing here runs unless a limit was reached.
import { channel } from "node:diagnostics_channel";
import type { CompileDeps } from "../contracts.ts";

/** LIMIT_CHANNEL carries a LimitEvent each time a limit is enforced. */
export const LIMIT_CHANNEL = "portico:limit.reached";
const reached = channel(LIMIT_CHANNEL);

/** LimitName names a limit; they are the `limit` label of portico_limits_reached_total. */
export type LimitName =
  | "max_connections"
  | "max_connections_per_listener"
  | "access_max_connections"
  | "connection_rate_per_client"
  | "request_body_timeout";

/** LimitEvent says which listener enforced which limit. */
export interface LimitEvent {
  listener: string;
  limit: LimitName;
}

/** LOG_INTERVAL_MS is the shortest time between two log lines about one limit on one listener. */
export const LOG_INTERVAL_MS = 10_000;

const MESSAGES: Record<LimitName, string> = {
  max_connections: "connection limit of the engine reached: new connections closed",
  max_connections_per_listener: "connection limit of the listener reached: new connections closed",
  access_max_connections: "connection limit of the listener's AccessPolicy reached: new connections closed",
  connection_rate_per_client: "client opens connections too fast: new connections closed",
  request_body_timeout: "request body did not arrive in time: answered 408",
};

// intervals holds, per limit and listener, the interval running since its last log line: the
// events it summed and the timer that ends it. An entry goes when an interval ends without events.
interface Interval {
  log: CompileDeps["log"];
  value: number;
  n: number;
  timer: NodeJS.Timeout;
}
const intervals = new Map<string, Interval>();

/** limitReached reports one enforcement; value is the limit's setting, for the log line. */
export function limitReached(
  log: CompileDeps["log"],
  listener: string,
  limit: LimitName,
  value: number,
): void {
  if (reached.hasSubscribers) reached.publish({ listener, limit } satisfies LimitEvent);
  const key = `${limit}\0${listener}`;
  const running = intervals.get(key);
  if (running !== undefined) {
    running.n++;
    return;
  }
  // The first event of a quiet period is logged at once; the rest of the interval is summed.
  write(key, log, value, 1);
  const timer = setTimeout(endInterval, LOG_INTERVAL_MS, key).unref();
  intervals.set(key, { log, value, n: 0, timer });
}

function endInterval(key: string): void {
  const i = intervals.get(key)!;
  if (i.n === 0) {
    intervals.delete(key);
    return;
  }
  write(key, i.log, i.value, i.n);
  i.n = 0;
  i.timer = setTimeout(endInterval, LOG_INTERVAL_MS, key).unref();
}

function write(key: string, log: CompileDeps["log"], value: number, n: number): void {
  const [limit, listener] = key.split("\0") as [LimitName, string];
  log("warn", MESSAGES[limit], {
    listener,
    limit,
    setting: value,
    count: n,
    intervalSeconds: LOG_INTERVAL_MS / 1000,
  });
}

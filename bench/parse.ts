// parse.ts: reads the numbers out of wrk, h2load and iperf3 output. Pure, so it is tested on
// captured output; a parser that finds no rate throws rather than report a zero.

/** LoadResult is what one load-generator run measured. */
export interface LoadResult {
  /** value is requests/s (wrk, h2load) or Gbit/s (iperf3). */
  value: number;
  p50Ms?: number;
  p99Ms?: number;
  /** meanMs is reported where percentiles are not (h2load). */
  meanMs?: number;
  /** errors counts socket errors, non-2xx answers and failed requests. */
  errors: number;
}

const UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** durationMs converts wrk/h2load durations ("812.00us", "1.20ms", "2.01s") to milliseconds. */
export function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** parseWrk reads requests/s, p50/p99 (wrk --latency) and errors from wrk's report. */
export function parseWrk(out: string): LoadResult {
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rate) throw new Error(`wrk printed no rate:\n${out}`);
  const pct = (p: string): number | undefined => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out);
    return m ? durationMs(m[1]!) : undefined;
  };
  let errors = 0;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  // Read errors are how wrk counts a server closing a connection; with "Connection: close" that
  // is the expected end of every exchange, so only connect/write/timeout count as failures.
  if (sock) errors += Number(sock[1]) + Number(sock[3]) + Number(sock[4]);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (non2xx) errors += Number(non2xx[1]);
  // A run that completed nothing failed, whatever the error counters say.
  const total = /(\d+) requests in/.exec(out);
  if (total && Number(total[1]) === 0) errors += 1 + (sock ? Number(sock[2]) : 0);
  return { value: Number(rate[1]), p50Ms: pct("50"), p99Ms: pct("99"), errors };
}

/** parseH2load reads requests/s, mean request time and failures from h2load's report. */
export function parseH2load(out: string): LoadResult {
  const rate = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
  if (!rate) throw new Error(`h2load printed no rate:\n${out}`);
  const req =
    /requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const status = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const time = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
  let errors = 0;
  // Failed and timed-out requests are errors; so is a run where nothing completed at all.
  if (req) errors += Number(req[2]) + Number(req[4]) + (Number(req[1]) === 0 ? 1 : 0);
  if (status) errors += Number(status[2]) + Number(status[3]);
  return { value: Number(rate[1]), meanMs: time ? durationMs(time[3]!) : undefined, errors };
}

/** parseIperf3 reads the received throughput (Gbit/s) from iperf3 -J output. */
export function parseIperf3(json: string): LoadResult {
  const doc = JSON.parse(json) as {
    error?: string;
    end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } };
  };
  if (doc.error) throw new Error(`iperf3: ${doc.error}`);
  const bps = doc.end?.sum_received?.bits_per_second;
  if (typeof bps !== "number") throw new Error("iperf3 reported no received throughput");
  return { value: bps / 1e9, errors: 0 };
}

/**
 * parseSTime sums the connections of parallel `openssl s_time` clients and divides by the wall
 * time the harness measured (s_time's own "real seconds" are whole seconds, too coarse).
 */
export function parseSTime(out: string, elapsedMs: number): LoadResult {
  const counts = [...out.matchAll(/^(\d+) connections in [\d.]+s;/gm)].map((m) => Number(m[1]));
  if (counts.length === 0) throw new Error(`openssl s_time printed no count:\n${out.slice(-2000)}`);
  const total = counts.reduce((a, b) => a + b, 0);
  return { value: total / (elapsedMs / 1000), errors: total === 0 ? 1 : 0 };
}

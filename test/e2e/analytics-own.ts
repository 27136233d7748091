// analytics-own.ts: Portico's own record of each request — its access log's durationMs, the figure
// the analytics sketches are fed (src/engine/l7/events.ts: timings' total is durationMs) — joined to
// the load generator's record request by request (the generator adds "n=I" to every path), for the
// accuracy and merge tests. It gives what the generator's record cannot: the exact quantiles of
// what Portico measured, so the API's answer is judged against them within the sketch's error on
// any machine, and each request's client-side time (the generator's latency less Portico's), which
// says whether a gap to the generator's quantiles is time Portico's clock could not see.
import { readFileSync } from "node:fs";
import type { GoRecord } from "../support/goload.ts";
import { exactQuantiles, type ExactQuantiles } from "../support/loadgen.ts";
import { waitFor } from "./harness.ts";

/** Own is Portico's record of a set of the generator's requests. */
export interface Own {
  /** quantiles of Portico's durationMs over exactly those requests. */
  quantiles: ExactQuantiles;
  /** clientSide: quantiles of each request's generator latency less Portico's durationMs. */
  clientSide: ExactQuantiles;
}

/** accessLines indexes access-log lines by "PROTOCOL AUTHORITY PATH" (a missing file: none yet). */
export function accessLines(files: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of files) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const l of text.split("\n")) {
      if (!l.startsWith("{") || !l.endsWith("}")) continue;
      const x = JSON.parse(l) as { protocol: string; authority: string; path: string; durationMs: number };
      out.set(`${x.protocol} ${x.authority} ${x.path}`, x.durationMs);
    }
  }
  return out;
}

/**
 * ownRecord waits until the access logs (files: one per engine) hold a line for every one of
 * records (the engine writes them behind its responses) and answers Portico's record of them.
 */
export async function ownRecord(
  files: readonly string[],
  protocol: "HTTP/1.1" | "HTTP/2",
  records: readonly GoRecord[],
  ms = 30_000,
): Promise<Own> {
  let missing = records.length;
  const durations = await waitFor(
    `${protocol} access-log lines for ${records.length} requests`,
    () => {
      const lines = accessLines(files);
      const d = records.map((r) => lines.get(`${protocol} ${r.authority} ${r.path}`));
      missing = d.filter((x) => x === undefined).length;
      return missing === 0 ? (d as number[]) : undefined;
    },
    ms,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; ${missing} not found in ${files.join(", ")}`);
  });
  return {
    quantiles: exactQuantiles(durations),
    clientSide: exactQuantiles(records.map((r, i) => r.ns / 1e6 - durations[i]!)),
  };
}

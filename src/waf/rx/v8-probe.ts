// v8-probe.ts: times V8's own RegExp (irregexp, a backtracking engine) on given inputs in a worker
// thread that is terminated at a cap, so a catastrophic pattern costs the caller the cap and never
// a hang. This is how "which CRS patterns are at risk in V8" is measured (issue 16, item 2).
import { Worker } from "node:worker_threads";

// The worker gets latin1 strings: one character per byte, so V8 sees the same bytes as rx.
const WORKER = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", ({ source, flags, input }) => {
  let re;
  try { re = new RegExp(source, flags); } catch (e) { parentPort.postMessage({ error: String(e.message) }); return; }
  const t0 = performance.now();
  const matched = re.test(input);
  parentPort.postMessage({ ms: performance.now() - t0, matched });
});
`;

/** V8Result: the time of one RegExp#test, a timeout at the cap, or the reason V8 refused the pattern. */
export type V8Result = { ms: number; matched: boolean } | { timedOut: true } | { error: string };

/** toV8 rewrites an RE2/PCRE-style pattern for JavaScript: inline (?i)/(?s) become flags, \x{HH} becomes \xHH, (?P<n> becomes (?<n>. */
export function toV8(pattern: string, flags = ""): { source: string; flags: string } {
  const set = new Set<string>(flags.split("").filter((f) => f === "i" || f === "s" || f === "m"));
  // A bare (?i) anywhere is applied to the whole pattern: CRS puts it first or after ^ only.
  const source = pattern
    .replace(/\(\?([ism]+)\)/g, (_, f: string) => {
      for (const c of f) set.add(c);
      return "";
    })
    .replace(/\\x\{([0-9A-Fa-f]{1,2})\}/g, (_, h: string) => "\\x" + h.padStart(2, "0"))
    .replace(/\(\?P</g, "(?<");
  return { source, flags: [...set].sort().join("") };
}

/** V8Probe runs RegExp#test in a worker with a time cap; one probe at a time. */
export class V8Probe {
  private worker: Worker | undefined;

  /** run times source/flags on input (bytes, passed as latin1); capMs bounds the wait. */
  async run(source: string, flags: string, input: Uint8Array, capMs: number): Promise<V8Result> {
    const w = (this.worker ??= new Worker(WORKER, { eval: true }));
    const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("latin1");
    return new Promise<V8Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        w.off("message", onMessage);
        w.off("error", onError);
        this.worker = undefined;
        void w.terminate();
        resolve({ timedOut: true });
      }, capMs);
      const onMessage = (m: V8Result) => {
        clearTimeout(timer);
        w.off("error", onError);
        resolve(m);
      };
      const onError = (e: Error) => {
        clearTimeout(timer);
        w.off("message", onMessage);
        this.worker = undefined;
        reject(e);
      };
      w.once("message", onMessage);
      w.once("error", onError);
      w.postMessage({ source, flags, input: text });
    });
  }

  /** close ends the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}

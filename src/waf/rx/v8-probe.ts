// v8-probe.ts: times V8's own RegExp (irregexp, a backtracking engine) on given inputs in a worker
// thread that is terminated at a cap, so a catastrophic pattern costs the caller the cap and never
// a hang. This is how "which CRS patterns are at risk in V8" is measured (issue 16, item 2).
import { Worker } from "node:worker_threads";

// The worker gets latin1 strings: one character per byte, so V8 sees the same bytes as rx.
const WORKER = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", ({ source, flags, inputs }) => {
  let re;
  try { re = new RegExp(source, flags); } catch (e) { parentPort.postMessage({ error: String(e.message) }); return; }
  const results = inputs.map((input) => {
    const t0 = performance.now();
    const matched = re.test(input);
    return { ms: performance.now() - t0, matched };
  });
  parentPort.postMessage({ results });
});
`;

/** V8Result: the time of one RegExp#test, a timeout at the cap, or the reason V8 refused the pattern. */
export type V8Result = { ms: number; matched: boolean } | { timedOut: true } | { error: string };

/** toV8 rewrites an RE2/PCRE-style pattern for JavaScript: inline (?i)/(?s) become flags, \x{HH} becomes \xHH, \A \z become ^ $, (?P<n> becomes (?<n>. */
export function toV8(pattern: string, flags = ""): { source: string; flags: string } {
  const set = new Set<string>(flags.split("").filter((f) => f === "i" || f === "s" || f === "m"));
  // A bare (?i) anywhere is applied to the whole pattern: CRS puts it first or after ^ only.
  const source = pattern
    .replace(/\(\?([ism]+)\)/g, (_, f: string) => {
      for (const c of f) set.add(c);
      return "";
    })
    .replace(/\\(x\{([0-9A-Fa-f]{1,2})\}|.)/g, (all, _, h: string | undefined) =>
      h !== undefined ? "\\x" + h.padStart(2, "0") : all === "\\A" ? "^" : all === "\\z" ? "$" : all,
    )
    .replace(/\(\?P</g, "(?<");
  return { source, flags: [...set].sort().join("") };
}

/** V8Probe runs RegExp#test in a worker with a time cap; one probe at a time. */
export class V8Probe {
  private worker: Worker | undefined;

  /** run times source/flags on input (bytes, passed as latin1); capMs bounds the wait. */
  async run(source: string, flags: string, input: Uint8Array, capMs: number): Promise<V8Result> {
    const r = await this.runMany(source, flags, [input], capMs);
    return Array.isArray(r) ? r[0]! : r;
  }

  /** runMany times source/flags on each input in one round trip; capMs bounds the whole batch. */
  async runMany(
    source: string,
    flags: string,
    inputs: readonly Uint8Array[],
    capMs: number,
  ): Promise<{ ms: number; matched: boolean }[] | { timedOut: true } | { error: string }> {
    const w = (this.worker ??= new Worker(WORKER, { eval: true }));
    const texts = inputs.map((i) => Buffer.from(i.buffer, i.byteOffset, i.byteLength).toString("latin1"));
    type Reply = { results: { ms: number; matched: boolean }[] } | { error: string };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        w.off("message", onMessage);
        w.off("error", onError);
        this.worker = undefined;
        void w.terminate();
        resolve({ timedOut: true });
      }, capMs);
      const onMessage = (m: Reply) => {
        clearTimeout(timer);
        w.off("error", onError);
        resolve("results" in m ? m.results : m);
      };
      const onError = (e: Error) => {
        clearTimeout(timer);
        w.off("message", onMessage);
        this.worker = undefined;
        reject(e);
      };
      w.once("message", onMessage);
      w.once("error", onError);
      w.postMessage({ source, flags, inputs: texts });
    });
  }

  /** close ends the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}

// libinjection.ts: time per call of detectSqli/detectXss (src/waf/libinjection) on 1 KiB inputs
// of several kinds and on short values like those CRS hands them (one argument each), as the
// median of interleaved rounds. Run: sh scripts/node.sh bench/libinjection.ts [--rounds=N]
// Single-threaded and CPU-bound: on a shared machine, compare runs made side by side only.
import { parseArgs } from "node:util";
import { detectSqli, detectXss } from "../src/waf/libinjection/index.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);

/** kib repeats s to exactly 1024 bytes, as a flat binary string. */
const kib = (s: string) =>
  Buffer.from(s.repeat(Math.ceil(1024 / s.length)).slice(0, 1024), "latin1").toString("latin1");
const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 37) & 0xff)).toString("latin1");

const inputs: Record<string, string> = {
  "1KiB english": kib("The quick brown fox jumps over the lazy dog, and it's not afraid of 42 cats. "),
  "1KiB query string": kib("page=1&sort=name&order=asc&q=hello+world&id=12345&ts=2024-01-15T10:00:00Z&"),
  "1KiB json": kib('{"id": 1, "name": "test product", "tags": ["a", "b"], "price": 9.99}, '),
  "1KiB html": kib('<p class="x">Hello <b>world</b> <a href="https://example.com/page?x=1">link</a></p>'),
  "1KiB binary": kib(binary),
  "1KiB text + SQLi tail": kib("a ").slice(0, 1000) + "' OR 1=1--",
  "short benign (12 B)": "hello world!",
  "short SQLi (12 B)": "1' OR '1'='1",
  "short XSS (25 B)": "<script>alert(1)</script>",
};

/** nsPerCall times f on s for about 200 ms and answers nanoseconds per call. */
function nsPerCall(f: (s: string) => unknown, s: string): number {
  let n = 0;
  const t0 = process.hrtime.bigint();
  let t = t0;
  while (t - t0 < 200_000_000n) {
    for (let i = 0; i < 200; i++) f(s);
    n += 200;
    t = process.hrtime.bigint();
  }
  return Number(t - t0) / n;
}

const detectors = { sqli: detectSqli, xss: detectXss };
const samples = new Map<string, number[]>();
for (const [, s] of Object.entries(inputs)) for (const f of Object.values(detectors)) nsPerCall(f, s); // warm up
for (let r = 0; r < rounds; r++) {
  for (const [name, s] of Object.entries(inputs)) {
    for (const [d, f] of Object.entries(detectors)) {
      const key = `${d}\t${name}`;
      samples.set(key, [...(samples.get(key) ?? []), nsPerCall(f, s)]);
    }
  }
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`libinjection: median of ${rounds} rounds (Node ${process.version})`);
for (const [key, xs] of samples) {
  const [d, name] = key.split("\t");
  const ns = median(xs);
  const bytes = inputs[name!]!.length;
  console.log(
    `${d!.padEnd(5)} ${name!.padEnd(24)} ${(ns / 1000).toFixed(2).padStart(8)} µs/call ${(ns / bytes).toFixed(1).padStart(7)} ns/byte`,
  );
}

// waf-engine-ab.ts: bench/waf-engine.ts for two source trees in one process — another checkout
// (--base, e.g. `git archive main | tar -x -C /tmp/base` with node_modules linked and
// .cache/crs present) and this one — their rounds alternated, so the load of a shared machine
// falls on both alike. Separate runs of waf-engine.ts differ by 20–40% there; the per-pair ratio
// printed here moves by about ±6% (two copies of one tree). Not a test: figures depend on the
// machine.
// Both trees run this tree's cases (bench/waf-engine.ts), so they see the same requests.
//   sh scripts/node.sh bench/waf-engine-ab.ts --base=/tmp/base [--case=get|get-fresh|post|xss|wrk-get|wrk-post] [--n=150] [--rounds=31]
import { resolve } from "node:path";
import type { WafProgram } from "../src/waf/engine/types.ts";
import { cases, conn, headOf, RESPONSE } from "./waf-engine.ts";

function arg(name: string, def: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** load compiles the bench's CRS program from tree root and returns one full transaction. */
async function load(root: string, which: string): Promise<() => void> {
  const { wafProgram } = (await import(`${root}/src/engine/l7/waf-program.ts`)) as {
    wafProgram: (w: object, log: () => void) => { program?: WafProgram; errors: string[] };
  };
  const { BENCH_WAF } = (await import(`${root}/bench/waf-configs.ts`)) as { BENCH_WAF: object };
  const entry = wafProgram({ ...BENCH_WAF, key: `ab-${root}`, budgetMs: 10_000 }, () => {});
  if (!entry.program) throw new Error(`${root}: the CRS did not compile: ${entry.errors.join("; ")}`);
  const program = entry.program;
  const c = cases().find((x) => x.name === which);
  if (!c) throw new Error(`--case is get, get-fresh, post, xss, wrk-get or wrk-post`);
  return () => {
    const tx = program.newTransaction(conn);
    let r = tx.requestHeaders(headOf(c));
    if (!r.interruption) r = tx.requestBody(c.body, false);
    if (!r.interruption) r = tx.responseHeaders(c.response ?? RESPONSE);
    if (!r.interruption && c.responseBody !== undefined && tx.wantsResponseBody)
      tx.responseBody(c.responseBody, false);
    tx.logging();
  };
}

async function main(): Promise<void> {
  const base = arg("base", "");
  if (!base) throw new Error("--base=DIR: the other source tree (with node_modules and .cache/crs)");
  const which = arg("case", "get");
  const n = Number(arg("n", "150"));
  const rounds = Number(arg("rounds", "31"));
  const runs = [await load(resolve(base), which), await load(resolve(import.meta.dirname, ".."), which)];
  for (const once of runs) for (let i = 0; i < 3 * n; i++) once();
  const cpu: number[][] = [[], []];
  for (let r = 0; r < rounds; r++)
    for (let j = 0; j < 2; j++) {
      // Which tree goes first alternates too.
      const k = r % 2 === 0 ? j : 1 - j;
      const before = process.cpuUsage();
      for (let i = 0; i < n; i++) runs[k]!();
      const used = process.cpuUsage(before);
      cpu[k]!.push((used.user + used.system) / n);
    }
  const [a, b] = cpu as [number[], number[]];
  console.log(
    `${which}: base ${median(a).toFixed(0)} µs CPU/tx, this tree ${median(b).toFixed(0)} µs, ratio (median of pairs) ${median(b.map((x, i) => x / a[i]!)).toFixed(2)}`,
  );
}

if (process.argv[1]?.endsWith("waf-engine-ab.ts")) await main();

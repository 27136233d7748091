// run.ts: `npm run waf:corpus` — the CRS regression corpus (go-ftw YAML) against a live Portico VIP
// with the corpus WAF policy (portico.ts) and an albedo-like backend; prints each failure with its
// reason and the pass rate per rule file and in total.
//   sh scripts/node.sh test/waf/ftw/run.ts [--rule 942100]... [--file REQUEST-942]... [--id 942100-1]...
//        [--sample N --seed S] [--address 127.0.77.1 --port 18777] [--timeout-ms 3000] [--json OUT]
//        [--force: run even when Portico shows no WAF evidence] [--verbose: each failure's request, answer, log]
//        [--target coraza: the same corpus against Coraza v3 (test/waf/ftw/coraza/build.sh builds it)]
//        [--no-overrides: ignore ftw-overrides.yaml]
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadCorpus, sample } from "./corpus.ts";
import { loadOverrides, probeWaf, runCorpus, summary, tally } from "./runner.ts";
import { CORAZA_BIN, startTarget } from "./target.ts";

/** CORPUS_DIR is where scripts/crs/fetch.sh puts the CRS tests (PORTICO_CRS_DIR overrides the CRS). */
export const CORPUS_DIR = join(
  process.env.PORTICO_CRS_DIR ?? join(import.meta.dirname, "../../../.cache/crs/current"),
  "tests",
);
/** OVERRIDES_FILE lists the tests Portico is excused from, each with its reason. */
export const OVERRIDES_FILE = join(import.meta.dirname, "../ftw-overrides.yaml");

if (import.meta.main) {
  const { values: v } = parseArgs({
    options: {
      rule: { type: "string", multiple: true },
      file: { type: "string", multiple: true },
      id: { type: "string", multiple: true },
      sample: { type: "string" },
      seed: { type: "string", default: "16" },
      address: { type: "string", default: "127.0.77.1" },
      port: { type: "string", default: "18777" },
      "timeout-ms": { type: "string", default: "3000" },
      json: { type: "string" },
      quiet: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      target: { type: "string", default: "portico" },
      "no-overrides": { type: "boolean", default: false },
    },
  });
  let tests = loadCorpus(CORPUS_DIR, { rules: v.rule?.map(Number), files: v.file, ids: v.id });
  if (v.sample) tests = sample(tests, Number(v.sample), Number(v.seed));
  if (tests.length === 0) throw new Error(`no test matched in ${CORPUS_DIR} (run scripts/crs/fetch.sh?)`);
  // --no-overrides: every test counts (how a WAF fares on the corpus as written).
  const overrides = v["no-overrides"] ? new Map<string, string>() : loadOverrides(OVERRIDES_FILE);
  const t0 = performance.now();
  if (v.target !== "portico" && v.target !== "coraza") throw new Error("--target is portico or coraza");
  if (v.target === "coraza" && !existsSync(CORAZA_BIN))
    throw new Error(`${CORAZA_BIN} is missing: run sh test/waf/ftw/coraza/build.sh (needs Go)`);
  const crsDir = join(CORPUS_DIR, "..");
  const target = await startTarget(v.address, Number(v.port), 120_000, v.target, crsDir);
  const ready = performance.now();
  console.log(`corpus: ${tests.length} tests; Portico ready in ${((ready - t0) / 1000).toFixed(1)} s`);
  const action = await probeWaf(target);
  if (action !== "bypass") {
    console.error(
      action === undefined
        ? "Portico logged no WAF evidence for the probe: this build does not run the WAF (Route.waf); results would be meaningless"
        : `the marker path should bypass the WAF (allowlist) but the WAF logged "${action}"`,
    );
    if (!v.force) {
      await target.stop();
      process.exit(2);
    }
  }
  let done = 0;
  const outcomes = await runCorpus(target, tests, {
    timeoutMs: Number(v["timeout-ms"]),
    overrides,
    onOutcome: (o) => {
      done++;
      if (o.result === "fail" && !v.quiet) console.log(`FAIL ${o.test.id} (${o.test.file}): ${o.why}`);
      if (o.result === "fail" && v.verbose && o.seen) {
        const indent = (t: string): string => t.replace(/\r\n/g, "\n").replace(/^/gm, "    ");
        console.log(
          `  sent:\n${indent(JSON.stringify(o.seen.request.slice(0, 2000)))}\n  got:\n${indent(o.seen.response)}`,
        );
        console.log(`  logged:\n${indent(o.seen.log.join("\n") || "(no line between the markers)")}`);
      }
      if (done % 250 === 0) console.log(`… ${done}/${tests.length}`);
    },
  });
  await target.stop();
  const secs = (performance.now() - ready) / 1000;
  console.log(summary(outcomes));
  const t = tally(outcomes);
  console.log(
    `pass rate ${(t.rate * 100).toFixed(2)}% (${t.pass}/${t.pass + t.fail}; ${t.override} overridden, ${t.skip} skipped) in ${secs.toFixed(0)} s`,
  );
  if (v.json) {
    const rows = outcomes.map((o) => ({
      id: o.test.id,
      file: o.test.file,
      result: o.result,
      seen: o.seen,
      why: o.why,
      ms: Math.round(o.ms),
    }));
    writeFileSync(v.json, JSON.stringify({ tally: t, seconds: secs, outcomes: rows }, null, 1) + "\n");
  }
}

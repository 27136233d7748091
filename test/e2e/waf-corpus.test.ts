// waf-corpus.test.ts: a fixed sample of the CRS regression corpus (go-ftw YAML) against a live
// Portico VIP with the corpus WAF policy, through the runner of `npm run waf:corpus` (the whole
// corpus is that separate command: it takes minutes). The sample must pass at least
// SAMPLE_MIN_RATE, the rate the full corpus is documented at (docs/waf.md) minus the sample's
// noise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadCorpus, sample } from "../waf/ftw/corpus.ts";
import { loadOverrides, probeWaf, runCorpus, summary, tally } from "../waf/ftw/runner.ts";
import { CORPUS_DIR, OVERRIDES_FILE } from "../waf/ftw/run.ts";
import { startTarget } from "../waf/ftw/target.ts";

/** SAMPLE_SIZE / SAMPLE_SEED pick the same tests every run, spread over the rule files. */
const SAMPLE_SIZE = 100;
const SAMPLE_SEED = 16;
/** SAMPLE_MIN_RATE: the bar (95% of the corpus) for the sample too. */
const SAMPLE_MIN_RATE = 0.95;

const engine = join(import.meta.dirname, "../../src/waf/engine/index.ts");
const skip = !existsSync(CORPUS_DIR)
  ? "no CRS corpus: run scripts/crs/fetch.sh"
  : !existsSync(engine)
    ? "this build has no WAF engine (src/waf/engine/index.ts)"
    : false;

test(
  `CRS corpus sample (${SAMPLE_SIZE} tests, seed ${SAMPLE_SEED}) passes ≥ ${SAMPLE_MIN_RATE * 100}%`,
  { skip, timeout: 600_000 },
  async () => {
    const tests = sample(loadCorpus(CORPUS_DIR), SAMPLE_SIZE, SAMPLE_SEED);
    const target = await startTarget("127.0.78.1", 18778);
    try {
      assert.equal(await probeWaf(target), "bypass", "the marker path is allowlisted: the WAF logs a bypass");
      const outcomes = await runCorpus(target, tests, { overrides: loadOverrides(OVERRIDES_FILE) });
      const t = tally(outcomes);
      const failures = outcomes.filter((o) => o.result === "fail").map((o) => `${o.test.id}: ${o.why}`);
      assert.ok(
        t.rate >= SAMPLE_MIN_RATE,
        `pass rate ${(t.rate * 100).toFixed(1)}% < ${SAMPLE_MIN_RATE * 100}%\n${summary(outcomes)}\n${failures.join("\n")}`,
      );
    } finally {
      await target.stop();
    }
  },
);

// plan-differential.test.ts: the CRS regression corpus's requests, in-process, through the corpus
// policy (CORPUS_WAF: paranoia level 4, every rule runs) compiled three ways — the plain
// interpreter (ProgramOptions.plain: no plan, nothing kept across transactions), the program as
// it serves (src/waf/engine/plan.ts runs, value-cache.ts), and the same with a cache so small its
// generations turn every few requests — and every request's evidence (each hit with its rule,
// variable, value, msg and logdata, the scores, the interruption) must be the same. The served
// program sees the sample twice, the second time with its cache warm. A sample of 400 tests
// (seed 16) by default; WAF_DIFF_ALL=1 runs every test. Skips, saying why, without the CRS. The
// second test compares folded programs (fold.ts) with the plain interpreter at paranoia levels
// 1-4 and with exclusions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { WafConfig } from "../../../src/model/ir.ts";
import { compileProgram, type Program } from "../../../src/waf/engine/index.ts";
import type { ProgramOptions, RequestHead, ResponseHead, WafLog } from "../../../src/waf/engine/types.ts";
import { loadRuleSources } from "../../../src/waf/lang/index.ts";
import { ruleSources } from "../../../src/waf/policy/setup.ts";
import { loadCorpus, sample } from "./corpus.ts";
import { CORPUS_WAF } from "./portico.ts";
import { buildRequest } from "./request.ts";

const CRS = process.env.PORTICO_CRS_DIR ?? join(import.meta.dirname, "../../../.cache/crs/current");
const skip = existsSync(join(CRS, "tests")) ? false : `no CRS in ${CRS}: run scripts/crs/fetch.sh`;

function crsProgram(options: Partial<ProgramOptions>, config: WafConfig = CORPUS_WAF): Program {
  const version = /^crs (\d+\.\d+\.\d+)/m.exec(readFileSync(join(CRS, "VERSION"), "utf8"))?.[1] ?? "4.0.0";
  const loaded = loadRuleSources(
    ruleSources(config, { dir: CRS, ruleFiles: readdirSync(join(CRS, "rules")), version }),
  );
  assert.deepEqual(
    loaded.errors.map((e) => e.message),
    [],
  );
  const r = compileProgram(loaded.set, { budgetMs: 0, ...options });
  assert.ok(r.program, r.errors.map((e) => e.message).join("; "));
  return r.program;
}

interface Exchange {
  id: string;
  head: RequestHead;
  body: Buffer;
}

/** parse reads the raw bytes go-ftw would send into the engine's request (the head's lines,
 * the body as far as Content-Length says, or the rest); undefined for what has no request line. */
function parse(id: string, raw: Buffer): Exchange | undefined {
  const text = raw.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split("\r\n");
  const line = /^(\S+) (\S+) (HTTP\/\d\.\d)$/.exec(lines[0] ?? "");
  if (!line) return undefined;
  const headers: [string, string][] = [];
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i > 0) headers.push([l.slice(0, i), l.slice(i + 1).trim()]);
  }
  let body = end < 0 ? Buffer.alloc(0) : raw.subarray(end + 4);
  const length = headers.find(([k]) => k.toLowerCase() === "content-length")?.[1];
  if (length !== undefined && /^\d+$/.test(length)) body = body.subarray(0, Number(length));
  return { id, head: { method: line[1]!, uri: line[2]!, protocol: line[3]!, headers }, body };
}

const RESPONSE: ResponseHead = {
  status: 200,
  protocol: "HTTP/1.1",
  headers: [["Content-Type", "text/html; charset=utf-8"]],
};

const conn = {
  id: "diff",
  clientAddress: "192.0.2.10",
  clientPort: 50000,
  serverAddress: "127.0.0.1",
  serverPort: 80,
  now: Date.UTC(2026, 11, 7),
};

/** evidence runs one exchange through every phase; the log without its time. */
function evidence(p: Program, x: Exchange): unknown {
  const tx = p.newTransaction(conn);
  let r = tx.requestHeaders(x.head);
  if (!r.interruption) r = tx.requestBody(x.body, false);
  if (!r.interruption) r = tx.responseHeaders(RESPONSE);
  if (!r.interruption && tx.wantsResponseBody) tx.responseBody(Buffer.from("<html>ok</html>"), false);
  const { elapsedMs: _, ...log }: WafLog = tx.logging();
  return log;
}

/** corpusExchanges is the sampled corpus tests' requests (every stage). */
function corpusExchanges(n: number): Exchange[] {
  let tests = loadCorpus(join(CRS, "tests"));
  if (process.env.WAF_DIFF_ALL !== "1") tests = sample(tests, n, 16);
  const exchanges: Exchange[] = [];
  for (const t of tests)
    t.stages.forEach((s, i) => {
      try {
        const x = parse(`${t.id}#${i}`, buildRequest(s.input));
        if (x) exchanges.push(x);
      } catch {
        // A stage go-ftw itself refuses to build (data with encoded_request): nothing to compare.
      }
    });
  assert.ok(exchanges.length > 0.9 * tests.length, `${exchanges.length} requests from ${tests.length} tests`);
  return exchanges;
}

test(
  "the CRS corpus's requests: the plan and the value cache give the plain interpreter's evidence",
  { skip },
  () => {
    const exchanges = corpusExchanges(400);
    const plain = crsProgram({ plain: true });
    const served = crsProgram({});
    const tiny = crsProgram({ valueCache: { maxBytes: 16 * 1024, maxEntries: 64 } });
    let hits = 0;
    for (const round of [1, 2])
      for (const x of exchanges) {
        const want = evidence(plain, x);
        assert.deepEqual(evidence(served, x), want, `${x.id} (round ${round})`);
        assert.deepEqual(evidence(tiny, x), want, `${x.id} (tiny cache, round ${round})`);
        hits += (want as WafLog).hits.length;
      }
    assert.ok(hits > exchanges.length, `the corpus's requests hit rules (${hits} hits)`);
    assert.ok(tiny.values.generations > 10, `the tiny cache turned (${tiny.values.generations})`);
  },
);

// Folding (src/waf/engine/fold.ts) decides per program what is the same in every transaction:
// at each paranoia level, in Enforcement (interruptions end the phases early) and with the
// policy's exclusions applied (among them the removal of one file's paranoia-level gates, so its
// PL2-4 rules run whatever the level), the folded program gives the plain interpreter's evidence.
test(
  "the CRS corpus's requests at paranoia levels 1-4 and with exclusions: folding changes no evidence",
  { skip },
  () => {
    const exchanges = corpusExchanges(150);
    const configs: [string, WafConfig][] = [1, 2, 3, 4].map((pl) => [
      `PL${pl}`,
      { ...CORPUS_WAF, paranoiaLevel: pl, mode: pl % 2 === 1 ? "Enforcement" : "Detection" },
    ]);
    configs.push([
      "PL2 with exclusions",
      {
        ...CORPUS_WAF,
        paranoiaLevel: 2,
        exclusions: [
          { ruleIds: [{ from: 920011, to: 920018 }] },
          { tags: ["paranoia-level/2"] },
          { ruleIds: [{ from: 942100, to: 942100 }], variables: ["ARGS:q"] },
          { ruleIds: [{ from: 901400, to: 901400 }] },
        ],
      },
    ]);
    for (const [name, config] of configs) {
      const plain = crsProgram({ plain: true }, config);
      const folded = crsProgram({}, config);
      const f = folded.folded;
      assert.ok(f !== undefined && f.never > 0, `${name}: folding removed rules (${JSON.stringify(f)})`);
      for (const x of exchanges)
        assert.deepEqual(evidence(folded, x), evidence(plain, x), `${name}: ${x.id}`);
    }
  },
);

// The memo (src/waf/engine/memo.ts) passes rules over on bits kept per value across
// transactions: each request runs twice in a row through the program with it (its values cold,
// then warm), and through a program with a cache so small it turns every few requests, and must
// give the evidence of the same program without the memo (its value cache and plan as they are).
test("the CRS corpus's requests, cold and warm: the memo changes no evidence", { skip }, () => {
  const exchanges = corpusExchanges(400);
  for (const config of [CORPUS_WAF, { ...CORPUS_WAF, paranoiaLevel: 1, mode: "Enforcement" as const }]) {
    const off = crsProgram({ memo: false }, config);
    const memo = crsProgram({}, config);
    const tiny = crsProgram({ valueCache: { maxBytes: 16 * 1024, maxEntries: 64 } }, config);
    for (const x of exchanges) {
      const want = evidence(off, x);
      assert.deepEqual(evidence(memo, x), want, `${x.id} (PL${config.paranoiaLevel}, cold)`);
      assert.deepEqual(evidence(memo, x), want, `${x.id} (PL${config.paranoiaLevel}, warm)`);
      assert.deepEqual(evidence(tiny, x), want, `${x.id} (PL${config.paranoiaLevel}, tiny cache)`);
    }
    assert.ok(tiny.values.generations > 10, `the tiny cache turned (${tiny.values.generations})`);
  }
});

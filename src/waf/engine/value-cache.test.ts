// The cross-transaction value cache (value-cache.ts) and the plan's runs (plan.ts) must not
// change a single result: each test here would fail if the cache returned a form computed for
// another chain, carried a transaction's captures or MATCHED_VAR into another, or lost a value
// when a generation turned; and a random differential runs the same requests through a program
// with the plan and the cache and through the plain interpreter (ProgramOptions.plain).
import { test } from "node:test";
import assert from "node:assert/strict";
import { body } from "../body/index.ts";
import { parseRules } from "../lang/parse.ts";
import { ops } from "../ops/index.ts";
import { compileProgram, type Program } from "./index.ts";
import type { ProgramOptions, WafLog } from "./types.ts";
import { MAX_VALUE_CHARS } from "./value-cache.ts";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const conn = {
  id: "vc",
  clientAddress: "192.0.2.1",
  clientPort: 1,
  serverAddress: "127.0.0.1",
  serverPort: 80,
  now: 0,
};

function program(text: string, options: Partial<ProgramOptions> = {}): Program {
  const rules = parseRules(`SecRequestBodyAccess On\nSecRuleEngine DetectionOnly\n${text}`, "vc.conf");
  assert.deepEqual(
    rules.errors.map((e) => e.message),
    [],
  );
  const r = compileProgram(rules.set, { budgetMs: 0, ...options }, { ops, body });
  assert.ok(r.program, r.errors.map((e) => e.message).join("; "));
  return r.program;
}

/** run sends a GET with the query and a form POST body (when given) through p. */
function run(p: Program, query: string, form = "", headers: [string, string][] = []): WafLog {
  const tx = p.newTransaction(conn);
  tx.requestHeaders({
    method: form ? "POST" : "GET",
    uri: `/?${query}`,
    protocol: "HTTP/1.1",
    headers: [
      ["Host", "x"],
      ...(form ? ([["Content-Type", "application/x-www-form-urlencoded"]] as [string, string][]) : []),
      ...headers,
    ],
  });
  tx.requestBody(Buffer.from(form, "latin1"), false);
  return tx.logging();
}

/** seen is what a log says, without the time. */
function seen(log: WafLog): unknown {
  const { elapsedMs: _, ...rest } = log;
  return rest;
}

test("one value through different transformation chains: each chain gets its own form, in any order", () => {
  const p = program(`SecRule ARGS "@rx ^abc$" "id:1,phase:2,pass,log,t:none,t:lowercase"
SecRule ARGS "@rx ^ABC$" "id:2,phase:2,pass,log,t:none"
SecRule ARGS "@rx ^a b$" "id:3,phase:2,pass,log,t:none,t:urlDecodeUni"
SecRule ARGS "@rx ^a%20b$" "id:4,phase:2,pass,log,t:none,t:lowercase"
SecRule ARGS "@rx ^a b$" "id:5,phase:2,pass,log,t:none,t:lowercase,t:urlDecodeUni"
SecRule ARGS "@rx ^A B$" "id:6,phase:2,pass,log,t:none,t:urlDecodeUni,t:lowercase"`);
  const ids = (form: string) => run(p, "", form).hits.map((h) => h.ruleId);
  // The form's value is decoded once by the body parser: "A%2520B" arrives as "A%20B".
  for (let round = 0; round < 3; round++) {
    assert.deepEqual(ids("q=ABC"), [1, 2]);
    assert.deepEqual(ids("q=abc"), [1]);
    assert.deepEqual(ids("q=A%2520B"), [4, 5]);
    assert.deepEqual(ids("q=a%2520b"), [3, 4, 5]);
  }
  assert.ok(p.values.size > 0, "the values were kept across transactions");
});

test("captures and MATCHED_VAR are each transaction's own, whatever the cache holds", () => {
  const p =
    program(`SecRule ARGS "@rx ^(a+)(b*)$" "id:1,phase:2,pass,log,capture,t:none,logdata:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR} 1=%{TX.1} 2=%{TX.2}',setvar:tx.seen=%{TX.1}"
SecRule TX:1 "@rx ." "id:2,phase:2,pass,log,logdata:'tx1=%{TX.1}'"
SecRule ARGS "@pm zzz" "id:3,phase:2,pass,log,capture,t:none,logdata:'0=%{TX.0}'"`);
  const data = (query: string) => run(p, query).hits.map((h) => `${h.ruleId}:${h.data}`);
  for (let round = 0; round < 3; round++) {
    assert.deepEqual(data("x=aab"), ["1:ARGS:x=aab 1=aa 2=b", "2:tx1=aa"]);
    assert.deepEqual(data("y=ab"), ["1:ARGS:y=ab 1=a 2=b", "2:tx1=a"]);
    // The same value under another name: MATCHED_VAR_NAME is this transaction's.
    assert.deepEqual(data("z=aab"), ["1:ARGS:z=aab 1=aa 2=b", "2:tx1=aa"]);
    // No match: no capture of an earlier transaction shows through.
    assert.deepEqual(data("x=c"), []);
    assert.deepEqual(data("x=ZZZ"), ["3:0=zzz"]);
  }
});

test("a generation that turns loses nothing: many distinct values, attacks among them, a tiny cache", () => {
  const rules = `SecRule ARGS|REQUEST_HEADERS "@rx (?i)nes+us" "id:1,phase:2,deny,status:403,t:none,t:lowercase"
SecRule ARGS "@pm zgrab nuclei" "id:2,phase:2,deny,status:403,t:none,t:urlDecodeUni"
SecRule ARGS "@rx %7eq" "id:3,phase:2,deny,status:402,t:none,t:urlDecodeUni,multiMatch"
SecRule ARGS "!@rx ^[a-z0-9%]+$" "id:4,phase:2,deny,status:401"`;
  const tiny = program(rules, { valueCache: { maxBytes: 2048, maxEntries: 8 } });
  const plain = program(rules, { plain: true });
  const attacks = ["xxNeSSSusyy", "scan-by-ZGRAB", "UPPER", "%25257eq"];
  for (let i = 0; i < 600; i++) {
    // Values repeat now and then (i % 37), so some are found in the old generation.
    const clean = `value${i % 3 === 0 ? i % 37 : i}`;
    const value = i % 7 === 0 ? (attacks[(i / 7) % attacks.length] as string) : clean;
    const query = `a=${clean}&b=${value}`;
    assert.deepEqual(seen(run(tiny, query)), seen(run(plain, query)), query);
  }
  assert.ok(tiny.values.generations > 10, `the generations turned (${tiny.values.generations})`);
  assert.ok(tiny.values.size <= 2 * 9, `at most two generations are held (${tiny.values.size})`);
});

test("a value too long to keep is worked out per transaction, not kept", () => {
  const p = program(`SecRule ARGS "@rx needle" "id:1,phase:2,pass,log,t:none,t:lowercase"`);
  const long = "x".repeat(MAX_VALUE_CHARS + 1);
  for (const v of [long, `${long}NEEDLE`, long]) {
    const before = p.values.size;
    const hits = run(p, "", `q=${v}`).hits.map((h) => h.ruleId);
    assert.deepEqual(hits, v.endsWith("NEEDLE") ? [1] : []);
    // Only the short values of the request (names, headers) may have been added.
    assert.ok(p.values.size - before <= 4, "the long value was not kept");
  }
});

// A rule set with every shape the plan must respect: runs of prefiltered rules on one target
// list broken by skip, skipAfter and markers, chains, negation, counts, multiMatch, captures,
// setvar read by later rules, a ctl that removes targets, and rules on other target lists.
const SHAPES = `SecRule ARGS "@rx (?i)alpha" "id:10,phase:2,pass,log,t:none,t:lowercase,setvar:tx.score=+1"
SecRule ARGS "@rx beta" "id:11,phase:2,pass,log,t:none,t:lowercase,skip:1"
SecRule ARGS "@rx gamma" "id:12,phase:2,pass,log,t:none,t:lowercase,setvar:tx.score=+2"
SecRule ARGS "@rx delta" "id:13,phase:2,pass,log,t:none,t:lowercase,skipAfter:END-1"
SecRule ARGS "@rx epsilon" "id:14,phase:2,pass,log,t:none,t:lowercase,setvar:tx.score=+4"
SecRule ARGS "@pm zeta eta" "id:15,phase:2,pass,log,t:none,t:lowercase,capture,logdata:'%{TX.0}'"
SecMarker END-1
SecRule ARGS "@rx theta" "id:16,phase:2,pass,log,t:none,t:lowercase,chain"
  SecRule ARGS_NAMES "@rx ^k" "t:none,setvar:tx.score=+8"
SecRule ARGS "!@rx iota" "id:17,phase:2,pass,log,t:none,t:lowercase,setvar:tx.noiota=+1"
SecRule &ARGS "@gt 2" "id:18,phase:2,pass,log"
SecRule ARGS "@rx kappa" "id:19,phase:2,pass,log,t:none,t:lowercase,ctl:ruleRemoveTargetById=20;ARGS:k1"
SecRule ARGS "@rx lambda" "id:20,phase:2,pass,log,t:none,t:lowercase"
SecRule ARGS "@rx mu" "id:21,phase:2,pass,log,t:none,t:urlDecodeUni,multiMatch"
SecRule ARGS|REQUEST_HEADERS:User-Agent "@rx (nu)(xi)?" "id:22,phase:2,pass,log,capture,t:none,t:lowercase,logdata:'%{TX.1}/%{TX.2}/%{MATCHED_VAR_NAME}'"
SecRule TX:score "@ge 3" "id:23,phase:2,pass,log,logdata:'%{TX.score}'"
SecRule ARGS "@rx omicron" "id:24,phase:2,deny,status:403,t:none,t:lowercase"
SecRule ARGS "@rx pi" "id:25,phase:2,pass,log,t:none,t:lowercase"`;

const WORDS = ["alpha", "BETA", "gamma", "delta", "epsilon", "zeta", "theta", "iota", "kappa", "lambda"];
const MORE = ["%6du", "nu", "nuxi", "omicron", "pi", "plain", "x", "", "Eta", "LAMBDA"];

test("the plan and the cache give the plain interpreter's results on random requests (differential)", () => {
  const planned = program(SHAPES);
  const tiny = program(SHAPES, { valueCache: { maxBytes: 1024, maxEntries: 4 } });
  const plain = program(SHAPES, { plain: true });
  let seed = 16;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = () => {
    const all = [...WORDS, ...MORE];
    return rnd(3) === 0 ? `${all[rnd(all.length)]}${all[rnd(all.length)]}` : (all[rnd(all.length)] as string);
  };
  let hits = 0;
  for (let i = 0; i < 1500; i++) {
    const args = Array.from({ length: 1 + rnd(4) }, (_, j) => `${rnd(2) ? "k" : "a"}${j}=${pick()}`);
    const query = args.join("&");
    const form = rnd(2) ? `f=${pick()}` : "";
    const headers: [string, string][] = [["User-Agent", pick()]];
    const want = seen(run(plain, query, form, headers));
    assert.deepEqual(seen(run(planned, query, form, headers)), want, `${query} ${form}`);
    assert.deepEqual(seen(run(tiny, query, form, headers)), want, `${query} ${form} (tiny cache)`);
    hits += (want as WafLog).hits.length;
  }
  assert.ok(hits > 1500, `the requests hit rules (${hits} hits)`);
});

// A value the cache keeps outlives its transaction. V8 makes a substring of 13 characters or
// more a slice that keeps its whole parent alive: a short argument value parsed out of a body
// (under ~1 MiB; Node makes larger ones external strings, which are copied) would pin the body for
// as long as the entry lives (up to 2 × 8 192 entries: gigabytes at the 128 KiB default limit),
// whatever the cache charges. Each request here sends a new short value beside 512 KiB of padding.
test("a kept value does not keep the body it was parsed from alive", () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const p = program(`SecRequestBodyNoFilesLimit 2097152
SecRule ARGS "@rx attack" "id:1,phase:2,deny,status:403"`);
  const pad = "z".repeat(512 * 1024);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100; i++) run(p, "", `v=${String(i).padStart(24, "k")}&pad=${pad}${i}`);
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(p.values.size >= 100, `the short values are kept (${p.values.size})`);
  assert.ok(grown < 16 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB for 100 short values`);
});

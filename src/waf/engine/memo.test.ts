// The memo (memo.ts) passes a rule over when no value of its targets matches its first step,
// from bits kept per (target group, value) across transactions. Each test here fails if a rule
// that reads per-transaction state (a macro in its operator, TX) were memoised, if a count that a
// runtime removal changes were taken from the memo, if the bits outlived their bounds, or if a
// warm memo answered differently from a cold one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRules } from "../lang/parse.ts";
import { ops } from "../ops/index.ts";
import { compileRules } from "./compile.ts";
import type { Program } from "./index.ts";
import type { ProgramOptions, WafLog } from "./types.ts";
import { memoOf, newEntry, NO_MATCH } from "./value-cache.ts";
import { selects } from "./evaluate.ts";
import type { Sel } from "./program.ts";
import { member } from "./vars.ts";
import { compile as compileRegex } from "../rx/index.ts";
import { HEAD, memoPlan, ruleProgram, testConn } from "./program-testing.ts";

const conn = testConn("memo");

function program(text: string, options: Partial<ProgramOptions> = {}): Program {
  return ruleProgram(text, "memo.conf", options);
}

/** memoised lists, per rule id, whether the memo plan passes it over on its values' bits. */
function memoised(text: string): Map<number, boolean> {
  return memoPlan(text, "memo.conf", false);
}

function run(p: Program, query: string, headers: [string, string][] = []): WafLog {
  const tx = p.newTransaction(conn);
  const r = tx.requestHeaders({
    method: "GET",
    uri: `/?${query}`,
    protocol: "HTTP/1.1",
    headers: [["Host", "x"], ...headers],
  });
  if (!r.interruption) tx.requestBody(Buffer.alloc(0), false);
  return tx.logging();
}

function seen(log: WafLog): unknown {
  const { elapsedMs: _, ...rest } = log;
  return rest;
}

test("only rules decided by their values are memoised: not a macro operator, TX, a SecAction, an excluded count", () => {
  const m = memoised(`SecAction "id:1,phase:1,pass,nolog,setvar:tx.want=%{REQUEST_HEADERS.x-want}"
SecRule ARGS "@streq %{tx.want}" "id:2,phase:2,deny,status:403"
SecRule ARGS "@streq fixed" "id:3,phase:2,deny,status:403"
SecRule TX:want "@streq a" "id:4,phase:2,pass,log"
SecRule ARGS|TX:want "@rx a" "id:5,phase:2,pass,log"
SecRule &REQUEST_HEADERS:X-Foo "@eq 0" "id:6,phase:1,pass,log"
SecRule &REQUEST_HEADERS|!REQUEST_HEADERS:X-Foo "@eq 0" "id:7,phase:1,pass,log"
SecRule REQUEST_HEADERS:User-Agent "@within %{tx.want}" "id:8,phase:1,pass,log"
SecRule ARGS "@rx ^(a)$" "id:9,phase:2,pass,log,capture,chain"
  SecRule TX:1 "@streq a" "t:none"
SecRule MATCHED_VARS "@rx a" "id:10,phase:2,pass,log"`);
  assert.deepEqual(Object.fromEntries(m), {
    1: false,
    2: false,
    3: true,
    4: false,
    5: false,
    6: true,
    7: false,
    8: false,
    9: true,
    10: false,
  });
});

test("an operator with a macro is run in every transaction: the same value matches or not by TX", () => {
  const p = program(`SecAction "id:1,phase:1,pass,nolog,setvar:tx.want=%{REQUEST_HEADERS.x-want}"
SecRule ARGS "@streq %{tx.want}" "id:2,phase:2,deny,status:403"`);
  const status = (want: string) => run(p, "q=a", [["X-Want", want]]).interruption?.status;
  // No match first: a memo of it would pass rule 2 over for the requests that do match.
  for (let round = 0; round < 3; round++) {
    assert.equal(status("b"), undefined);
    assert.equal(status("a"), 403);
  }
});

test("a count that a runtime removal changes is counted as the removal leaves it", () => {
  const p =
    program(`SecRule REQUEST_FILENAME "@streq /strip" "id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetById=2;REQUEST_HEADERS:X-Foo"
SecRule &REQUEST_HEADERS:X-Foo "@eq 0" "id:2,phase:1,deny,status:403"`);
  const status = (path: string) => {
    const tx = p.newTransaction(conn);
    return tx.requestHeaders({
      method: "GET",
      uri: path,
      protocol: "HTTP/1.1",
      headers: [
        ["Host", "x"],
        ["X-Foo", "1"],
      ],
    }).interruption?.status;
  };
  for (let round = 0; round < 3; round++) {
    // One X-Foo: the count is 1, the memo says no for "1"...
    assert.equal(status("/keep"), undefined);
    // ...but with the header removed from rule 2's targets the count is 0, and it denies.
    assert.equal(status("/strip"), 403);
  }
});

test("memo bits are kept per group on the value's entry; a value no rule matches shares NO_MATCH", () => {
  const e = newEntry("v", true);
  assert.equal(memoOf(e, 3), undefined);
  const bits = new Uint32Array([5]);
  e.memo = [3, NO_MATCH, 7, bits];
  assert.equal(memoOf(e, 3), NO_MATCH);
  assert.equal(memoOf(e, 7), bits);
  assert.equal(memoOf(e, 4), undefined);
});

test("the memo is bounded by the value cache: many distinct values through a tiny cache, same results", () => {
  const rules = `SecRule ARGS|REQUEST_HEADERS:User-Agent "@rx (?i)nes+us" "id:1,phase:2,deny,status:403,t:none,t:lowercase"
SecRule ARGS "@pm zgrab nuclei" "id:2,phase:2,pass,log,t:none,t:urlDecodeUni,setvar:tx.s=+1"
SecRule &ARGS "@gt 2" "id:3,phase:2,pass,log"
SecRule TX:s "@ge 1" "id:4,phase:2,pass,log"`;
  const tiny = program(rules, { valueCache: { maxBytes: 4096, maxEntries: 16 } });
  const off = program(rules, { memo: false, valueCache: { maxBytes: 0, maxEntries: 0 } });
  const attacks = ["xxNeSSSusyy", "scan-by-ZGRAB", "NUCLEI"];
  for (let i = 0; i < 800; i++) {
    const v = i % 5 === 0 ? (attacks[i % 3] as string) : `value${i % 4 === 0 ? i % 29 : i}`;
    const query = i % 3 === 0 ? `a=${v}&b=x&c=y` : `a=${v}`;
    const headers: [string, string][] = [["User-Agent", i % 11 === 0 ? "NESSUS" : `agent${i % 13}`]];
    assert.deepEqual(seen(run(tiny, query, headers)), seen(run(off, query, headers)), query);
  }
  assert.ok(tiny.values.generations > 10, `the generations turned (${tiny.values.generations})`);
  assert.ok(tiny.values.size <= 2 * 17, `at most two generations are held (${tiny.values.size})`);
});

// A regex selector's kept answers (evaluate.ts selects, Sel.picks) are keyed by the member's
// name, which the client chooses: the program keeps them across transactions, so their bytes
// must be bounded, not only their number (1 024 names of a few KiB each, per selector, held for
// the program's life, each possibly a slice keeping its whole header or body alive).
test("a regex selector keeps its answers for short names only: hostile long names are not held", () => {
  const sel: Sel = { kind: "regex", rx: compileRegex("^x", "i"), pattern: "^x" };
  const long = "x".repeat(4000);
  for (let i = 0; i < 3000; i++) {
    const key = i % 2 === 0 ? `${long}${i}` : `y${long}${i}`;
    assert.equal(selects(sel, member(key, "v")), i % 2 === 0, `name ${i}`);
  }
  let chars = 0;
  for (const k of sel.picks?.keys() ?? []) chars += k.length;
  assert.ok(chars <= 64 * 1024, `names kept by the selector: ${chars} characters`);
  // Short names (TX's, headers') are still kept: that is what the cache is for.
  assert.equal(selects(sel, member("x-short", "v")), true);
  assert.equal(sel.picks?.get("x-short"), true);
});

// The memo reads a group's values when a rule of that group is reached, not every group of the
// phase at its first memoised rule: a request an early rule denies (an IP block list first in
// phase 1) or allows must not pay for the rules after it. Counted here as the operator tests the
// memo runs: the transformation and regex of each of the 150 rules after the deny would be
// worked out on each new header value (test() is shared; the count is the operator's calls).
test("a request denied by the phase's first rule works out no later rule's bits", () => {
  const rules = [`SecRule REMOTE_ADDR "@ipMatch 192.0.2.0/24" "id:1,phase:1,deny,status:403"`];
  for (let i = 0; i < 150; i++)
    rules.push(
      `SecRule REQUEST_HEADERS|ARGS "@rx w${i}x" "id:${100 + i},phase:1,pass,log,t:none,t:lowercase"`,
    );
  const p = program(rules.join("\n"));
  const off = program(rules.join("\n"), { memo: false });
  for (let i = 0; i < 20; i++) {
    const headers: [string, string][] = [["X-New", `value-${i}-abcdefghijklmnop`]];
    assert.deepEqual(
      seen(run(p, `a=${i}zzzzzzzzzzzzzzzz`, headers)),
      seen(run(off, `a=${i}zzzzzzzzzzzzzzzz`, headers)),
    );
  }
  // Only the deny rule's own group (REMOTE_ADDR) was read: no entry holds bits of another group.
  const held = p.values.size;
  assert.ok(held <= 4, `values kept after 20 denied requests: ${held} (the later rules' were worked out)`);
});

/** spans lists, per rule id, how many of its links the memo plan decides (0: not memoised). */
function spans(text: string): Record<number, number> {
  const c = compileRules(parseRules(`${HEAD}${text}`, "memo.conf").set, ops, false, true);
  const out: Record<number, number> = {};
  c.phases.forEach((items, p) =>
    items.forEach((item, i) => {
      if (item.kind === "rule") out[item.id] = c.memo[p]?.span[i] ?? 0;
    }),
  );
  return out;
}

/** sameAsUnmemoised runs each query (three rounds: the memo cold, then warm) through the program
 * and through the same program with memo: false, requiring the same logs. */
function sameAsUnmemoised(text: string, queries: string[]): WafLog[] {
  const p = program(text);
  const ref = program(text, { memo: false });
  const out: WafLog[] = [];
  for (let round = 0; round < 3; round++)
    for (const q of queries) {
      const got = run(p, q);
      assert.deepEqual(seen(got), seen(run(ref, q)), `round ${round}: ?${q}`);
      if (round === 0) out.push(got);
    }
  return out;
}

test("a chain's later links are memoised when the links before them do nothing but match", () => {
  // 920170's shape: the first link matches every GET, the second almost never.
  const text = `SecRule ARGS:m "@rx ^(?:GET|HEAD)$" "id:1,phase:1,block,log,msg:'body on %{MATCHED_VAR}',chain"
  SecRule ARGS:cl "!@rx ^0?$" "t:none,setvar:tx.score=+5"
SecRule ARGS:m "@rx ^GET$" "id:2,phase:1,pass,log,msg:'3 links',chain"
  SecRule &ARGS:cl "@eq 1" "chain"
  SecRule ARGS:cl "@streq 7" "t:none"
SecRule TX:score "@eq 5" "id:3,phase:2,pass,log,msg:'scored'"`;
  assert.deepEqual(spans(text), { 1: 2, 2: 3, 3: 0 });
  const logs = sameAsUnmemoised(text, ["m=GET", "m=GET&cl=0", "m=GET&cl=7", "m=POST&cl=7", "m=HEAD&cl=12"]);
  assert.deepEqual(
    logs.map((l) => l.hits.map((h) => h.ruleId)),
    [[], [], [1, 2, 3], [], [1, 3]],
  );
});

test("a link after one with a setvar or a capture, or when a rule reads MATCHED_VAR stale, is entered", () => {
  // The first link's setvar and capture run when it matches, whether or not the chain does.
  const setvar = `SecRule ARGS:m "@rx ^GET$" "id:1,phase:1,pass,nolog,setvar:tx.seen=1,chain"
  SecRule ARGS:cl "@streq 7" "t:none"
SecRule TX:seen "@eq 1" "id:4,phase:2,pass,log,msg:'first link ran'"`;
  const capture = `SecRule ARGS:m "@rx ^(G)ET$" "id:1,phase:1,pass,nolog,capture,chain"
  SecRule ARGS:cl "@streq 7" "t:none"
SecRule TX:1 "@streq G" "id:4,phase:2,pass,log,msg:'first link captured'"`;
  // MATCHED_VAR keeps the first link's match when the chain fails; rule 4 reads it before its own.
  const stale = `SecRule ARGS:m "@rx ^GET$" "id:1,phase:1,pass,nolog,chain"
  SecRule ARGS:cl "@streq 7" "t:none"
SecRule MATCHED_VAR "@streq GET" "id:4,phase:2,pass,log,msg:'stale'"`;
  // (When the whole chain matches, MATCHED_VAR is the last link's: "7".)
  for (const [text, hits] of [
    [setvar, [[4], [4], []]],
    [capture, [[4], [4], []]],
    [stale, [[4], [], []]],
  ] as const) {
    assert.equal(spans(text)[1], 1, text);
    const logs = sameAsUnmemoised(text, ["m=GET&cl=1", "m=GET&cl=7", "m=PUT"]);
    assert.deepEqual(
      logs.map((l) => l.hits.map((h) => h.ruleId)),
      hits,
      text,
    );
  }
});

// The memo (memo.ts) passes a rule over when no value of its targets matches its first step,
// from bits kept per (target group, value) across transactions. Each test here fails if a rule
// that reads per-transaction state (a macro in its operator, TX) were memoised, if a count that a
// runtime removal changes were taken from the memo, if the bits outlived their bounds, or if a
// warm memo answered differently from a cold one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { body } from "../body/index.ts";
import { parseRules } from "../lang/parse.ts";
import { ops } from "../ops/index.ts";
import { compileRules } from "./compile.ts";
import { compileProgram, type Program } from "./index.ts";
import type { ProgramOptions, WafLog } from "./types.ts";
import { memoOf, newEntry, NO_MATCH } from "./value-cache.ts";
import { selects } from "./evaluate.ts";
import type { Sel } from "./program.ts";
import { member } from "./vars.ts";
import { compile as compileRegex } from "../rx/index.ts";

const conn = {
  id: "memo",
  clientAddress: "192.0.2.1",
  clientPort: 1,
  serverAddress: "127.0.0.1",
  serverPort: 80,
  now: 0,
};

const HEAD = "SecRequestBodyAccess On\nSecRuleEngine On\n";

function program(text: string, options: Partial<ProgramOptions> = {}): Program {
  const rules = parseRules(`${HEAD}${text}`, "memo.conf");
  assert.deepEqual(
    rules.errors.map((e) => e.message),
    [],
  );
  const r = compileProgram(rules.set, { budgetMs: 0, ...options }, { ops, body });
  assert.ok(r.program, r.errors.map((e) => e.message).join("; "));
  return r.program;
}

/** memoised lists, per rule id, whether the memo plan passes it over on its values' bits. */
function memoised(text: string): Map<number, boolean> {
  const rules = parseRules(`${HEAD}${text}`, "memo.conf");
  const c = compileRules(rules.set, ops, false, true);
  const out = new Map<number, boolean>();
  c.phases.forEach((items, p) =>
    items.forEach((item, i) => {
      if (item.kind === "rule") out.set(item.id, (c.memo[p]?.bits[i] ?? -1) >= 0);
    }),
  );
  return out;
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

// Load-time folding (fold.ts) must not change a single result: each rule set here is run folded
// and through the plain interpreter (ProgramOptions.plain: every rule as written) on the same
// requests, the logs compared whole; and each test also says what the analysis may or may not
// fold, so that a fold that ignored a per-request write, a ctl, a skip, a stop or an exclusion
// fails here (and a pass that folded nothing would fail the positive cases).
import { test } from "node:test";
import assert from "node:assert/strict";
import { body } from "../body/index.ts";
import { parseRules } from "../lang/parse.ts";
import { ops } from "../ops/index.ts";
import type { FoldStats } from "./fold.ts";
import { compileProgram, type Program } from "./index.ts";
import type { ProgramOptions, WafLog } from "./types.ts";

const conn = {
  id: "fold",
  clientAddress: "192.0.2.1",
  clientPort: 1,
  serverAddress: "127.0.0.1",
  serverPort: 80,
  now: 0,
};

function program(text: string, options: Partial<ProgramOptions>, mode = "DetectionOnly"): Program {
  const rules = parseRules(`SecRequestBodyAccess On\nSecRuleEngine ${mode}\n${text}`, "fold.conf");
  assert.deepEqual(
    rules.errors.map((e) => e.message),
    [],
  );
  const r = compileProgram(rules.set, { budgetMs: 0, ...options }, { ops, body });
  assert.ok(r.program, r.errors.map((e) => e.message).join("; "));
  return r.program;
}

/** run sends GET /?query through every phase (unless interrupted) and returns the log. */
function run(p: Program, query: string): WafLog {
  const tx = p.newTransaction(conn);
  let r = tx.requestHeaders({
    method: "GET",
    uri: `/?${query}`,
    protocol: "HTTP/1.1",
    headers: [["Host", "x"]],
  });
  if (!r.interruption) r = tx.requestBody(Buffer.alloc(0), false);
  if (!r.interruption) tx.responseHeaders({ status: 200, protocol: "HTTP/1.1", headers: [] });
  const { elapsedMs: _, ...log } = tx.logging();
  return log as WafLog;
}

/** same runs each query folded and plain, requires the same logs, and returns what was folded
 * and each query's hit rule ids (folded). */
function same(text: string, queries: string[], mode?: string): { folded: FoldStats; hits: number[][] } {
  const folded = program(text, {}, mode);
  const plain = program(text, { plain: true }, mode);
  assert.equal(plain.folded, undefined);
  const hits: number[][] = [];
  for (const q of queries) {
    const got = run(folded, q);
    assert.deepEqual(got, run(plain, q), `?${q}`);
    hits.push(got.hits.map((h) => h.ruleId));
  }
  return { folded: folded.folded as FoldStats, hits };
}

// A CRS-shaped section: a default that is set once, then PL1 and PL2 parts behind gates.
const SETUP = `SecAction "id:1,phase:1,pass,nolog,setvar:tx.pl=1"
SecRule &TX:pl "@eq 0" "id:2,phase:1,pass,nolog,setvar:tx.pl=1"`;
const SECTION = `SecRule TX:pl "@lt 1" "id:10,phase:1,pass,nolog,skipAfter:END-A"
SecRule ARGS "@rx a1" "id:11,phase:1,pass,log,msg:'pl1'"
SecRule TX:pl "@lt 2" "id:12,phase:1,pass,nolog,skipAfter:END-A"
SecRule ARGS "@rx a2" "id:13,phase:1,pass,log,msg:'pl2'"
SecMarker END-A
SecRule ARGS "@rx z" "id:20,phase:2,pass,log,msg:'after'"`;
const QUERIES = ["q=a1", "q=a2", "q=z", "q=x", "setpl=2&q=a2", "nogate=1&q=a2", "s=1&q=a1", "pl=2&q=a2"];

/** before runs the setup, rule, then the section, on QUERIES (same()). */
function before(rule: string): ReturnType<typeof same> {
  return same(`${SETUP}\n${rule}\n${SECTION}`, QUERIES);
}

test("constant TX: the never-matching rules and the matching silent gate go, with its section", () => {
  const r = same(`${SETUP}\n${SECTION}`, QUERIES);
  assert.deepEqual(r.folded, { never: 2, gates: 1, unreachable: 1, merged: 1, specialised: 0, actions: 0 });
  assert.deepEqual(r.hits.slice(0, 3), [[11], [], [20]]);
});

test("a rule that sets the paranoia level per request before the gate keeps the gate", () => {
  const r = before(`SecRule ARGS:setpl "@eq 2" "id:5,phase:1,pass,nolog,setvar:tx.pl=2"`);
  assert.equal(r.folded.gates, 0);
  assert.deepEqual(r.hits[4], [13]);
});

test("a setvar whose key is a macro makes every TX variable request-dependent", () => {
  const r = before(`SecRule ARGS_NAMES "@rx ^(pl)$" "id:5,phase:1,pass,nolog,capture,setvar:'tx.%{tx.1}=2'"`);
  assert.deepEqual(r.folded, { never: 1, gates: 0, unreachable: 0, merged: 1, specialised: 0, actions: 0 });
  assert.deepEqual(r.hits[7], [13]);
});

test("a ctl that may remove the gate keeps it, unless it removes what the gate skips too", () => {
  const r = before(`SecRule ARGS:nogate "@eq 1" "id:5,phase:1,pass,nolog,ctl:ruleRemoveById=12"`);
  assert.equal(r.folded.gates, 0);
  assert.deepEqual(r.hits[5], [13]);
  const b = before(`SecRule ARGS:nogate "@eq 1" "id:5,phase:1,pass,nolog,ctl:ruleRemoveById=12-13"`);
  assert.equal(b.folded.gates, 1);
  assert.deepEqual(b.hits[5], []);
});

test("the rules a skip may count are kept", () => {
  const r = before(`SecRule ARGS:s "@eq 1" "id:5,phase:1,pass,nolog,skip:1"`);
  // Gate 10 (never) stays: removing it would make the skip pass over rule 11.
  assert.equal(r.folded.never, 1);
  assert.deepEqual(r.hits[6], [11]);
});

test("a gate that logs still logs", () => {
  const logging = SECTION.replace(`"id:12,phase:1,pass,nolog,`, `"id:12,phase:1,pass,log,msg:'gate',`);
  const r = same(`${SETUP}\n${logging}`, QUERIES);
  assert.deepEqual(r.folded, { never: 2, gates: 0, unreachable: 1, merged: 1, specialised: 0, actions: 0 });
  assert.deepEqual(r.hits[3], [12]);
});

test("a phase that may stop early (allow) leaves the next phase's gate to the request", () => {
  const text = `${SETUP}
SecRule ARGS:allow "@eq 1" "id:5,phase:1,allow:phase"
SecAction "id:6,phase:1,pass,nolog,setvar:tx.pl=2"
SecRule TX:pl "@lt 2" "id:30,phase:2,pass,nolog,skipAfter:END-B"
SecRule ARGS "@rx a2" "id:31,phase:2,pass,log,msg:'pl2'"
SecMarker END-B`;
  const r = same(text, ["q=a2", "allow=1&q=a2"]);
  assert.equal(r.folded.gates, 0);
  assert.deepEqual(r.hits, [[31], [5]]);
});

test("phase 5 after an interruption sees the state of the phase that interrupted", () => {
  const text = `${SETUP}
SecRule ARGS:block "@eq 1" "id:7,phase:1,deny,log,msg:'blocked'"
SecAction "id:8,phase:2,pass,nolog,setvar:tx.pl=2"
SecRule TX:pl "@lt 2" "id:40,phase:5,pass,nolog,skipAfter:END-C"
SecRule ARGS "@rx a" "id:41,phase:5,pass,log,msg:'logging'"
SecMarker END-C`;
  const r = same(text, ["q=a", "block=1&q=a"], "On");
  assert.equal(r.folded.gates, 0);
  assert.deepEqual(r.hits, [[41], [7]]);
});

test("exclusions are applied before folding: removing the rule that raises the level", () => {
  const raise = `SecAction "id:6,phase:1,pass,nolog,setvar:tx.pl=2"`;
  const kept = same(`${SETUP}\n${raise}\n${SECTION}`, QUERIES);
  assert.equal(kept.folded.gates, 0);
  assert.deepEqual(kept.hits[1], [13]);
  const removed = same(`${SETUP}\n${raise}\n${SECTION}\nSecRuleRemoveById 6`, QUERIES);
  assert.equal(removed.folded.gates, 1);
  assert.deepEqual(removed.hits[1], []);
});

test("runs of constant setvars become one SecAction: same values, same TX order, read in between", () => {
  const text = `SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=1"
SecRule &TX:b "@eq 0" "id:2,phase:1,pass,nolog,setvar:tx.b=%{tx.a}"
SecRule ARGS:x "@streq %{tx.a}" "id:3,phase:1,pass,log,msg:'a is %{tx.a}'"
SecAction "id:4,phase:1,pass,nolog,setvar:tx.a=+1,setvar:tx.s_one=1"
SecRule &TX:c "@eq 0" "id:5,phase:1,pass,nolog,setvar:tx.c=%{tx.a}%{tx.b},setvar:tx.s_two=2"
SecRule TX:/^s_/ "@rx ." "id:6,phase:1,pass,log,msg:'%{matched_var_name}'"
SecRule TX:c "@streq 21" "id:7,phase:1,pass,log,msg:'c'"`;
  const r = same(text, ["x=1", "x=2"]);
  assert.deepEqual(r.folded, { never: 0, gates: 0, unreachable: 0, merged: 4, specialised: 1, actions: 0 });
  assert.deepEqual(r.hits, [
    [3, 6, 7],
    [6, 7],
  ]);
  const p = program(text, {});
  assert.equal(run(p, "x=1").hits[1]?.variable, "TX:s_one");
});

test("a chain whose first link matches runs that link's setvars even when the chain fails", () => {
  const text = `${SETUP}
SecRule TX:pl "@eq 1" "id:50,phase:1,pass,nolog,setvar:tx.half=1,chain"
  SecRule TX:pl "@eq 2" "t:none"
SecRule TX:half "@eq 1" "id:51,phase:1,pass,log,msg:'half a chain ran'"`;
  const r = same(text, ["q=x"]);
  assert.deepEqual(r.hits, [[51]]);
});

test("a decided step whose actions run once per matching target is counted that many times", () => {
  // Both targets match: the setvar runs twice (evaluate.ts test() runs the actions per value).
  const text = `SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=1,setvar:tx.b=1"
SecRule TX:a|TX:b "@eq 1" "id:2,phase:1,pass,nolog,setvar:tx.n=+1"
SecRule TX:n "@eq 2" "id:3,phase:1,pass,log,msg:'twice'"`;
  const r = same(text, ["q=x"]);
  assert.deepEqual(r.hits, [[3]]);
});

test("a rule that always matches and only acts runs as a SecAction, unless its match is seen", () => {
  const add = `SecRule ARGS:add "@rx ^(\\d+)$" "id:29,phase:1,pass,nolog,capture,setvar:tx.add=%{tx.1}"`;
  // CRS 949052's shape: the level always passes, the score added depends on the request.
  const turned = same(
    `${SETUP}\n${add}
SecRule TX:pl "@ge 1" "id:30,phase:1,pass,nolog,setvar:tx.score=+%{tx.add}"
SecRule TX:score "@ge 5" "id:31,phase:2,pass,log,msg:'score %{tx.score}'"`,
    ["add=5", "add=1", "q=x"],
  );
  assert.equal(turned.folded.actions, 1);
  assert.deepEqual(turned.hits, [[31], [], []]);
  // Its own action reads what it matched; it logs (the hit names TX:pl); a later rule reads
  // MATCHED_VAR before its own match: each keeps the rule as written.
  for (const [rule, after, hits] of [
    [
      `"id:30,phase:1,pass,nolog,setvar:tx.m=%{MATCHED_VAR}"`,
      `SecRule TX:m "@streq 1" "id:31,phase:2,pass,log,msg:'m'"`,
      [[31], [31]],
    ],
    [`"id:30,phase:1,pass,log,msg:'pl'"`, "", [[30], [30]]],
    [
      `"id:30,phase:1,pass,nolog"`,
      `SecRule MATCHED_VAR "@streq 1" "id:32,phase:2,pass,log,msg:'stale'"`,
      [[32], [32]],
    ],
  ] as const) {
    const r = same(`${SETUP}\n${add}\nSecRule TX:pl "@ge 1" ${rule}\n${after}`, ["add=7", "q=x"]);
    assert.equal(r.folded.actions, 0, rule);
    assert.deepEqual(r.hits, hits, rule);
  }
});

test("a turned rule that a ctl may remove is removed as the rule was", () => {
  const text = `${SETUP}
SecRule ARGS:off "@rx ." "id:28,phase:1,pass,nolog,ctl:ruleRemoveById=30"
SecRule TX:pl "@ge 1" "id:30,phase:1,pass,nolog,setvar:tx.score=+5"
SecRule &TX:score "@eq 0" "id:31,phase:2,pass,log,msg:'no score'"`;
  const r = same(text, ["q=x", "off=1"]);
  assert.equal(r.folded.actions, 1);
  assert.deepEqual(r.hits, [[], [31]]);
});

test("constant setters right before a gate that always jumps are kept (their run ends there)", () => {
  // The run of setters (premise 7) waited for the next item to be written out; a certain
  // skipAfter ended the path before it was, and the setters were lost: tx.bad stayed unset, so
  // `@streq %{tx.bad}` matched only empty values and ?q=evil passed.
  for (const gate of [`pass,nolog`, `pass,log,msg:'gate'`])
    for (const mode of ["On", "DetectionOnly"]) {
      const r = same(
        `SecAction "id:1,phase:1,pass,nolog,setvar:tx.bad=evil"
SecRule TX:bad "@rx ." "id:2,phase:1,${gate},skipAfter:END"
SecRule ARGS "@rx ." "id:3,phase:1,pass,log,msg:'skipped'"
SecMarker END
SecRule ARGS:q "@streq %{tx.bad}" "id:4,phase:2,deny,log,msg:'bad'"`,
        ["q=evil", "q=good"],
        mode,
      );
      assert.equal(r.folded.merged, 1, `${gate} ${mode}`);
      const logged = gate.includes(",log") ? [2] : [];
      assert.deepEqual(r.hits, [[...logged, 4], logged], `${gate} ${mode}`);
    }
});

test("a decided step's later targets are read after the actions of the matches before them", () => {
  // TX:a matches and sets tx.b, so TX:b matches too and the setvar runs twice (evaluate.ts
  // step() selects each target when it gets to it). Judged on the state before the step, the
  // rule matched once and was merged with n=1: 3 never denied. The argument too is expanded
  // after them: in the second set the first match changes what TX:b is compared with.
  for (const [setup, step] of [
    [`setvar:tx.a=1`, `"@eq 1" "id:2,phase:1,pass,nolog,setvar:tx.b=1,setvar:tx.n=+1"`],
    [
      `setvar:tx.a=1,setvar:tx.b=2,setvar:tx.want=1`,
      `"@eq %{tx.want}" "id:2,phase:1,pass,nolog,setvar:tx.want=2,setvar:tx.n=+1"`,
    ],
  ] as const) {
    const text = `SecAction "id:1,phase:1,pass,nolog,${setup}"
SecRule TX:a|TX:b ${step}
SecRule TX:n "@ge 2" "id:3,phase:1,deny,log,msg:'twice'"`;
    assert.deepEqual(same(text, ["q=x"], "On").hits, [[3]], step);
  }
});

// Constant macro arguments (fold.ts premise 8): `!@within %{tx.allowed_methods}` is compiled with
// the value crs-setup gave tx.allowed_methods when nothing can change it before the rule, so the
// memo (memo.ts) may pass the rule over. Each rule set runs folded and through the plain
// interpreter on the same requests, logs compared whole; each test also says whether the argument
// may be put in, so that a substitution which ignored a per-request write, a ctl removal, a stop,
// the step's own setvar, a chain's earlier link or a non-ASCII value fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRules } from "../lang/parse.ts";
import { ops } from "../ops/index.ts";
import { compileRules } from "./compile.ts";
import type { Program } from "./index.ts";
import type { ProgramOptions, WafLog } from "./types.ts";
import { HEAD, memoPlan, ruleProgram, testConn } from "./program-testing.ts";

const conn = testConn("fold-args");

function program(text: string, options: Partial<ProgramOptions>): Program {
  return ruleProgram(text, "fold-args.conf", options);
}

/** run sends METHOD /?query through every phase (unless interrupted) and returns the log. */
function run(p: Program, request: string): WafLog {
  const [method, query] = request.split(" ") as [string, string];
  const tx = p.newTransaction(conn);
  let r = tx.requestHeaders({ method, uri: `/?${query}`, protocol: "HTTP/1.1", headers: [["Host", "x"]] });
  if (!r.interruption) r = tx.requestBody(Buffer.alloc(0), false);
  if (!r.interruption) tx.responseHeaders({ status: 200, protocol: "HTTP/1.1", headers: [] });
  const { elapsedMs: _, ...log } = tx.logging();
  return log as WafLog;
}

/** same runs each request folded (twice: the memo cold, then warm) and plain, requires the same
 * logs, and returns the number of arguments put in and each request's hit rule ids. */
function same(text: string, requests: string[]): { specialised: number; hits: number[][] } {
  const folded = program(text, {});
  const plain = program(text, { plain: true });
  const hits: number[][] = [];
  for (const q of [...requests, ...requests]) {
    const got = run(folded, q);
    assert.deepEqual(got, run(plain, q), q);
    hits.push(got.hits.map((h) => h.ruleId));
  }
  return { specialised: folded.folded?.specialised ?? -1, hits: hits.slice(0, requests.length) };
}

/** memoised lists, per rule id, whether the folded program's memo plan may pass it over. */
function memoised(text: string): Map<number, boolean> {
  return memoPlan(text, "fold-args.conf", true);
}

const SETUP = `SecAction "id:1,phase:1,pass,nolog,setvar:'tx.allowed_methods=GET HEAD POST'"`;
const CHECK = `SecRule REQUEST_METHOD "!@within %{tx.allowed_methods}" "id:10,phase:1,deny,log,msg:'method %{REQUEST_METHOD}'"
SecRule ARGS "@gt %{tx.limit}" "id:11,phase:2,pass,log,msg:'over %{tx.limit}'"`;
const REQUESTS = ["GET q=1", "PUT q=1", "POST q=7", "DELETE m=PUT", "GET m=PUT&q=9", "HEAD set=1&q=12"];

test("crs-setup's constant in an operator's argument is put in, and the rule is memoised", () => {
  const text = `${SETUP}\nSecAction "id:2,phase:1,pass,nolog,setvar:tx.limit=8"\n${CHECK}`;
  const r = same(text, REQUESTS);
  assert.equal(r.specialised, 2);
  assert.deepEqual(r.hits, [[], [10], [], [10], [11], [11]]);
  const m = memoised(text);
  assert.equal(m.get(10), true);
  // Without folding the argument reads TX: never memoised.
  const plain = compileRules(parseRules(`${HEAD}${text}`, "fold-args.conf").set, ops, false, true);
  assert.ok(plain.phases[1]?.some((i) => i.kind === "rule" && i.id === 10));
  assert.equal(
    plain.memo[1]?.bits.some((b) => b >= 0),
    false,
  );
});

test("a custom rule that may change the value per request keeps the macro", () => {
  // From the request, and a constant written only when a rule matches: both may differ.
  // The first leaves tx.limit alone: 11's argument is still put in.
  for (const [write, n] of [
    [`SecRule ARGS:m "@rx ." "id:5,phase:1,pass,nolog,setvar:tx.allowed_methods=%{ARGS.m}"`, 1],
    [
      `SecRule ARGS:set "@rx ." "id:5,phase:1,pass,nolog,setvar:tx.allowed_methods=PUT,setvar:tx.limit=10"`,
      0,
    ],
  ] as const) {
    const text = `${SETUP}\nSecAction "id:2,phase:1,pass,nolog,setvar:tx.limit=8"\n${write}\n${CHECK}`;
    const r = same(text, REQUESTS);
    assert.equal(r.specialised, n, write);
    assert.equal(memoised(text).get(10), false);
  }
  const r = same(
    `${SETUP}\nSecRule ARGS:set "@rx ." "id:5,phase:1,pass,nolog,setvar:tx.allowed_methods=PUT"\n${CHECK}`,
    ["PUT set=1", "PUT q=1"],
  );
  // tx.limit is unset there: every argument is over "" (0).
  assert.deepEqual(r.hits, [[11], [10]]);
});

test("a ctl that may remove the rule setting the value keeps the macro", () => {
  const text = `SecRule ARGS:off "@rx ." "id:3,phase:1,pass,nolog,ctl:ruleRemoveById=4"
SecAction "id:4,phase:1,pass,nolog,setvar:'tx.allowed_methods=GET HEAD POST'"
${CHECK}`;
  const r = same(text, ["GET q=1", "GET off=1", "PUT q=1"]);
  // 11's: tx.limit is known unset (""), whatever rule 4 does.
  assert.equal(r.specialised, 1);
  assert.equal(memoised(text).get(10), false);
  // Removed: tx.allowed_methods is unset, "" holds no method (and every argument is over "").
  assert.deepEqual(r.hits, [[11], [10], [10]]);
});

test("a value set after a rule that may stop the phase is not put in the phases after", () => {
  const text = `SecAction "id:1,phase:1,pass,nolog,setvar:tx.limit=8"
SecRule ARGS:stop "@rx ." "id:3,phase:1,deny,log,msg:'stop'"
SecAction "id:4,phase:1,pass,nolog,setvar:tx.limit=100"
SecRule ARGS "@gt %{tx.limit}" "id:20,phase:5,pass,log,msg:'over %{tx.limit}'"`;
  const r = same(text, ["GET stop=50", "GET q=50", "GET q=500"]);
  assert.equal(r.specialised, 0);
  assert.deepEqual(r.hits, [[3, 20], [], [20]]);
});

test("a step whose own setvar changes the value between its values keeps the macro", () => {
  const text = `SecAction "id:1,phase:1,pass,nolog,setvar:tx.n=1"
SecRule ARGS "@streq %{tx.n}" "id:6,phase:1,pass,log,msg:'n',setvar:tx.n=+1"`;
  const r = same(text, ["GET a=1&b=2&c=3", "GET a=2"]);
  assert.equal(r.specialised, 0);
  assert.deepEqual(r.hits, [[6], []]);
});

test("a chain's later link sees the earlier links' writes: put in only when they cannot change it", () => {
  const text = `SecAction "id:1,phase:1,pass,nolog,setvar:tx.want=a,setvar:tx.other=b"
SecRule ARGS:x "@rx ." "id:7,phase:1,pass,log,msg:'x',setvar:tx.want=%{ARGS.x},chain"
  SecRule ARGS:y "@streq %{tx.want}" "t:none"
SecRule ARGS:x "@rx ." "id:8,phase:1,pass,log,msg:'x',setvar:tx.want=z,chain"
  SecRule ARGS:y "@streq %{tx.other}" "t:none"`;
  const r = same(text, ["GET x=q&y=q", "GET x=q&y=a", "GET x=q&y=b", "GET x=q&y=z"]);
  // 7's link reads what its first link wrote; 8's reads tx.other, which nothing writes.
  assert.equal(r.specialised, 1);
  assert.deepEqual(r.hits, [[7], [], [8], []]);
});

test("a non-ASCII value is left to the macro (TX holds text, a literal argument UTF-8 bytes)", () => {
  const text = `SecAction "id:1,phase:1,pass,nolog,setvar:tx.word=é"
SecRule ARGS "@streq %{tx.word}" "id:9,phase:1,pass,log,msg:'word'"`;
  const r = same(text, ["GET w=%C3%A9", "GET w=%E9"]);
  assert.equal(r.specialised, 0);
  assert.deepEqual(r.hits, [[], [9]]);
});

// compile-shape.test.ts: compile.ts oneShape — every compiled item (rule or marker) of a program
// has the same keys in the same order, and so does every step, whatever optional fields each
// rule has, folded or not: one object layout each for the evaluator's reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRules } from "../lang/parse.ts";
import { ops } from "../ops/index.ts";
import { compileRules } from "./compile.ts";

const RULES = `
SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=1,setvar:tx.b=2"
SecRule TX:a "@eq 1" "id:2,phase:1,pass,nolog,skipAfter:END"
SecRule ARGS "@rx evil" "id:3,phase:1,deny,msg:'evil %{MATCHED_VAR}',logdata:'x',severity:CRITICAL,tag:t,t:lowercase"
SecRule REQUEST_HEADERS:/^x-/ "@contains a" "id:4,phase:1,pass,log,chain,capture"
  SecRule TX:0 "@streq a" "setvar:tx.c=%{tx.0}"
SecMarker END
SecRule &ARGS "@gt 3" "id:5,phase:2,block,ctl:ruleRemoveTargetById=3;ARGS:q"
`;

test("compiled items share one key list, and so do their steps, folded or not", () => {
  for (const fold of [false, true]) {
    const parsed = parseRules(RULES, "shape.conf");
    assert.deepEqual(parsed.errors, []);
    const c = compileRules(parsed.set, ops, fold, true);
    assert.deepEqual(c.errors, []);
    const items = c.phases.flat();
    assert.ok(items.some((i) => i.kind === "marker"));
    const itemKeys = new Set(items.map((i) => Object.keys(i).join(",")));
    assert.equal(itemKeys.size, 1, [...itemKeys].join("\n"));
    const steps = items.flatMap((i) => (i.kind === "rule" ? i.steps : []));
    assert.ok(steps.length >= (fold ? 2 : 6), `${steps.length} steps`);
    const stepKeys = new Set(steps.map((s) => Object.keys(s).join(",")));
    assert.equal(stepKeys.size, 1, [...stepKeys].join("\n"));
  }
});

// program-testing.ts: what the engine's tests on the real operators and body processors share
// (fold-args.test.ts, memo.test.ts): a program compiled from rule text, the connection its
// transactions run on, and which rules a compiled memo plan passes over.
import assert from "node:assert/strict";
import { body } from "../body/index.ts";
import { parseRules } from "../lang/parse.ts";
import { ops } from "../ops/index.ts";
import { compileRules } from "./compile.ts";
import { compileProgram, type Program } from "./index.ts";
import type { ProgramOptions } from "./types.ts";

/** HEAD goes before every test's rules: request bodies read, the engine blocking. */
export const HEAD = "SecRequestBodyAccess On\nSecRuleEngine On\n";

/** testConn is the connection a test's transactions run on (id names the test). */
export function testConn(id: string) {
  return {
    id,
    clientAddress: "192.0.2.1",
    clientPort: 1,
    serverAddress: "127.0.0.1",
    serverPort: 80,
    now: 0,
  };
}

/** ruleProgram compiles HEAD and text (named file in errors) with the real ops and body processors. */
export function ruleProgram(text: string, file: string, options: Partial<ProgramOptions> = {}): Program {
  const rules = parseRules(`${HEAD}${text}`, file);
  assert.deepEqual(
    rules.errors.map((e) => e.message),
    [],
  );
  const r = compileProgram(rules.set, { budgetMs: 0, ...options }, { ops, body });
  assert.ok(r.program, r.errors.map((e) => e.message).join("; "));
  return r.program;
}

/** memoPlan lists, per rule id, whether the memo plan of HEAD and text (folded or not) passes it over. */
export function memoPlan(text: string, file: string, fold: boolean): Map<number, boolean> {
  const c = compileRules(parseRules(`${HEAD}${text}`, file).set, ops, fold, true);
  const out = new Map<number, boolean>();
  c.phases.forEach((items, p) =>
    items.forEach((item, i) => {
      if (item.kind === "rule") out.set(item.id, (c.memo[p]?.bits[i] ?? -1) >= 0);
    }),
  );
  return out;
}

import { test } from "node:test";
import assert from "node:assert/strict";
import { LangFault } from "./errors.ts";
import type { Variable } from "./model.ts";
import { parseVariables } from "./variables.ts";

const v = (collection: string, more: Partial<Variable> = {}): Variable => ({
  collection,
  count: false,
  exclude: false,
  ...more,
});
const name = (value: string) => ({ kind: "name" as const, value });

test("variables: collections, selectors, exclusions, counts, regex and XPath (table)", () => {
  const rows: [string, Variable[]][] = [
    ["ARGS", [v("ARGS")]],
    ["args|request_headers", [v("ARGS"), v("REQUEST_HEADERS")]],
    ["REQUEST_HEADERS:User-Agent", [v("REQUEST_HEADERS", { selector: name("User-Agent") })]],
    ["TX.anomaly_score", [v("TX", { selector: name("anomaly_score") })]],
    ["ARGS|!ARGS:password", [v("ARGS"), v("ARGS", { selector: name("password"), exclude: true })]],
    ["&TX:foo", [v("TX", { selector: name("foo"), count: true })]],
    ["&REQUEST_HEADERS", [v("REQUEST_HEADERS", { count: true })]],
    [
      "REQUEST_COOKIES:/^(?:a|b)$/|ARGS",
      [v("REQUEST_COOKIES", { selector: { kind: "regex", pattern: "^(?:a|b)$" } }), v("ARGS")],
    ],
    [
      "!REQUEST_COOKIES:/^_ga(?:_\\w+)?$/",
      [v("REQUEST_COOKIES", { selector: { kind: "regex", pattern: "^_ga(?:_\\w+)?$" }, exclude: true })],
    ],
    ["ARGS:'/^id\\/x$/'", [v("ARGS", { selector: { kind: "regex", pattern: "^id\\/x$" } })]],
    ["ARGS:'a b'", [v("ARGS", { selector: name("a b") })]],
    ["XML:/*", [v("XML", { selector: { kind: "xpath", value: "/*" } })]],
    ["XML://@*|ARGS", [v("XML", { selector: { kind: "xpath", value: "//@*" } }), v("ARGS")]],
    ["REQUEST_FILENAME", [v("REQUEST_FILENAME")]],
  ];
  for (const [text, want] of rows) assert.deepEqual(parseVariables(text), want, text);
});

test("variables: mistakes are faults with the offset of the culprit (table)", () => {
  const rows: [string, RegExp, number][] = [
    ["ARGS|REQEST_URI", /unknown variable REQEST_URI/, 5],
    ["ARGS,ARGS_NAMES", /unexpected ",ARGS_NAMES" after variable ARGS: separate variables with '\|'/, 4],
    ["REQUEST_URI:x", /REQUEST_URI holds one value and takes no selector/, 11],
    ["!ARGS", /!ARGS excludes nothing/, 0],
    ["ARGS:", /empty selector after ARGS:/, 5],
    ["ARGS:/abc", /regex selector without its closing '\/'/, 5],
    ["ARGS|", /expected a variable name/, 5],
    ["", /the rule names no variable/, 0],
    ["!&ARGS:a", /both excluded \(!\) and counted \(&\)/, 0],
  ];
  for (const [text, msg, offset] of rows) {
    assert.throws(
      () => parseVariables(text),
      (e: unknown) => e instanceof LangFault && msg.test(e.message) && e.offset === offset,
      text,
    );
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseJson } from "./json.ts";
import type { BodyLimits } from "./types.ts";

const limits: BodyLimits = { maxArgs: 1000, maxDepth: 512, fileContentBytes: 1 << 20 };

test("json: Coraza's names — json.a.b, arrays json.a.0 plus the array's length under its own name", () => {
  // The example of Coraza's readItems (internal/bodyprocessors/json.go).
  const r = parseJson('{"data": {"name": "John", "age": 30}, "items": [1,2,3]}', limits);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.args, [
    ["json.data.name", "John"],
    ["json.data.age", "30"],
    ["json.items.0", "1"],
    ["json.items.1", "2"],
    ["json.items.2", "3"],
    ["json.items", "3"],
  ]);
  assert.deepEqual(parseJson('[{"a": 1}, [true, null], {}, []]', limits).args, [
    ["json.0.a", "1"],
    ["json.1.0", "true"],
    ["json.1.1", ""],
    ["json.1", "2"],
    ["json", "4"],
  ]);
});

test("json: values — strings decoded to UTF-8 bytes, numbers as written, a top-level scalar", () => {
  const r = parseJson(
    '{"s":"a\\"b\\\\\\/\\n\\u00e9\\ud83d\\ude00\\ud800x","n":-1.5e+3,"f":false,"raw":"\xc3\xa9"}',
    limits,
  );
  assert.deepEqual(r.args, [
    ["json.s", 'a"b\\/\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx'],
    ["json.n", "-1.5e+3"],
    ["json.f", "false"],
    ["json.raw", "\xc3\xa9"],
  ]);
  assert.deepEqual(parseJson(' "x" ', limits).args, [
    ["json.0", "x"],
    ["json", "1"],
  ]);
  assert.deepEqual(parseJson(" null ", limits), { args: [], files: [], flags: {} });
  assert.match(parseJson("null x", limits).error!, /data after the document/);
  assert.deepEqual(parseJson('{"a":1,"a":2}', limits).args, [
    ["json.a", "1"],
    ["json.a", "2"],
  ]);
  assert.deepEqual(parseJson("  ", limits), { args: [], files: [], flags: {} });
});

test("json: malformed input is an error that keeps what was parsed", () => {
  const rows: [string, RegExp, number][] = [
    ['{"a":"1","b":', /unexpected end/, 1],
    ['{"a":"1" "b":2}', /expected , or \}/, 1],
    ['{"a":"1"}x', /data after the document/, 1],
    ['{"a":"\\x"}', /invalid escape/, 0],
    ['{"a":"\\u12"}', /invalid \\u escape/, 0],
    ['{"a":"x\ny"}', /control character/, 0],
    ['{"a":01}', /expected , or \}/, 1],
    ["{'a':1}", /expected a member name/, 0],
    ['{"a":[1,2}', /expected , or \]/, 2],
    ['{"a":"unterminated', /unterminated string/, 0],
    ["[tru]", /unexpected character/, 0],
  ];
  for (const [text, message, kept] of rows) {
    const r = parseJson(text, limits);
    assert.match(r.error ?? "", message, text);
    assert.match(r.error ?? "", /^JSON: .* at byte \d+$/, text);
    assert.equal(r.args.length, kept, text);
  }
});

test("json: depth and argument limits", () => {
  const deep = "[".repeat(10) + "]".repeat(10);
  assert.equal(parseJson(deep, { ...limits, maxDepth: 10 }).error, undefined);
  assert.match(parseJson(deep, { ...limits, maxDepth: 9 }).error!, /depth limit 9 exceeded/);
  const r = parseJson("[1,2,3,4]", { ...limits, maxArgs: 3 });
  assert.match(r.error!, /more than 3 arguments/);
  assert.equal(r.args.length, 3);
});

test("json: hostile — a million nested arrays is refused at the depth limit, no stack overflow", () => {
  const r = parseJson("[".repeat(1_000_000), { ...limits, maxDepth: 1_000_000 });
  assert.match(r.error!, /unexpected end/);
  const limited = parseJson('{"a":'.repeat(100_000) + "1" + "}".repeat(100_000), limits);
  assert.match(limited.error!, /depth limit 512 exceeded/);
  // 200k members and a long string with many escapes: linear (measured ~0.3 s).
  let t = performance.now();
  const wide = parseJson(`{${Array.from({ length: 200_000 }, (_, i) => `"k${i}":"v"`).join(",")}}`, {
    ...limits,
    maxArgs: 1e6,
  });
  assert.equal(wide.args.length, 200_000);
  assert.equal(parseJson(`["${"\\n".repeat(1_000_000)}"]`, limits).args[0]![1].length, 1_000_000);
  t = performance.now() - t;
  assert.ok(t < 20_000, `${t} ms`);
});

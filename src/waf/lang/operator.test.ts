import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LangFault } from "./errors.ts";
import { parseTemplate } from "./macro.ts";
import type { Operator } from "./model.ts";
import { parseOperator } from "./operator.ts";

const noFiles = { dir: "/nonexistent", read: () => {} };

test("operators: names, negation, default @rx and argument shapes (table)", () => {
  const rows: [string, Omit<Operator, "raw"> & { raw?: string }][] = [
    ["^/admin", { name: "rx", negated: false, arg: { kind: "regex", pattern: "^/admin" } }],
    ["!^/admin", { name: "rx", negated: true, arg: { kind: "regex", pattern: "^/admin" } }],
    ["@rx (?i)a b ", { name: "rx", negated: false, arg: { kind: "regex", pattern: "(?i)a b " } }],
    ["@rx  lead", { name: "rx", negated: false, arg: { kind: "regex", pattern: " lead" } }],
    ["!@rx ^$", { name: "rx", negated: true, arg: { kind: "regex", pattern: "^$" } }],
    ["@RX x", { name: "rx", negated: false, arg: { kind: "regex", pattern: "x" } }],
    ["@detectSQLi", { name: "detectSQLi", negated: false, arg: { kind: "none" } }],
    ["@detectXSS", { name: "detectXSS", negated: false, arg: { kind: "none" } }],
    ["@unconditionalMatch", { name: "unconditionalMatch", negated: false, arg: { kind: "none" } }],
    ["@validateUrlEncoding", { name: "validateUrlEncoding", negated: false, arg: { kind: "none" } }],
    ["@validateUtf8Encoding", { name: "validateUtf8Encoding", negated: false, arg: { kind: "none" } }],
    ["@eq 0", { name: "eq", negated: false, arg: { kind: "number", value: 0 } }],
    ["!@eq 1", { name: "eq", negated: true, arg: { kind: "number", value: 1 } }],
    [
      "@ge %{tx.inbound_anomaly_score_threshold}",
      {
        name: "ge",
        negated: false,
        arg: { kind: "template", template: parseTemplate("%{tx.inbound_anomaly_score_threshold}") },
      },
    ],
    ["@lt 2", { name: "lt", negated: false, arg: { kind: "number", value: 2 } }],
    ["@gt 100", { name: "gt", negated: false, arg: { kind: "number", value: 100 } }],
    ["@le 5", { name: "le", negated: false, arg: { kind: "number", value: 5 } }],
    [
      "@streq POST",
      { name: "streq", negated: false, arg: { kind: "template", template: parseTemplate("POST") } },
    ],
    [
      "!@within %{tx.allowed_methods}",
      {
        name: "within",
        negated: true,
        arg: { kind: "template", template: parseTemplate("%{tx.allowed_methods}") },
      },
    ],
    [
      "@beginsWith /a",
      { name: "beginsWith", negated: false, arg: { kind: "template", template: parseTemplate("/a") } },
    ],
    [
      "@endsWith .php",
      { name: "endsWith", negated: false, arg: { kind: "template", template: parseTemplate(".php") } },
    ],
    [
      "@contains select",
      { name: "contains", negated: false, arg: { kind: "template", template: parseTemplate("select") } },
    ],
    ["@pm  a  b c", { name: "pm", negated: false, arg: { kind: "phrases", phrases: ["a", "b", "c"] } }],
    [
      "@ipMatch 127.0.0.1,::1, 10.0.0.0/8",
      { name: "ipMatch", negated: false, arg: { kind: "ips", ips: ["127.0.0.1", "::1", "10.0.0.0/8"] } },
    ],
    [
      "@validateByteRange 1-255",
      { name: "validateByteRange", negated: false, arg: { kind: "byteRanges", ranges: [[1, 255]] } },
    ],
    [
      "@validateByteRange 9,10, 32-126",
      {
        name: "validateByteRange",
        negated: false,
        arg: {
          kind: "byteRanges",
          ranges: [
            [9, 9],
            [10, 10],
            [32, 126],
          ],
        },
      },
    ],
  ];
  for (const [text, want] of rows) {
    const got = parseOperator(text, noFiles);
    const { raw: _raw, ...rest } = got;
    assert.deepEqual(rest, want, text);
  }
});

test("operators: @pmFromFile / @ipMatchFromFile read files relative to the rule file", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "waflang-op-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "words.data"), "# comment\nalpha\n\n  beta gamma  \r\n#x\n");
  writeFileSync(join(dir, "sub", "more.data"), "delta\n");
  writeFileSync(join(dir, "ips.data"), "192.0.2.0/24\n2001:db8::1\n");
  writeFileSync(join(dir, "bad-ips.data"), "192.0.2.0/24\nnot-an-ip\n");
  const read: string[] = [];
  const ctx = { dir, read: (p: string) => read.push(p) };
  assert.deepEqual(parseOperator("@pmFromFile words.data sub/more.data", ctx).arg, {
    kind: "phrases",
    phrases: ["alpha", "beta gamma", "delta"],
    files: [join(dir, "words.data"), join(dir, "sub", "more.data")],
  });
  assert.deepEqual(parseOperator("@pmf words.data", ctx).name, "pmFromFile");
  assert.deepEqual(parseOperator("@ipMatchFromFile ips.data", ctx).arg, {
    kind: "ips",
    ips: ["192.0.2.0/24", "2001:db8::1"],
    files: [join(dir, "ips.data")],
  });
  assert.equal(read.length, 4);
  assert.throws(
    () => parseOperator("@pmFromFile missing.data", ctx),
    /cannot read data file .*missing\.data/,
  );
  assert.throws(
    () => parseOperator("@ipMatchFromFile bad-ips.data", ctx),
    /"not-an-ip" in .*bad-ips\.data is not an address/,
  );
  assert.throws(
    () => parseOperator("@pmFromFile https://example.com/x.data", ctx),
    /data files are not downloaded/,
  );
});

test("operators: mistakes are faults (table)", () => {
  const rows: [string, RegExp][] = [
    ["@rxx a", /unknown operator @rxx/],
    ["@detectSQLi x", /@detectSQLi takes no argument/],
    ["@eq abc", /@eq compares numbers: expected an integer or a %\{macro\}, got "abc"/],
    ["@pm ", /@pm needs at least one phrase/],
    ["@ipMatch 300.1.1.1", /"300.1.1.1" is not an address/],
    ["@ipMatch 10.0.0.0/33", /"10.0.0.0\/33" is not an address/],
    ["@validateByteRange 1-300", /"1-300" is not a byte/],
    ["@validateByteRange 9-1", /"9-1" is not a byte/],
    ["@rx/a/", /put a space between @rx and its argument/],
    ["@within %{nosuch}", /macro %\{nosuch\} names no known variable/],
  ];
  for (const [text, msg] of rows) {
    assert.throws(
      () => parseOperator(text, noFiles),
      (e: unknown) => e instanceof LangFault && msg.test(e.message),
      text,
    );
  }
});

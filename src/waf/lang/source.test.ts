import { test } from "node:test";
import assert from "node:assert/strict";
import { lineAt, logicalLines } from "./source.ts";

test("logical lines: continuation, comments, blank lines, CRLF (table)", () => {
  const rows: { name: string; text: string; want: [number, string][] }[] = [
    {
      name: "one directive a line",
      text: "SecRuleEngine On\nSecMarker A\n",
      want: [
        [1, "SecRuleEngine On"],
        [2, "SecMarker A"],
      ],
    },
    {
      name: "backslash-newline joins, next line's indentation dropped",
      text: 'SecAction \\\n    "id:1,\\\n    pass"',
      want: [[1, 'SecAction "id:1,pass"']],
    },
    { name: "text before the backslash is kept", text: "SecMarker a\\\n  b", want: [[1, "SecMarker ab"]] },
    {
      name: "comments, indented comments and blank lines are skipped",
      text: "# c1\n   # c2\n\nSecMarker A\n\t\n",
      want: [[4, "SecMarker A"]],
    },
    {
      name: "a comment ending in a backslash before another comment is fine",
      text: '#SecAction \\\n#  "id:1"\nSecMarker B',
      want: [[3, "SecMarker B"]],
    },
    {
      name: "a blank line ends a continued directive",
      text: "SecMarker A \\\n\nSecMarker B",
      want: [
        [1, "SecMarker A"],
        [3, "SecMarker B"],
      ],
    },
    {
      name: "CRLF line ends",
      text: "SecMarker A \\\r\n  B\r\nSecMarker C\r\n",
      want: [
        [1, "SecMarker A B"],
        [3, "SecMarker C"],
      ],
    },
    { name: "leading and trailing spaces trimmed", text: "   SecMarker A   ", want: [[1, "SecMarker A"]] },
    { name: "a byte order mark is dropped", text: "\uFEFFSecMarker A", want: [[1, "SecMarker A"]] },
  ];
  for (const r of rows) {
    const { lines, errors } = logicalLines(r.text, "t.conf");
    assert.deepEqual(errors, [], r.name);
    assert.deepEqual(
      lines.map((l) => [l.line, l.text]),
      r.want,
      r.name,
    );
  }
});

test("logical lines: ambiguous continuations are errors naming file:line (table)", () => {
  const rows: { text: string; line: number; match: RegExp }[] = [
    {
      text: '# SecAction \\\nSecAction "id:1"',
      line: 1,
      match: /comment ends with '\\' and line 2 is not a comment/,
    },
    {
      text: 'SecAction \\\n  # note\n  "id:1"',
      line: 2,
      match: /comment line inside a directive continued from line 1/,
    },
    { text: 'SecAction \\  \n"id:1"', line: 1, match: /spaces after the '\\'/ },
  ];
  for (const r of rows) {
    const { errors } = logicalLines(r.text, "dir/x.conf");
    assert.equal(errors.length, 1, r.text);
    assert.equal(errors[0]?.line, r.line, r.text);
    assert.match(errors[0]?.message ?? "", new RegExp(`^dir/x\\.conf:${r.line}: `));
    assert.match(errors[0]?.message ?? "", r.match);
    assert.equal(errors[0]?.code, "WAF_LANG_SYNTAX");
  }
});

test("lineAt maps an offset in a joined directive back to its physical line", () => {
  const { lines } = logicalLines('\nSecRule ARGS "@rx a" \\\n  "id:1,\\\n   phase:9"', "t.conf");
  const l = lines[0]!;
  assert.equal(l.line, 2);
  assert.equal(lineAt(l, 0), 2);
  assert.equal(lineAt(l, l.text.indexOf("id:1")), 3);
  assert.equal(lineAt(l, l.text.indexOf("phase:9")), 4);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { FILE_LIMIT, parseMultipart } from "./multipart.ts";
import type { BodyLimits, BodyResult } from "./types.ts";

const limits: BodyLimits = { maxArgs: 1000, maxDepth: 512, fileContentBytes: 1 << 20 };
const CT = "multipart/form-data; boundary=XyZ";

/** form builds a body from parts (header lines, data) joined by eol. */
function form(parts: [string[], string][], eol = "\r\n", boundary = "XyZ"): string {
  let out = "";
  for (const [headers, data] of parts)
    out += `--${boundary}${eol}${headers.map((h) => h + eol).join("")}${eol}${data}${eol}`;
  return out + `--${boundary}--${eol}`;
}
const field = (name: string, value: string): [string[], string] => [
  [`Content-Disposition: form-data; name="${name}"`],
  value,
];

/** set lists the MULTIPART_* flags that are "1". */
const set = (r: BodyResult) =>
  Object.entries(r.flags)
    .filter(([k, v]) => k.startsWith("MULTIPART_") && v === "1")
    .map(([k]) => k)
    .sort();

test("multipart: fields, a file, part headers and names; a clean body sets no flag", () => {
  const body = form([
    field("a", "1"),
    field("b", "two\r\nlines"),
    [
      ['Content-Disposition: form-data; name="up"; filename="x.php"', "Content-Type: text/plain"],
      "<?php\r\n",
    ],
    field("_charset_", "utf-8"),
  ]);
  const r = parseMultipart(body, CT, limits);
  assert.equal(r.error, undefined);
  assert.deepEqual(set(r), []);
  assert.deepEqual(r.args, [
    ["a", "1"],
    ["b", "two\r\nlines"],
    ["_charset_", "utf-8"],
  ]);
  assert.deepEqual(r.files, [{ field: "up", filename: "x.php", size: 7, content: "<?php\r\n" }]);
  assert.deepEqual(r.multipartNames, ["a", "b", "up", "_charset_"]);
  assert.deepEqual(r.multipartFilenames, ["x.php"]);
  assert.deepEqual(r.partHeaders, [
    ["a", 'Content-Disposition: form-data; name="a"'],
    ["b", 'Content-Disposition: form-data; name="b"'],
    ["up", 'Content-Disposition: form-data; name="up"; filename="x.php"'],
    ["up", "Content-Type: text/plain"],
    ["_charset_", 'Content-Disposition: form-data; name="_charset_"'],
  ]);
  assert.equal(r.flags.FILES_COMBINED_SIZE, "7");
  assert.equal(r.flags.MULTIPART_STRICT_ERROR, "0");
});

test("multipart: line endings — LF only sets LF_LINE; mixed sets CRLF_LF_LINES too; both are strict errors", () => {
  const lf = parseMultipart(form([field("a", "1")], "\n"), CT, limits);
  assert.equal(lf.error, undefined);
  assert.deepEqual(lf.args, [["a", "1"]]);
  assert.deepEqual(set(lf), ["MULTIPART_LF_LINE", "MULTIPART_STRICT_ERROR"]);
  const mixed = '--XyZ\r\nContent-Disposition: form-data; name="a"\n\r\n1\r\n--XyZ--\r\n';
  assert.deepEqual(set(parseMultipart(mixed, CT, limits)), [
    "MULTIPART_CRLF_LF_LINES",
    "MULTIPART_LF_LINE",
    "MULTIPART_STRICT_ERROR",
  ]);
});

test("multipart: Content-Type flags — quoted boundary, whitespace, missing semicolon", () => {
  const body = form([field("a", "1")]);
  const rows: [string, string[]][] = [
    ['multipart/form-data; boundary="XyZ"', ["MULTIPART_BOUNDARY_QUOTED"]],
    ["multipart/form-data; boundary =XyZ", ["MULTIPART_BOUNDARY_WHITESPACE"]],
    ["multipart/form-data boundary=XyZ", ["MULTIPART_MISSING_SEMICOLON"]],
    ["Multipart/Form-Data;boundary=XyZ", []],
  ];
  for (const [ct, flags] of rows) {
    const r = parseMultipart(body, ct, limits);
    assert.equal(r.error, undefined, ct);
    assert.deepEqual(r.args, [["a", "1"]], ct);
    assert.deepEqual(set(r), flags.length > 0 ? [...flags, "MULTIPART_STRICT_ERROR"] : [], ct);
  }
  // "boundary= x": the value keeps its leading space (ModSecurity), flagged.
  const spaced = parseMultipart(
    form([field("a", "1")], "\r\n", " x"),
    "multipart/form-data; boundary= x",
    limits,
  );
  assert.deepEqual(spaced.args, [["a", "1"]]);
  assert.equal(spaced.flags.MULTIPART_BOUNDARY_WHITESPACE, "1");
});

test("multipart: Content-Type errors, with ModSecurity's messages", () => {
  const rows: [string, string][] = [
    ["", "Multipart: Content-Type header not available."],
    ["multipart/form-data; boundary=" + "a".repeat(1100), "Multipart: Invalid boundary in C-T (length)."],
    ["multipart/related; boundary=XyZ", "Multipart: Invalid MIME type."],
    ["multipart/form-data; boundary=a; boundary=b", "Multipart: Multiple boundary parameters in C-T."],
    ["multipart/form-data; BOUNDARY=XyZ", "Multipart: Invalid boundary in C-T (case sensitivity)."],
    ["multipart/form-data", "Multipart: Boundary not found in C-T."],
    ["multipart/form-data; charset=utf-8; boundary=XyZ", "Multipart: Invalid boundary in C-T (malformed)."],
    ["multipart/form-data; boundary", "Multipart: Invalid boundary in C-T (malformed)."],
    ["multipart/form-data; boundaryx=XyZ", "Multipart: Invalid boundary in C-T (parameter name)."],
    ['multipart/form-data; boundary="XyZ', "Multipart: Invalid boundary in C-T (quote)."],
    ["multipart/form-data; boundary=", "Multipart: Invalid boundary in C-T (empty)."],
    ["multipart/form-data; boundary=XyZ; charset=utf-8", "Multipart: Invalid boundary in C-T (characters)."],
    ["multipart/form-data; boundary=a\x00b", "Multipart: Invalid boundary in C-T (characters)."],
    ["multipart/form-data; boundary=x ", "Multipart: Invalid boundary in C-T (characters)."],
  ];
  for (const [ct, message] of rows) {
    const r = parseMultipart(form([field("a", "1")]), ct, limits);
    assert.equal(r.error, message, ct);
    assert.equal(r.flags.MULTIPART_STRICT_ERROR, "1", ct);
    assert.deepEqual(r.args, [], ct);
  }
});

test("multipart: data before the first boundary and after the last", () => {
  const body = form([field("a", "1")]);
  const before = parseMultipart("preamble\r\n" + body, CT, limits);
  assert.deepEqual(set(before), ["MULTIPART_DATA_BEFORE", "MULTIPART_STRICT_ERROR"]);
  assert.deepEqual(before.args, [["a", "1"]]);
  const after = parseMultipart(body + "epilogue", CT, limits);
  assert.deepEqual(set(after), ["MULTIPART_DATA_AFTER", "MULTIPART_STRICT_ERROR"]);
  // Even a lone CRLF after the final boundary line counts (ModSecurity: any byte left).
  assert.equal(parseMultipart(body + "\r\n", CT, limits).flags.MULTIPART_DATA_AFTER, "1");
  // The final boundary may end the body without a line break.
  const bare = parseMultipart(body.slice(0, -2), CT, limits);
  assert.equal(bare.error, undefined);
  assert.deepEqual(set(bare), []);
});

test("multipart: header folding (SP/HTAB fine but flagged; other whitespace is invalid folding)", () => {
  const folded = '--XyZ\r\nContent-Disposition: form-data;\r\n name="a"\r\n\r\n1\r\n--XyZ--\r\n';
  const r = parseMultipart(folded, CT, limits);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.args, [["a", "1"]]);
  assert.deepEqual(set(r), ["MULTIPART_HEADER_FOLDING", "MULTIPART_STRICT_ERROR"]);
  const vt = parseMultipart(folded.replace('\r\n name="a"', '\r\n\x0bname="a"'), CT, limits);
  assert.deepEqual(set(vt), [
    "MULTIPART_HEADER_FOLDING",
    "MULTIPART_INVALID_HEADER_FOLDING",
    "MULTIPART_STRICT_ERROR",
  ]);
  const orphan = parseMultipart("--XyZ\r\n folded\r\n\r\n1\r\n--XyZ--\r\n", CT, limits);
  assert.equal(orphan.error, "Multipart: Invalid part header (folding error).");
});

test("multipart: invalid quoting — single quotes, a quote in a name, junk after a quoted value", () => {
  for (const cd of ["form-data; name='a'", `form-data; name="a'b"`, `form-data; name=a'`]) {
    const r = parseMultipart(form([[[`Content-Disposition: ${cd}`], "1"]]), CT, limits);
    assert.equal(r.flags.MULTIPART_INVALID_QUOTING, "1", cd);
    assert.equal(r.flags.MULTIPART_STRICT_ERROR, "1", cd);
  }
  const junk = parseMultipart(form([[['Content-Disposition: form-data; name="a"x'], "1"]]), CT, limits);
  assert.equal(junk.flags.MULTIPART_INVALID_QUOTING, "1");
  assert.match(junk.error!, /^Multipart: Invalid Content-Disposition header \(-12\)/);
  // Escaped quotes inside a quoted value are unescaped; other backslashes stay.
  const esc = parseMultipart(
    form([[['Content-Disposition: form-data; name="a\\"b\\\\c\\d"'], "1"]]),
    CT,
    limits,
  );
  assert.deepEqual(esc.args, [['a"b\\c\\d', "1"]]);
});

test("multipart: a part whose headers never end is an invalid part (skipped); unmatched boundaries", () => {
  const r = parseMultipart(
    '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n--XyZ\r\n' + form([field("b", "2")]).slice(7),
    CT,
    limits,
  );
  assert.equal(r.error, undefined);
  assert.deepEqual(r.args, [["b", "2"]]);
  assert.deepEqual(set(r), ["MULTIPART_INVALID_PART", "MULTIPART_STRICT_ERROR"]);
  // A line that looks like another boundary, or holds ours in the middle: unmatched, not strict.
  const u = parseMultipart(form([field("a", "--other\r\nx--XyZ")]), CT, limits);
  assert.equal(u.error, undefined);
  assert.deepEqual(u.args, [["a", "--other\r\nx--XyZ"]]);
  assert.deepEqual(set(u), ["MULTIPART_UNMATCHED_BOUNDARY"]);
});

test("multipart: structural errors stop the parse and keep the parts finished before", () => {
  const ok = form([field("a", "1")]).replace("--XyZ--\r\n", "");
  const rows: [string, string][] = [
    [
      "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--\r\n",
      "Multipart: Part missing Content-Disposition header.",
    ],
    [
      "--XyZ\r\nContent-Disposition: attachment\r\n\r\nx\r\n--XyZ--\r\n",
      "Multipart: Invalid Content-Disposition header (-1): attachment",
    ],
    [
      "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n",
      "Multipart: Content-Disposition header missing name field.",
    ],
    [
      '--XyZ\r\nContent-Disposition: form-data; name="b"; foo="x"\r\n\r\nx\r\n--XyZ--\r\n',
      'Multipart: Invalid Content-Disposition header (-11): form-data; name="b"; foo="x"',
    ],
    [
      '--XyZ\r\nContent-Disposition: form-data; name="b"; name="c"\r\n\r\nx\r\n--XyZ--\r\n',
      'Multipart: Invalid Content-Disposition header (-14): form-data; name="b"; name="c"',
    ],
    [
      '--XyZ\r\nContent-Disposition: form-data; name="b"; filename = "f"\r\n\r\nx\r\n--XyZ--\r\n',
      "Multipart: Invalid Content-Disposition header (filename).",
    ],
    [
      "--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--\r\n",
      "Multipart: Invalid part header (colon missing): no colon here",
    ],
    ["--XyZ\r\n: v\r\n\r\nx\r\n--XyZ--\r\n", "Multipart: Invalid part header (header name missing)."],
    [
      '--XyZ\r\nContent-Disposition: form-data; name="b"\r\ncontent-disposition: form-data; name="c"\r\n\r\nx\r\n--XyZ--\r\n',
      "Multipart: Duplicate part header: content-disposition.",
    ],
    [
      '--XyZ\r\nContent-Disposition: form-data; name="b"\r\nX: a\x00b\r\n\r\nx\r\n--XyZ--\r\n',
      "Multipart: Nul byte in part headers.",
    ],
    [
      '--XyZ\r\nContent-Disposition: form-data; name="b"\r\nX: ' +
        "a".repeat(5000) +
        "\r\n\r\nx\r\n--XyZ--\r\n",
      "Multipart: Part header line over 4096 bytes long",
    ],
    ["--XyZjunk\r\n", "Multipart: Invalid boundary: --XyZjunk"],
    ["--XyZ \r\n", "Multipart: Invalid boundary: --XyZ "],
    ["-- XyZ\r\n", "Multipart: Invalid boundary (whitespace)."],
  ];
  for (const [rest, message] of rows) {
    const r = parseMultipart(ok + rest, CT, limits);
    assert.equal(r.error, message, rest.slice(0, 60));
    assert.deepEqual(r.args, [["a", "1"]], rest.slice(0, 60));
    assert.equal(r.flags.MULTIPART_STRICT_ERROR, "1");
  }
  const quoted = parseMultipart('--"XyZ"\r\n', 'multipart/form-data; boundary="XyZ"', limits);
  assert.equal(quoted.error, "Multipart: Invalid boundary (quotes).");
});

test("multipart: a missing final boundary is an error, but the unterminated part is still reported", () => {
  const r = parseMultipart(
    '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1 union select',
    CT,
    limits,
  );
  assert.equal(r.error, "Multipart: Final boundary missing.");
  assert.deepEqual(r.args, [["a", "1 union select"]]);
  const f = parseMultipart(
    '--XyZ\r\nContent-Disposition: form-data; name="a"; filename="x"\r\n\r\n<?php\r\n',
    CT,
    limits,
  );
  assert.deepEqual(f.files, [{ field: "a", filename: "x", size: 5, content: "<?php" }]);
  assert.equal(
    parseMultipart("no boundary at all", CT, limits).error,
    "Multipart: No boundaries found in payload.",
  );
  assert.equal(parseMultipart("", CT, limits).error, undefined);
});

test("multipart: limits — file content kept up to fileContentBytes, the file limit, SecArgumentsLimit", () => {
  const file = (i: number): [string[], string] => [
    [`Content-Disposition: form-data; name="f${i}"; filename="f${i}.txt"`],
    "abcdef",
  ];
  const small = parseMultipart(form([file(0)]), CT, { ...limits, fileContentBytes: 4 });
  assert.deepEqual(small.files, [{ field: "f0", filename: "f0.txt", size: 6, content: "abcd" }]);
  const many = parseMultipart(form(Array.from({ length: FILE_LIMIT + 1 }, (_, i) => file(i))), CT, limits);
  assert.equal(many.files.length, FILE_LIMIT + 1);
  assert.equal(many.files[FILE_LIMIT]!.content, "");
  assert.equal(many.files[FILE_LIMIT]!.size, 6);
  assert.equal(many.flags.MULTIPART_FILE_LIMIT_EXCEEDED, "1");
  assert.equal(many.flags.MULTIPART_STRICT_ERROR, "1");
  assert.equal(many.flags.FILES_COMBINED_SIZE, String(6 * (FILE_LIMIT + 1)));
  const args = parseMultipart(form([field("a", "1"), field("b", "2"), field("c", "3")]), CT, {
    ...limits,
    maxArgs: 2,
  });
  assert.equal(args.error, "Multipart: more than 2 arguments (SecArgumentsLimit)");
  assert.deepEqual(args.args, [
    ["a", "1"],
    ["b", "2"],
  ]);
});

test("multipart: part header names are kept as sent (922130 looks for bytes outside 0x21-0x7E)", () => {
  const r = parseMultipart(
    form([[['Content-Disposition: form-data; name="a"', "C\xf6ntent-Type: text/plain"], "1"]]),
    CT,
    limits,
  );
  assert.deepEqual(r.partHeaders![1], ["a", "C\xf6ntent-Type: text/plain"]);
});

test("multipart: hostile sizes — 200k short lines, one 8 MB line, a 70-char boundary — stay linear", () => {
  const b = "-".repeat(40) + "x".repeat(30);
  const ct = `multipart/form-data; boundary=${b}`;
  let t = performance.now();
  const lines = form(
    [field("a", "l\r\n".repeat(200_000) + "end"), field("b", "y".repeat(8 << 20))],
    "\r\n",
    b,
  );
  const r = parseMultipart(lines, ct, limits);
  t = performance.now() - t;
  assert.equal(r.error, undefined);
  assert.equal(r.args[0]![1].length, 600_003);
  assert.equal(r.args[1]![1].length, 8 << 20);
  // Generous bound: measured well under a second; quadratic scanning would take minutes.
  assert.ok(t < 20_000, `${t} ms`);
  // Many parts whose header lines never end (each is an invalid part), no quadratic rescans.
  const junk = ("--" + b + "\r\nX: y\r\n").repeat(50_000) + "--" + b + "--\r\n";
  const j = parseMultipart(junk, ct, limits);
  assert.equal(j.flags.MULTIPART_INVALID_PART, "1");
});

// transformations.test.ts: each transformation against vectors from ModSecurity's regression
// suite (test/test-cases/secrules-language-tests/transformations, also in Coraza's testdata) and
// the ModSecurity reference manual, written as binary strings ("\xNN" is the byte NN).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { TRANSFORMATIONS } from "../lang/names.ts";
import { ops } from "./index.ts";

function t(name: string, input: string): string {
  const f = ops.transformation(name);
  assert.ok(f, `transformation ${name} exists`);
  return f(input);
}

type Vector = [input: string, output: string];

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
const pct = (from: number, to: number, prefix = "%") =>
  Array.from({ length: to - from + 1 }, (_, i) => prefix + (from + i).toString(16).padStart(2, "0")).join("");

const VECTORS: Record<string, Vector[]> = {
  lowercase: [
    ["", ""],
    ["TestCase", "testcase"],
    ["Test\0Case", "test\0case"],
    // Bytes, not Latin-1 letters: À (0xC0) stays; a UTF-8 "É" (c3 89) stays as bytes.
    ["\xc0AB\xc3\x89", "\xc0ab\xc3\x89"],
  ],
  uppercase: [
    ["TestCase", "TESTCASE"],
    ["\xe0ab\xb5\xff", "\xe0AB\xb5\xff"],
  ],
  trim: [
    ["    Test   Case    ", "Test   Case"],
    [" \t   Test \0 Case \t  \t   \r\n  ", "Test \0 Case"],
    ["\xa0x\xa0", "\xa0x\xa0"],
  ],
  trimLeft: [[" \t   Test \0 Case \t  \t   \r\n  ", "Test \0 Case \t  \t   \r\n  "]],
  trimRight: [[" \t   Test12 \0 Case \t  \t   \r\n  ", " \t   Test12 \0 Case"]],
  compressWhitespace: [
    ["  Test  \t   Case  ", " Test Case "],
    [
      "This is a   test case with a tab \t, vtab \x0b, newline \n, return \r, formfeed \x0c, and a NUL\0 in it with a CRLF at the end.\r\n",
      "This is a test case with a tab , vtab , newline , return , formfeed , and a NUL\0 in it with a CRLF at the end. ",
    ],
    ["a\xa0\xa0b", "a b"],
    // UTF-8: C2 A0 is NBSP; the A0 of "à" (C3 A0) or "†" (E2 80 A0) is part of a character.
    ["a\xc2\xa0 b", "a b"],
    ["voil\xc3\xa0 \xe2\x80\xa0", "voil\xc3\xa0 \xe2\x80\xa0"],
  ],
  removeWhitespace: [
    ["  Test  \t   Case  ", "TestCase"],
    ["a \xa0b\x0b\x0c\r\nc", "abc"],
    ["\xc3\xa0 \xc2\xa0x", "\xc3\xa0x"],
  ],
  removeNulls: [["\0Test\0Case\0", "TestCase"]],
  replaceNulls: [["\0Test\0Case\0", " Test Case "]],
  length: [
    ["", "0"],
    ["Test\0Case", "9"],
  ],
  parityEven7bit: [
    ["cefijloqrtwx03569ABDGHKMNPSUVYZ", "cefijloqrtwx03569ABDGHKMNPSUVYZ"],
    ["abcdefghij", "\xe1\xe2c\xe4ef\xe7\xe8ij"],
  ],
  parityOdd7bit: [["abcdefghij", "ab\xe3d\xe5\xe6gh\xe9\xea"]],
  parityZero7bit: [["\xe1\xe2c\xe4", "abcd"]],
  urlDecode: [
    ["", ""],
    ["Test+Case", "Test Case"],
    ["+" + pct(0, 255), " " + ALL_BYTES],
    // Invalid and truncated escapes are kept as written.
    ["%zz%1%", "%zz%1%"],
    ["%u0041", "%u0041"],
    ["%%41", "%A"],
  ],
  urlDecodeUni: [
    ["Test+Case", "Test Case"],
    ["+" + pct(0, 255), " " + ALL_BYTES],
    // %u00XX: the code page 20127 best fit (À → A, © → C), else the low byte.
    ["%u0041%u00c0%u00a9%u00e9%u00d7", "AACe\xd7"],
    // Fullwidth ASCII: %uff01..%uff5e → ! .. ~.
    [pct(1, 0x5e, "%uff"), ALL_BYTES.slice(0x21, 0x7f)],
    // No best fit: the low byte (%u1100 → 0x00, %uff00 → 0x00 since only 01..5e are folded).
    ["%u1141%uff00%uff7f", "A\0\x7f"],
    ["%u004%uzzzz%u", "%u004%uzzzz%u"],
    ["%U0041", "A"],
  ],
  urlEncode: [
    ["", ""],
    ["Test Case*09", "Test+Case*09"],
    ["a/b?c=\xff", "a%2fb%3fc%3d%ff"],
  ],
  utf8toUnicode: [
    ["", ""],
    ["plain", "plain"],
    ["caf\xc3\xa9", "caf%u00e9"],
    ["\xe2\x80\x9c\xf0\x9f\x98\x80", "%u201c%u1f600"],
    // Overlong "/" (C0 AF) is decoded so it cannot hide ASCII; a lone continuation byte or a
    // truncated sequence is kept as it is.
    ["\xc0\xaf", "%u002f"],
    ["\x80a\xe2\x80", "\x80a\xe2\x80"],
  ],
  jsDecode: [
    ["TestCase", "TestCase"],
    ["\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\x00\\xff", "\x07\x08\x0c\n\r\t\x0b?'\"\0\nS\0\xff"],
    ["\\u0041\\uff1c\\u1234\\u00e9", "A<4\xe9"],
    ["\\u\\u0\\u01\\u012\0", "uu0u01u012\0"],
    ["\\", "\\"],
    ["\\\\0", "\\0"],
    ["\\477", "'7"],
    ["\\377", "\xff"],
  ],
  escapeSeqDecode: [
    ["\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\x00\\xff", "\x07\x08\x0c\n\r\t\x0b?'\"\0\nS\0\xff"],
    ["\\8\\9\\666\\0123", "89\xb6\n3"],
    ["\\xag\\XAA", "xag\xaa"],
    ["\\", "\\"],
  ],
  cssDecode: [
    ["TestCase", "TestCase"],
    ["\\1A\\1 A\\1234567\\123456 7\\1x\\1 x", "\x1a\x01A\xef\xbf\xbd7\xef\xbf\xbd7\x01x\x01x"],
    ["test\\", "test"],
    ["a\\\nb\\;", "ab;"],
    // \3c and \00003c are "<"; fullwidth \ff1c folds to "<"; \e9 is é as UTF-8; \0 is U+FFFD.
    ["\\3c \\00003c\\ff1c\\e9\\0", "<<<\xc3\xa9\xef\xbf\xbd"],
    ["java\\73 cript", "javascript"],
  ],
  htmlEntityDecode: [
    ["TestCase", "TestCase"],
    ["&lt;script&gt;", "<script>"],
    ["&#x3c;&#60;&#x3C&#60&#X3c;", "<<<<<"],
    ["&QUOT;&amp;&nbsp;&Lt;", '"&\xa0<'],
    // The low byte of a wide reference, as ModSecurity's (unsigned char)strtol(...).
    ["&#x13c;&#316;", "<<"],
    ["&#99999999999999999999999;", "\xff"],
    ["&#;&#x;&unknown;&;&", "&#;&#x;&unknown;&;&"],
    ["javascript&colon;alert&lpar;1&rpar;", "javascript:alert(1)"],
    ["&colon&Colon;", "&colon&Colon;"],
  ],
  base64Decode: [
    ["", ""],
    ["VGVzdENhc2U=", "TestCase"],
    ["VGVzdENhc2Ux", "TestCase1"],
    ["VGVzdENhc2UxMg==", "TestCase12"],
    ["VGVzdABDYXNl", "Test\0Case"],
    ["VGVz\r\ndENh", "TestCa"],
    ["VGVzdA!!!Q2FzZQ==", "Test"],
  ],
  base64DecodeExt: [
    ["VGVzdENhc2U=", "TestCase"],
    ["P.HNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "<script>alert(1)</script>"],
    ["VGVz!!dENh\nc2U=", "TestCase"],
    ["-_-_", "\xfb\xff\xbf"],
  ],
  base64Encode: [["TestCase\0\xff", "VGVzdENhc2UA/w=="]],
  hexDecode: [
    ["", ""],
    ["5465737443617365", "TestCase"],
    ["546573740043617365", "Test\0Case"],
    ["01234567890z", ""],
    ["54657374004", ""],
  ],
  hexEncode: [["Test\0\xff", "5465737400ff"]],
  sqlHexDecode: [
    ["0x414243", "ABC"],
    ["select 0x61646d696e, 0x4", "select admin, 0x4"],
    ["0x4142x", "ABx"],
  ],
  removeComments: [
    ["/* TestCase */", ""],
    ["Before/* TestCase */After", "BeforeAfter"],
    ["Before TestCase */ After", "Before TestCase */ After"],
    ["/*Before/* Test\r\nCase ", " "],
    ["Before/* T*/ /* e */ /* s */ /* t */\r\nCase ", "Before   \r\nCase "],
    ["Test/*\nCase */ After", "Test After"],
    ["a<!-- x -->b", "ab"],
    ["1 OR 1=1 -- rest", "1 OR 1=1 "],
    ["1 OR 1=1 #rest", "1 OR 1=1 "],
  ],
  removeCommentsChar: [
    ["/* TestCase */", " TestCase "],
    ["Before/* TestCase */After", "Before TestCase After"],
    ["Test\r\nCase */After", "Test\r\nCase After"],
    ["<!--a-->b--c#d", "abcd"],
  ],
  replaceComments: [
    ["/* TestCase */", " "],
    ["Before /* TestCase */ After", "Before   After"],
    ["Before/* Test\r\nCase ", "Before "],
    ["Test\r\nCase */After", "Test\r\nCase */After"],
    ["UNION/**/SELECT/*a*//*b*/1", "UNION SELECT  1"],
  ],
  cmdLine: [
    ["", ""],
    ["test", "test"],
    ["C^OMMAND /C DIR", "command/c dir"],
    ['"command" /c "dir"', "command/c dir"],
    ["c,a;t\t\r\n  /etc/pas's'wd", "c a t/etc/passwd"],
    ["echo (1) \\x", "echo(1) x"],
  ],
  normalisePath: [
    ["", ""],
    ["/foo/bar/baz", "/foo/bar/baz"],
    ["/foo/bar\0/baz", "/foo/bar\0/baz"],
    [".", ""],
    ["./", ""],
    ["./..", ".."],
    ["./../", "../"],
    ["../..", "../.."],
    ["/dir/foo//bar", "/dir/foo/bar"],
    ["dir/foo//bar/", "dir/foo/bar/"],
    ["dir/../../foo", "../foo"],
    ["dir/./.././../../foo/bar/.", "../../foo/bar"],
    ["dir/./.././../../foo/bar/../", "../../foo/"],
    ["dir//.//..//.//..//..//foo//bar//", "../../foo/bar/"],
    ["dir/./subdir/../subsubdir/../subsubsubdir/..", "dir"],
    ["/dir/./subdir/../subsubdir/../subsubsubdir/../", "/dir/"],
    ["/./.././../../../../../../../\0/../etc/./passwd", "/etc/passwd"],
    ["/../", "/"],
  ],
  normalisePathWin: [
    ["\\foo\\bar\\baz", "/foo/bar/baz"],
    ["dir\\.\\..\\.\\..\\..\\foo\\bar\\..\\", "../../foo/"],
    ["\\.\\..\\.\\..\\..\\..\\..\\..\\..\\..\\\\0\\..\\etc\\.\\passwd", "/etc/passwd"],
  ],
};

for (const [name, vectors] of Object.entries(VECTORS)) {
  test(`${name}: ModSecurity vectors`, () => {
    for (const [input, want] of vectors)
      assert.equal(t(name, input), want, `${name}(${JSON.stringify(input)})`);
  });
}

test("md5 and sha1 give the raw digest bytes (hexEncode shows them as hex)", () => {
  assert.equal(t("hexEncode", t("md5", "TestCase")), createHash("md5").update("TestCase").digest("hex"));
  assert.equal(t("hexEncode", t("sha1", "")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  assert.equal(t("sha1", "\xff").length, 20);
});

test("every transformation names.ts lists is implemented (none is the engine's)", () => {
  const missing = TRANSFORMATIONS.filter((n) => n !== "none" && ops.transformation(n) === undefined);
  assert.deepEqual(missing, []);
  assert.equal(ops.transformation("normalizePathWin"), ops.transformation("normalisePathWin"));
  assert.equal(ops.transformation("URLDECODEUNI"), ops.transformation("urlDecodeUni"));
  assert.equal(ops.transformation("nope"), undefined);
});

test("decoders keep binary strings binary: every output char is a byte", () => {
  const inputs = [
    ALL_BYTES,
    "%u1234%uffff\\u1234&#x1234;\\1234 " + ALL_BYTES,
    "\xc3\xa9\xf0\x9f\x98\x80" + ALL_BYTES,
  ];
  for (const name of TRANSFORMATIONS) {
    if (name === "none") continue;
    for (const input of inputs) {
      const out = t(name, input);
      assert.ok(!/[\u0100-\uffff]/.test(out), `${name} produced a char above 0xFF`);
    }
  }
});

test("the shared output buffer: a long output then a short one, and outputs kept across calls", () => {
  const long = "%41".repeat(50_000);
  const a = t("urlDecode", long);
  const b = t("urlDecode", "%42");
  assert.equal(a, "A".repeat(50_000));
  assert.equal(b, "B");
  assert.equal(t("cmdLine", "X".repeat(40_000)), "x".repeat(40_000));
});

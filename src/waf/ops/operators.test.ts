// operators.test.ts: each operator against ModSecurity's operator test vectors (its regression
// suite's secrules-language-tests/operators, also Coraza's testdata) and the reference manual,
// with arguments parsed by the real SecLang operator parser. @detectSQLi/@detectXSS are only
// compiled here (libinjection is tested where it lives).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WafLangError } from "../lang/errors.ts";
import type { Template } from "../lang/model.ts";
import { parseOperator } from "../lang/operator.ts";
import { compile } from "../rx/index.ts";
import { ops } from "./index.ts";
import { RX_FLAGS } from "./op-rx.ts";
import type { CompiledOperator, OperatorContext } from "./types.ts";

const at = { file: "rules.conf", line: 7 };
const noFiles = { dir: "/nonexistent", read: () => {} };

function op(text: string, dir = noFiles): CompiledOperator {
  return ops.compileOperator(parseOperator(text, dir), at, 1000);
}

/** ctx expands %{tx.key} from tx; captures when asked. */
function ctx(tx: Record<string, string> = {}, captures?: string[]): OperatorContext {
  const expand = (t: Template) =>
    t.parts.map((p) => (typeof p === "string" ? p : (tx[(p.key ?? "").toLowerCase()] ?? ""))).join("");
  return { expand, captures };
}

function matches(operator: string, value: string, tx?: Record<string, string>): boolean {
  return op(operator).test(value, ctx(tx)) !== false;
}

// [operator text, value, matches?]
const VECTORS: [string, string, boolean][] = [
  ["@streq TestCase", "TestCase", true],
  ["@streq TestCase", "testcase", false],
  ["@streq TestCase", "", false],
  ["@contains abc", "xxabcxx", true],
  ["@contains abc", "xxABCxx", false],
  ["@strmatch def", "abcdefghi", true],
  ["@strmatch ghij", "abcdefghi", false],
  ["@beginsWith abc", "abcdef", true],
  ["@beginsWith def", "abcdef", false],
  ["@endsWith def", "abcdef", true],
  ["@endsWith abc", "abcdef", false],
  ["@containsWord abc", "abcdefghi", false],
  ["@containsWord def", "abc def ghi", true],
  ["@containsWord ghi", "abc def ghi", true],
  ["@containsWord abc", "abc\0def ghi", true],
  ["@containsWord x", " x ", true],
  ["@containsWord y", "xyz", false],
  ["@containsWord hiding", "hidingX<-not on word boundary, but is later on->hiding", true],
  ["@within abcdefghi", "def", true],
  ["@within abcdefghi", "ghij", false],
  ["@within TestCase", "", true],
  ["@pm abc def ghi", "xxxdefyyy", true],
  ["@pm abc def ghi", "xxxDEFyyy", true],
  ["@pm ghij", "abcdefghi", false],
  ["@pm TestCase", "", false],
  ["@eq 0", "", true],
  ["@eq 0", "xxx", true],
  ["@eq 5", "5", true],
  ["@eq 5", "10", false],
  ["@eq 0", "-5", false],
  ["@eq 12", " 12abc", true],
  ["@gt 5", "10", true],
  ["@gt 5", "5", false],
  ["@ge 5", "5", true],
  ["@lt 5", "-1", true],
  ["@le 5", "6", false],
  ["@lt 2", "", true],
  ["@validateUrlEncoding", "Hello%20World!", false],
  ["@validateUrlEncoding", "Hello+World!", false],
  ["@validateUrlEncoding", "%00Hello%20World!%ff", false],
  ["@validateUrlEncoding", "", false],
  ["@validateUrlEncoding", "%0", true],
  ["@validateUrlEncoding", "%", true],
  ["@validateUrlEncoding", "%0z", true],
  ["@validateUrlEncoding", "%0%", true],
  ["@validateUrlEncoding", "x=new %w20$", true],
  ["@validateUtf8Encoding", "Je peux manger du verre, \xc3\xa7a ne me fait pas de mal.", false],
  ["@validateUtf8Encoding", "\xe2\x88\xae E\xe2\x8b\x85da \xf0\x9f\x98\x80", false],
  ["@validateUtf8Encoding", "\0\xe4", true],
  ["@validateUtf8Encoding", "\xe4", true],
  ["@validateUtf8Encoding", "\x03\xbf", true],
  ["@validateUtf8Encoding", "\xc9\x3b", true],
  ["@validateUtf8Encoding", "\xff\0", true],
  ["@validateUtf8Encoding", "\xc0\xaf", true], // overlong "/"
  ["@validateUtf8Encoding", "\xed\xa0\x80", true], // surrogate
  ["@validateByteRange 32-126", "Hello World", false],
  ["@validateByteRange 32-126", "Hello\tWorld", true],
  ["@validateByteRange 9,10,13,32-126,128-255", "tab\tand \xe9", false],
  ["@validateByteRange 1-255", "nul\0", true],
  ["@ipMatch 127.0.0.1,10.0.0.0/8,2001:db8::/32", "10.1.2.3", true],
  ["@ipMatch 127.0.0.1,10.0.0.0/8,2001:db8::/32", "11.1.2.3", false],
  ["@ipMatch 127.0.0.1,10.0.0.0/8,2001:db8::/32", "127.0.0.1", true],
  ["@ipMatch 127.0.0.1,10.0.0.0/8,2001:db8::/32", "2001:db8:0:1::5", true],
  ["@ipMatch 127.0.0.1,10.0.0.0/8,2001:db8::/32", "2001:db9::5", false],
  ["@ipMatch 127.0.0.1,10.0.0.0/8,2001:db8::/32", "::ffff:10.9.8.7", true],
  ["@ipMatch 127.0.0.1,10.0.0.0/8,2001:db8::/32", "fe80::1%eth0", false],
  ["@ipMatch 127.0.0.1,10.0.0.0/8,2001:db8::/32", "not an address", false],
  ["@ipMatch 192.168.0.0/23,::1", "192.168.1.255", true],
  ["@ipMatch 192.168.0.0/23,::1", "192.168.2.0", false],
  ["@ipMatch 192.168.0.0/23,::1", "0:0:0:0:0:0:0:1", true],
  ["@ipMatch 0.0.0.0/0", "203.0.113.9", true],
  ["@unconditionalMatch", "anything", true],
  ["@noMatch", "anything", false],
  ["@verifyCC \\d{13,16}", "my card 4111111111111111 ok", true],
  ["@verifyCC \\b\\d{16}\\b", "my card 4111111111111112 ok", false],
  ["@verifyCC \\b\\d{16}\\b", "my card 4111111111111111 ok", true],
  // The first 16 digits fail Luhn, a later start passes: every start offset is tried.
  ["@verifyCC \\d{13,16}", "94111111111111111", true],
  ["@verifySSN \\d{3}-?\\d{2}-?\\d{4}", "asdf 574-57-8065 asdf", true],
  ["@verifySSN \\d{3}-?\\d{2}-?\\d{4}", "asdf 800-57-8065 asdf", false],
  ["@verifySSN \\d{3}-?\\d{2}-?\\d{4}", "asdf 123-45-6789 asdf", false],
  ["@verifyCPF ([0-9]{3}\\.){2}[0-9]{3}-[0-9]{2}", "asdf 010.817.514-60 asdf", true],
  ["@verifyCPF ([0-9]{3}\\.){2}[0-9]{3}-[0-9]{2}", "asdf 010.817.514-61 asdf", false],
  ["@verifyCPF ([0-9]{3}\\.){2}[0-9]{3}-[0-9]{2}", "asdf 111.111.111-11 asdf", false],
  ["@rx ^b", "a\nb", true], // (?m): ^ after a newline, as ModSecurity v3
  ["@rx a.b", "a\nb", true], // (?s): '.' takes a newline
  ["@rx (?i)select", "SeLeCt", true],
  ["@rx [\\x80-\\xff]", "caf\xc3\xa9", true],
  ["@rx [\\x80-\\xff]", "cafe", false],
  ["@rx ^\\xc3\\xa9$", "\xc3\xa9", true],
  // A Unicode character in a rule means its UTF-8 bytes, as in ModSecurity's rule files.
  ["@rx ^é$", "\xc3\xa9", true],
  ["@streq é", "\xc3\xa9", true],
  ["@pm é", "CAF\xc3\xa9", true],
];

test("operators: ModSecurity's vectors, argument parsed by the SecLang parser", () => {
  for (const [text, value, want] of VECTORS)
    assert.equal(matches(text, value), want, `${text} on ${JSON.stringify(value)}`);
});

test("macro arguments are expanded at test time (CRS's %{tx.*} thresholds and lists)", () => {
  const tx = { inbound_anomaly_score_threshold: "5", allowed_methods: "GET HEAD POST OPTIONS" };
  assert.equal(matches("@ge %{tx.inbound_anomaly_score_threshold}", "5", tx), true);
  assert.equal(matches("@ge %{tx.inbound_anomaly_score_threshold}", "4", tx), false);
  assert.equal(
    matches("@ge %{tx.inbound_anomaly_score_threshold}", "4", { inbound_anomaly_score_threshold: "x" }),
    true,
  );
  assert.equal(matches("@within %{tx.allowed_methods}", "POST", tx), true);
  assert.equal(matches("@within %{tx.allowed_methods}", "DELETE", tx), false);
  assert.equal(matches("@endsWith .%{tx.ext}", "a.php", { ext: "php" }), true);
});

test("captures: @rx fills TX:0..9 from the match and groups ('' for a group that did not take part)", () => {
  const caps: string[] = [];
  const r = op("@rx (a+)(x)?(b+)").test("zzaabbb", ctx({}, caps));
  assert.deepEqual(r, { matched: "aabbb" });
  assert.deepEqual(caps, ["aabbb", "aa", "", "bbb"]);
  const many: string[] = [];
  op("@rx (a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)").test("abcdefghijk", ctx({}, many));
  assert.equal(many.length, 10, "TX:0..9 only");
  assert.equal(many[9], "i");
  const pm: string[] = [];
  assert.deepEqual(op("@pm Foo bar").test("xxBARxx", ctx({}, pm)), { matched: "bar" });
  assert.deepEqual(pm, ["bar"]);
  const none = ctx();
  assert.deepEqual(op("@rx (a)").test("a", none), { matched: "a" });
  assert.equal(none.captures, undefined);
});

test("@rx ^.*$ (CRS 920450's capture, answered without the regex engine) matches and captures as the engine does", () => {
  const re = compile("^.*$", RX_FLAGS);
  for (const v of ["", "x-forwarded-for", "a\nb", "\n", "a\r\n", "\u00ff\u0000 tail\n\n"]) {
    const caps: string[] = [];
    const r = op("@rx ^.*$").test(v, ctx({}, caps));
    const m = re.execBinary(v);
    assert.ok(m, JSON.stringify(v));
    assert.deepEqual(r, { matched: m.captures[0] }, JSON.stringify(v));
    assert.deepEqual(caps, [m.captures[0]], JSON.stringify(v));
  }
});

test("@pmFromFile/@ipMatchFromFile read their files through the parser; phrases match case-insensitively", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "ops-pm-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "words.data"), "# comment\n/etc/passwd\n\n.HTACCESS\nwp-config.php\n");
  const files = { dir, read: () => {} };
  const pm = op("@pmFromFile words.data", files);
  assert.notEqual(pm.test("GET /x/../ETC/PASSWD", ctx()), false);
  assert.notEqual(pm.test("/.htaccess", ctx()), false);
  assert.equal(pm.test("/etc/shadow", ctx()), false);
  assert.equal(pm.test("# comment", ctx()), false);
  assert.notEqual(op("@pmf words.data", files).test("WP-CONFIG.PHP.bak", ctx()), false);
  writeFileSync(join(dir, "nets.data"), "# allow list\n192.0.2.0/24\n2001:db8:1::/48\n");
  for (const text of ["@ipMatchFromFile nets.data", "@ipMatchF nets.data"]) {
    const ip = op(text, files);
    assert.notEqual(ip.test("192.0.2.77", ctx()), false, text);
    assert.notEqual(ip.test("2001:db8:1:ff::1", ctx()), false, text);
    assert.equal(ip.test("198.51.100.1", ctx()), false, text);
  }
});

test("refused operators fail the load with WAF_LANG_UNKNOWN_OPERATOR, the rule, the line and what to do", () => {
  for (const [text, hint] of [
    ["@rbl sbl-xbl.spamhaus.org", /DNS blocklist.*access policy/],
    ["@geoLookup", /GeoIP/],
    ["@inspectFile /bin/check.sh", /never runs programs/],
    ["@fuzzyHash x 10", /ssdeep/],
    ["@validateSchema /x.xsd", /XML schema/],
    ["@rsub s/a/b/", /body streams/],
    ["@rxGlobal a", /use @rx/],
  ] as const) {
    assert.throws(
      () => op(text),
      (err: unknown) =>
        err instanceof WafLangError &&
        err.code === "WAF_LANG_UNKNOWN_OPERATOR" &&
        err.ruleId === 1000 &&
        err.line === 7 &&
        /not supported by Portico/.test(err.message) &&
        hint.test(err.message),
      text,
    );
  }
});

test("a regex src/waf/rx cannot compile fails the load with WAF_LANG_BAD_ARGUMENT naming the problem", () => {
  assert.throws(
    () => op("@rx (a)\\1"),
    (err: unknown) =>
      err instanceof WafLangError && err.code === "WAF_LANG_BAD_ARGUMENT" && /@rx/.test(err.message),
  );
  assert.throws(
    () => op("@verifyCC ("),
    (err: unknown) => err instanceof WafLangError && err.code === "WAF_LANG_BAD_ARGUMENT",
  );
});

test("@detectSQLi and @detectXSS compile (wired to src/waf/libinjection)", () => {
  assert.equal(op("@detectSQLi").name, "detectSQLi");
  assert.equal(op("@detectXSS").name, "detectXSS");
});

test("validators report the offending piece for the log", () => {
  assert.deepEqual(op("@validateByteRange 32-126").test("ab\x01c", ctx()), { matched: "\x01" });
  assert.deepEqual(op("@validateUrlEncoding").test("a=%zz", ctx()), { matched: "%zz" });
  assert.deepEqual(op("@validateUtf8Encoding").test("ok\xc3(", ctx()), { matched: "\xc3(" });
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseQuery, urlDecode } from "./urlencoded.ts";
import { parseCookies } from "./cookies.ts";
import { processorFor } from "./content-type.ts";

test("parseQuery: & pairs, + and %XX decoded, name without = has an empty value (Coraza/ModSecurity)", () => {
  assert.deepEqual(parseQuery("a=1&b=2+3&c=%41%62&d"), {
    pairs: [
      ["a", "1"],
      ["b", "2 3"],
      ["c", "Ab"],
      ["d", ""],
    ],
    invalid: false,
  });
  // `;` is not a separator; the first `=` splits; empty pieces are skipped; names are decoded too.
  assert.deepEqual(parseQuery("a=1;b=2&&x=y=z&%6e%61me=v&=e").pairs, [
    ["a", "1;b=2"],
    ["x", "y=z"],
    ["name", "v"],
    ["", "e"],
  ]);
  assert.deepEqual(parseQuery(""), { pairs: [], invalid: false });
});

test("parseQuery: invalid %-escapes are kept as written and flagged (URLENCODED_ERROR)", () => {
  for (const [input, value] of [
    ["a=%zz", "%zz"],
    ["a=%4", "%4"],
    ["a=%", "%"],
    ["a=100%&b=1", "100%"],
    ["a=%g1%41", "%g1A"],
  ]) {
    const r = parseQuery(input!);
    assert.equal(r.invalid, true, input);
    assert.equal(r.pairs[0]![1], value, input);
  }
  assert.equal(parseQuery("a=%25zz").invalid, false);
  assert.equal(parseQuery("a=%25zz").pairs[0]![1], "%zz");
});

test("urlDecode: bytes stay one char per byte (binary strings), %u is not decoded", () => {
  assert.equal(urlDecode("%c3%a9%00%ff").text, "\xc3\xa9\x00\xff");
  assert.deepEqual(urlDecode("%u0041"), { text: "%u0041", invalid: true });
  assert.equal(urlDecode("xx%41yy", 2, 5).text, "A");
});

test("parseCookies: ; separated, names trimmed, values as sent (not decoded), several headers", () => {
  assert.deepEqual(parseCookies(["a=1; b = %41+x ;c", "d=e=f;;  =skipped; g=\t"]), [
    ["a", "1"],
    ["b", " %41+x "],
    ["c", ""],
    ["d", "e=f"],
    ["g", ""],
  ]);
  assert.deepEqual(parseCookies([]), []);
  assert.deepEqual(parseCookies(["   "]), []);
});

test("processorFor: media types, case-insensitive, parameters ignored", () => {
  const rows: [string | undefined, string | undefined][] = [
    ["application/x-www-form-urlencoded", "URLENCODED"],
    ["Application/X-WWW-Form-Urlencoded; charset=UTF-8", "URLENCODED"],
    ["multipart/form-data; boundary=x", "MULTIPART"],
    ["Multipart/Form-Data;boundary=x", "MULTIPART"],
    ["multipart/related; boundary=x", undefined],
    ["multipart/mixed; boundary=x", undefined],
    ["application/json", "JSON"],
    ["application/vnd.api+json; charset=utf-8", "JSON"],
    ["application/problem+json", "JSON"],
    ["application/jsonp", undefined],
    ["text/xml", "XML"],
    ["application/xml;charset=utf-8", "XML"],
    ["application/soap+xml", "XML"],
    ["application/atom+xml", "XML"],
    ["text/plain", undefined],
    ["", undefined],
    [undefined, undefined],
  ];
  for (const [ct, want] of rows) assert.equal(processorFor(ct), want, String(ct));
});

test("parseQuery: a million pairs and a 4 MB value parse in linear time", () => {
  const many = "a=1&".repeat(1_000_000);
  let t = performance.now();
  assert.equal(parseQuery(many).pairs.length, 1_000_000);
  const big = "v=" + "%41+".repeat(1_000_000);
  const r = parseQuery(big);
  assert.equal(r.pairs[0]![1].length, 2_000_000);
  t = performance.now() - t;
  // Generous: measured about 1.2 s on the shared 2-core machine; quadratic would take minutes.
  assert.ok(t < 20_000, `${t} ms`);
});

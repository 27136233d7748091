import { test } from "node:test";
import assert from "node:assert/strict";
import { parseXml } from "./xml.ts";
import { XPathError, compileXPath, xpath } from "./xpath.ts";
import type { BodyLimits, XmlNode } from "./types.ts";

const limits: BodyLimits = { maxArgs: 1000, maxDepth: 64, fileContentBytes: 1 << 20 };

function doc(text: string): XmlNode {
  const r = parseXml(text, limits);
  assert.equal(r.error, undefined, text);
  return r.xml!;
}

const soap = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" id='e1'>
  <soap:Body>
    <m:Get xmlns:m="urn:x" m:mode="fast">
      <m:Item a="1 &lt; 2">union <![CDATA[<select>]]> 1</m:Item><?pi data?>
      <m:Item>&#x41;&#66;&amp;&quot;&apos;&gt;</m:Item>
    </m:Get>
  </soap:Body>
</soap:Envelope>
`;

test("xml: XML:/* is the root's whole text content, as ModSecurity's xmlNodeGetContent gives it", () => {
  const d = doc(soap);
  assert.equal(d.name, "soap:Envelope");
  assert.deepEqual(xpath(d, "/*"), ["\n  \n    \n      union <select> 1\n      AB&\"'>\n    \n  \n"]);
});

test("xml: XML://@* is every attribute value in document order; xmlns declarations are not attributes", () => {
  assert.deepEqual(xpath(doc(soap), "//@*"), ["e1", "fast", "1 < 2"]);
});

test("xml: the rest of the subset — /a/b, //name, //*, text(), @name, node()", () => {
  const d = doc('<r a="x"><b>1<c>2</c></b><b k="v">3</b><c>4</c></r>');
  assert.deepEqual(xpath(d, "/r/b"), ["12", "3"]);
  assert.deepEqual(xpath(d, "/r/*"), ["12", "3", "4"]);
  assert.deepEqual(xpath(d, "//c"), ["2", "4"]);
  assert.deepEqual(xpath(d, "//*"), ["1234", "12", "2", "3", "4"]);
  assert.deepEqual(xpath(d, "/r/b/text()"), ["1", "3"]);
  assert.deepEqual(xpath(d, "//text()"), ["1", "2", "3", "4"]);
  assert.deepEqual(xpath(d, "//b/@k"), ["v"]);
  assert.deepEqual(xpath(d, "/r/@*"), ["x"]);
  assert.deepEqual(xpath(d, "/x"), []);
  assert.deepEqual(xpath(d, "//b//c"), ["2"]);
  assert.deepEqual(xpath(d, "/r/b/node()"), ["1", "2", "3"]);
  for (const bad of ["r/b", "/r[1]", "//b[@k='v']", "/r/@a/b", "count(//b)", "/r/text()/x", "/r|/s", "/"]) {
    assert.throws(() => compileXPath(bad), XPathError, bad);
  }
});

test("xml: entities — predefined and numeric decoded; DOCTYPE entities never expanded (XXE, billion laughs)", () => {
  const xxe = `<?xml version="1.0"?>
<!DOCTYPE r [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!-- a ] and a > in a comment -->
  <!ENTITY q "a]>b">
]>
<r a="&lol1;">&xxe;&lol1;</r>`;
  const d = doc(xxe);
  assert.deepEqual(xpath(d, "/*"), ["&xxe;&lol1;"]);
  assert.deepEqual(xpath(d, "//@*"), ["&lol1;"]);
  // Billion laughs: ten levels of ten; nothing grows.
  let dtd = '<!ENTITY l0 "lol">';
  for (let i = 1; i < 10; i++) dtd += `<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`;
  const r = parseXml(`<!DOCTYPE r [${dtd}]><r>&l9;</r>`, limits);
  assert.deepEqual(xpath(r.xml!, "/*"), ["&l9;"]);
});

test("xml: normalisation — CRLF to LF in text, TAB/CR/LF to spaces in attribute values", () => {
  const d = doc('<r a="x\r\ny\tz&#10;">a\r\nb\rc</r>');
  assert.deepEqual(xpath(d, "/*"), ["a\nb\nc"]);
  assert.deepEqual(xpath(d, "//@*"), ["x y z\n"]);
  // Bytes are kept as sent (one char per byte), a UTF-8 BOM is skipped.
  assert.deepEqual(xpath(doc("\xef\xbb\xbf<r>\xc3\xa9</r>"), "/*"), ["\xc3\xa9"]);
});

test("xml: malformed documents are errors; the tree parsed so far is kept", () => {
  const rows: [string, RegExp][] = [
    ["", /document is empty/],
    ["text", /start tag expected/],
    ["<r>", /element r not closed/],
    ["<r></s>", /end tag s does not match r/],
    ["<r a=1></r>", /quoted attribute value expected/],
    ['<r a="1" a="2"></r>', /duplicate attribute a/],
    ['<r a="<"></r>', /< in attribute value/],
    ["<r>a & b</r>", /invalid entity reference/],
    ["<r>&#0;</r>", /invalid character reference/],
    ["<r></r><s></s>", /extra content at the end/],
    ["<r></r>trailing", /extra content at the end/],
    ["<r><!-- x</r>", /unterminated comment/],
    ["<r><![CDATA[x</r>", /unterminated CDATA/],
    ["<!DOCTYPE r [ <!ENTITY a 'x'>", /unterminated DOCTYPE/],
    ["<r><!ELEMENT x></r>", /unexpected markup declaration/],
    ['<r a="1"', /unterminated start tag/],
    ["<r><a<b></a></r>", /name expected/],
  ];
  for (const [text, message] of rows) {
    const r = parseXml(text, limits);
    assert.match(r.error ?? "", message, text);
    assert.match(r.error ?? "", /^XML: .* at byte \d+$/, text);
  }
  const partial = parseXml("<r><a>union select</a><b>", limits);
  assert.deepEqual(xpath(partial.xml!, "/*"), ["union select"]);
  assert.deepEqual(parseXml("<r/>", limits), {
    args: [],
    files: [],
    flags: {},
    xml: { name: "r", attributes: [], children: [] },
  });
});

test("xml: hostile — depth limit, 200k nested elements, 100k attributes, long flat documents", () => {
  const nest = (n: number) => "<a>".repeat(n) + "</a>".repeat(n);
  assert.equal(parseXml(nest(64), limits).error, undefined);
  assert.match(parseXml(nest(65), limits).error!, /depth limit 64 exceeded/);
  let t = performance.now();
  const deep = parseXml(nest(200_000), { ...limits, maxDepth: 1_000_000 });
  assert.equal(deep.error, undefined);
  // XPath walks iteratively too: 200k levels deep is no stack overflow, and `//a` (every element
  // inside every other) computes the string values once, bottom-up.
  assert.equal(xpath(deep.xml!, "//a").length, 200_000);
  const attrs = Array.from({ length: 100_000 }, (_, i) => `a${i}="v"`).join(" ");
  assert.equal(xpath(doc(`<r ${attrs}/>`), "//@*").length, 100_000);
  const flat = doc(`<r>${"<i>x &amp; y</i>".repeat(200_000)}</r>`);
  assert.equal(xpath(flat, "/*")[0]!.length, 1_000_000);
  assert.equal(xpath(flat, "//i/text()").length, 200_000);
  t = performance.now() - t;
  // Generous bound: measured about 2.5 s on the shared 2-core machine; quadratic is hours.
  assert.ok(t < 30_000, `${t} ms`);
});

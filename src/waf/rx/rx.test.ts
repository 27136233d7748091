import { test } from "node:test";
import assert from "node:assert/strict";
import { compile, RxSyntaxError } from "./index.ts";
import { pikeExec, type PikeStats } from "./pike.ts";
import { rand } from "../../../test/support/rand.ts";

// Patterns whose meaning is the same in RE2/PCRE and JavaScript on ASCII input without \r and \v
// (JS's dot and multi-line anchors also stop at \r, its \s takes \v; rx follows RE2 there).
// [rx pattern, rx flags, V8 source (when it differs), V8 flags]
const DIFFERENTIAL: [string, string, string?, string?][] = [
  ["abc", ""],
  ["a|b|c", ""],
  ["a*", ""],
  ["a+?", ""],
  ["(a|ab)(c|bcd)(d*)", ""],
  ["^(a+)(b*)$", ""],
  ["(?:ab|a)*c", ""],
  ["x{2,4}y?", ""],
  ["x{3,}", ""],
  ["x{0,2}?x", ""],
  ["x{2}", ""],
  ["[a-c]+[^a-c]", ""],
  ["\\bfoo\\b", ""],
  ["\\Bo\\B", ""],
  ["\\d+\\.\\d*", ""],
  ["\\w+@\\w+", ""],
  ["\\s+\\S", ""],
  ["[\\s\\d]+", ""],
  ["[\\W]+", ""],
  ["a.c", ""],
  [".+b", "s", ".+b", "s"],
  ["^a", "m", "^a", "m"],
  ["b$", "m", "b$", "m"],
  ["^b|a$", ""],
  ["(a)|(b)", ""],
  ["(a+)+b", ""],
  ["(a|b)*c", ""],
  ["(?:a|b)*?c", ""],
  ["(?P<y>\\d{2})-(?<m>\\d)", "", "(?<y>\\d{2})-(?<m>\\d)"],
  ["(?i)AbC", "", "AbC", "i"],
  ["a(?i:b)c", "", "a[bB]c"],
  ["[-a]+", ""],
  ["[a\\]]+", ""],
  ["\\x61\\x{62}", "", "\\x61\\x62"],
  ["[^\\n]+", ""],
  ["a||b", ""],
  ["(a|ab)+?c", ""],
  ["[[:digit:]x]+", "", "[0-9x]+"],
  ["\\Qa.b\\E+", "", "a\\.b+"],
  ["(?U)a+b*", "", "a+?b*?"],
];

test("rx agrees with V8 on test() and exec() captures for generated ASCII inputs", () => {
  const next = rand(16);
  let compared = 0;
  for (const [pattern, flags, v8source, v8flags] of DIFFERENTIAL) {
    const ours = compile(pattern, flags);
    const theirs = new RegExp(v8source ?? pattern, v8flags ?? flags);
    // The alphabet: the pattern's own characters plus a few others, so inputs hit and miss.
    const alphabet = [...new Set(pattern.replace(/[\\[\](){}?*+|^$:<>]/g, "") + "abcd .-@\n9")].filter(
      (c) => c !== "\r" && c !== "\v",
    );
    for (let i = 0; i < 400; i++) {
      const len = Math.floor(next() * 14);
      let s = "";
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(next() * alphabet.length)]!;
      const want = theirs.exec(s);
      const got = ours.exec(s);
      const where = `/${pattern}/${flags} on ${JSON.stringify(s)}`;
      assert.equal(ours.test(s), want !== null, `test() ${where}`);
      assert.deepEqual(
        got === null ? null : got.captures,
        want === null ? null : [...want],
        `exec() ${where}`,
      );
      if (want?.groups !== undefined)
        assert.deepEqual({ ...got!.groups }, { ...want.groups }, `groups ${where}`);
      if (want !== null) assert.equal(got!.index, want.index, `index ${where}`);
      compared++;
    }
  }
  assert.equal(compared, DIFFERENTIAL.length * 400);
});

test("a DFA cache too small for one state still answers right (it starts over, RE2-style)", () => {
  const next = rand(7);
  let resets = 0;
  for (const [pattern, flags] of DIFFERENTIAL) {
    const roomy = compile(pattern, flags);
    const starved = compile(pattern, flags, { dfaBudget: 1 });
    for (let i = 0; i < 100; i++) {
      const s = Array.from(
        { length: Math.floor(next() * 12) },
        () => "abcx .\n"[Math.floor(next() * 7)],
      ).join("");
      assert.equal(starved.test(s), roomy.test(s), `/${pattern}/ on ${JSON.stringify(s)}`);
    }
    resets += starved.stats.dfaResets;
  }
  assert.ok(resets > 100, `the starved caches were dropped ${resets} times`);
});

test("rx matches bytes: \\xHH and \\x{HH} are bytes, a string is its UTF-8, (?i) folds ASCII only", () => {
  // CRS 942... writes UTF-8 sequences byte by byte: \x{e2}\x80[\x98\x99] is U+2018/U+2019.
  const quote = compile("\\x{e2}\\x80[\\x98\\x99]");
  assert.equal(quote.test("it\u2019s"), true);
  assert.equal(quote.test(Buffer.from([0x69, 0xe2, 0x80, 0x98])), true);
  assert.equal(quote.test("it's"), false);
  assert.equal(compile("^[\\xa0-\\x{bf}]$").test(Buffer.from([0xa5])), true);
  assert.equal(compile("^[\\xa0-\\x{bf}]$").test("\u00a5"), false, "U+00A5 is two bytes, C2 A5");
  assert.equal(compile("^..$").test("\u00a5"), true, "dot takes one byte");
  assert.equal(compile("caf\u00e9").test("un caf\u00e9"), true, "a literal non-ASCII character is its UTF-8");
  assert.equal(compile("caf\u00e9").test(Buffer.from("caf\u00e9", "latin1")), false);
  assert.equal(compile("\\x{20ac}").test("5\u20ac"), true, "\\x{} above FF is a character, as UTF-8");
  assert.equal(compile("(?i)\u00e9").test("\u00c9"), false, "(?i) folds ASCII only");
  assert.equal(compile("[^a]").test(Buffer.from([0xff])), true, "a negated class takes every other byte");
  const m = compile("(\\w+)=(\\w*)").exec(Buffer.from("k=v"));
  assert.ok(m !== null && Buffer.isBuffer(m.captures[1]));
  assert.deepEqual(m.captures.map(String), ["k=v", "k", "v"]);
  assert.deepEqual(Array.from(m.spans), [0, 3, 0, 1, 2, 3]);
});

test("rx follows RE2 where PCRE and JavaScript differ: \\s without \\v, $ only at the very end", () => {
  assert.equal(compile("a\\sb").test("a\vb"), false, "CRS writes [\\s\\x0b] when it means \\v too");
  assert.equal(compile("a[\\s\\x0b]b").test("a\vb"), true);
  assert.equal(compile("a$").test("a\n"), false, "no PCRE final-newline rule");
  assert.equal(compile("(?m)a$").test("a\n"), true);
  assert.equal(compile(".").test("\n"), false);
  assert.equal(compile("(?s).").test("\n"), true);
  assert.equal(compile("a.b").test("a\rb"), true, "dot takes \\r (JavaScript's does not)");
  assert.equal(compile("\\Aab\\z").test("ab"), true);
  assert.equal(compile("^(?i)select").test("SeLeCt 1"), true, "a flag group mid-pattern, as CRS writes it");
  assert.equal(compile("x(?i)a|B").test("b"), true, "(?i) runs to the end of the group, across |");
  assert.equal(compile("x(?i:a)|B").test("b"), false);
  assert.equal(compile("a{,2}").test("a{,2}"), true, "a { that starts no count is a literal");
  assert.equal(compile("(?:$)?a").test("a"), true, "a group of an assertion may repeat (a bare one may not)");
});

test("rx refuses what needs backtracking or Unicode, naming the construct and the offset", () => {
  const cases: [string, string, number, RegExp][] = [
    ["(a)\\1", "RX_UNSUPPORTED", 3, /backreference/],
    ["x(?=a)", "RX_UNSUPPORTED", 1, /lookaround/],
    ["x(?!a)", "RX_UNSUPPORTED", 1, /lookaround/],
    ["(?<=a)x", "RX_UNSUPPORTED", 0, /lookaround/],
    ["(?<!a)x", "RX_UNSUPPORTED", 0, /lookaround/],
    ["(?>ab)", "RX_UNSUPPORTED", 0, /atomic/],
    ["a*+", "RX_UNSUPPORTED", 2, /possessive/],
    ["\\p{L}", "RX_UNSUPPORTED", 0, /Unicode/],
    ["(?<n>a)\\k<n>", "RX_UNSUPPORTED", 7, /backreference/],
    ["[é]", "RX_UNSUPPORTED", 1, /non-ASCII/],
    ["a{1001}", "RX_SYNTAX", 1, /above 1000/],
    ["a{3,2}", "RX_SYNTAX", 1, /max below min/],
    ["(ab", "RX_SYNTAX", 0, /missing \)/],
    ["ab)", "RX_SYNTAX", 2, /unmatched/],
    ["[ab", "RX_SYNTAX", 0, /missing \]/],
    ["*a", "RX_SYNTAX", 0, /nothing to repeat/],
    ["a\\b*", "RX_SYNTAX", 3, /nothing to repeat/],
    ["a**", "RX_SYNTAX", 2, /quantifier after a quantifier/],
    ["[z-a]", "RX_SYNTAX", 2, /out of order/],
    ["\\xZZ", "RX_SYNTAX", 0, /hex/],
    ["\\y", "RX_SYNTAX", 0, /escape/],
    ["(?z)", "RX_SYNTAX", 2, /flag/],
    ["(?:a{1000}){1000}", "RX_TOO_LARGE", 0, /instructions/],
  ];
  for (const [pattern, code, pos, what] of cases) {
    assert.throws(
      () => compile(pattern),
      (e: unknown) =>
        e instanceof RxSyntaxError &&
        e.code === code &&
        e.pos === pos &&
        what.test(e.message) &&
        /offset/.test(e.message),
      pattern,
    );
  }
});

// Textbook ReDoS patterns: V8 takes exponential or polynomial time on these inputs.
const REDOS: [string, (n: number) => string][] = [
  ["(a+)+b", (n) => "a".repeat(n)],
  ["(a|aa)+c", (n) => "a".repeat(n)],
  ["^(\\w+\\s?)+$", (n) => "ab ".repeat(n / 3) + "!"],
  ["(.*a){12}", (n) => "a".repeat(n)],
  ["^(a|a?)+$", (n) => "a".repeat(n) + "b"],
  ["\\s*\\s*\\s*x", (n) => " ".repeat(n)],
  ["(x+x+)+y", (n) => "x".repeat(n)],
];

test("work per byte stays flat as the input doubles on textbook ReDoS patterns (DFA and Pike VM)", () => {
  for (const [pattern, make] of REDOS) {
    const work = (n: number) => {
      const rx = compile(pattern);
      const input = Buffer.from(make(n), "latin1");
      const before = rx.stats.dfaWork;
      rx.test(input);
      const pike: PikeStats = { steps: 0 };
      pikeExec(rx.program, input, pike);
      return { dfa: rx.stats.dfaWork - before, pike: pike.steps, m: rx.program.op.length };
    };
    const a = work(4096);
    const b = work(8192);
    // Linear: twice the input, about twice the work (slack for the DFA's warm-up); never above n·(m+1).
    assert.ok(b.dfa <= 2 * a.dfa + 50 * a.m, `${pattern}: DFA work ${a.dfa} → ${b.dfa}`);
    assert.ok(b.pike <= 2.2 * a.pike + 50 * a.m, `${pattern}: Pike steps ${a.pike} → ${b.pike}`);
    assert.ok(b.pike <= 8193 * (b.m + 1), `${pattern}: Pike steps ${b.pike} above n·(m+1)`);
  }
});

/** randomPattern builds a pattern from a small grammar: [source, can match empty, has a capture]. */
function randomPattern(next: () => number, depth: number): [string, boolean, boolean] {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)]!;
  const r = next();
  if (depth <= 0 || r < 0.3)
    return [pick(["a", "b", "c", "[ab]", "[^a]", ".", "\\w", "\\d", "\\s"]), false, false];
  if (r < 0.4) return [pick(["^", "$", "\\b", "\\B"]), true, false];
  const [x, xe, xc] = randomPattern(next, depth - 1);
  if (r < 0.7) {
    const [y, ye, yc] = randomPattern(next, depth - 1);
    return r < 0.6 ? [x + y, xe && ye, xc || yc] : [`(?:${x}|${y})`, xe || ye, xc || yc];
  }
  if (r < 0.8) return [`(${x})`, xe, true];
  // Left out where JavaScript means something else: it clears a quantified group's captures at
  // each iteration (RE2 and PCRE keep the last value), and it fails an iteration that matches
  // empty and backtracks into it (/(?:b??){2,}/ takes "b" from "b"; Perl, Python's re and rx stop: "").
  if (xc || xe) return [`(?:${x})`, xe, xc];
  const q = pick(["*", "+", "?", "{2}", "{1,3}", "{0,2}", "{2,}"]) + (next() < 0.3 ? "?" : "");
  return [`(?:${x})${q}`, xe || /^[*?]|^\{0/.test(q), false];
}

test("rx agrees with V8 on 1500 random patterns (nested groups, quantifiers, anchors) × 30 inputs", () => {
  const next = rand(99);
  for (let k = 0; k < 1500; k++) {
    const [pattern] = randomPattern(next, 4);
    const ours = compile(pattern);
    const theirs = new RegExp(pattern);
    for (let i = 0; i < 30; i++) {
      const s = Array.from({ length: Math.floor(next() * 8) }, () => "abc1 \n"[Math.floor(next() * 6)]).join(
        "",
      );
      const want = theirs.exec(s);
      const got = ours.exec(s);
      const where = `/${pattern}/ on ${JSON.stringify(s)}`;
      assert.deepEqual(got === null ? null : got.captures, want === null ? null : [...want], where);
      if (want !== null) assert.equal(got!.index, want.index, where);
    }
  }
});

test("testBinary/execBinary match a binary string's chars as bytes (≥ 0x80 too), as Buffer input does", () => {
  // CRS 920270-style class on bytes: a value holding byte 0xa0 (latin1 char U+00A0).
  const high = compile("[\\x80-\\xff]");
  assert.equal(high.testBinary("abc\u00a0"), true);
  assert.equal(high.testBinary("abc"), false);
  // The same text as UTF-8 would be two bytes c2 a0; as a binary string it is one byte a0.
  const exact = compile("^\\xa0$");
  assert.equal(exact.testBinary("\u00a0"), true);
  assert.equal(exact.test("\u00a0"), false, "test() reads a string as UTF-8 (c2 a0)");
  const m = compile("(\\xc3)(\\xa9+)").execBinary("caf\u00c3\u00a9\u00a9!");
  assert.deepEqual(m?.captures, ["\u00c3\u00a9\u00a9", "\u00c3", "\u00a9\u00a9"]);
  assert.equal(m?.index, 3);
  assert.equal(m?.end, 6);
  // The scratch buffer is reused: a long value then a short one must not see the long one's tail.
  const tail = compile("b$");
  assert.equal(tail.testBinary("x".repeat(10_000) + "b"), true);
  assert.equal(tail.testBinary("ab "), false);
  assert.equal(compile("^a").execBinary("ba"), null);
});

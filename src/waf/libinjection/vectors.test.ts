// The upstream test vectors (testdata/vectors.txt: libinjection-go v0.3.6 tests/*.txt, generated
// by scripts/waf/gen-libinjection.ts): tokens, folding and fingerprints of SQL inputs, HTML5 tokens
// and XSS verdicts, each compared as text exactly as the Go port's test drivers print them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { H5, Html5, CTX } from "./html5.ts";
import { detectSqli, detectXss } from "./index.ts";
import { fold } from "./sqli-fold.ts";
import { T, Token } from "./sqli-token.ts";
import { FLAG_QUOTE_NONE, FLAG_SQL_ANSI, SqliState } from "./sqli-tokenizer.ts";

interface Vector {
  file: string;
  test: string;
  input: string;
  expected: string;
}

const WHITE = " \t\n\r\v\f";
const trimRight = (s: string, chars: string) => {
  let e = s.length;
  while (e > 0 && chars.includes(s[e - 1]!)) e--;
  return s.slice(0, e);
};
const trim = (s: string) => {
  let b = 0;
  while (b < s.length && WHITE.includes(s[b]!)) b++;
  return trimRight(s.slice(b), WHITE);
};

/** readVectors splits the bundle into files and each file into its --TEST--/--INPUT--/--EXPECTED-- sections. */
function readVectors(): Vector[] {
  // latin1: one char per byte, as the detectors take their input.
  const all = readFileSync(join(import.meta.dirname, "testdata/vectors.txt"), "latin1");
  const out: Vector[] = [];
  // Records follow the header: "##FILE <name> <length>\n", <length> bytes, "\n".
  let at = all.indexOf("\n##FILE ") + 1;
  while (at > 0 && all.startsWith("##FILE ", at)) {
    const nl = all.indexOf("\n", at);
    const [, file, size] = all.slice(at, nl).split(" ");
    const body = all.slice(nl + 1, nl + 1 + Number(size));
    at = nl + 1 + Number(size) + 1;
    const sections = ["--TEST--", "--INPUT--", "--EXPECTED--"];
    const data: Record<string, string> = {};
    let state = "";
    let count = 0;
    const lines = body.split("\n");
    if (lines.at(-1) === "") lines.pop();
    for (const line of lines) {
      if (count < 3 && trim(line) === sections[count]) {
        state = sections[count++]!;
        data[state] = "";
        continue;
      }
      assert.ok(state, `${file}: content before the first section`);
      data[state] += line + "\n";
    }
    assert.equal(count, 3, `${file}: missing sections`);
    out.push({
      file: file!,
      test: trimRight(data["--TEST--"]!, " \t\n\r"),
      input: trimRight(data["--INPUT--"]!, " \t\n\r"),
      expected: trimRight(data["--EXPECTED--"]!, " \t\n\r"),
    });
  }
  return out;
}

/** printToken prints a token as libinjection's test driver does ("s 'foo'", "v @@name"). */
function printToken(t: Token): string {
  const quoted = () =>
    (t.strOpen ? String.fromCharCode(t.strOpen) : "") +
    t.text() +
    (t.strClose ? String.fromCharCode(t.strClose) : "");
  let out = String.fromCharCode(t.type) + " ";
  if (t.type === T.STRING) out += quoted();
  else if (t.type === T.VARIABLE) out += (t.count === 1 ? "@" : t.count === 2 ? "@@" : "") + quoted();
  else out += t.text();
  return trimRight(out, "\n\r");
}

const H5_NAMES = Object.fromEntries(Object.entries(H5).map(([k, v]) => [v, k]));

/** actual computes what the vector's kind prints for its input. */
function actual(v: Vector): string {
  const f = v.file;
  let out = "";
  if (f.includes("-sqli-")) {
    const r = detectSqli(v.input);
    out = r.sqli ? r.fingerprint : "";
  } else if (f.includes("-folding-")) {
    const s = new SqliState();
    s.reset(v.input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
    const n = fold(s, new Token());
    for (let i = 0; i < n; i++) out += printToken(s.tokens[i]!) + "\n";
  } else if (f.includes("-tokens-")) {
    const s = new SqliState();
    s.reset(v.input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
    while (s.tokenize()) out += printToken(s.current) + "\n";
  } else if (f.includes("-html5-")) {
    const h = new Html5();
    h.init(v.input, CTX.DATA_STATE);
    while (h.next()) {
      out += `${H5_NAMES[h.tokenType]},${h.tokenLen},${v.input.slice(h.tokenStart, h.tokenStart + h.tokenLen)}\n`;
    }
  } else if (f.includes("-xss-")) {
    out = detectXss(v.input) ? "1" : "0";
  } else {
    throw new Error(`${f}: unknown kind of vector`);
  }
  return trim(out);
}

const vectors = readVectors();

test("the bundle holds every kind of upstream vector", () => {
  const kinds = new Map<string, number>();
  for (const v of vectors) {
    const k = /^test-(sqli|folding|tokens|html5|xss)/.exec(v.file)?.[1] ?? "?";
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  assert.deepEqual([...kinds.keys()].sort(), ["folding", "html5", "sqli", "tokens", "xss"]);
  assert.ok(vectors.length > 450, `only ${vectors.length} vectors`);
});

for (const kind of ["tokens", "folding", "sqli", "html5", "xss"]) {
  test(`upstream ${kind} vectors`, () => {
    const failures: string[] = [];
    const mine = vectors.filter((v) => v.file.startsWith(`test-${kind}`));
    for (const v of mine) {
      const got = actual(v);
      if (got !== v.expected) {
        failures.push(
          `${v.file} (${v.test}): input ${JSON.stringify(v.input)}\n  want ${JSON.stringify(v.expected)}\n  got  ${JSON.stringify(got)}`,
        );
      }
    }
    assert.equal(failures.length, 0, `${failures.length}/${mine.length} failed:\n${failures.join("\n")}`);
  });
}

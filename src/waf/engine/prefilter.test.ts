// The literal prefilter must be a necessary condition: wherever a pattern matches, its prefilter
// holds (else the WAF would skip a value that matches and change a verdict). Checked on shapes
// written by hand and on every CRS @rx pattern with strings generated from the pattern itself
// (so most of them match), through the same program-wide automaton the engine uses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { body } from "../body/index.ts";
import { parseRules } from "../lang/parse.ts";
import { ops } from "../ops/index.ts";
import { compileProgram } from "./index.ts";
import { LiteralIndex, holds, weaken } from "./prefilter.ts";
import { crsRules, extractRx, generate } from "../rx/crs-corpus.ts";
import { compile, RxSyntaxError } from "../rx/index.ts";
import { parse } from "../rx/parse.ts";
import { anyLiteral, prefilterOf, type Prefilter } from "../rx/prefilter.ts";

/** naive evaluates a prefilter by substring search on the ASCII-lower-cased value. */
function naive(p: Prefilter, value: string): boolean {
  const v = value.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const ev = (x: Prefilter): boolean =>
    x.op === "lits" ? x.lits.some((l) => v.includes(l)) : x.op === "and" ? x.of.every(ev) : x.of.some(ev);
  return ev(p);
}

test("prefilterOf reads the literals a match must contain", () => {
  assert.deepEqual(prefilterOf("(?i)select.*from"), {
    op: "and",
    of: [
      { op: "lits", lits: ["select"] },
      { op: "lits", lits: ["from"] },
    ],
  });
  assert.deepEqual(prefilterOf("(?:foo|bar)baz"), { op: "lits", lits: ["barbaz", "foobaz"] });
  // Literals are cut to 8 bytes and compared case-insensitively.
  assert.deepEqual(prefilterOf("JavaScript:"), { op: "lits", lits: ["javascri"] });
  assert.deepEqual(prefilterOf("<(?:script|iframe)"), { op: "lits", lits: ["<iframe", "<script"] });
  // Nothing is required when a branch, a star or a wide class can match without a literal.
  assert.equal(prefilterOf("a*"), undefined);
  assert.equal(prefilterOf("foo|\\d+"), undefined);
  assert.equal(prefilterOf("^.*$"), undefined);
  assert.equal(prefilterOf("[^a]"), undefined);
  // x+ holds x; x? holds nothing.
  assert.deepEqual(prefilterOf("(?:ab)+c"), {
    op: "and",
    of: [
      { op: "lits", lits: ["ab"] },
      { op: "lits", lits: ["c"] },
    ],
  });
  assert.equal(prefilterOf("(?:ab)?"), undefined);
  // A class no byte is in can never match: the empty list never holds.
  assert.deepEqual(prefilterOf("[^\\x00-\\xff]"), { op: "lits", lits: [] });
  assert.deepEqual(anyLiteral(["Foo", "", "foobar", "BAR"]), { op: "lits", lits: ["bar", "foo"] });
});

test("weaken keeps a necessary condition in one list", () => {
  const p = prefilterOf("(?:select.*from|insert.*into|x)")!;
  const w = weaken(p);
  assert.equal(w.op, "lits");
  for (const s of ["select a from b", "INSERT INTO t", "x"]) {
    assert.ok(naive(p, s), s);
    assert.ok(naive(w, s), s);
  }
});

const crs = crsRules();
test(
  "every CRS pattern: where it matches, its prefilter holds (naive and through the automaton)",
  { skip: "skip" in crs ? crs.skip : false },
  () => {
    const patterns = "dir" in crs ? extractRx(crs.dir) : [];
    const index = new LiteralIndex();
    const cases: {
      id: string;
      rx: ReturnType<typeof compile>;
      pf: Prefilter;
      pre: ReturnType<LiteralIndex["compile"]>;
    }[] = [];
    for (const p of patterns) {
      let rx;
      try {
        rx = compile(p.pattern, "sm", { prefilter: true });
      } catch (e) {
        if (e instanceof RxSyntaxError) continue;
        throw e;
      }
      if (rx.prefilter === undefined) continue;
      cases.push({ id: p.id, rx, pf: rx.prefilter, pre: index.compile(rx.prefilter) });
    }
    index.seal();
    assert.ok(cases.length >= 250, `only ${cases.length} CRS patterns have a prefilter`);
    let seed = 1616;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const arena = new Uint32Array(index.words);
    let matched = 0;
    let skipped = 0;
    const wrong: string[] = [];
    for (const c of cases) {
      const tree = parse(c.rx.source, "sm").node;
      for (let i = 0; i < 40; i++) {
        const bytes: number[] = [];
        generate(tree, next, bytes, true);
        // Some with a prefix and suffix around, some with letters' case flipped, some cut short.
        let s = String.fromCharCode(...bytes);
        if (i % 4 === 1) s = `x=${s}&y`;
        if (i % 4 === 2)
          s = s.replace(/[a-z]/gi, (ch) => (next() < 0.5 ? ch.toUpperCase() : ch.toLowerCase()));
        if (i % 4 === 3) s = s.slice(0, Math.floor(next() * s.length));
        arena.fill(0);
        index.scan(s, arena, 0);
        const viaIndex = holds(c.pre, arena, 0);
        const viaNaive = naive(c.pf, s);
        if (!c.rx.testBinary(s)) {
          if (!viaIndex) skipped++;
          continue;
        }
        matched++;
        if (!viaNaive || !viaIndex)
          wrong.push(`${c.id}: ${JSON.stringify(s.slice(0, 80))} naive ${viaNaive} index ${viaIndex}`);
      }
    }
    assert.ok(matched > 4000, `too few matching strings (${matched})`);
    assert.ok(skipped > 0, "the prefilter never skipped a non-matching string");
    assert.deepEqual(wrong.slice(0, 10), []);
  },
);

test("the engine skips by prefilter only what cannot match, however many values came first (multiMatch: on every intermediate value)", () => {
  const rules = parseRules(
    `SecRequestBodyAccess On
SecRule ARGS "@rx (?i)nes+us" "id:1,phase:2,deny,status:403,t:none,t:lowercase"
SecRule ARGS|REQUEST_HEADERS "@pm zgrab nuclei" "id:2,phase:2,deny,status:403"
SecRule ARGS "@rx %7eq" "id:4,phase:2,deny,status:402,t:none,t:urlDecodeUni,multiMatch"
SecRule ARGS "@rx <zq" "id:5,phase:2,deny,status:404,t:none,t:urlDecodeUni,multiMatch"
SecRule ARGS "!@rx ^[a-z0-9]+$" "id:3,phase:2,deny,status:401"`,
    "prefilter.conf",
  );
  assert.deepEqual(rules.errors, []);
  const r = compileProgram(rules.set, { budgetMs: 0 }, { ops, body });
  assert.ok(r.program);
  const program = r.program;
  const conn = {
    id: "p",
    clientAddress: "192.0.2.1",
    clientPort: 1,
    serverAddress: "127.0.0.1",
    serverPort: 80,
    now: 0,
  };
  const verdict = (args: string[]): number | undefined => {
    const form = args.map((v, i) => `a${i}=${v}`).join("&");
    const tx = program.newTransaction(conn);
    tx.requestHeaders({
      method: "POST",
      uri: "/",
      protocol: "HTTP/1.1",
      headers: [
        ["Host", "x"],
        ["Content-Type", "application/x-www-form-urlencoded"],
      ],
    });
    return tx.requestBody(Buffer.from(form, "latin1"), false).interruption?.status;
  };
  // Many distinct values are scanned before the attack: the per-transaction bits storage grows
  // while they are, at every position of the attack among them.
  const clean = Array.from({ length: 150 }, (_, i) => `value${i}`);
  assert.equal(verdict(clean), undefined);
  for (let at = 0; at < clean.length; at += 7) {
    for (const [attack, status] of [
      ["xxNeSSSusyy", 403],
      ["scan-by-ZGRAB", 403],
      ["UPPER", 401],
      // multiMatch: the value as read (ARGS "%7eq") or only once decoded (ARGS "%3czq" → "<zq").
      ["%257eq", 402],
      ["%253czq", 404],
    ] as const) {
      const args = [...clean];
      args[at] = attack;
      assert.equal(verdict(args), status, `${attack} at ${at}`);
    }
  }
});

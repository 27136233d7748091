// crs.test.ts: the OWASP CRS v4 (scripts/crs/fetch.sh) runs on these ops: every transformation
// its rules name exists, every operator of every rule and chain link compiles (none refused), and
// the phrase matcher agrees with a naive search on CRS's own .data files. Skips, saying why, when
// the CRS is not there and cannot be fetched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadRuleFiles } from "../lang/parse.ts";
import type { Operator, Rule } from "../lang/model.ts";
import { crsFiles, crsRules } from "../rx/crs-corpus.ts";
import { mulberry32 } from "../../ipam/testing.ts";
import { PhraseMatcher } from "./aho-corasick.ts";
import { ops } from "./index.ts";
import { toBinary } from "./op-text.ts";
import type { OperatorContext } from "./types.ts";

const crs = crsRules();
const skip = "skip" in crs ? crs.skip : false;

function crsRuleSet(dir: string): Rule[] {
  const r = loadRuleFiles(crsFiles(dir));
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [],
  );
  return r.set.entries.filter((e): e is Rule => e.kind === "rule");
}

function operators(rules: Rule[]): { op: Operator; rule: Rule }[] {
  return rules.flatMap((rule) =>
    [rule.operator, ...rule.links.map((l) => l.operator)].map((op) => ({ op, rule })),
  );
}

test(
  "CRS v4: every t: transformation exists and every operator of every rule and chain link compiles",
  { skip },
  (t) => {
    if ("skip" in crs) return;
    const rules = crsRuleSet(crs.dir);
    const names = new Map<string, number>();
    for (const rule of rules) {
      for (const a of [...rule.actions, ...rule.links.flatMap((l) => l.actions)]) {
        if (a.name !== "t" || a.value === "none") continue;
        names.set(a.value, (names.get(a.value) ?? 0) + 1);
        assert.ok(ops.transformation(a.value), `rule ${rule.id}: t:${a.value}`);
      }
    }
    const all = operators(rules);
    const counts: Record<string, number> = {};
    const started = performance.now();
    for (const { op, rule } of all) {
      const compiled = ops.compileOperator(op, rule.at, rule.id);
      assert.equal(compiled.name, op.name);
      counts[op.name] = (counts[op.name] ?? 0) + 1;
    }
    const ms = Math.round(performance.now() - started);
    t.diagnostic(
      `CRS ${crs.version}: ${all.length} operators compiled in ${ms} ms: ${JSON.stringify(counts)}`,
    );
    t.diagnostic(`transformations used: ${JSON.stringify(Object.fromEntries(names))}`);
    assert.ok(all.length > 600, `CRS has hundreds of operators (got ${all.length})`);
    assert.ok(names.size >= 15, `CRS uses many transformations (got ${names.size})`);
    // What Portico refuses (network, files, XML schemas) is not used by CRS v4 at all.
    for (const refused of [
      "rbl",
      "geoLookup",
      "inspectFile",
      "fuzzyHash",
      "gsbLookup",
      "validateSchema",
      "validateDTD",
    ])
      assert.equal(counts[refused], undefined, `CRS uses @${refused}`);
  },
);

test(
  "CRS v4: each rule's transformations and operator run on a hostile value without throwing",
  { skip },
  () => {
    if ("skip" in crs) return;
    const value =
      "/../../etc/passwd?q=%3Cscript%3Ealert(1)%3C/script%3E&x=1%27%20OR%201=1--%20&u=%u0041\\u003c&#x3c;\xc3\xa9\xff\0";
    const expand = () => "5";
    let tested = 0;
    for (const rule of crsRuleSet(crs.dir)) {
      for (const link of [rule, ...rule.links]) {
        if (link.operator.name === "detectSQLi" || link.operator.name === "detectXSS") continue;
        let v = value;
        for (const a of link.actions)
          if (a.name === "t" && a.value !== "none") v = ops.transformation(a.value)!(v);
        const c: OperatorContext = { expand, captures: [] };
        ops.compileOperator(link.operator, link.at, rule.id).test(v, c);
        tested++;
      }
    }
    assert.ok(tested > 600);
  },
);

// ASCII-only case changes: phrases and values are bytes (0xE2 is not "â" to be upper-cased).
const upper = (s: string) => s.replace(/[a-z]+/g, (w) => w.toUpperCase());
const lower = (s: string) => s.replace(/[A-Z]+/g, (w) => w.toLowerCase());

test(
  "Aho–Corasick on CRS's .data files: finds every phrase (any case, anywhere) and agrees with a naive search",
  { skip },
  (t) => {
    if ("skip" in crs) return;
    const lists = operators(crsRuleSet(crs.dir))
      .map(({ op }) => op)
      .filter((op) => op.name === "pmFromFile" || op.name === "pm")
      .map((op) => (op.arg.kind === "phrases" ? op.arg.phrases.map(toBinary) : []));
    const next = mulberry32(7);
    let phrases = 0;
    let checked = 0;
    let hits = 0;
    for (const list of lists) {
      const m = new PhraseMatcher(list);
      const folded = list.map(lower);
      for (const p of list) {
        phrases++;
        assert.ok(m.find(`xx${upper(p)}yy`) >= 0, `phrase ${JSON.stringify(p)}`);
        assert.ok(m.find(`${p}`) === 0 || folded.some((q) => q !== lower(p) && lower(p).includes(q)));
      }
      // Near misses: pieces of phrases glued together, cut short, with one byte changed.
      for (let k = 0; k < 300; k++) {
        let s = "";
        for (let parts = 1 + Math.floor(next() * 3); parts > 0; parts--) {
          const p = list[Math.floor(next() * list.length)]!;
          const a = Math.floor(next() * p.length);
          s += p.slice(a, a + 1 + Math.floor(next() * p.length));
        }
        if (s.length > 0 && next() < 0.5) {
          const i = Math.floor(next() * s.length);
          s = s.slice(0, i) + String.fromCharCode(Math.floor(next() * 256)) + s.slice(i + 1);
        }
        const want = folded.some((q) => lower(s).includes(q));
        const at = m.find(s);
        assert.equal(at >= 0, want, `${JSON.stringify(s)} in a list of ${list.length}`);
        if (at >= 0) {
          hits++;
          assert.equal(
            lower(s.slice(at, at + m.phrases[m.lastPhrase]!.length)),
            lower(m.phrases[m.lastPhrase]!),
          );
        }
        checked++;
      }
    }
    t.diagnostic(
      `${lists.length} phrase lists, ${phrases} phrases, ${checked} near misses (${hits} matches)`,
    );
    assert.ok(phrases > 3000, `CRS has thousands of phrases (got ${phrases})`);
  },
);

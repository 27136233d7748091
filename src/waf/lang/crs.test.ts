// crs.test.ts: the OWASP CRS v4 (fetched by scripts/crs/fetch.sh) loads with no error, and what it
// uses is counted: those counts are the list of operators, transformations and collections the
// engine must implement. Skips, saying why, when the CRS is not there and cannot be fetched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { crsFiles, crsRules, extractRx } from "../rx/crs-corpus.ts";
import { loadRuleFiles } from "./parse.ts";
import { ruleStats } from "./stats.ts";

const crs = crsRules();
const skip = "skip" in crs ? crs.skip : false;

test("CRS v4: crs-setup.conf.example + rules/*.conf load with 0 errors; counts", { skip }, (t) => {
  if ("skip" in crs) return;
  const files = crsFiles(crs.dir);
  const started = performance.now();
  const r = loadRuleFiles(files);
  const ms = Math.round(performance.now() - started);
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [],
  );
  const s = ruleStats(r.set);
  t.diagnostic(
    `CRS ${crs.version}: ${files.length} files, ${r.set.files.length - files.length} data files, parsed in ${ms} ms`,
  );
  t.diagnostic(JSON.stringify(s));

  // Cross-check against a count that does not use the parser: directives at the start of a line.
  let secRules = 0;
  let secActions = 0;
  let markers = 0;
  for (const f of files) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      if (/^\s*SecRule\s/.test(line)) secRules++;
      if (/^\s*SecAction\b/.test(line)) secActions++;
      if (/^\s*SecMarker\s/.test(line)) markers++;
    }
  }
  assert.equal(s.secRules + s.links, secRules, "every SecRule line is a rule or a chain link");
  assert.equal(s.secActions, secActions);
  assert.equal(s.markers, markers);
  assert.equal(s.rules, new Set(r.set.entries.flatMap((e) => (e.kind === "rule" ? [e.id] : []))).size);
  assert.ok(
    s.rules > 500 && s.chains > 30,
    `a CRS v4 has hundreds of rules (got ${s.rules}, ${s.chains} chains)`,
  );
  // The operators the issue names are all there, so the counts are the engine's to-do list.
  for (const op of [
    "rx",
    "pm",
    "pmFromFile",
    "detectSQLi",
    "detectXSS",
    "ipMatch",
    "validateByteRange",
    "validateUrlEncoding",
    "validateUtf8Encoding",
    "eq",
    "ge",
    "lt",
    "within",
    "streq",
  ]) {
    assert.ok((s.operators[op] ?? 0) + (s.operators[`!${op}`] ?? 0) > 0, `CRS uses @${op}`);
  }
  // Every @pmFromFile read its .data file, and no list came back empty.
  for (const e of r.set.entries) {
    if (e.kind !== "rule") continue;
    for (const op of [e.operator, ...e.links.map((l) => l.operator)]) {
      if (op.name === "pmFromFile")
        assert.ok(op.arg.kind === "phrases" && op.arg.phrases.length > 0, `rule ${e.id}: ${op.raw}`);
    }
  }
  assert.ok(r.set.files.some((f) => f.endsWith(".data")));
  // The last SecDefaultAction of crs-setup applies to phase 2 rules that follow it.
  const r942100 = r.set.entries.find((e) => e.kind === "rule" && e.id === 942100);
  assert.ok(r942100?.kind === "rule" && r942100.operator.name === "detectSQLi" && r942100.defaults?.length);
});

test(
  "CRS v4: every commented-out example in crs-setup.conf.example parses once uncommented",
  { skip },
  (t) => {
    if ("skip" in crs) return;
    const setup = join(dirname(crs.dir), "crs-setup.conf.example");
    const lines = readFileSync(setup, "utf8").split("\n");
    const blocks: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (!/^#\s*Sec(Rule|Action|DefaultAction|RuleUpdateActionById)\s/.test(lines[i] ?? "")) continue;
      const block: string[] = [];
      // A block runs while its lines continue; an example chain's link follows its `chain"` line.
      do {
        const text = (lines[i] ?? "").replace(/^#/, "");
        block.push(text);
        if (!text.trimEnd().endsWith("\\") && !/chain"\s*$/.test(text)) break;
        i++;
      } while (i < lines.length && (lines[i] ?? "").startsWith("#"));
      blocks.push(block.join("\n"));
    }
    // The examples go where crs-setup's comments say: before the rules, except updates of rules,
    // which need the rules loaded. One file after the rules serves both for a parse.
    const dir = mkdtempSync(join(tmpdir(), "waflang-crs-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const examples = join(dir, "crs-setup-examples.conf");
    writeFileSync(examples, blocks.join("\n"));
    const r = loadRuleFiles([...crsFiles(crs.dir), examples]);
    assert.deepEqual(
      r.errors.map((e) => e.message),
      [],
    );
    const s = ruleStats({ ...r.set, entries: r.set.entries.filter((e) => e.at.file === examples) });
    t.diagnostic(`${blocks.length} examples: ${JSON.stringify(s.directives)}`);
    assert.ok(blocks.length >= 30, `crs-setup has dozens of examples (found ${blocks.length})`);
    assert.equal(s.chains, 1, "the text/plain JSON example is a chain");
  },
);

test(
  "Coraza's coraza.conf-recommended (the engine settings CRS is deployed with) loads too",
  { skip },
  () => {
    if ("skip" in crs) return;
    const r = loadRuleFiles([join(dirname(crs.dir), "coraza.conf-recommended")]);
    assert.deepEqual(
      r.errors.map((e) => e.message),
      [],
    );
    const engine = r.set.entries.find((e) => e.kind === "setting" && e.name === "SecRuleEngine");
    assert.ok(engine?.kind === "setting" && engine.value === "DetectionOnly");
  },
);

test(
  "CRS v4: the @rx patterns the parser reads are the ones src/waf/rx compiles, byte for byte",
  { skip },
  () => {
    if ("skip" in crs) return;
    const r = loadRuleFiles(crsFiles(crs.dir).slice(1));
    const mine: string[] = [];
    for (const e of r.set.entries) {
      if (e.kind !== "rule") continue;
      for (const op of [e.operator, ...e.links.map((l) => l.operator)]) {
        if (op.arg.kind === "regex" && op.name === "rx") mine.push(op.arg.pattern);
      }
    }
    const theirs = extractRx(crs.dir).map((p) => p.pattern);
    assert.equal(mine.length, theirs.length);
    assert.deepEqual(mine.sort(), theirs.sort());
  },
);

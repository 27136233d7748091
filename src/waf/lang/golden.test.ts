// golden.test.ts: every testdata/<case>.conf parses into <case>.out.yaml (the rule set and the
// errors, file paths relative to testdata/). UPDATE_GOLDEN=1 rewrites the .out files; the diff
// is the review of any change to what the parser produces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { loadRuleFiles } from "./parse.ts";

const dir = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";

for (const name of readdirSync(dir).filter((f) => f.endsWith(".conf"))) {
  test(`golden: ${name}`, () => {
    const r = loadRuleFiles([join(dir, name)]);
    const relative = (s: string) => s.split(`${dir}/`).join("");
    const doc = {
      errors: r.errors.map((e) => relative(e.message)),
      files: r.set.files.map(relative),
      entries: r.set.entries,
    };
    // Defaults repeat the SecDefaultAction entry; show where they come from instead.
    const text = relative(
      stringify(doc, (k, v) => (k === "defaults" ? `(SecDefaultAction, ${v.length} actions)` : v), {
        aliasDuplicateObjects: false,
        lineWidth: 0,
      }),
    );
    const out = join(dir, name.replace(/\.conf$/, ".out.yaml"));
    if (update || !existsSync(out)) writeFileSync(out, text);
    assert.equal(text, readFileSync(out, "utf8"), `${out} differs; UPDATE_GOLDEN=1 rewrites it`);
  });
}

// golden.test.ts: every testdata/<case>.in.yaml runs through the file source's parser and the whole
// pipeline; the result must equal <case>.out.yaml. UPDATE_GOLDEN=1 rewrites the .out files, and the
// diff is the review. A case's first lines may set options as JSON comments:
//   # options: {"serveClasslessServices": true}
//   # previous: {"Service/ns/a": {"addresses": ["192.0.2.1"], "pools": ["p"], "ports": []}}
/* eslint-disable no-restricted-imports -- a golden test runs the whole pipeline from files; the rule
   keeps file and controller imports out of the translator itself, not out of its end-to-end test. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import { redactGroups } from "../controller/redact.ts";
import { validateSnapshot } from "../model/validate.ts";
import type { AllocationState } from "../ipam/types.ts";
import type { TranslateOptions } from "./types.ts";

const dir = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";

/** header reads a "# name: {json}" comment line of a case. */
function header<T>(text: string, name: string): T | undefined {
  const m = new RegExp(`^# ${name}: (.*)$`, "m").exec(text);
  return m ? (JSON.parse(m[1]!) as T) : undefined;
}

/** summarise replaces PEM text by its kind, size and digest, so goldens stay readable. */
function summarise(pem: string): string {
  const kind = /-----BEGIN ([A-Z ]+)-----/.exec(pem)?.[1] ?? "PEM";
  const digest = createHash("sha256").update(pem).digest("hex").slice(0, 12);
  return `${kind} (${pem.length} bytes, sha256 ${digest})`;
}

/** run renders one case as the golden document. */
function run(name: string, text: string): string {
  const file = `${name}.in.yaml`;
  const opts: TranslateOptions = {
    serveClasslessServices: false,
    ingressHttpPort: 80,
    ingressHttpsPort: 443,
    ...header<Partial<TranslateOptions>>(text, "options"),
  };
  const previous = header<AllocationState>(text, "previous") ?? {};
  const set = assemble(new Map([[file, nextState(undefined, "golden", parseManifests(file, text))]]), []);
  const out = buildSnapshot(set, opts, previous, 1);
  const certificates = Object.fromEntries(
    Object.entries(out.snapshot.certificates).map(([k, c]) => [
      k,
      { certPem: summarise(c.certPem), keyPem: summarise(c.keyPem) },
    ]),
  );
  const doc = {
    snapshot: { ...out.snapshot, certificates },
    problems: validateSnapshot(out.snapshot),
    vipRequests: out.translate.vipRequests,
    allocations: out.allocations.results,
    statuses: out.statuses,
    notices: [...((set as { notices?: string[] }).notices ?? []), ...out.translate.notices],
    sourceErrors: set.errors,
  };
  // Cases about EngineGroups also show the groups the pipeline hands to the fleet.
  if (set.engineGroups.length > 0 || Object.keys(out.groups).length > 1)
    Object.assign(doc, { groups: redactGroups(out.groups), invalid: out.invalid });
  return stringify(doc, { aliasDuplicateObjects: false, lineWidth: 0 });
}

const cases = readdirSync(dir)
  .filter((f) => f.endsWith(".in.yaml"))
  .map((f) => f.slice(0, -".in.yaml".length))
  .sort();

test("golden: there are at least 30 cases", () => {
  assert.ok(cases.length >= 30, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`golden: ${name}`, () => {
    const text = readFileSync(join(dir, `${name}.in.yaml`), "utf8");
    const got = run(name, text);
    // Running twice must give the same bytes: translation and allocation are deterministic.
    assert.equal(run(name, text), got);
    const outPath = join(dir, `${name}.out.yaml`);
    if (update || !existsSync(outPath)) {
      writeFileSync(outPath, got);
      if (!update) assert.fail(`${outPath} was missing; written, review it and run again`);
      return;
    }
    assert.equal(
      got,
      readFileSync(outPath, "utf8"),
      `${name}: differs from golden (UPDATE_GOLDEN=1 rewrites)`,
    );
  });
}

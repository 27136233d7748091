// corpus.ts: loads the CRS regression corpus (go-ftw YAML, `tests/<RULE-FILE>/<rule>.yaml`) into
// plain objects with go-ftw's post-load defaults applied (test/types.go in coreruleset/go-ftw v2):
// headers sorted by name, autocomplete_headers from stop_magic, log_contains → match_regex,
// rule_id from the file name when absent, test ids numbered from 1 when absent.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { parse } from "yaml";

/** FtwInput is one stage's request as the YAML describes it (fields absent: go-ftw's defaults). */
export interface FtwInput {
  destAddr?: string;
  port?: number;
  protocol?: string;
  method?: string;
  uri?: string;
  version?: string;
  /** headers in the order go-ftw writes them (a YAML map is sorted by name; ordered_headers kept). */
  headers: [string, string][];
  data?: string;
  /** encodedData: base64 of the body; encodedRequest: base64 of the whole raw request. */
  encodedData?: string;
  encodedRequest?: string;
  /** autocompleteHeaders (default true; `stop_magic: true` means false). */
  autocompleteHeaders: boolean;
  saveCookie?: boolean;
  followRedirect?: boolean;
}

/** FtwOutput is what a stage expects. */
export interface FtwOutput {
  status?: number;
  expectIds: number[];
  noExpectIds: number[];
  matchRegex?: string;
  noMatchRegex?: string;
  responseContains?: string;
  expectError: boolean;
  isolated: boolean;
  retryOnce: boolean;
}

/** FtwStage is one request and its expectation. */
export interface FtwStage {
  input: FtwInput;
  output: FtwOutput;
}

/** FtwTest is one test case: `<ruleId>-<testId>` (go-ftw's IdString), in its rule file's folder. */
export interface FtwTest {
  id: string;
  ruleId: number;
  testId: number;
  /** file is the CRS rule file the test belongs to (the folder name, "REQUEST-942-...-SQLI"). */
  file: string;
  /** path is the YAML file relative to the corpus root. */
  path: string;
  desc?: string;
  stages: FtwStage[];
}

type Y = Record<string, unknown>;

/** str renders a YAML scalar as go-ftw's string fields read it (numbers and booleans as written). */
function str(v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : String(v);
}

/** ids reads an id list (`[942100, 942101]`). */
function ids(v: unknown): number[] {
  return Array.isArray(v) ? v.map(Number) : [];
}

/** bool reads an optional YAML boolean. */
function bool(v: unknown): boolean | undefined {
  return v === undefined || v === null ? undefined : v === true || v === "true";
}

/** loadInput applies go-ftw's postLoadInput: autocomplete from stop_magic, headers sorted by name. */
function loadInput(y: Y): FtwInput {
  const auto = bool(y.autocomplete_headers);
  const stopMagic = bool(y.stop_magic);
  let headers: [string, string][];
  if (Array.isArray(y.ordered_headers)) {
    headers = (y.ordered_headers as Y[]).map((h) => [String(h.name), str(h.value) ?? ""]);
  } else {
    // go-ftw decodes `headers` into a Go map and sorts the names (byte order) for a stable order.
    const h = (y.headers ?? {}) as Y;
    headers = Object.keys(h)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((k) => [k, str(h[k]) ?? ""]);
  }
  return {
    destAddr: str(y.dest_addr),
    port: y.port === undefined ? undefined : Number(y.port),
    protocol: str(y.protocol),
    method: str(y.method),
    uri: str(y.uri),
    version: str(y.version),
    headers,
    data: str(y.data),
    encodedData: str(y.encoded_data),
    encodedRequest: str(y.encoded_request),
    autocompleteHeaders: auto ?? (stopMagic === undefined ? true : !stopMagic),
    saveCookie: bool(y.save_cookie),
    followRedirect: bool(y.follow_redirect),
  };
}

/** loadOutput applies go-ftw's postProcessLogContains (log_contains → log.match_regex). */
function loadOutput(y: Y): FtwOutput {
  const log = (y.log ?? {}) as Y;
  const expectIds = ids(log.expect_ids);
  const noExpectIds = ids(log.no_expect_ids);
  let matchRegex = str(log.match_regex);
  let noMatchRegex = str(log.no_match_regex);
  if (y.log_contains && log.expect_ids === undefined && !matchRegex) matchRegex = str(y.log_contains);
  if (y.no_log_contains && log.no_expect_ids === undefined && !noMatchRegex)
    noMatchRegex = str(y.no_log_contains);
  return {
    status: y.status === undefined ? undefined : Number(y.status),
    expectIds,
    noExpectIds,
    matchRegex: matchRegex || undefined,
    noMatchRegex: noMatchRegex || undefined,
    responseContains: str(y.response_contains) || undefined,
    expectError: bool(y.expect_error) ?? false,
    isolated: bool(y.isolated) ?? false,
    retryOnce: bool(y.retry_once) ?? false,
  };
}

/** parseTestFile reads one YAML file's tests; file is its rule file folder name. */
export function parseTestFile(text: string, path: string, file: string): FtwTest[] {
  let doc: Y | null;
  try {
    doc = parse(text) as Y | null;
  } catch (err) {
    throw new Error(`${path}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  // A file whose tests are all commented out (920539.yaml) is empty: go-ftw loads no test from it.
  if (!doc || !Array.isArray(doc.tests)) return [];
  let ruleId = Number(doc.rule_id ?? 0);
  if (!ruleId) ruleId = Number(/\d+/.exec(basename(path))?.[0] ?? 0);
  if (!ruleId) throw new Error(`${path}: no rule_id and none in the file name; add rule_id`);
  return (doc.tests as Y[]).map((t, i) => {
    const testId = Number(t.test_id ?? 0) || i + 1;
    return {
      id: `${ruleId}-${testId}`,
      ruleId,
      testId,
      file,
      path,
      desc: str(t.desc),
      stages: ((t.stages ?? []) as Y[]).map((s) => ({
        input: loadInput((s.input ?? {}) as Y),
        output: loadOutput((s.output ?? {}) as Y),
      })),
    };
  });
}

/** yamlFiles lists *.yaml below dir, sorted (go-ftw's `**\/*.yaml` glob order is lexical too). */
function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (name.endsWith(".yaml") || name.endsWith(".yml")) out.push(p);
  }
  return out;
}

/** CorpusFilter narrows a load: rule ids, rule file name prefixes ("REQUEST-942"), test ids. */
export interface CorpusFilter {
  rules?: number[];
  files?: string[];
  ids?: string[];
}

/** loadCorpus reads every test below root (the CRS `tests/` folder) that passes filter. */
export function loadCorpus(root: string, filter: CorpusFilter = {}): FtwTest[] {
  const tests: FtwTest[] = [];
  for (const path of yamlFiles(root)) {
    const file = basename(dirname(path));
    if (filter.files?.length && !filter.files.some((f) => file.startsWith(f))) continue;
    const rel = relative(root, path);
    for (const t of parseTestFile(readFileSync(path, "utf8"), rel, file)) {
      if (filter.rules?.length && !filter.rules.includes(t.ruleId)) continue;
      if (filter.ids?.length && !filter.ids.includes(t.id)) continue;
      tests.push(t);
    }
  }
  return tests;
}

/** sample picks n tests spread over the corpus with a fixed seed (same seed, same tests). */
export function sample(tests: FtwTest[], n: number, seed: number): FtwTest[] {
  if (n >= tests.length) return tests;
  // mulberry32: tiny, deterministic, good enough to spread a sample.
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const idx = tests.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => tests[i]!);
}

// waf-program.ts: the WAF programs of the routes, compiled once per WafConfig.key and shared by
// every route and every snapshot that uses the key (the CRS takes ~10^2 ms to parse and compile;
// a snapshot that changes a backend must not pay it again). A program that cannot be built is
// cached too, with its errors, logged once per key: its routes follow their failurePolicy.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import type { WafConfig } from "../../model/ir.ts";
import { compileProgram, warmUp, type Program, type WarmUpResult } from "../../waf/engine/index.ts";
import { loadRuleSources } from "../../waf/lang/index.ts";
import { configProblems, ruleSources } from "../../waf/policy/setup.ts";
import type { CompileDeps } from "../contracts.ts";

/** WafProgramEntry is one key's program, or why there is none. */
export interface WafProgramEntry {
  key: string;
  program: Program | undefined;
  /** errors say why there is no program (file:line: rule N: detail), first ones only. */
  errors: string[];
  /** compileMs is how long parse, compile and warm-up took. */
  compileMs: number;
  /** warmUp: the ordinary exchanges run through the program before it served (warm-up.ts). */
  warmUp?: WarmUpResult;
}

/** CACHE_KEYS bounds the cache: keys no snapshot uses any more go, oldest first. */
const CACHE_KEYS = 32;
/** ERRORS_KEPT bounds the errors kept and logged per key (a broken CRS can give hundreds). */
const ERRORS_KEPT = 10;
const cache = new Map<string, WafProgramEntry>();

/** crsDir is where the engine reads the OWASP CRS: PORTICO_CRS_DIR, else <repo>/.cache/crs/current. */
export function crsDir(): string {
  const env = process.env.PORTICO_CRS_DIR;
  if (env !== undefined && env !== "") return env;
  return join(repoRoot(), ".cache/crs/current");
}

/**
 * wafProgram returns config's program, compiling it on first use of its key; a failure is logged
 * once (with file:line and rule, and how to get the CRS when it is missing).
 */
export function wafProgram(config: WafConfig, log: CompileDeps["log"]): WafProgramEntry {
  const hit = cache.get(config.key);
  if (hit !== undefined) {
    // Most recently used last: eviction takes the oldest.
    cache.delete(config.key);
    cache.set(config.key, hit);
    return hit;
  }
  const started = performance.now();
  const built = build(config);
  const entry: WafProgramEntry = { key: config.key, ...built, compileMs: performance.now() - started };
  cache.set(config.key, entry);
  if (cache.size > CACHE_KEYS) cache.delete(cache.keys().next().value!);
  if (entry.program === undefined)
    log("error", "WAF policy cannot run: its routes follow the failure policy", {
      policy: config.policy,
      key: config.key,
      failurePolicy: config.failurePolicy,
      errors: entry.errors,
    });
  else {
    log("info", "WAF program compiled", {
      policy: config.policy,
      rules: entry.program.ruleCount,
      mode: entry.program.engineMode,
      ms: Math.round(entry.compileMs),
      warmUpMs: Math.round(entry.warmUp?.ms ?? 0),
      warmUpRounds: entry.warmUp?.rounds ?? 0,
    });
    // Still over budget after warming: the first requests may be inspected only in part (FailOpen)
    // or refused (FailClosed) until the machine has room — say so rather than let it surprise.
    if (entry.warmUp !== undefined && !entry.warmUp.withinBudget)
      log("warn", "WAF program still exceeds its time budget after warm-up", {
        policy: config.policy,
        budgetMs: config.budgetMs,
        rounds: entry.warmUp.rounds,
      });
    // Rule actions of the policy's own rules accepted without effect: one line per key, with the
    // first few places (the stock CRS's, initcol in 901320, are documented, not the user's to fix).
    const crs = crsDir() + sep;
    const actions = entry.program.ignoredActions.filter((x) => !x.at.file.startsWith(crs));
    if (actions.length > 0)
      log("warn", "WAF policy: rule actions not acted on", {
        policy: config.policy,
        count: actions.length,
        first: actions
          .slice(0, 5)
          .map((x) => `${x.at.file}:${x.at.line}: rule ${x.ruleId}: ${x.action}: ${x.reason}`),
      });
    // Directives of custom rules the engine accepts but does not act on are reported, not hidden.
    for (const x of entry.program.ignoredSettings)
      log("warn", "WAF policy: directive not acted on", {
        policy: config.policy,
        at: `${x.at.file}:${x.at.line}`,
        directive: x.name,
        reason: x.reason,
      });
  }
  return entry;
}

/** clearWafPrograms empties the cache (tests that change PORTICO_CRS_DIR). */
export function clearWafPrograms(): void {
  cache.clear();
}

function build(config: WafConfig): Pick<WafProgramEntry, "program" | "errors" | "warmUp"> {
  const problems = configProblems(config);
  if (problems.length > 0) return { program: undefined, errors: problems.slice(0, ERRORS_KEPT) };
  const dir = crsDir();
  let ruleFiles: string[];
  try {
    ruleFiles = readdirSync(join(dir, "rules"));
  } catch {
    return {
      program: undefined,
      errors: [`the OWASP CRS is not in ${dir}: run scripts/crs/fetch.sh (or set PORTICO_CRS_DIR)`],
    };
  }
  const loaded = loadRuleSources(ruleSources(config, { dir, ruleFiles, version: crsVersion(dir) }));
  if (loaded.errors.length > 0)
    return { program: undefined, errors: loaded.errors.slice(0, ERRORS_KEPT).map((e) => e.message) };
  let compiled: ReturnType<typeof compileProgram>;
  try {
    compiled = compileProgram(loaded.set, { budgetMs: config.budgetMs });
  } catch (err) {
    return { program: undefined, errors: [`the WAF rule engine failed: ${(err as Error).message}`] };
  }
  if (compiled.program === undefined)
    return { program: undefined, errors: compiled.errors.slice(0, ERRORS_KEPT).map((e) => e.message) };
  return { program: compiled.program, errors: [], warmUp: warmUp(compiled.program) };
}

// crsVersion reads the version scripts/crs/fetch.sh wrote ("crs 4.25.0"), else the setup example's.
function crsVersion(dir: string): string {
  for (const [file, re] of [
    ["VERSION", /^crs (\d+\.\d+\.\d+)/m],
    ["crs-setup.conf.example", /OWASP_CRS\/(\d+\.\d+\.\d+)/],
  ] as const) {
    try {
      const m = re.exec(readFileSync(join(dir, file), "utf8"));
      if (m !== null) return m[1]!;
    } catch {
      // Next source.
    }
  }
  return "4.0.0";
}

// repoRoot is the directory of Portico's package.json above this file: the sources sit three
// levels below it, the build (.cache/dist.N/src/engine/l7) five (as version.ts finds it).
function repoRoot(): string {
  for (let dir = import.meta.dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (!existsSync(file)) continue;
    try {
      if ((JSON.parse(readFileSync(file, "utf8")) as { name?: string }).name === "portico") return dir;
    } catch {
      // Not Portico's: look further up.
    }
  }
  return process.cwd();
}

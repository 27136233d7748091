// runner.ts: runs corpus tests against a Target stage by stage, the way go-ftw's RunStage does:
// start marker → the stage's raw request on a fresh connection → end marker, then the log lines
// between the markers are judged (check.ts). Overridden tests are not run (go-ftw's `ignore`).
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { checkStage, type Verdict } from "./check.ts";
import { send } from "./client.ts";
import type { FtwStage, FtwTest } from "./corpus.ts";
import { between, MARKER_PREFIX } from "./log.ts";
import { buildRequest, markerRequest, RequestError } from "./request.ts";
import type { Target } from "./target.ts";

/** MAX_OVERRIDES is issue 16's bound on overridden tests. */
export const MAX_OVERRIDES = 25;

/** Outcome is one test's result; seen is what the failing stage sent, got and logged. */
export interface Outcome {
  test: FtwTest;
  result: "pass" | "fail" | "skip" | "override";
  why: string;
  ms: number;
  seen?: Seen;
}

/** Seen is one stage's request, response head and marked log lines (for failure reports). */
export interface Seen {
  request: string;
  response: string;
  log: string[];
}

/** loadOverrides reads ftw-overrides.yaml (`overrides: {"<rule>-<test>": reason}`), refusing more
 * than MAX_OVERRIDES entries or one without a reason. */
export function loadOverrides(path: string): Map<string, string> {
  const doc = (parse(readFileSync(path, "utf8")) ?? {}) as { overrides?: Record<string, unknown> | null };
  const entries = Object.entries(doc.overrides ?? {});
  if (entries.length > MAX_OVERRIDES)
    throw new Error(
      `${path}: ${entries.length} overrides, at most ${MAX_OVERRIDES} allowed: fix the engine instead`,
    );
  for (const [id, reason] of entries) {
    if (!/^\d+-\d+$/.test(id))
      throw new Error(`${path}: override key ${JSON.stringify(id)} is not <rule>-<test>`);
    if (typeof reason !== "string" || reason.trim().length < 10)
      throw new Error(`${path}: override ${id} needs a reason (why the test cannot pass on Portico)`);
  }
  return new Map(entries as [string, string][]);
}

/** unsupported names a stage feature this runner does not implement (the test is skipped). */
function unsupported(stage: FtwStage): string | undefined {
  const i = stage.input;
  if (i.protocol && i.protocol.toLowerCase() !== "http") return `protocol ${i.protocol}`;
  if (i.followRedirect) return "follow_redirect";
  if (i.saveCookie) return "save_cookie";
  return undefined;
}

/** RunOptions tune a run. */
export interface RunOptions {
  /** timeoutMs is the read deadline per request (go-ftw: 1 s; Coraza's CI: 3 s). */
  timeoutMs?: number;
  overrides?: Map<string, string>;
  /** onOutcome is called after each test (progress output). */
  onOutcome?: (o: Outcome) => void;
}

/** mark sends one marker request and waits for its access-log line. */
async function mark(target: Target, path: string, timeoutMs: number): Promise<boolean> {
  // Like go-ftw's markAndFlush, resend a few times if the line does not show up.
  for (let i = 0; i < 3; i++) {
    await send(target.address, target.port, markerRequest(path), timeoutMs);
    if (await target.log.waitFor(path, timeoutMs)) return true;
  }
  return false;
}

/**
 * probeWaf sends one marker and returns the WAF action Portico logged for it ("bypass" when the
 * WAF runs and the allowlist works), or undefined when the line has no `waf` evidence: this build
 * does not run the WAF on the route, and every expect_ids test would fail for that one reason.
 */
export async function probeWaf(target: Target, timeoutMs = 3000): Promise<string | undefined> {
  const path = `${MARKER_PREFIX}${randomUUID()}/probe`;
  if (!(await mark(target, path, timeoutMs)))
    throw new Error("the probe marker never reached the access log");
  return target.log.lines.find((l) => l.path === path)?.waf?.action;
}

/** runStage sends one stage between its markers and judges it. */
async function runStage(
  target: Target,
  stage: FtwStage,
  timeoutMs: number,
): Promise<Verdict & { seen?: Seen }> {
  let bytes: Buffer;
  try {
    bytes = buildRequest(stage.input);
  } catch (err) {
    if (err instanceof RequestError) return { ok: false, why: err.message };
    throw err;
  }
  const id = randomUUID();
  const start = `${MARKER_PREFIX}${id}/start`;
  const end = `${MARKER_PREFIX}${id}/end`;
  target.log.forget();
  if (!(await mark(target, start, timeoutMs)))
    return { ok: false, why: "start marker never reached the access log" };
  const ex = await send(target.address, target.port, bytes, timeoutMs);
  if (!(await mark(target, end, timeoutMs)))
    return { ok: false, why: "end marker never reached the access log" };
  const lines = between(target.log.lines, start, end);
  const seen = {
    request: bytes.toString("latin1"),
    response: ex.error ?? ex.raw.slice(0, Math.max(0, ex.raw.indexOf("\r\n\r\n"))),
    log: (lines ?? []).map((l) => l.text),
  };
  return { ...checkStage(stage.output, ex, lines), seen };
}

/** runTest runs every stage of test; it passes when each stage passes (retry_once: a second try). */
export async function runTest(target: Target, test: FtwTest, opts: RunOptions = {}): Promise<Outcome> {
  const t0 = performance.now();
  const done = (result: Outcome["result"], why: string, seen?: Seen): Outcome => ({
    test,
    result,
    why,
    ms: performance.now() - t0,
    seen,
  });
  const reason = opts.overrides?.get(test.id);
  if (reason) return done("override", reason);
  for (const s of test.stages) {
    const u = unsupported(s);
    if (u) return done("skip", `${u} is not implemented by this runner`);
  }
  for (const [i, stage] of test.stages.entries()) {
    let v = await runStage(target, stage, opts.timeoutMs ?? 3000);
    if (!v.ok && stage.output.retryOnce) v = await runStage(target, stage, opts.timeoutMs ?? 3000);
    if (!v.ok) return done("fail", test.stages.length > 1 ? `stage ${i + 1}: ${v.why}` : v.why, v.seen);
  }
  return done("pass", "");
}

/** runCorpus runs tests in order, one at a time (markers need a quiet log). */
export async function runCorpus(target: Target, tests: FtwTest[], opts: RunOptions = {}): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const t of tests) {
    if (!target.alive())
      throw new Error(`Portico died during the run:\n${target.problems.slice(-20).join("\n")}`);
    const o = await runTest(target, t, opts);
    out.push(o);
    opts.onOutcome?.(o);
  }
  return out;
}

/** Tally counts outcomes; rate is passed / (run − overridden − skipped) as a fraction. */
export interface Tally {
  total: number;
  pass: number;
  fail: number;
  skip: number;
  override: number;
  rate: number;
}

/** tally counts outcomes. */
export function tally(outcomes: readonly Outcome[]): Tally {
  const n = (r: Outcome["result"]): number => outcomes.filter((o) => o.result === r).length;
  const t = {
    total: outcomes.length,
    pass: n("pass"),
    fail: n("fail"),
    skip: n("skip"),
    override: n("override"),
  };
  const judged = t.pass + t.fail;
  return { ...t, rate: judged === 0 ? 0 : t.pass / judged };
}

/** summary renders per-file and total pass rates as a text table. */
export function summary(outcomes: readonly Outcome[]): string {
  const byFile = new Map<string, Outcome[]>();
  for (const o of outcomes) byFile.set(o.test.file, [...(byFile.get(o.test.file) ?? []), o]);
  const row = (name: string, t: Tally): string =>
    `${name.padEnd(46)} ${String(t.total).padStart(5)} ${String(t.pass).padStart(5)} ${String(t.fail).padStart(5)} ${String(t.skip + t.override).padStart(5)} ${(t.rate * 100).toFixed(1).padStart(6)}%`;
  const lines = [`${"rule file".padEnd(46)} tests  pass  fail  skip   rate`];
  for (const [file, os] of [...byFile].sort()) lines.push(row(file, tally(os)));
  lines.push(row("TOTAL", tally(outcomes)));
  return lines.join("\n");
}

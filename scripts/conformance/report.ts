// report.ts: reads the suite's ConformanceReport YAML (sigs.k8s.io/gateway-api/conformance/apis/v1)
// into per-profile counts for the runner's summary. Pure: text in, rows out.
import { parse } from "yaml";

/** ProfileSummary is one profile's counts, core and extended added together. */
export interface ProfileSummary {
  name: string;
  passed: number;
  skipped: number;
  failed: number;
  /** failedTests names the failed tests (core and extended). */
  failedTests: string[];
  /** skippedTests names the skipped tests (core and extended). */
  skippedTests: string[];
  /** features are the supportedFeatures the run claimed for the profile, sorted. */
  features: string[];
}

interface Status {
  result?: string;
  statistics?: { Passed?: number; Skipped?: number; Failed?: number };
  supportedFeatures?: string[];
  failedTests?: string[];
  skippedTests?: string[];
}

/** summarizeReport returns one row per profile of a ConformanceReport's YAML text. */
export function summarizeReport(text: string): ProfileSummary[] {
  const doc = parse(text) as { profiles?: { name: string; core?: Status; extended?: Status }[] } | null;
  return (doc?.profiles ?? []).map((p) => {
    const parts = [p.core, p.extended].filter((s): s is Status => s !== undefined);
    const sum = (k: "Passed" | "Skipped" | "Failed") =>
      parts.reduce((n, s) => n + (s.statistics?.[k] ?? 0), 0);
    return {
      name: p.name,
      passed: sum("Passed"),
      skipped: sum("Skipped"),
      failed: sum("Failed"),
      failedTests: parts.flatMap((s) => s.failedTests ?? []),
      skippedTests: parts.flatMap((s) => s.skippedTests ?? []),
      features: [...new Set(parts.flatMap((s) => s.supportedFeatures ?? []))].sort(),
    };
  });
}

/** formatSummary renders rows as an aligned table, with failed test names under their profile. */
export function formatSummary(rows: ProfileSummary[]): string {
  const lines = rows.map(
    (r) => `${r.name.padEnd(14)} passed ${r.passed}  skipped ${r.skipped}  failed ${r.failed}`,
  );
  for (const r of rows) {
    if (r.failedTests.length > 0) lines.push(`  ${r.name} failed: ${r.failedTests.join(", ")}`);
  }
  return lines.join("\n");
}

/**
 * regressions compares a fresh run's report with the committed one (both YAML text) and returns
 * one line per problem, none when the run is as good: every committed profile ran, none failed a
 * test, each passed at least as many, and each claimed exactly the committed features — so a
 * feature silently dropped from the GatewayClass (whose tests would then just skip) is caught, and
 * a newly claimed one asks for the committed report to be rerun rather than passing unrecorded.
 */
export function regressions(committed: string, fresh: string): string[] {
  const now = new Map(summarizeReport(fresh).map((r) => [r.name, r]));
  const problems: string[] = [];
  for (const want of summarizeReport(committed)) {
    const got = now.get(want.name);
    if (!got) {
      problems.push(`${want.name}: not in the run's report`);
      continue;
    }
    if (got.failed > 0) problems.push(`${got.name}: ${got.failed} failed: ${got.failedTests.join(", ")}`);
    if (got.passed < want.passed)
      problems.push(`${got.name}: ${got.passed} passed, fewer than the committed report's ${want.passed}`);
    const dropped = want.features.filter((f) => !got.features.includes(f));
    const added = got.features.filter((f) => !want.features.includes(f));
    if (dropped.length > 0) problems.push(`${got.name}: features no longer claimed: ${dropped.join(", ")}`);
    if (added.length > 0)
      problems.push(
        `${got.name}: features claimed but not in the committed report: ${added.join(", ")} ` +
          "(run scripts/conformance/run.ts and commit its report)",
      );
  }
  return problems;
}

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
}

interface Status {
  result?: string;
  statistics?: { Passed?: number; Skipped?: number; Failed?: number };
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

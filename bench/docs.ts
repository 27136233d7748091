// docs.ts: puts a report into docs/performance.md between two markers, keeping the prose around it.
import { readFileSync, writeFileSync } from "node:fs";

/** START and END mark the generated results section of docs/performance.md. */
export const START = "<!-- bench:results:start -->";
export const END = "<!-- bench:results:end -->";

/**
 * spliceResults replaces the text between the markers of section ("results": npm run bench,
 * "scale": translate-scale.ts), or appends markers and report when they are missing. Pure.
 */
export function spliceResults(doc: string, report: string, section = "results"): string {
  const START = `<!-- bench:${section}:start -->`;
  const END = `<!-- bench:${section}:end -->`;
  // The report's own title would be a second H1 in the doc; demote every heading one level.
  const body = report.replace(/^(#+) /gm, "#$1 ");
  const block = `${START}\n${body.trim()}\n${END}`;
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) return `${doc.trimEnd()}\n\n${block}\n`;
  return doc.slice(0, a) + block + doc.slice(b + END.length);
}

/** updateDocs rewrites the results section of the doc at path. */
export function updateDocs(path: string, report: string, section = "results"): void {
  let doc = "";
  try {
    doc = readFileSync(path, "utf8");
  } catch {
    doc = "# Performance\n";
  }
  writeFileSync(path, spliceResults(doc, report, section));
}

// report.ts: what `portico migrate` says about each object it read — what it carried over, and
// every field or setting it could not, with where and why. Nothing is dropped without a line here.

/** Severity: carried (converted, worth knowing), lost (no Portico equivalent; not carried), error (the object was not converted). */
export type Severity = "carried" | "lost" | "error";

/** Finding is one line of the report. */
export interface Finding {
  severity: Severity;
  file: string;
  line: number;
  /** object is "Kind/ns/name". */
  object: string;
  /** field is the source field or setting ("spec.nodeSelectors", "data.hsts", an annotation key). */
  field: string;
  message: string;
}

/** Report collects findings in the order they were made. */
export class Report {
  readonly findings: Finding[] = [];

  /** add records one finding. */
  add(f: Finding): void {
    this.findings.push(f);
  }

  /** count of findings of one severity. */
  count(s: Severity): number {
    return this.findings.filter((f) => f.severity === s).length;
  }

  /** text renders the report: one line per finding, sorted by file and line, and a summary. */
  text(): string {
    const sorted = [...this.findings].sort((a, b) =>
      a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line,
    );
    const lines = sorted.map(
      (f) =>
        `${f.severity.padEnd(7)} ${f.file}:${f.line} ${f.object}${f.field ? ` ${f.field}` : ""}: ${f.message}`,
    );
    lines.push(
      `${this.count("carried")} carried with a note, ${this.count("lost")} not carried (no Portico equivalent), ${this.count("error")} errors`,
    );
    return lines.join("\n") + "\n";
  }
}

// testing.ts: test-only helpers for the converters' unit tests — run a converter on YAML text and
// read back the objects and findings.
import { parseAllDocuments } from "yaml";
import { Report, type Finding } from "./report.ts";
import { parseFile, Workspace } from "./workspace.ts";

type Json = Record<string, unknown>;

/** Converted is what one conversion left: the objects of every output file, the findings, the files. */
export interface Converted {
  objects: Json[];
  findings: Finding[];
  files: { name: string; before?: string; after?: string }[];
}

/** convert runs fn over a workspace holding text as in.yaml. */
export function convert(text: string, fn: (ws: Workspace, r: Report) => void): Converted {
  const ws = new Workspace([parseFile("in.yaml", undefined, text)]);
  const report = new Report();
  fn(ws, report);
  const files = ws.render("test");
  const objects = files.flatMap((f) =>
    parseAllDocuments(f.after ?? "")
      .map((d) => d.toJS() as Json | null)
      .filter((o): o is Json => o !== null),
  );
  return { objects, findings: report.findings, files };
}

/** byKind returns the objects of one kind. */
export function byKind(c: Converted, kind: string): Json[] {
  return c.objects.filter((o) => o.kind === kind);
}

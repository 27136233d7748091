// render.ts: printing a command's answer in the `-o` format asked for.
import { stringify } from "yaml";
import type { Output } from "./args.ts";

/** renderDoc writes a document as YAML or JSON (the two document formats of `-o`). Long lines are
 * not folded (an explanation's lines stay one YAML line each, as grep expects), and an object
 * reached twice is written twice, not as an &anchor: a document that came as JSON from a running
 * Portico has no shared objects, and must print the same as the one computed offline. */
export function renderDoc(doc: unknown, output: "yaml" | "json"): string {
  if (output === "json") return JSON.stringify(doc, null, 2) + "\n";
  return stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** isDoc says whether an output format prints a document rather than text. */
export function isDoc(output: Output): output is "yaml" | "json" {
  return output === "yaml" || output === "json";
}

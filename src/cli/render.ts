// render.ts: printing a command's answer in the `-o` format asked for.
import { stringify } from "yaml";
import type { Output } from "./args.ts";

/** renderDoc writes a document as YAML or JSON (the two document formats of `-o`). */
export function renderDoc(doc: unknown, output: "yaml" | "json"): string {
  return output === "json" ? JSON.stringify(doc, null, 2) + "\n" : stringify(doc);
}

/** isDoc says whether an output format prints a document rather than text. */
export function isDoc(output: Output): output is "yaml" | "json" {
  return output === "yaml" || output === "json";
}

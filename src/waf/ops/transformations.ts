// transformations.ts: every transformation by canonical name (the parser's spelling, names.ts
// TRANSFORMATIONS), gathered from the family files. `none` is the engine's, never looked up here.
import { BASIC } from "./t-basic.ts";
import { CODEC } from "./t-codec.ts";
import { COMMENT } from "./t-comment.ts";
import { ESCAPE } from "./t-escape.ts";
import { PATH } from "./t-path.ts";
import { URLS } from "./t-url.ts";
import type { Transform } from "./types.ts";

/** TRANSFORMS maps each implemented transformation's canonical name to its function. */
export const TRANSFORMS: ReadonlyMap<string, Transform> = new Map(
  Object.entries({ ...BASIC, ...CODEC, ...COMMENT, ...ESCAPE, ...PATH, ...URLS }),
);

// The same names lower-cased, plus the American spellings, for callers that did not canonicalise.
const BY_LOWER: ReadonlyMap<string, Transform> = new Map([
  ...[...TRANSFORMS].map(([k, v]) => [k.toLowerCase(), v] as const),
  ["normalizepath", PATH.normalisePath!],
  ["normalizepathwin", PATH.normalisePathWin!],
]);

/** transformation returns the named transformation, or undefined when Portico has none by that name. */
export function transformation(name: string): Transform | undefined {
  return TRANSFORMS.get(name) ?? BY_LOWER.get(name.toLowerCase());
}

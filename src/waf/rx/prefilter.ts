// prefilter.ts: what a pattern's matches must contain, read from its syntax tree (RE2's
// prefilter idea). The answer is a formula over literals — AND / OR of "one of these literals
// occurs" — that holds for every string containing a match: when it is false for a value, the
// pattern cannot match there and the matcher need not run. Literals are ASCII-lower-cased and
// meant to be looked for case-insensitively, which only weakens the condition (never wrong).
import { hasByte } from "./bytes.ts";
import { parse, type Node } from "./parse.ts";

/** Prefilter is a necessary condition for a match: `lits` holds when one of its literals occurs
 * (ASCII case-insensitive) in the value; `and` / `or` combine. No prefilter means none is known. */
export type Prefilter =
  | { readonly op: "lits"; readonly lits: readonly string[] }
  | { readonly op: "and" | "or"; readonly of: readonly Prefilter[] };

// Info about a node: `exact` lists every string the node can match (folded), when few; else
// `match` is a condition on the text around a match of the node (undefined: none known).
type Info = { exact: Set<string> } | { match: Prefilter | undefined };

/** EXACT_MAX bounds a cross product of exact sets (RE2 uses 16); CLASS_MAX the bytes of a class
 * still read as literals (more, and the class tells nothing useful). */
const EXACT_MAX = 16;
const CLASS_MAX = 4;
/** LITERAL_MAX cuts literals to their first bytes: a value holding the literal holds its prefix,
 * so the condition stays necessary, and the automaton over every pattern's literals stays small. */
const LITERAL_MAX = 8;

/** prefilterOf computes pattern's prefilter (same flags as compile()); undefined when none is known. */
export function prefilterOf(pattern: string, flags = ""): Prefilter | undefined {
  return prefilterOfNode(parse(pattern, flags).node);
}

/** prefilterOfNode computes a parsed tree's prefilter. */
export function prefilterOfNode(node: Node): Prefilter | undefined {
  return toMatch(info(node));
}

/** anyLiteral is the prefilter "one of lits occurs" (ASCII case-insensitive); empty literals
 * are dropped (they say nothing) and none left means nothing can match. */
export function anyLiteral(lits: readonly string[]): Prefilter {
  const folded = lits
    .filter((l) => l !== "")
    .map((l) => l.replace(/[A-Z]/g, (c) => c.toLowerCase()).slice(0, LITERAL_MAX));
  return { op: "lits", lits: minimal([...new Set(folded)]) };
}

function popcount(w: number): number {
  let x = w >>> 0;
  let n = 0;
  while (x !== 0) {
    x &= x - 1;
    n++;
  }
  return n;
}

function fold(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 32 : b;
}

function info(n: Node): Info {
  switch (n.t) {
    case "empty":
    case "assert":
      return { exact: new Set([""]) };
    case "group":
      return info(n.body);
    case "set": {
      // Folding maps at most two bytes to one: a class of more than 2 * CLASS_MAX bytes is out.
      let size = 0;
      for (let w = 0; w < 8; w++) size += popcount(n.set[w]!);
      if (size > 2 * CLASS_MAX) return { match: undefined };
      const folded = new Set<number>();
      for (let b = 0; b < 256; b++) if (hasByte(n.set, b)) folded.add(fold(b));
      if (folded.size > CLASS_MAX) return { match: undefined };
      return { exact: new Set(Array.from(folded, (b) => String.fromCharCode(b))) };
    }
    case "seq": {
      // Runs of exact items multiply out into longer literals (`s` `e` `l` → "sel"); an item
      // with only a condition, or a product grown too large, closes the run into the AND.
      const conds: (Prefilter | undefined)[] = [];
      let run = new Set([""]);
      for (const item of n.items) {
        const i = info(item);
        if ("exact" in i && run.size * i.exact.size <= EXACT_MAX) {
          run = cross(run, i.exact);
          continue;
        }
        conds.push(toMatch({ exact: run }));
        if ("exact" in i) run = i.exact;
        else {
          conds.push(i.match);
          run = new Set([""]);
        }
      }
      if (conds.length === 0) return { exact: run };
      conds.push(toMatch({ exact: run }));
      return { match: and(conds) };
    }
    case "alt": {
      const parts = n.alts.map(info);
      if (parts.every((p) => "exact" in p)) {
        const all = new Set<string>();
        for (const p of parts) for (const s of (p as { exact: Set<string> }).exact) all.add(s);
        return { exact: all };
      }
      return { match: or(parts.map(toMatch)) };
    }
    case "rep": {
      const body = info(n.body);
      if (n.min === 0) {
        // x? is x or nothing; x* and x{0,m} say nothing.
        if (n.max === 1 && "exact" in body) return { exact: new Set([...body.exact, ""]) };
        return { match: undefined };
      }
      if (n.min === 1 && n.max === 1) return body;
      // One copy of x at least is in every match.
      return { match: toMatch(body) };
    }
  }
}

function cross(a: Set<string>, b: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const x of a) for (const y of b) out.add((x + y).slice(0, LITERAL_MAX));
  return out;
}

function toMatch(i: Info): Prefilter | undefined {
  if (!("exact" in i)) return i.match;
  // A node that can match the empty string requires nothing.
  if (i.exact.has("")) return undefined;
  return { op: "lits", lits: minimal([...i.exact]) };
}

/** minimal drops literals that contain another of the set: the shorter one occurs whenever the
 * longer does, so the OR is the same and the automaton smaller. */
function minimal(lits: string[]): string[] {
  const all = new Set(lits);
  const out: string[] = [];
  for (const l of all) {
    let covered = false;
    // Literals are short (LITERAL_MAX): look up each proper substring rather than compare pairs.
    for (let i = 0; i < l.length && !covered; i++)
      for (let j = i + 1; j <= l.length; j++)
        if (j - i < l.length && all.has(l.slice(i, j))) {
          covered = true;
          break;
        }
    if (!covered) out.push(l);
  }
  return out.sort();
}

function and(xs: (Prefilter | undefined)[]): Prefilter | undefined {
  const of: Prefilter[] = [];
  for (const x of xs) {
    if (x === undefined) continue;
    if (x.op === "and") of.push(...x.of);
    else of.push(x);
  }
  if (of.length === 0) return undefined;
  return of.length === 1 ? of[0] : { op: "and", of };
}

function or(xs: (Prefilter | undefined)[]): Prefilter | undefined {
  const of: Prefilter[] = [];
  const lits: string[] = [];
  for (const x of xs) {
    // Any branch with no condition makes the alternation unconditional.
    if (x === undefined) return undefined;
    if (x.op === "lits") lits.push(...x.lits);
    else if (x.op === "or") of.push(...x.of);
    else of.push(x);
  }
  if (lits.length > 0) of.push({ op: "lits", lits: minimal([...new Set(lits)]) });
  return of.length === 1 ? of[0] : { op: "or", of };
}

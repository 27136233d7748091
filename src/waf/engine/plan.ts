// plan.ts: per phase, which rules the evaluator may pass over on their prefilter union alone,
// without stepping into them. The CRS lists its attack rules file by file, each reading the same
// targets (`REQUEST_COOKIES|...|ARGS_NAMES|ARGS|XML:/*`) through the same transformations; on
// benign traffic the literals those rules need are absent from every such value. A run is a
// maximal sequence of consecutive such rules (no SecMarker between them) sharing one union slot;
// the evaluator computes the union once and moves past every rule of the run whose prefilter
// fails on it, in a tight loop, stopping at the first rule whose prefilter holds (which then runs
// as any rule does).
//
// Why passing over such a rule cannot change the outcome (the proof; each premise is a property
// of compile.ts's prefilters() and of evaluate.ts):
// 1. A rule matches only when its first step matches; a step that does not match runs no action
//    (setvar, ctl, setenv, capture, MATCHED_VAR), and a rule that does not match sets no skip,
//    skipAfter, disruptive action or hit. The evaluator's only writes before that point are
//    `vars.rule` and `vars.matchedVars.length = 0`, which the next rule that runs writes again
//    before anything reads them (RULE, MATCHED_VARS and the hit are read by the running rule).
// 2. A rule is eligible only when its first step has a prefilter `pre` and a union slot: the step
//    is not negated (`!@op` matches where the operator fails: no prefilter is compiled for it),
//    has no `&` count target and no target whose members change between data versions (TX,
//    MATCHED_*, ...: prefilters() gives those no union slot), and is not a SecAction or a live
//    TX comparison.
// 3. `pre` is necessary: wherever the operator matches a value v, holds(pre, bits(v)) (the rx
//    prefilter's and @pm's guarantee, src/waf/rx/prefilter.ts, tested on every CRS pattern).
// 4. The union U is the OR of bits(t) over every member of every target (before exclusions, a
//    superset of what the step reads) under the step's transformation chain — for multiMatch,
//    of every intermediate value too. holds() is monotone (AND / OR of "some literal of the
//    list is present"), so holds(pre, bits(t)) implies holds(pre, U).
// 5. Hence !holds(pre, U) means the operator matches no value the step reads: the step, and the
//    rule, do not match (1). Rules of the run that the evaluator passes over change nothing,
//    so U (which depends on the data version only) is the same for the next rule of the run;
//    a rule that runs may change the data (ctl:requestBodyProcessor), and the evaluator
//    recomputes U when it resumes. A pending skip or skipAfter, which counts or searches items,
//    makes the evaluator take the rules one by one as before.
import type { Item, Step } from "./program.ts";
import type { MemoPhase } from "./memo.ts";

/** eligible says whether a rule's first step can be passed over on its union (premise 2). A rule
 * the memo plan decides (memo.ts) is passed over on its memoised bits instead, more cheaply. */
function eligible(item: Item, memoised: boolean): Step | undefined {
  if (item.kind !== "rule" || memoised) return undefined;
  const s = item.steps[0];
  if (s === undefined || s.pre === undefined || s.union < 0 || s.negated) return undefined;
  if (s.unconditional || s.live !== undefined || s.op === undefined) return undefined;
  if (s.targets.some((t) => t.count)) return undefined;
  return s;
}

/** planRuns gives each phase's runs (program.ts Compiled.runs), leaving out the rules memo
 * decides. */
export function planRuns(phases: readonly (readonly Item[])[], memo: readonly MemoPhase[]): Int32Array[] {
  return phases.map((items, p) => {
    const memoBits = memo[p]?.bits;
    const runs = new Int32Array(items.length);
    let end = items.length;
    let slot = -1;
    for (let i = items.length - 1; i >= 0; i--) {
      const s = eligible(items[i] as Item, memoBits !== undefined && memoBits[i]! >= 0);
      if (s === undefined) {
        slot = -1;
        continue;
      }
      if (s.union !== slot) {
        end = i + 1;
        slot = s.union;
      }
      runs[i] = end;
    }
    return runs;
  });
}

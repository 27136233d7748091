// constant-sets.ts: setvars whose key and value are literal (crs-setup's, and the one SecAction
// fold.ts merges them into: ~70 per transaction) store the same member in every transaction,
// made once; members are never changed once made (a match's is a new one), so every
// transaction's TX may hold the same object.
import { isLiteral } from "../lang/macro.ts";
import type { SetVar } from "../lang/model.ts";
import { livePrefix, type LivePrefix } from "./live-map.ts";
import type { RunAction } from "./program.ts";
import { member, type Member } from "./vars.ts";

// CONSTANT_SETS keeps, per setvar that sets a literal key to a literal value, the member it
// stores; null for the others.
const CONSTANT_SETS = new WeakMap<SetVar, Member | null>();

/** constantSet is the member sv stores in every transaction, or null when it depends on one. */
export function constantSet(sv: SetVar): Member | null {
  let m = CONSTANT_SETS.get(sv);
  if (m === undefined) {
    m =
      sv.op === "set" && isLiteral(sv.key) && (sv.value === undefined || isLiteral(sv.value))
        ? member(sv.key.parts.join("").toLowerCase(), sv.value ? sv.value.parts.join("") : "")
        : null;
    CONSTANT_SETS.set(sv, m);
  }
  return m;
}

// CONSTANT_BLOCKS keeps, per action list made only of such setvars on one collection (fold.ts's
// merged SecAction: crs-setup and the 901 defaults), their members in order; null for the others.
const CONSTANT_BLOCKS = new WeakMap<readonly RunAction[], ConstantBlock | null>();

/** ConstantBlock is what a block of constant setvars stores: its collection and, as a prefix
 * (live-map.ts), its members in order. */
export interface ConstantBlock {
  collection: string;
  prefix: LivePrefix;
}

/** constantBlock is the collection and members an action list of constant setvars stores, in
 * order, or null. */
export function constantBlock(actions: readonly RunAction[]): ConstantBlock | null {
  let b = CONSTANT_BLOCKS.get(actions);
  if (b === undefined) {
    const first = actions[0];
    const collection = first?.kind === "setvar" ? first.setvar.collection : undefined;
    const members: Member[] = [];
    for (const a of actions) {
      const m = a.kind === "setvar" && a.setvar.collection === collection ? constantSet(a.setvar) : null;
      if (m === null) break;
      members.push(m);
    }
    b =
      collection !== undefined && members.length === actions.length && members.length > 1
        ? { collection, prefix: livePrefix(members) }
        : null;
    CONSTANT_BLOCKS.set(actions, b);
  }
  return b;
}

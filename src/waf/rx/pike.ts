// pike.ts: the Pike VM, for exec() (captures). It runs every thread of the NFA in lock step, one
// input byte at a time, keeping at most one thread per instruction: O(n·m) time for n bytes and m
// instructions whatever the input, and leftmost-first (Perl/RE2) choice among matches.
import { ASSERT, JMP, MATCH, SAVE, SET, SPLIT, assertHolds, type Program } from "./compile.ts";

/** ThreadList is an ordered set of threads (an instruction and its capture slots). */
class ThreadList {
  readonly pcs: Int32Array;
  readonly caps: Int32Array[];
  size = 0;
  constructor(n: number) {
    this.pcs = new Int32Array(n);
    this.caps = new Array<Int32Array>(n);
  }
}

/** PikeStats counts work: steps is the number of instructions visited (at most m per input byte). */
export interface PikeStats {
  steps: number;
}

/** pikeExec finds the leftmost-first match in input[0, n); returns its capture slots (-1 = unset) or null. */
export function pikeExec(
  prog: Program,
  input: Uint8Array,
  stats?: PikeStats,
  n = input.length,
): Int32Array | null {
  const { op, arg1, arg2, sets } = prog;
  const mark = new Uint32Array(op.length);
  let gen = 1;
  let clist = new ThreadList(op.length);
  let nlist = new ThreadList(op.length);
  const stackPc: number[] = [];
  const stackCaps: Int32Array[] = [];
  let matched: Int32Array | null = null;
  let visited = 0;

  // add follows the empty-width instructions from pc at offset pos, in priority order.
  const add = (list: ThreadList, pc0: number, caps0: Int32Array, pos: number): void => {
    const prev = pos > 0 ? input[pos - 1]! : -1;
    const next = pos < n ? input[pos]! : -1;
    stackPc.push(pc0);
    stackCaps.push(caps0);
    while (stackPc.length > 0) {
      const pc = stackPc.pop()!;
      const caps = stackCaps.pop()!;
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      visited++;
      switch (op[pc]) {
        case JMP:
          stackPc.push(arg1[pc]!);
          stackCaps.push(caps);
          break;
        case SPLIT:
          stackPc.push(arg2[pc]!, arg1[pc]!);
          stackCaps.push(caps, caps);
          break;
        case SAVE: {
          const copy = caps.slice();
          copy[arg1[pc]!] = pos;
          stackPc.push(pc + 1);
          stackCaps.push(copy);
          break;
        }
        case ASSERT:
          if (assertHolds(arg1[pc]!, prev, next)) {
            stackPc.push(pc + 1);
            stackCaps.push(caps);
          }
          break;
        default:
          list.pcs[list.size] = pc;
          list.caps[list.size++] = caps;
      }
    }
  };

  for (let pos = 0; pos <= n; pos++) {
    if (matched === null && (!prog.anchored || pos === 0)) {
      add(clist, 0, new Int32Array(prog.slots).fill(-1), pos);
    }
    if (clist.size === 0) {
      if (matched !== null || prog.anchored) break;
      gen++; // the next offset's start thread must not see this offset's marks
      continue;
    }
    const c = pos < n ? input[pos]! : -1;
    gen++;
    nlist.size = 0;
    for (let i = 0; i < clist.size; i++) {
      const pc = clist.pcs[i]!;
      if (op[pc] === MATCH) {
        matched = clist.caps[i]!;
        break; // lower-priority threads lose to this match
      }
      if (op[pc] === SET && c >= 0 && sets[arg1[pc]!]![c] === 1) add(nlist, pc + 1, clist.caps[i]!, pos + 1);
    }
    const t = clist;
    clist = nlist;
    nlist = t;
  }
  if (stats !== undefined) stats.steps += visited + n;
  return matched;
}

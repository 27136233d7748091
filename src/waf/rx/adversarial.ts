// adversarial.ts: inputs built to make a backtracking engine (V8's irregexp, PCRE) try every way
// a pattern's loops can split the input: for each loop, the text that leads to it, then what the
// loop accepts repeated to the wanted size, then a byte that stops the match late. The WAF can
// use it at load time to measure which patterns V8 may run (issue 16 "a pattern set measured at
// load"); the rx tests use it to show this engine stays linear on the same inputs.
import { hasByte, type ByteSet } from "./bytes.ts";
import { parse, type Node } from "./parse.ts";

// Preferred bytes for a witness: ordinary text first, so prefixes look like real payloads.
const PREFERRED = Buffer.from("a0 e1_-./=:;'\"(<>,&|!$%@xAZ\t\n\\", "latin1");

/** MAX_ADVERSARIAL_INPUTS bounds the inputs per pattern (big CRS patterns have hundreds of loops). */
export const MAX_ADVERSARIAL_INPUTS = 24;

/** adversarialInputs builds up to max inputs of about size bytes for pattern (see the file comment). */
export function adversarialInputs(
  pattern: string,
  flags = "",
  size = 8192,
  max = MAX_ADVERSARIAL_INPUTS,
): Buffer[] {
  const { node } = parse(pattern, flags);
  const loops: { before: number[]; pump: number[]; unbounded: boolean }[] = [];
  collect(node, [], loops);
  // Unbounded loops first: they are where backtracking grows without limit.
  loops.sort((a, b) => Number(b.unbounded) - Number(a.unbounded));
  const out: Buffer[] = [];
  const seen = new Set<string>();
  for (const { before, pump } of loops) {
    if (pump.length === 0) continue;
    const n = Math.max(1, Math.floor((size - before.length - 1) / pump.length));
    const buf = Buffer.alloc(before.length + n * pump.length + 1);
    buf.set(before, 0);
    for (let i = 0; i < n; i++) buf.set(pump, before.length + i * pump.length);
    buf[buf.length - 1] = 0; // a NUL: rarely accepted, so the match fails at the very end
    const key = buf.toString("latin1", 0, Math.min(buf.length, before.length + 2 * pump.length));
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(buf);
    if (out.length >= max) break;
  }
  return out;
}

/** collect records, for every loop under node, the text that reaches it (after prefix) and its pump. */
function collect(
  node: Node,
  prefix: number[],
  loops: { before: number[]; pump: number[]; unbounded: boolean }[],
): void {
  switch (node.t) {
    case "seq": {
      let before = prefix;
      for (const item of node.items) {
        collect(item, before, loops);
        before = before.concat(witness(item, false));
      }
      return;
    }
    case "alt":
      for (const a of node.alts) collect(a, prefix, loops);
      return;
    case "group":
      collect(node.body, prefix, loops);
      return;
    case "rep": {
      if (node.max >= 2)
        loops.push({ before: prefix, pump: witness(node.body, true), unbounded: node.max === Infinity });
      const lead: number[] = [];
      for (let i = 1; i < node.min; i++) lead.push(...witness(node.body, false));
      collect(node.body, prefix.concat(lead), loops);
      return;
    }
    default:
      return;
  }
}

/** witness is a short text node accepts (nonEmpty: at least one byte when it can). */
function witness(node: Node, nonEmpty: boolean): number[] {
  switch (node.t) {
    case "set":
      return [pick(node.set)];
    case "seq":
      return node.items
        .flatMap((i) => witness(i, false))
        .concat(
          nonEmpty && node.items.every((i) => witness(i, false).length === 0) && node.items.length > 0
            ? witness(node.items[0]!, true)
            : [],
        );
    case "alt": {
      for (const a of node.alts) {
        const w = witness(a, nonEmpty);
        if (!nonEmpty || w.length > 0) return w;
      }
      return [];
    }
    case "group":
      return witness(node.body, nonEmpty);
    case "rep": {
      const reps = Math.max(node.min, nonEmpty && node.max > 0 ? 1 : 0);
      const body = witness(node.body, nonEmpty);
      return Array.from({ length: reps }, () => body).flat();
    }
    default:
      return [];
  }
}

function pick(set: ByteSet): number {
  for (const b of PREFERRED) if (hasByte(set, b)) return b;
  for (let b = 0x20; b < 0x7f; b++) if (hasByte(set, b)) return b;
  for (let b = 0; b < 256; b++) if (hasByte(set, b)) return b;
  return 0;
}

// index.ts: the rx engine's API. compile() parses and compiles a pattern once; test() runs the
// lazy DFA and exec() the Pike VM, both linear in the input for a given pattern (no backtracking,
// so no ReDoS). Matching is on bytes: a Buffer is matched as it is, a string as its UTF-8 bytes
// (pass Buffer.from(s, "latin1") for a string that holds bytes one per character), and a binary
// string (one char per byte, the WAF's values) by testBinary()/execBinary() without re-encoding.
import { compileProgram, type Program } from "./compile.ts";
import { Dfa, DEFAULT_DFA_BUDGET } from "./dfa.ts";
import { parse } from "./parse.ts";
import { pikeExec } from "./pike.ts";
import { prefilterOfNode, type Prefilter } from "./prefilter.ts";

export { RxSyntaxError, type RxErrorCode } from "./parse.ts";
export { anyLiteral, type Prefilter } from "./prefilter.ts";

/** RxMatch is one match: byte offsets and the captured text (undefined for a group that did not take part). */
export interface RxMatch<T> {
  /** index / end: byte offsets of the whole match in the input. */
  readonly index: number;
  readonly end: number;
  /** captures[0] is the whole match, captures[i] group i (as CRS's capture action fills TX:0..9). */
  readonly captures: readonly (T | undefined)[];
  /** groups: named groups by name. */
  readonly groups: Readonly<Record<string, T | undefined>>;
  /** spans: [start, end) byte offsets per group, -1 when unset. */
  readonly spans: Int32Array;
}

/** RxOptions tunes one compiled pattern. */
export interface RxOptions {
  /** dfaBudget: bytes the lazy DFA may cache before it starts over (default 1 MiB). */
  readonly dfaBudget?: number;
  /** prefilter: also work out the literals every match contains (Regex.prefilter). */
  readonly prefilter?: boolean;
}

/** Regex is a compiled pattern; safe to reuse, not to share between threads. */
export class Regex {
  readonly source: string;
  readonly flags: string;
  /** groupCount: the number of capture groups (not counting group 0). */
  readonly groupCount: number;
  readonly groupNames: ReadonlyMap<string, number>;
  /** program: the compiled NFA (its size bounds the work per input byte). */
  readonly program: Program;
  /** prefilter: a condition every input holding a match meets (prefilter.ts), when asked for
   * and one is known; undefined otherwise. */
  readonly prefilter: Prefilter | undefined;
  private readonly dfa: Dfa;

  constructor(source: string, flags = "", options: RxOptions = {}) {
    const parsed = parse(source, flags);
    this.source = source;
    this.flags = flags;
    this.groupCount = parsed.groups;
    this.groupNames = parsed.names;
    this.program = compileProgram(parsed, source);
    this.prefilter = options.prefilter ? prefilterOfNode(parsed.node) : undefined;
    this.dfa = new Dfa(this.program, options.dfaBudget ?? DEFAULT_DFA_BUDGET);
  }

  /** test says whether input contains a match. */
  test(input: string | Uint8Array): boolean {
    return this.dfa.test(bytes(input));
  }

  /** exec returns the leftmost-first match with its captures, or null. */
  exec(input: string): RxMatch<string> | null;
  exec(input: Uint8Array): RxMatch<Buffer> | null;
  exec(input: string | Uint8Array): RxMatch<string> | RxMatch<Buffer> | null {
    const b = bytes(input);
    // The DFA answers "no match" (the common case in a WAF) faster than the Pike VM.
    if (!this.dfa.test(b)) return null;
    const spans = pikeExec(this.program, b);
    if (spans === null) return null;
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const text = (i: number) => {
      const s = spans[2 * i]!;
      const e = spans[2 * i + 1]!;
      if (s < 0 || e < 0) return undefined;
      return typeof input === "string" ? buf.toString("utf8", s, e) : buf.subarray(s, e);
    };
    const captures = Array.from({ length: this.groupCount + 1 }, (_, i) => text(i));
    const groups: Record<string, string | Buffer | undefined> = {};
    for (const [name, i] of this.groupNames) groups[name] = captures[i];
    return { index: spans[0]!, end: spans[1]!, captures, groups, spans } as RxMatch<string> | RxMatch<Buffer>;
  }

  /** testBinary says whether s, a binary string (one char per byte, latin1), contains a match. */
  testBinary(s: string): boolean {
    return this.dfa.testString(s);
  }

  /** execBinary is exec() on a binary string; captures are substrings of s (offsets are chars = bytes). */
  execBinary(s: string): RxMatch<string> | null {
    if (!this.dfa.testString(s)) return null;
    const spans = pikeExec(this.program, latin1(s), undefined, s.length);
    if (spans === null) return null;
    const captures = Array.from({ length: this.groupCount + 1 }, (_, i) => {
      const st = spans[2 * i]!;
      const e = spans[2 * i + 1]!;
      return st < 0 || e < 0 ? undefined : s.slice(st, e);
    });
    const groups: Record<string, string | undefined> = {};
    for (const [name, i] of this.groupNames) groups[name] = captures[i];
    return { index: spans[0]!, end: spans[1]!, captures, groups, spans };
  }

  /** stats: the DFA's work so far (bytes read plus instructions visited), cache drops and cache size (bytes, approximate). */
  get stats(): { dfaWork: number; dfaResets: number; dfaBytes: number } {
    return { dfaWork: this.dfa.work, dfaResets: this.dfa.resets, dfaBytes: this.dfa.bytes };
  }
}

/** compile parses and compiles pattern with flags (i, s, m, U); throws RxSyntaxError naming the offset. */
export function compile(pattern: string, flags = "", options: RxOptions = {}): Regex {
  return new Regex(pattern, flags, options);
}

// One scratch buffer for every binary string matched: the matchers are synchronous and never
// re-entered, so a value is copied in natively (latin1 write: no UTF-8 encoding, no allocation once
// the buffer is large enough) and read as bytes. It grows to the largest value seen.
let scratch = Buffer.allocUnsafe(4096);

function latin1(s: string): Buffer {
  if (s.length > scratch.length) scratch = Buffer.allocUnsafe(Math.max(s.length, 2 * scratch.length));
  scratch.write(s, 0, s.length, "latin1");
  return scratch;
}

function bytes(input: string | Uint8Array): Uint8Array {
  return typeof input === "string" ? Buffer.from(input, "utf8") : input;
}

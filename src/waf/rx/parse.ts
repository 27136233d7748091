// parse.ts: parses the RE2-compatible syntax of the CRS v4 @rx patterns into a tree. Whatever
// would need backtracking (backreferences, lookaround, atomic groups, possessive quantifiers) is
// refused with RxSyntaxError naming the position, so a caller can choose another engine knowingly.
import {
  POSIX_CLASSES,
  addByte,
  addRange,
  addSet,
  emptySet,
  foldCase,
  negate,
  perlClass,
  type ByteSet,
} from "./bytes.ts";

/** AssertKind names the zero-width assertions: ^ $ in both modes, \A \z, \b \B. */
export type AssertKind = "bot" | "eot" | "bol" | "eol" | "word" | "notword";

/** Node is one node of the pattern tree; sets are bytes (a literal is a one- or two-byte set). */
export type Node =
  | { readonly t: "empty" }
  | { readonly t: "set"; readonly set: ByteSet }
  | { readonly t: "seq"; readonly items: readonly Node[] }
  | { readonly t: "alt"; readonly alts: readonly Node[] }
  | { readonly t: "group"; readonly index: number; readonly body: Node }
  | {
      readonly t: "rep";
      readonly min: number;
      readonly max: number;
      readonly greedy: boolean;
      readonly body: Node;
    }
  | { readonly t: "assert"; readonly kind: AssertKind };

/** Parsed is a parsed pattern: its tree, the number of capture groups and their names. */
export interface Parsed {
  readonly node: Node;
  readonly groups: number;
  readonly names: ReadonlyMap<string, number>;
}

/** RxErrorCode: RX_UNSUPPORTED (valid in PCRE but needs backtracking or Unicode), RX_SYNTAX, RX_TOO_LARGE. */
export type RxErrorCode = "RX_UNSUPPORTED" | "RX_SYNTAX" | "RX_TOO_LARGE";

/** RxSyntaxError rejects a pattern; code is stable, pos is the offset (in the pattern) of the problem. */
export class RxSyntaxError extends Error {
  readonly code: RxErrorCode;
  readonly pos: number;
  readonly pattern: string;
  constructor(code: RxErrorCode, pattern: string, pos: number, what: string) {
    const shown = pattern.length > 60 ? pattern.slice(Math.max(0, pos - 20), pos + 20) : pattern;
    super(`${what} at offset ${pos} (near "${shown}")`);
    this.code = code;
    this.pos = pos;
    this.pattern = pattern;
  }
}

/** MAX_REPEAT bounds {n,m} counts, as RE2 does; larger counts are refused, not slowly compiled. */
export const MAX_REPEAT = 1000;

/** Flags are the mode flags in force: i (ASCII case-insensitive), s (dot matches \n), m (multi-line ^ $), U (swap greedy). */
interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
  U: boolean;
}

const EMPTY: Node = { t: "empty" };

/** parse parses pattern with the initial flags (a string of i, s, m, U). */
export function parse(pattern: string, flags = ""): Parsed {
  const p = new Parser(pattern);
  for (const f of flags) {
    if (f !== "i" && f !== "s" && f !== "m" && f !== "U")
      throw new RxSyntaxError("RX_SYNTAX", pattern, 0, `unknown flag "${f}" (i, s, m, U are supported)`);
    p.flags[f] = true;
  }
  const node = p.alternation();
  if (p.pos < pattern.length) throw p.fail("RX_SYNTAX", "unmatched )");
  return { node, groups: p.groups, names: p.names };
}

class Parser {
  readonly src: string;
  pos = 0;
  groups = 0;
  readonly names = new Map<string, number>();
  flags: Flags = { i: false, s: false, m: false, U: false };

  constructor(src: string) {
    this.src = src;
  }

  fail(code: RxErrorCode, what: string, at = this.pos): RxSyntaxError {
    return new RxSyntaxError(code, this.src, at, what);
  }

  alternation(): Node {
    const alts = [this.sequence()];
    while (this.src[this.pos] === "|") {
      this.pos++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0]! : { t: "alt", alts };
  }

  sequence(): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === "|" || c === ")") break;
      const grouped = c === "(";
      const atom = this.atom();
      if (atom === undefined) continue; // a flag group such as (?i): no node
      items.push(this.quantified(atom, grouped));
    }
    return items.length === 0 ? EMPTY : items.length === 1 ? items[0]! : { t: "seq", items };
  }

  /** quantified applies the quantifiers after atom; a bare ^ $ \b may not repeat, a group of them may (as in PCRE). */
  quantified(atom: Node, grouped: boolean): Node {
    let node = atom;
    let quantified = false;
    for (;;) {
      const at = this.pos;
      const q = this.quantifier();
      if (q === undefined) return node;
      if (quantified) throw this.fail("RX_SYNTAX", "a quantifier after a quantifier", at);
      if (!grouped && (atom.t === "assert" || atom.t === "empty"))
        throw this.fail("RX_SYNTAX", "nothing to repeat", at);
      let greedy = true;
      if (this.src[this.pos] === "?") {
        greedy = false;
        this.pos++;
      } else if (this.src[this.pos] === "+") {
        throw this.fail("RX_UNSUPPORTED", "possessive quantifier (needs backtracking control)");
      }
      if (this.flags.U) greedy = !greedy;
      node = { t: "rep", min: q[0], max: q[1], greedy, body: node };
      quantified = true;
    }
  }

  /** quantifier reads * + ? {n} {n,} {n,m}; a { that does not start a count is a literal. */
  quantifier(): [number, number] | undefined {
    const c = this.src[this.pos];
    if (c === "*") return (this.pos++, [0, Infinity]);
    if (c === "+") return (this.pos++, [1, Infinity]);
    if (c === "?") return (this.pos++, [0, 1]);
    if (c !== "{") return undefined;
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos, this.pos + 24));
    if (m === null) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT))
      throw this.fail("RX_SYNTAX", `repeat count above ${MAX_REPEAT}`);
    if (max < min) throw this.fail("RX_SYNTAX", `bad repeat {${min},${max}}: max below min`);
    this.pos += m[0].length;
    return [min, max];
  }

  atom(): Node | undefined {
    const c = this.src[this.pos]!;
    switch (c) {
      case "(":
        return this.group();
      case "[":
        return { t: "set", set: this.cls() };
      case ".": {
        this.pos++;
        const s = negate(emptySet());
        if (!this.flags.s) s[0]! &= ~(1 << 0x0a);
        return { t: "set", set: s };
      }
      case "^":
        this.pos++;
        return { t: "assert", kind: this.flags.m ? "bol" : "bot" };
      case "$":
        this.pos++;
        return { t: "assert", kind: this.flags.m ? "eol" : "eot" };
      case "*":
      case "+":
      case "?":
        throw this.fail("RX_SYNTAX", `nothing to repeat before "${c}"`);
      case "\\":
        return this.escape();
      default:
        return this.literal();
    }
  }

  /** literal reads one character; non-ASCII characters stand for their UTF-8 bytes. */
  literal(): Node {
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return this.codePoint(cp);
  }

  /** codePoint is the node for one character: a byte below 0x80 (or any \xHH), else its UTF-8 bytes. */
  codePoint(cp: number, asByte = false): Node {
    if (cp < 0x80 || (asByte && cp < 0x100)) return { t: "set", set: this.byteSet(cp) };
    const bytes = Buffer.from(String.fromCodePoint(cp), "utf8");
    return { t: "seq", items: Array.from(bytes, (b) => ({ t: "set", set: this.byteSet(b) }) as Node) };
  }

  byteSet(b: number): ByteSet {
    const s = emptySet();
    addByte(s, b);
    if (this.flags.i) foldCase(s);
    return s;
  }

  group(): Node | undefined {
    const open = this.pos;
    this.pos++;
    let index = -1;
    const saved = { ...this.flags };
    if (this.src[this.pos] === "?") {
      this.pos++;
      const rest = this.src.slice(this.pos, this.pos + 3);
      if (rest.startsWith("=") || rest.startsWith("!") || rest.startsWith("<=") || rest.startsWith("<!"))
        throw this.fail("RX_UNSUPPORTED", "lookaround assertion", open);
      if (rest.startsWith(">")) throw this.fail("RX_UNSUPPORTED", "atomic group", open);
      if (rest.startsWith("P=") || rest.startsWith("P>") || rest.startsWith("R") || /^[+-]?\d/.test(rest))
        throw this.fail("RX_UNSUPPORTED", "backreference or recursion", open);
      if (rest.startsWith("#")) throw this.fail("RX_UNSUPPORTED", "comment group", open);
      if (rest.startsWith("|")) throw this.fail("RX_UNSUPPORTED", "branch reset group", open);
      const named = /^(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')/.exec(
        this.src.slice(this.pos),
      );
      if (named !== null) {
        const name = named[1] ?? named[2]!;
        if (this.names.has(name)) throw this.fail("RX_SYNTAX", `duplicate group name "${name}"`, open);
        index = ++this.groups;
        this.names.set(name, index);
        this.pos += named[0].length;
      } else if (this.flagGroup()) {
        if (this.src[this.pos - 1] === ")") return undefined; // (?i): in force to the end of the enclosing group
      }
    } else {
      index = ++this.groups;
    }
    const body = this.alternation();
    if (this.src[this.pos] !== ")") throw this.fail("RX_SYNTAX", "missing )", open);
    this.pos++;
    this.flags = saved;
    return index < 0 ? body : { t: "group", index, body };
  }

  /** flagGroup reads "flags)" or "flags:" after "(?", e.g. (?i) (?is) (?-i:...); true when read. */
  flagGroup(): boolean {
    const start = this.pos;
    let on = true;
    let seen = false;
    for (; this.pos < this.src.length; this.pos++) {
      const c = this.src[this.pos]!;
      if (c === ")" || c === ":") {
        if (!seen && c === ")") throw this.fail("RX_SYNTAX", "empty flag group", start - 2);
        this.pos++;
        return true;
      }
      if (c === "-" && on) {
        on = false;
        continue;
      }
      if (c === "i" || c === "s" || c === "m" || c === "U") {
        this.flags[c] = on;
        seen = true;
        continue;
      }
      if (c === "x") throw this.fail("RX_UNSUPPORTED", "extended mode (?x)", start - 2);
      throw this.fail("RX_SYNTAX", `unknown group flag "${c}"`, this.pos);
    }
    throw this.fail("RX_SYNTAX", "missing )", start - 2);
  }

  escape(): Node {
    const at = this.pos;
    const c = this.src[this.pos + 1];
    if (c === undefined) throw this.fail("RX_SYNTAX", "trailing backslash");
    this.pos += 2;
    switch (c) {
      case "b":
        return { t: "assert", kind: "word" };
      case "B":
        return { t: "assert", kind: "notword" };
      case "A":
        return { t: "assert", kind: "bot" };
      case "z":
        return { t: "assert", kind: "eot" };
      case "Q": {
        const end = this.src.indexOf("\\E", this.pos);
        const text = this.src.slice(this.pos, end < 0 ? undefined : end);
        this.pos = end < 0 ? this.src.length : end + 2;
        const items = Array.from(text, (ch) => this.codePoint(ch.codePointAt(0)!));
        return items.length === 0 ? EMPTY : { t: "seq", items };
      }
    }
    const perl = perlClass(c);
    if (perl !== undefined) return { t: "set", set: perl };
    this.pos = at;
    const b = this.escapedByte(false);
    return this.codePoint(b.value, b.byte);
  }

  /** escapedByte reads a single-character escape at pos (\n, \xHH, \x{H...}, \0oo, \.); byte says \x or octal. */
  escapedByte(inClass: boolean): { value: number; byte: boolean } {
    const at = this.pos;
    const c = this.src[this.pos + 1]!;
    this.pos += 2;
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, a: 7, e: 27 };
    if (simple[c] !== undefined) return { value: simple[c], byte: true };
    if (c === "b" && inClass) return { value: 8, byte: true };
    if (c === "x") {
      const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(this.src.slice(this.pos, this.pos + 9));
      if (braced !== null) {
        this.pos += braced[0].length;
        const v = parseInt(braced[1]!, 16);
        if (v > 0x10ffff) throw this.fail("RX_SYNTAX", "\\x{...} above U+10FFFF", at);
        return { value: v, byte: v < 0x100 };
      }
      const two = /^[0-9A-Fa-f]{2}/.exec(this.src.slice(this.pos, this.pos + 2));
      if (two === null) throw this.fail("RX_SYNTAX", "\\x needs two hex digits or {hex}", at);
      this.pos += 2;
      return { value: parseInt(two[0], 16), byte: true };
    }
    if (c === "0") {
      const oct = /^[0-7]{0,2}/.exec(this.src.slice(this.pos, this.pos + 2))![0];
      this.pos += oct.length;
      return { value: parseInt("0" + oct, 8), byte: true };
    }
    if (c >= "1" && c <= "9") throw this.fail("RX_UNSUPPORTED", `backreference \\${c}`, at);
    if (c === "k" || c === "g") throw this.fail("RX_UNSUPPORTED", `backreference \\${c}`, at);
    if (c === "p" || c === "P")
      throw this.fail("RX_UNSUPPORTED", "Unicode class \\p (the engine matches bytes)", at);
    if (/[A-Za-z]/.test(c))
      throw this.fail(/[GKRXCZhHNVu]/.test(c) ? "RX_UNSUPPORTED" : "RX_SYNTAX", `escape \\${c}`, at);
    return { value: c.codePointAt(0)!, byte: false };
  }

  /** cls reads a bracket class [...] into a byte set. */
  cls(): ByteSet {
    const open = this.pos;
    this.pos++;
    let negated = false;
    if (this.src[this.pos] === "^") {
      negated = true;
      this.pos++;
    }
    const set = emptySet();
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) throw this.fail("RX_SYNTAX", "missing ]", open);
      const c = this.src[this.pos]!;
      if (c === "]" && !first) break;
      first = false;
      if (c === "[" && this.src[this.pos + 1] === ":") {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.pos, this.pos + 12));
        if (m !== null) {
          const named = POSIX_CLASSES[m[2]!];
          if (named === undefined) throw this.fail("RX_SYNTAX", `unknown POSIX class [:${m[2]}:]`);
          addSet(set, m[1] === "^" ? negate(named) : named);
          this.pos += m[0].length;
          continue;
        }
      }
      if (c === "\\") {
        const perl = perlClass(this.src[this.pos + 1] ?? "");
        if (perl !== undefined) {
          addSet(set, perl);
          this.pos += 2;
          continue;
        }
      }
      const lo = this.classByte();
      if (this.src[this.pos] === "-" && this.src[this.pos + 1] !== "]" && this.pos + 1 < this.src.length) {
        const dash = this.pos;
        this.pos++;
        if (this.src[this.pos] === "\\" && perlClass(this.src[this.pos + 1] ?? "") !== undefined)
          throw this.fail("RX_SYNTAX", "a range cannot end in a class escape", dash);
        const hi = this.classByte();
        if (hi < lo) throw this.fail("RX_SYNTAX", "range out of order", dash);
        addRange(set, lo, hi);
      } else {
        addByte(set, lo);
      }
    }
    this.pos++;
    if (this.flags.i) foldCase(set);
    return negated ? negate(set) : set;
  }

  /** classByte reads one class member; members above 0xFF cannot be one byte and are refused. */
  classByte(): number {
    const at = this.pos;
    let value: number;
    if (this.src[this.pos] === "\\") value = this.escapedByte(true).value;
    else {
      value = this.src.codePointAt(this.pos)!;
      this.pos += value > 0xffff ? 2 : 1;
      if (value >= 0x80)
        throw this.fail("RX_UNSUPPORTED", "non-ASCII character in a class (write its bytes with \\xHH)", at);
    }
    if (value > 0xff)
      throw this.fail("RX_UNSUPPORTED", "class member above \\xFF (the engine matches bytes)", at);
    return value;
  }
}

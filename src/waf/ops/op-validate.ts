// op-validate.ts: the validators: @validateByteRange, @validateUrlEncoding, @validateUtf8Encoding.
// As in ModSecurity a validator *matches when the value is invalid*; the match reported is the
// offending piece (the byte, the escape, the broken sequence) for the log.
import type { Operator } from "../lang/model.ts";
import type { CompiledOperator, OperatorResult } from "./types.ts";

function hex(b: number): string {
  return "\\x" + b.toString(16).padStart(2, "0");
}

/** compileByteRange: matches when a byte of the value is outside the allowed bytes and ranges. */
export function compileByteRange(op: Operator): CompiledOperator {
  const ranges = op.arg.kind === "byteRanges" ? op.arg.ranges : [];
  // A native class scan ([^allowed]) beats a per-byte loop in JavaScript by a wide margin; chars
  // above 0xFF (never in a binary string) are outside every range.
  const cls = ranges.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join("");
  const outside = new RegExp(`[^${cls}]`);
  return {
    name: op.name,
    pure: true,
    test(value: string): OperatorResult {
      const m = outside.exec(value);
      return m === null ? false : { matched: m[0] };
    },
  };
}

// A '%' not followed by two hex digits: a bad or truncated escape (ModSecurity's -2 and -3).
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** compileUrlEncoding: matches when the value holds a '%' that does not start a %XX escape. */
export function compileUrlEncoding(op: Operator): CompiledOperator {
  return {
    name: op.name,
    pure: true,
    test(value: string): OperatorResult {
      const at = value.search(BAD_ESCAPE);
      return at < 0 ? false : { matched: value.slice(at, at + 3) };
    },
  };
}

const NON_ASCII = /[\x80-\uffff]/;

/** invalidUtf8 returns the offset of the first byte that does not start a valid UTF-8 sequence
 * (truncated, bad continuation, overlong, a surrogate, above U+10FFFF), or -1. */
export function invalidUtf8(s: string): number {
  const n = s.length;
  let i = s.search(NON_ASCII);
  if (i < 0) return -1;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = (c & 0xe0) === 0xc0 ? 2 : (c & 0xf0) === 0xe0 ? 3 : (c & 0xf8) === 0xf0 ? 4 : 0;
    if (len === 0 || c > 0xff || i + len > n) return i;
    let cp = c & (len === 2 ? 0x1f : len === 3 ? 0x0f : 0x07);
    for (let k = 1; k < len; k++) {
      const cc = s.charCodeAt(i + k);
      if ((cc & 0xc0) !== 0x80 || cc > 0xff) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += len;
  }
  return -1;
}

/** compileUtf8Encoding: matches when the value is not valid UTF-8. */
export function compileUtf8Encoding(op: Operator): CompiledOperator {
  return {
    name: op.name,
    pure: true,
    test(value: string): OperatorResult {
      const at = invalidUtf8(value);
      return at < 0 ? false : { matched: value.slice(at, at + 4) };
    },
  };
}

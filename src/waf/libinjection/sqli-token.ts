// sqli-token.ts: libinjection's SQL token (libinjection_sqli.h, struct libinjection_sqli_token)
// and its token types, the one-character codes that fingerprints are spelt with.
// Port of libinjection (Nick Galbreath, BSD-3-Clause) as libinjection-go v0.3.6 has it.
import { upper } from "./word-table.ts";

/** T holds the token types as char codes ('k' keyword, 's' string, '1' number, ...). */
export const T = {
  NONE: 0,
  KEYWORD: 0x6b, // k
  UNION: 0x55, // U
  GROUP: 0x42, // B
  EXPRESSION: 0x45, // E
  SQLTYPE: 0x74, // t
  FUNCTION: 0x66, // f
  BAREWORD: 0x6e, // n
  NUMBER: 0x31, // 1
  VARIABLE: 0x76, // v
  STRING: 0x73, // s
  OPERATOR: 0x6f, // o
  LOGIC_OPERATOR: 0x26, // &
  COMMENT: 0x63, // c
  COLLATE: 0x41, // A
  LEFTPARENS: 0x28, // (
  RIGHTPARENS: 0x29, // )
  LEFTBRACE: 0x7b, // {
  RIGHTBRACE: 0x7d, // }
  DOT: 0x2e, // .
  COMMA: 0x2c, // ,
  COLON: 0x3a, // :
  SEMICOLON: 0x3b, // ;
  TSQL: 0x54, // T
  UNKNOWN: 0x3f, // ?
  EVIL: 0x58, // X
  FINGERPRINT: 0x46, // F
  BACKSLASH: 0x5c, // \
} as const;

/** TOKEN_SIZE bounds a token's value: at most TOKEN_SIZE-1 bytes are kept, as in C's char[32]. */
export const TOKEN_SIZE = 32;

/** Token is one SQL token; its value is a bounded copy of the input bytes (or of a merged phrase). */
export class Token {
  type = 0;
  pos = 0;
  /** len is the number of bytes in val (at most TOKEN_SIZE-1). */
  len = 0;
  /** count is the number of '@' of a variable (1 or 2). */
  count = 0;
  /** strOpen/strClose are the quote chars around a string (0: none, the input started/ended inside it). */
  strOpen = 0;
  strClose = 0;
  /** val is NUL-terminated like C's, so val[0] of an empty token reads 0. */
  readonly val = new Uint8Array(TOKEN_SIZE);

  /** clear resets the token to the zero token. */
  clear(): void {
    this.type = this.pos = this.len = this.count = this.strOpen = this.strClose = 0;
    this.val[0] = 0;
  }

  /** assign sets type and position and copies up to TOKEN_SIZE-1 bytes of src from `from`. */
  assign(type: number, pos: number, len: number, src: string, from: number): void {
    const last = len < TOKEN_SIZE ? len : TOKEN_SIZE - 1;
    this.type = type;
    this.pos = pos;
    this.len = last;
    for (let i = 0; i < last; i++) this.val[i] = src.charCodeAt(from + i);
    this.val[last] = 0;
  }

  /** copyFrom makes this token a copy of o (C's struct assignment). */
  copyFrom(o: Token): void {
    this.type = o.type;
    this.pos = o.pos;
    this.len = o.len;
    this.count = o.count;
    this.strOpen = o.strOpen;
    this.strClose = o.strClose;
    this.val.set(o.val);
  }

  /** is tells whether the value equals `word` (upper case) ignoring ASCII case. */
  is(word: string): boolean {
    return this.len === word.length && this.startsWith(word);
  }

  /** startsWith tells whether the value begins with `word` (upper case) ignoring ASCII case. */
  startsWith(word: string): boolean {
    if (this.len < word.length) return false;
    for (let i = 0; i < word.length; i++) if (upper(this.val[i]!) !== word.charCodeAt(i)) return false;
    return true;
  }

  /** isUnaryOp: + - ! ~ !! NOT. */
  isUnaryOp(): boolean {
    if (this.type !== T.OPERATOR) return false;
    const c = this.val[0]!;
    switch (this.len) {
      case 1:
        return c === 0x2b || c === 0x2d || c === 0x21 || c === 0x7e;
      case 2:
        return c === 0x21 && this.val[1] === 0x21;
      case 3:
        return this.is("NOT");
      default:
        return false;
    }
  }

  /** isArithmeticOp: * / + - %. */
  isArithmeticOp(): boolean {
    const c = this.val[0]!;
    return (
      this.type === T.OPERATOR &&
      this.len === 1 &&
      (c === 0x2a || c === 0x2f || c === 0x2b || c === 0x2d || c === 0x25)
    );
  }

  /** text is the value as a binary string (tests and diagnostics; not on the hot path). */
  text(): string {
    return String.fromCharCode(...this.val.subarray(0, this.len));
  }
}

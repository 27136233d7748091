// sqli.ts: libinjection_sqli: fingerprint the input in each context (as is; as if it followed a
// single quote; a double quote), with ANSI and then MySQL comments, look the fingerprint up in
// libinjection's set, and drop the known false positives (libinjection_sqli_not_whitelist).
// Port of libinjection (Nick Galbreath, BSD-3-Clause) as libinjection-go v0.3.6 has it.
import { fold } from "./sqli-fold.ts";
import { T, Token } from "./sqli-token.ts";
import {
  FLAG_QUOTE_DOUBLE,
  FLAG_QUOTE_NONE,
  FLAG_QUOTE_SINGLE,
  FLAG_SQL_ANSI,
  FLAG_SQL_MYSQL,
  MAX_TOKENS,
  SqliState,
  WORDS,
} from "./sqli-tokenizer.ts";
import type { SqliResult } from "./types.ts";

/** Sqli is one detector; its buffers are reused across calls (no allocation unless SQLi is found). */
export class Sqli {
  readonly state = new SqliState();
  private readonly lastComment = new Token();
  /** fp holds the fingerprint's type codes; fpLen how many (0..5). */
  readonly fp = new Uint8Array(MAX_TOKENS);
  fpLen = 0;

  /** fingerprint runs one pass with flags and leaves its fingerprint in fp (libinjection_sqli_fingerprint). */
  fingerprint(input: string, flags: number): string {
    this.pass(input, flags);
    return String.fromCharCode(...this.fp.subarray(0, this.fpLen));
  }

  /** detect runs libinjection_is_sqli. */
  detect(input: string): SqliResult {
    if (input.length === 0) return NOT_SQLI;
    const s = this.state;
    if (this.tryContext(input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI)) return this.result();
    if (s.statsCommentDdx !== 0 || s.statsCommentHash !== 0) {
      if (this.tryContext(input, FLAG_QUOTE_NONE | FLAG_SQL_MYSQL)) return this.result();
    }
    // "1' = 1" may be the tail of '...': read it as "'1' = 1".
    if (input.includes("'")) {
      if (this.tryContext(input, FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI)) return this.result();
      if (s.statsCommentDdx !== 0 || s.statsCommentHash !== 0) {
        if (this.tryContext(input, FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL)) return this.result();
      }
    }
    // The same with a double quote (MySQL only, as in C).
    if (input.includes('"')) {
      if (this.tryContext(input, FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL)) return this.result();
    }
    return NOT_SQLI;
  }

  private result(): SqliResult {
    return { sqli: true, fingerprint: String.fromCharCode(...this.fp.subarray(0, this.fpLen)) };
  }

  private tryContext(input: string, flags: number): boolean {
    this.pass(input, flags);
    return this.blacklisted() && this.notWhitelisted();
  }

  private pass(input: string, flags: number): void {
    const s = this.state;
    s.reset(input, flags);
    const n = fold(s, this.lastComment);
    const v = s.tokens;
    // PHP's magic backquote comment: a last, empty, unclosed `-word is a comment.
    if (n > 2) {
      const t = v[n - 1]!;
      if (t.type === T.BAREWORD && t.strOpen === 0x60 && t.len === 0 && t.strClose === 0) t.type = T.COMMENT;
    }
    for (let i = 0; i < n; i++) {
      if (v[i]!.type === T.EVIL) {
        // Could not parse reliably (nested comments, MySQL's /*!): the fingerprint is "X".
        this.fp[0] = T.EVIL;
        this.fpLen = 1;
        v[0]!.type = T.EVIL;
        v[0]!.val[0] = T.EVIL;
        v[0]!.val[1] = 0;
        v[0]!.len = 1;
        return;
      }
      this.fp[i] = v[i]!.type;
    }
    this.fpLen = n;
  }

  /** blacklisted: is "0" + the upper-cased fingerprint in the fingerprint set. */
  private blacklisted(): boolean {
    if (this.fpLen < 1) return false;
    const buf = this.state.scratch;
    buf[0] = 0x30;
    for (let i = 0; i < this.fpLen; i++) buf[1 + i] = this.fp[i]!;
    return WORDS.get(buf, 0, this.fpLen + 1) === T.FINGERPRINT;
  }

  private fpIs(a: string): boolean {
    if (this.fpLen !== a.length) return false;
    for (let i = 0; i < a.length; i++) if (this.fp[i] !== a.charCodeAt(i)) return false;
    return true;
  }

  /** notWhitelisted drops known false positives of a matched fingerprint (libinjection_sqli_not_whitelist). */
  private notWhitelisted(): boolean {
    const s = this.state;
    const v = s.tokens;
    const n = this.fpLen;
    const input = s.input;
    // SQL Server's audit log skips statements containing sp_password: a known trick.
    if (n > 1 && this.fp[n - 1] === T.COMMENT && input.includes("sp_password")) return true;

    if (n === 2) {
      // "1 union" is common text: SQLi only when folding or comments were involved.
      if (this.fp[1] === T.UNION) return s.statsTokens !== 2;
      // A '#' comment: too many false positives.
      if (v[1]!.val[0] === 0x23) return false;
      // "nc": only a /* comment makes a word SQL; "--" and "#" endings are text.
      if (v[0]!.type === T.BAREWORD && v[1]!.type === T.COMMENT && v[1]!.val[0] !== 0x2f) return false;
      // "1/*" is SQLi.
      if (v[0]!.type === T.NUMBER && v[1]!.type === T.COMMENT && v[1]!.val[0] === 0x2f) return true;
      // "1234-ABCDEF--" (base64-ish) folds to "1c" too: the number must be a real one, followed
      // by white space, "/*" or "--" in the original input (folding may have merged "1+FOO").
      if (v[0]!.type === T.NUMBER && v[1]!.type === T.COMMENT) {
        if (s.statsTokens > 2) return true;
        const at = v[0]!.len;
        const ch = input.charCodeAt(at);
        if (ch <= 32) return true;
        if (ch === 0x2f && input.charCodeAt(at + 1) === 0x2a) return true;
        if (ch === 0x2d && input.charCodeAt(at + 1) === 0x2d) return true;
        return false;
      }
      // Scans end in "--": "1--" is SQLi but "1-- foo" is text.
      if (v[1]!.len > 2 && v[1]!.val[0] === 0x2d) return false;
    } else if (n === 3) {
      if (this.fpIs("sos") || this.fpIs("s&s")) {
        // ...foo' + 'bar...: no opening quote, no closing quote, and the inner ones match.
        return v[0]!.strOpen === 0 && v[2]!.strClose === 0 && v[0]!.strClose === v[2]!.strOpen;
      }
      if (this.fpIs("s&n") || this.fpIs("n&1") || this.fpIs("1&1") || this.fpIs("1&v") || this.fpIs("1&s")) {
        // 'sexy and 17' is text; 'sexy and 17<18' (folded) is SQLi.
        if (s.statsTokens === 3) return false;
      }
      // A keyword in the middle is text unless it is MySQL's INTO OUTFILE / INTO DUMPFILE.
      if (v[1]!.type === T.KEYWORD && (v[1]!.len < 5 || !v[1]!.startsWith("INTO"))) return false;
    }
    return true;
  }
}

const NOT_SQLI: SqliResult = Object.freeze({ sqli: false, fingerprint: "" });

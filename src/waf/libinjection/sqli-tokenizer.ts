// sqli-tokenizer.ts: libinjection's SQL tokenizer (libinjection_sqli.c, parse_*): one parser
// per first byte, chosen through a 256-entry char-class table, each consuming one token into the
// state's current token and answering the position after it.
// Port of libinjection (Nick Galbreath, BSD-3-Clause) as libinjection-go v0.3.6 has it; where
// C and Go differ the Go port wins (its tests pin the C behaviour it fixed), except that words
// are upper-cased as ASCII only, as C does (Go's strings.ToUpper also folds 'ı' and 'ſ').
import { SQLI_FINGERPRINTS, SQLI_WORDS } from "./sqli-data.ts";
import { T, Token } from "./sqli-token.ts";
import { WordTable } from "./word-table.ts";

/** FLAG_* are libinjection's parse flags: the quote context and the comment flavour. */
export const FLAG_QUOTE_NONE = 1;
export const FLAG_QUOTE_SINGLE = 2;
export const FLAG_QUOTE_DOUBLE = 4;
export const FLAG_SQL_ANSI = 8;
export const FLAG_SQL_MYSQL = 16;

/** MAX_TOKENS is the fingerprint length: folding keeps at most five tokens. */
export const MAX_TOKENS = 5;

const SINGLE = 0x27;
const DOUBLE = 0x22;
const TICK = 0x60;

/** WORDS maps keywords (and "0"+fingerprint, type F) to their token type, as C's single table. */
export const WORDS = new WordTable(
  Object.entries(SQLI_WORDS)
    .flatMap(([type, words]) => words.map((w) => [w, type.charCodeAt(0)] as const))
    .concat(
      SQLI_FINGERPRINTS.flatMap((line) => line.split(" ")).map((fp) => [`0${fp}`, T.FINGERPRINT] as const),
    ),
);

/** SqliState is the tokenizer and folding state of one pass over the input (reused between passes). */
export class SqliState {
  input = "";
  length = 0;
  flags = 0;
  pos = 0;
  /** tokens: five for the fingerprint, one more to decide the fifth's type, spares as in C. */
  readonly tokens: Token[] = Array.from({ length: 8 }, () => new Token());
  current: Token = this.tokens[0]!;
  /** scratch holds a merged phrase ("UNION ALL") or a fingerprint being looked up. */
  readonly scratch = new Uint8Array(64);
  /** more is folding's "the input has more tokens". */
  more = true;
  statsCommentDdx = 0;
  statsCommentHash = 0;
  statsFolds = 0;
  statsTokens = 0;

  /** reset starts a new pass over input with flags (0 = as is, ANSI). */
  reset(input: string, flags: number): void {
    this.input = input;
    this.length = input.length;
    this.flags = flags === 0 ? FLAG_QUOTE_NONE | FLAG_SQL_ANSI : flags;
    this.pos = 0;
    for (const t of this.tokens) t.clear();
    this.current = this.tokens[0]!;
    this.statsCommentDdx = this.statsCommentHash = this.statsFolds = this.statsTokens = 0;
  }

  /** tokenize reads the next token into `current`; false at the end of input. */
  tokenize(): boolean {
    if (this.length === 0) return false;
    this.current.clear();
    // In a quote context the input is taken to start inside a string.
    if (this.pos === 0 && (this.flags & (FLAG_QUOTE_SINGLE | FLAG_QUOTE_DOUBLE)) !== 0) {
      const delim = (this.flags & FLAG_QUOTE_SINGLE) !== 0 ? SINGLE : DOUBLE;
      this.pos = parseStringCore(this, 0, 0, delim);
      this.statsTokens++;
      return true;
    }
    while (this.pos < this.length) {
      const ch = this.input.charCodeAt(this.pos);
      // White space is parseWhite's (no token); skipping it here saves a call per byte.
      if (ch <= 0x20 || ch === 0x7f || ch === 0xa0) {
        this.pos++;
        continue;
      }
      this.pos = PARSERS[ch > 0xff ? 0xff : ch]!(this);
      if (this.current.type !== T.NONE) {
        this.statsTokens++;
        return true;
      }
    }
    return false;
  }

  /** lookupToken answers the type of the current token's first n bytes (0 if not a keyword). */
  lookupToken(t: Token, n: number): number {
    return WORDS.get(t.val, 0, n);
  }
}

type Parser = (s: SqliState) => number;

/** table marks the bytes of chars; NUL is in every table, as C's strchr finds the terminator. */
function table(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  t[0] = 1;
  return t;
}

const MONEY = table("0123456789.,");
const LETTERS = table("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
const HEX = table("0123456789ABCDEFabcdef");
const BINARY = table("01");
const WORD_END = table(" []{}<>:\\?=@!#~+-*/&|^%(),';\t\n\v\f\r\"\xa0");
const VAR_END = table(" <>:\\?=@!#~+-*/&|^%(),';\t\n\v\f\r'`\"");

/** span counts the bytes of input from `from` (before `end`) that are in accept (C's strspn). */
function span(input: string, from: number, end: number, accept: Uint8Array): number {
  let i = from;
  while (i < end && accept[input.charCodeAt(i)] === 1) i++;
  return i - from;
}

/** cspan counts the bytes from `from` that are not in reject (C's strcspn). */
function cspan(input: string, from: number, end: number, reject: Uint8Array): number {
  let i = from;
  while (i < end && reject[input.charCodeAt(i)] !== 1) i++;
  return i - from;
}

/** isWhite is libinjection's char_is_white: ASCII space class, NUL (Oracle) and Latin-1 NBSP. */
export function isWhite(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * parseStringCore reads a string whose opening quote (if offset is 1) is at pos: up to the first
 * delim that is neither backslash-escaped nor doubled; no closing quote reads to the end.
 */
export function parseStringCore(s: SqliState, pos: number, offset: number, delim: number): number {
  const { input, length } = s;
  const start = pos + offset;
  const t = s.current;
  t.strOpen = offset > 0 ? delim : 0;
  const quote = String.fromCharCode(delim); // one-char strings are interned: no allocation
  let from = start;
  for (;;) {
    const q = input.indexOf(quote, from); // V8 searches a byte like memchr; a loop is ~5x slower
    if (q < 0) {
      t.assign(T.STRING, start, length - start, input, start);
      t.strClose = 0;
      return length;
    }
    let slashes = 0;
    for (let i = q - 1; i >= start && input.charCodeAt(i) === 0x5c; i--) slashes++;
    if (slashes % 2 === 1) {
      from = q + 1;
    } else if (q + 1 < length && input.charCodeAt(q + 1) === delim) {
      from = q + 2;
    } else {
      t.assign(T.STRING, start, q - start, input, start);
      t.strClose = delim;
      return q + 1;
    }
  }
}

/** parseEolComment reads a comment up to the end of the line. */
function parseEolComment(s: SqliState): number {
  const nl = s.input.indexOf("\n", s.pos);
  if (nl < 0) {
    s.current.assign(T.COMMENT, s.pos, s.length - s.pos, s.input, s.pos);
    return s.length;
  }
  s.current.assign(T.COMMENT, s.pos, nl - s.pos, s.input, s.pos);
  return nl + 1;
}

const parseWhite: Parser = (s) => s.pos + 1;

const parseOther: Parser = (s) => {
  s.current.assign(T.UNKNOWN, s.pos, 1, s.input, s.pos);
  return s.pos + 1;
};

const parseOperator1: Parser = (s) => {
  s.current.assign(T.OPERATOR, s.pos, 1, s.input, s.pos);
  return s.pos + 1;
};

/** parseChar makes the byte its own token type: ( ) , ; { }. */
const parseChar: Parser = (s) => {
  s.current.assign(s.input.charCodeAt(s.pos), s.pos, 1, s.input, s.pos);
  return s.pos + 1;
};

/** parseHash: '#' is an operator in ANSI SQL and an end-of-line comment in MySQL. */
const parseHash: Parser = (s) => {
  s.statsCommentHash++;
  if ((s.flags & FLAG_SQL_MYSQL) !== 0) {
    s.statsCommentHash++;
    return parseEolComment(s);
  }
  s.current.assign(T.OPERATOR, s.pos, 1, s.input, s.pos);
  return s.pos + 1;
};

/** parseDash: "--" + white or end is a comment everywhere; "--x" only in ANSI; else '-' operator. */
const parseDash: Parser = (s) => {
  const { input, pos, length } = s;
  const dd = pos + 1 < length && input.charCodeAt(pos + 1) === 0x2d;
  if (dd && pos + 2 < length && isWhite(input.charCodeAt(pos + 2))) return parseEolComment(s);
  if (dd && pos + 2 === length) return parseEolComment(s);
  if (dd && (s.flags & FLAG_SQL_ANSI) !== 0) {
    s.statsCommentDdx++;
    return parseEolComment(s);
  }
  s.current.assign(T.OPERATOR, pos, 1, input, pos);
  return pos + 1;
};

/** parseSlash: "/*" comments; a nested "/*" (PostgreSQL) or MySQL's "/*!" is evil ('X'). */
const parseSlash: Parser = (s) => {
  const { input, pos, length } = s;
  if (pos + 1 === length || input.charCodeAt(pos + 1) !== 0x2a) return parseOperator1(s);
  const end = input.indexOf("*/", pos + 2);
  const clen = end < 0 ? length - pos : end + 2 - pos;
  let type: number = T.COMMENT;
  // A "/*" inside the comment (the probe runs up to one byte past the start of "*/", as C's).
  const nested = end >= 0 ? input.indexOf("/*", pos + 2) : -1;
  if (nested >= 0 && nested + 2 <= end + 1) type = T.EVIL;
  else if (pos + 2 < length && input.charCodeAt(pos + 2) === 0x21) type = T.EVIL;
  s.current.assign(type, pos, clen, input, pos);
  return pos + clen;
};

/** parseBackslash: MySQL's "\N" is NULL (a number); a lone backslash is its own type. */
const parseBackslash: Parser = (s) => {
  if (s.pos + 1 < s.length && s.input.charCodeAt(s.pos + 1) === 0x4e) {
    s.current.assign(T.NUMBER, s.pos, 2, s.input, s.pos);
    return s.pos + 2;
  }
  s.current.assign(T.BACKSLASH, s.pos, 1, s.input, s.pos);
  return s.pos + 1;
};

/** parseOperator2: two-char operators from the keyword table, "<=>", else one char (':' is COLON). */
const parseOperator2: Parser = (s) => {
  const { input, pos, length } = s;
  if (pos + 1 >= length) return parseOperator1(s);
  if (
    pos + 2 < length &&
    input.charCodeAt(pos) === 0x3c &&
    input.charCodeAt(pos + 1) === 0x3d &&
    input.charCodeAt(pos + 2) === 0x3e
  ) {
    s.current.assign(T.OPERATOR, pos, 3, input, pos);
    return pos + 3;
  }
  s.scratch[0] = input.charCodeAt(pos);
  s.scratch[1] = input.charCodeAt(pos + 1);
  const ch = WORDS.get(s.scratch, 0, 2);
  if (ch !== 0) {
    s.current.assign(ch, pos, 2, input, pos);
    return pos + 2;
  }
  if (input.charCodeAt(pos) === 0x3a) {
    s.current.assign(T.COLON, pos, 1, input, pos);
    return pos + 1;
  }
  return parseOperator1(s);
};

/** parseString: the first byte is a ' or a ". */
const parseString: Parser = (s) => parseStringCore(s, s.pos, 1, s.input.charCodeAt(s.pos));

/** parseWord reads a word; a keyword before a '.' or '`' inside it ends the token there. */
const parseWord: Parser = (s) => {
  const { input, pos, length } = s;
  const t = s.current;
  const wlen = cspan(input, pos, length, WORD_END);
  t.assign(T.BAREWORD, pos, wlen, input, pos);
  for (let i = 0; i < t.len; i++) {
    const d = t.val[i];
    if (d === 0x2e || d === 0x60) {
      const ch = s.lookupToken(t, i);
      if (ch !== T.NONE && ch !== T.BAREWORD) {
        // "SELECT.1" or SELECT `column`
        t.clear();
        t.assign(ch, pos, i, input, pos);
        return pos + i;
      }
    }
  }
  if (wlen < 32) {
    const ch = s.lookupToken(t, wlen);
    t.type = ch === 0 ? T.BAREWORD : ch;
  }
  return pos + wlen;
};

/** parseTick: MySQL `quoted` names are bare words, or functions when the name is one. */
const parseTick: Parser = (s) => {
  const pos = parseStringCore(s, s.pos, 1, TICK);
  s.current.type = s.lookupToken(s.current, s.current.len) === T.FUNCTION ? T.FUNCTION : T.BAREWORD;
  return pos;
};

/** parseVar reads @name, @@name, @`name`, @'name'. */
const parseVar: Parser = (s) => {
  const { input, length } = s;
  let pos = s.pos + 1;
  if (pos < length && input.charCodeAt(pos) === 0x40) {
    pos++;
    s.current.count = 2;
  } else {
    s.current.count = 1;
  }
  if (pos < length) {
    const c = input.charCodeAt(pos);
    if (c === TICK) {
      s.pos = pos;
      pos = parseTick(s);
      s.current.type = T.VARIABLE;
      return pos;
    }
    if (c === SINGLE || c === DOUBLE) {
      s.pos = pos;
      pos = parseString(s);
      s.current.type = T.VARIABLE;
      return pos;
    }
  }
  const vlen = cspan(input, pos, length, VAR_END);
  s.current.assign(T.VARIABLE, pos, vlen, input, pos);
  return pos + vlen;
};

/** parseMoney: $1,000.00 is a number, $$..$$ and $tag$..$tag$ PostgreSQL strings, else '$' a word. */
const parseMoney: Parser = (s) => {
  const { input, pos, length } = s;
  const t = s.current;
  if (pos + 1 === length) {
    t.assign(T.BAREWORD, pos, 1, input, pos);
    return length;
  }
  const mlen = span(input, pos + 1, length, MONEY);
  if (mlen === 1 && input.charCodeAt(pos + 1) === 0x2e) return parseWord(s);
  if (mlen > 0) {
    t.assign(T.NUMBER, pos, mlen + 1, input, pos);
    return pos + mlen + 1;
  }
  if (input.charCodeAt(pos + 1) === 0x24) {
    const end = input.indexOf("$$", pos + 2);
    const slen = end < 0 ? length - (pos + 2) : end - (pos + 2);
    t.assign(T.STRING, pos + 2, slen, input, pos + 2);
    t.strOpen = 0x24;
    t.strClose = end < 0 ? 0 : 0x24;
    return end < 0 ? length : end + 2;
  }
  const xlen = span(input, pos + 1, length, LETTERS);
  if (xlen === 0 || pos + xlen + 1 === length || input.charCodeAt(pos + xlen + 1) !== 0x24) {
    // "$" then something else: just the '$'
    t.assign(T.BAREWORD, pos, 1, input, pos);
    return pos + 1;
  }
  const body = pos + xlen + 2;
  const end = input.indexOf(input.slice(pos, body), body);
  if (end < 0) {
    t.assign(T.STRING, body, length - body, input, body);
    t.strOpen = 0x24;
    t.strClose = 0;
    return length;
  }
  t.assign(T.STRING, body, end - body, input, body);
  t.strOpen = 0x24;
  t.strClose = 0x24;
  return end + xlen + 2;
};

/** parseNumber: integers, 0x hex, 0b binary, decimals, exponents, Oracle's d/f suffixes. */
const parseNumber: Parser = (s) => {
  const { input, length } = s;
  const start = s.pos;
  if (input.charCodeAt(start) === 0x30 && start + 1 < length) {
    const c1 = input.charCodeAt(start + 1);
    const digits = c1 === 0x58 || c1 === 0x78 ? HEX : c1 === 0x42 || c1 === 0x62 ? BINARY : null;
    if (digits) {
      const dlen = span(input, start + 2, length, digits);
      if (dlen === 0) {
        s.current.assign(T.BAREWORD, start, 2, input, start);
        return start + 2;
      }
      s.current.assign(T.NUMBER, start, 2 + dlen, input, start);
      return start + 2 + dlen;
    }
  }
  let pos = start;
  while (pos < length && isDigit(input.charCodeAt(pos))) pos++;
  if (pos < length && input.charCodeAt(pos) === 0x2e) {
    pos++;
    while (pos < length && isDigit(input.charCodeAt(pos))) pos++;
    if (pos - start === 1) {
      s.current.assign(T.DOT, start, 1, input, start);
      return pos;
    }
  }
  let haveE = false;
  let haveExp = false;
  if (pos < length && (input.charCodeAt(pos) | 0x20) === 0x65) {
    haveE = true;
    pos++;
    if (pos < length && (input.charCodeAt(pos) === 0x2b || input.charCodeAt(pos) === 0x2d)) pos++;
    while (pos < length && isDigit(input.charCodeAt(pos))) {
      haveExp = true;
      pos++;
    }
  }
  // Oracle's float/double suffix: "1.2f" at the end, before white or ';', or "1fUNION".
  if (pos < length) {
    const c = input.charCodeAt(pos) | 0x20;
    if (c === 0x64 || c === 0x66) {
      if (pos + 1 === length) pos++;
      else {
        const n = input.charCodeAt(pos + 1);
        if (isWhite(n) || n === 0x3b || n === 0x55 || n === 0x75) pos++;
      }
    }
  }
  // "1.e" with no exponent digits is skipped the way MySQL ignores it ("1' or 1.e(1)"): no token.
  if (!(haveE && !haveExp)) s.current.assign(T.NUMBER, start, pos - start, input, start);
  return pos;
};

/** parseUString: u&'...' (ANSI unicode string), else a word. */
const parseUString: Parser = (s) => {
  const { input, pos, length } = s;
  if (pos + 2 < length && input.charCodeAt(pos + 1) === 0x26 && input.charCodeAt(pos + 2) === SINGLE) {
    s.pos += 2;
    const end = parseString(s);
    s.current.strOpen = 0x75;
    if (s.current.strClose === SINGLE) s.current.strClose = 0x75;
    return end;
  }
  return parseWord(s);
};

/** parseQStringCore: Oracle's q'(...)' strings (offset 1: after an N prefix). */
function parseQStringCore(s: SqliState, offset: number): number {
  const { input, length } = s;
  const pos = s.pos + offset;
  const c0 = input.charCodeAt(pos);
  if (
    pos >= length ||
    (c0 !== 0x71 && c0 !== 0x51) ||
    pos + 2 >= length ||
    input.charCodeAt(pos + 1) !== SINGLE
  ) {
    return parseWord(s);
  }
  let ch = input.charCodeAt(pos + 2);
  // C's char is signed there, so bytes >= 0x80 fail its "ch < 33" test as well.
  if (ch < 33 || ch > 127) return parseWord(s);
  if (ch === 0x28) ch = 0x29;
  else if (ch === 0x5b) ch = 0x5d;
  else if (ch === 0x7b) ch = 0x7d;
  else if (ch === 0x3c) ch = 0x3e;
  const end = input.indexOf(String.fromCharCode(ch, SINGLE), pos + 3);
  const t = s.current;
  if (end < 0) {
    t.assign(T.STRING, pos + 3, length - pos - 3, input, pos + 3);
    t.strOpen = 0x71;
    t.strClose = 0;
    return length;
  }
  t.assign(T.STRING, pos + 3, end - pos - 3, input, pos + 3);
  t.strOpen = 0x71;
  t.strClose = 0x71;
  return end + 2;
}

const parseQString: Parser = (s) => parseQStringCore(s, 0);

/** parseEString: E'...' (PostgreSQL escaped) and N'...' (MySQL national) strings. */
const parseEString: Parser = (s) => {
  if (s.pos + 2 >= s.length || s.input.charCodeAt(s.pos + 1) !== SINGLE) return parseWord(s);
  return parseStringCore(s, s.pos, 2, SINGLE);
};

const parseNqString: Parser = (s) => {
  if (s.pos + 2 < s.length && s.input.charCodeAt(s.pos + 1) === SINGLE) return parseEString(s);
  return parseQStringCore(s, 1);
};

/** parseLiteral makes X'hex' and B'bits' literals numbers, else reads a word. */
function parseLiteral(s: SqliState, digits: Uint8Array): number {
  const { input, pos, length } = s;
  if (pos + 2 >= length || input.charCodeAt(pos + 1) !== SINGLE) return parseWord(s);
  const dlen = span(input, pos + 2, length, digits);
  if (pos + 2 + dlen >= length || input.charCodeAt(pos + 2 + dlen) !== SINGLE) return parseWord(s);
  s.current.assign(T.NUMBER, pos, dlen + 3, input, pos);
  return pos + 2 + dlen + 1;
}

const parseXString: Parser = (s) => parseLiteral(s, HEX);
const parseBString: Parser = (s) => parseLiteral(s, BINARY);

/** parseBWord: SQL Server's [bracketed names]. */
const parseBWord: Parser = (s) => {
  const end = s.input.indexOf("]", s.pos);
  const blen = end < 0 ? s.length - s.pos : end + 1 - s.pos;
  s.current.assign(T.BAREWORD, s.pos, blen, s.input, s.pos);
  return s.pos + blen;
};

/** PARSERS is the char-class dispatch table: the parser for each first byte (libinjection's char_parse_map). */
const PARSERS: Parser[] = (() => {
  const p: Parser[] = new Array<Parser>(256).fill(parseWord);
  for (let c = 0; c <= 32; c++) p[c] = parseWhite;
  p[127] = parseWhite;
  p[160] = parseWhite;
  const set = (chars: string, f: Parser) => {
    for (const c of chars) p[c.charCodeAt(0)] = f;
  };
  set("!&*:<=>|", parseOperator2);
  set("%+^~", parseOperator1);
  set("\"'", parseString);
  set("#", parseHash);
  set("$", parseMoney);
  set("(),;{}", parseChar);
  set("-", parseDash);
  set(".0123456789", parseNumber);
  set("/", parseSlash);
  set("?]", parseOther);
  set("@", parseVar);
  set("Bb", parseBString);
  set("Ee", parseEString);
  set("Nn", parseNqString);
  set("Qq", parseQString);
  set("Uu", parseUString);
  set("Xx", parseXString);
  set("[", parseBWord);
  set("\\", parseBackslash);
  set("`", parseTick);
  return p;
})();

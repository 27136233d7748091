// html5.ts: libinjection's HTML5 tokenizer (libinjection_html5.c): a reduced form of the HTML5
// tokenizer states (WHATWG 12.2.4.x) that yields tag names, attribute names and values, comments
// and doctypes, starting either in the data state or inside an attribute value.
// Port of libinjection (Nick Galbreath, BSD-3-Clause) as libinjection-go v0.3.6 has it, except
// the "<% ... %>" comment, which follows C (the Go port tests the byte after the wrong '%').

/** H5 token types (enum html5_type). */
export const H5 = {
  DATA_TEXT: 0,
  TAG_NAME_OPEN: 1,
  TAG_NAME_CLOSE: 2,
  TAG_NAME_SELFCLOSE: 3,
  TAG_DATA: 4,
  TAG_CLOSE: 5,
  ATTR_NAME: 6,
  ATTR_VALUE: 7,
  TAG_COMMENT: 8,
  DOCTYPE: 9,
} as const;

/** CTX are the five start contexts (enum html5_flags). */
export const CTX = {
  DATA_STATE: 0,
  VALUE_NO_QUOTE: 1,
  VALUE_SINGLE_QUOTE: 2,
  VALUE_DOUBLE_QUOTE: 3,
  VALUE_BACK_QUOTE: 4,
} as const;

// Tokenizer states that next() can resume in.
const S_EOF = 0;
const S_DATA = 1;
const S_TAG_OPEN = 2;
const S_BEFORE_ATTR_NAME = 3;
const S_ATTR_VALUE_SINGLE = 4;
const S_ATTR_VALUE_DOUBLE = 5;
const S_ATTR_VALUE_BACK = 6;
const S_TAG_NAME_CLOSE = 7;
const S_SELF_CLOSING = 8;
const S_AFTER_ATTR_NAME = 9;
const S_BEFORE_ATTR_VALUE = 10;
const S_AFTER_ATTR_VALUE_QUOTED = 11;

const EOF = -1;
const GT = 0x3e;

/** isH5White is HTML5 white space plus \v (libinjection's h5_is_white). */
function isH5White(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

const isAlpha = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);

/** asciiCaseIs tells whether s at pos starts with `word` (lower case) ignoring ASCII case. */
function asciiCaseIs(s: string, pos: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = s.charCodeAt(pos + i);
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** Html5 is the tokenizer; after next() answers true, tokenType/tokenStart/tokenLen describe the token. */
export class Html5 {
  s = "";
  len = 0;
  pos = 0;
  isClose = false;
  state = S_EOF;
  tokenStart = 0;
  tokenLen = 0;
  tokenType = 0;

  /** init starts tokenizing s in one of the CTX contexts. */
  init(s: string, ctx: number): void {
    this.s = s;
    this.len = s.length;
    this.pos = 0;
    this.isClose = false;
    this.tokenStart = this.tokenLen = this.tokenType = 0;
    this.state =
      ctx === CTX.VALUE_NO_QUOTE
        ? S_BEFORE_ATTR_NAME
        : ctx === CTX.VALUE_SINGLE_QUOTE
          ? S_ATTR_VALUE_SINGLE
          : ctx === CTX.VALUE_DOUBLE_QUOTE
            ? S_ATTR_VALUE_DOUBLE
            : ctx === CTX.VALUE_BACK_QUOTE
              ? S_ATTR_VALUE_BACK
              : S_DATA;
  }

  /** next reads the next token; false at the end. */
  next(): boolean {
    switch (this.state) {
      case S_DATA:
        return this.data();
      case S_TAG_OPEN:
        return this.tagOpen();
      case S_BEFORE_ATTR_NAME:
        return this.beforeAttributeName();
      case S_ATTR_VALUE_SINGLE:
        return this.attributeValueQuote(0x27);
      case S_ATTR_VALUE_DOUBLE:
        return this.attributeValueQuote(0x22);
      case S_ATTR_VALUE_BACK:
        return this.attributeValueQuote(0x60);
      case S_TAG_NAME_CLOSE:
        return this.tagNameClose();
      case S_SELF_CLOSING:
        return this.selfClosingStartTag();
      case S_AFTER_ATTR_NAME:
        return this.afterAttributeName();
      case S_BEFORE_ATTR_VALUE:
        return this.beforeAttributeValue();
      case S_AFTER_ATTR_VALUE_QUOTED:
        return this.afterAttributeValueQuoted();
      default:
        return false;
    }
  }

  private emit(type: number, start: number, len: number, state: number): true {
    this.tokenType = type;
    this.tokenStart = start;
    this.tokenLen = len;
    this.state = state;
    return true;
  }

  private skipWhite(): number {
    while (this.pos < this.len) {
      const c = this.s.charCodeAt(this.pos);
      if (c === 0 || c === 0x20 || (c >= 0x09 && c <= 0x0d)) this.pos++;
      else return c;
    }
    return EOF;
  }

  private data(): boolean {
    const lt = this.s.indexOf("<", this.pos);
    if (lt < 0) {
      this.emit(H5.DATA_TEXT, this.pos, this.len - this.pos, S_EOF);
      return this.tokenLen !== 0;
    }
    this.emit(H5.DATA_TEXT, this.pos, lt - this.pos, S_TAG_OPEN);
    this.pos = lt + 1;
    return this.tokenLen === 0 ? this.tagOpen() : true;
  }

  // 12.2.4.8
  private tagOpen(): boolean {
    if (this.pos >= this.len) return false;
    const c = this.s.charCodeAt(this.pos);
    if (c === 0x21) {
      this.pos++;
      return this.markupDeclarationOpen();
    }
    if (c === 0x2f) {
      this.pos++;
      this.isClose = true;
      return this.endTagOpen();
    }
    if (c === 0x3f) {
      this.pos++;
      return this.bogusComment();
    }
    if (c === 0x25) {
      // "<%": not in the spec; a comment form of IE <= 9 and Safari < 4.0.3.
      this.pos++;
      return this.bogusComment2();
    }
    // NUL: an IE-ism, ignored like a letter.
    if (isAlpha(c) || c === 0) return this.tagName();
    if (this.pos === 0) return this.data();
    return this.emit(H5.DATA_TEXT, this.pos - 1, 1, S_DATA);
  }

  // 12.2.4.9
  private endTagOpen(): boolean {
    if (this.pos >= this.len) return false;
    const c = this.s.charCodeAt(this.pos);
    if (c === GT) return this.data();
    if (isAlpha(c)) return this.tagName();
    this.isClose = false;
    return this.bogusComment();
  }

  // 12.2.4.10
  private tagName(): boolean {
    const { s, len } = this;
    const start = this.pos;
    for (let pos = start; pos < len; pos++) {
      const c = s.charCodeAt(pos);
      if (c === 0) continue; // old browsers ignore NULs in tag names
      if (isH5White(c)) {
        this.pos = pos + 1;
        return this.emit(H5.TAG_NAME_OPEN, start, pos - start, S_BEFORE_ATTR_NAME);
      }
      if (c === 0x2f) {
        this.pos = pos + 1;
        return this.emit(H5.TAG_NAME_OPEN, start, pos - start, S_SELF_CLOSING);
      }
      if (c === GT) {
        if (this.isClose) {
          this.pos = pos + 1;
          this.isClose = false;
          return this.emit(H5.TAG_CLOSE, start, pos - start, S_DATA);
        }
        this.pos = pos;
        return this.emit(H5.TAG_NAME_OPEN, start, pos - start, S_TAG_NAME_CLOSE);
      }
    }
    return this.emit(H5.TAG_NAME_OPEN, start, len - start, S_EOF);
  }

  private tagNameClose(): boolean {
    this.isClose = false;
    const start = this.pos;
    this.pos++;
    return this.emit(H5.TAG_NAME_CLOSE, start, 1, this.pos < this.len ? S_DATA : S_EOF);
  }

  // 12.2.4.34; loops on "/" not followed by ">" instead of recursing through the self-closing state.
  private beforeAttributeName(): boolean {
    for (;;) {
      const c = this.skipWhite();
      if (c === EOF) return false;
      if (c === 0x2f) {
        this.pos++;
        if (this.pos < this.len && this.s.charCodeAt(this.pos) !== GT) continue;
        return this.selfClosingStartTag();
      }
      if (c === GT) {
        this.pos++;
        return this.emit(H5.TAG_NAME_CLOSE, this.pos - 1, 1, S_DATA);
      }
      return this.attributeName();
    }
  }

  // 12.2.4.35
  private attributeName(): boolean {
    const { s, len } = this;
    const start = this.pos;
    for (let pos = start + 1; pos < len; pos++) {
      const c = s.charCodeAt(pos);
      if (isH5White(c)) {
        this.pos = pos + 1;
        return this.emit(H5.ATTR_NAME, start, pos - start, S_AFTER_ATTR_NAME);
      }
      if (c === 0x2f) {
        this.pos = pos + 1;
        return this.emit(H5.ATTR_NAME, start, pos - start, S_SELF_CLOSING);
      }
      if (c === 0x3d) {
        this.pos = pos + 1;
        return this.emit(H5.ATTR_NAME, start, pos - start, S_BEFORE_ATTR_VALUE);
      }
      if (c === GT) {
        this.pos = pos;
        return this.emit(H5.ATTR_NAME, start, pos - start, S_TAG_NAME_CLOSE);
      }
    }
    this.pos = len;
    return this.emit(H5.ATTR_NAME, start, len - start, S_EOF);
  }

  // 12.2.4.36
  private afterAttributeName(): boolean {
    const c = this.skipWhite();
    if (c === EOF) return false;
    if (c === 0x2f) {
      this.pos++;
      return this.selfClosingStartTag();
    }
    if (c === 0x3d) {
      this.pos++;
      return this.beforeAttributeValue();
    }
    if (c === GT) return this.tagNameClose();
    return this.attributeName();
  }

  // 12.2.4.37
  private beforeAttributeValue(): boolean {
    const c = this.skipWhite();
    if (c === EOF) {
      this.state = S_EOF;
      return false;
    }
    if (c === 0x22 || c === 0x27 || c === 0x60) return this.attributeValueQuote(c); // ` is IE's
    return this.attributeValueNoQuote();
  }

  // 12.2.4.38-39 (and IE's back quote). At pos 0 (a quote context) there is no quote to skip:
  // given "'><foo" the value is empty.
  private attributeValueQuote(q: number): boolean {
    if (this.pos > 0) this.pos++;
    const start = this.pos;
    const end = this.s.indexOf(String.fromCharCode(q), start);
    if (end < 0) return this.emit(H5.ATTR_VALUE, start, this.len - start, S_EOF);
    this.pos = end + 1;
    return this.emit(H5.ATTR_VALUE, start, end - start, S_AFTER_ATTR_VALUE_QUOTED);
  }

  // 12.2.4.40
  private attributeValueNoQuote(): boolean {
    const { s, len } = this;
    const start = this.pos;
    for (let pos = start; pos < len; pos++) {
      const c = s.charCodeAt(pos);
      if (isH5White(c)) {
        this.pos = pos + 1;
        return this.emit(H5.ATTR_VALUE, start, pos - start, S_BEFORE_ATTR_NAME);
      }
      if (c === GT) {
        this.pos = pos;
        return this.emit(H5.ATTR_VALUE, start, pos - start, S_TAG_NAME_CLOSE);
      }
    }
    return this.emit(H5.ATTR_VALUE, start, len - start, S_EOF);
  }

  // 12.2.4.41
  private afterAttributeValueQuoted(): boolean {
    if (this.pos >= this.len) return false;
    const c = this.s.charCodeAt(this.pos);
    if (isH5White(c)) {
      this.pos++;
      return this.beforeAttributeName();
    }
    if (c === 0x2f) {
      this.pos++;
      return this.selfClosingStartTag();
    }
    if (c === GT) {
      this.pos++;
      return this.emit(H5.TAG_NAME_CLOSE, this.pos - 1, 1, S_DATA);
    }
    return this.beforeAttributeName();
  }

  // 12.2.4.43
  private selfClosingStartTag(): boolean {
    if (this.pos >= this.len) return false;
    if (this.s.charCodeAt(this.pos) === GT) {
      this.pos++;
      return this.emit(H5.TAG_NAME_SELFCLOSE, this.pos - 2, 2, S_DATA);
    }
    return this.beforeAttributeName();
  }

  // 12.2.4.44
  private bogusComment(): boolean {
    const start = this.pos;
    const gt = this.s.indexOf(">", start);
    if (gt < 0) {
      this.pos = this.len;
      return this.emit(H5.TAG_COMMENT, start, this.len - start, S_EOF);
    }
    this.pos = gt + 1;
    return this.emit(H5.TAG_COMMENT, start, gt - start, S_DATA);
  }

  // 12.2.4.44, "<% ... %>"
  private bogusComment2(): boolean {
    const start = this.pos;
    let from = start;
    for (;;) {
      const pct = this.s.indexOf("%", from);
      if (pct < 0 || pct + 1 >= this.len) {
        this.pos = this.len;
        return this.emit(H5.TAG_COMMENT, start, this.len - start, S_EOF);
      }
      if (this.s.charCodeAt(pct + 1) !== GT) {
        from = pct + 1;
        continue;
      }
      this.pos = pct + 2;
      return this.emit(H5.TAG_COMMENT, start, pct - start, S_DATA);
    }
  }

  // 12.2.4.45
  private markupDeclarationOpen(): boolean {
    const remaining = this.len - this.pos;
    if (remaining >= 7 && asciiCaseIs(this.s, this.pos, "doctype")) return this.doctype();
    if (remaining >= 7 && this.s.startsWith("[CDATA[", this.pos)) {
      this.pos += 7;
      return this.cdata();
    }
    if (remaining >= 2 && this.s.startsWith("--", this.pos)) {
      this.pos += 2;
      return this.comment();
    }
    return this.bogusComment();
  }

  // 12.2.4.48-51, simply: a comment ends at EOF, "-->" or "-!>" (NULs between are skipped).
  private comment(): boolean {
    const { s, len } = this;
    const start = this.pos;
    let from = start;
    for (;;) {
      const dash = s.indexOf("-", from);
      if (dash < 0 || dash + 3 > len) return this.commentToEof(start);
      let at = dash + 1;
      while (at < len && s.charCodeAt(at) === 0) at++;
      if (at === len) return this.commentToEof(start);
      const c = s.charCodeAt(at);
      if (c !== 0x2d && c !== 0x21) {
        from = dash + 1;
        continue;
      }
      at++;
      if (at === len) return this.commentToEof(start);
      if (s.charCodeAt(at) !== GT) {
        from = dash + 1;
        continue;
      }
      this.pos = at + 1;
      return this.emit(H5.TAG_COMMENT, start, dash - start, S_DATA);
    }
  }

  private commentToEof(start: number): boolean {
    return this.emit(H5.TAG_COMMENT, start, this.len - start, S_EOF);
  }

  private cdata(): boolean {
    const { s, len } = this;
    const start = this.pos;
    let from = start;
    for (;;) {
      const rb = s.indexOf("]", from);
      if (rb < 0 || rb + 3 > len) return this.emit(H5.DATA_TEXT, start, len - start, S_EOF);
      if (s.charCodeAt(rb + 1) === 0x5d && s.charCodeAt(rb + 2) === GT) {
        this.pos = rb + 3;
        return this.emit(H5.DATA_TEXT, start, rb - start, S_DATA);
      }
      from = rb + 1;
    }
  }

  private doctype(): boolean {
    const start = this.pos;
    const gt = this.s.indexOf(">", start);
    if (gt < 0) return this.emit(H5.DOCTYPE, start, this.len - start, S_EOF);
    this.pos = gt + 1;
    return this.emit(H5.DOCTYPE, start, gt - start, S_DATA);
  }
}

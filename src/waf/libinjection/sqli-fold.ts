// sqli-fold.ts: libinjection's token folding (libinjection_sqli_fold): reads tokens and folds
// runs that mean one thing ("1+1" → "1", "UNION ALL" → one keyword, unary operators away) until
// at most five remain: those five types are the fingerprint.
// Port of libinjection (Nick Galbreath, BSD-3-Clause) as libinjection-go v0.3.6 has it.
import { T, TOKEN_SIZE, type Token } from "./sqli-token.ts";
import { MAX_TOKENS, WORDS, type SqliState } from "./sqli-tokenizer.ts";

/** merge folds two words into one when "A B" is a keyword phrase ("UNION" "ALL" → "UNION ALL"). */
function merge(s: SqliState, a: Token, b: Token): boolean {
  if (!MERGE_LEFT[a.type] || !MERGE_RIGHT[b.type]) return false;
  if (a.len + b.len + 1 > TOKEN_SIZE) return false; // room for the ending NUL
  // Byte loops rather than subarray(): a view object per attempt would be garbage on the hot path.
  const buf = s.scratch;
  for (let i = 0; i < a.len; i++) buf[i] = a.val[i]!;
  buf[a.len] = 0x20;
  for (let i = 0; i < b.len; i++) buf[a.len + 1 + i] = b.val[i]!;
  const n = a.len + 1 + b.len;
  const ch = WORDS.get(buf, 0, n);
  if (ch === 0) return false;
  const last = n < TOKEN_SIZE ? n : TOKEN_SIZE - 1;
  a.type = ch;
  a.len = last;
  for (let i = 0; i < last; i++) a.val[i] = buf[i]!;
  a.val[last] = 0;
  return true;
}

const typeSet = (types: number[]) => {
  const t = new Uint8Array(256);
  for (const x of types) t[x] = 1;
  return t;
};
const WORDISH = [T.KEYWORD, T.BAREWORD, T.OPERATOR, T.UNION, T.FUNCTION, T.EXPRESSION, T.TSQL, T.SQLTYPE];
const MERGE_LEFT = typeSet(WORDISH);
const MERGE_RIGHT = typeSet([...WORDISH, T.LOGIC_OPERATOR]);

/** FUNCTION_LIKE are words that are functions when a '(' follows (else often column names). */
const FUNCTION_LIKE = [
  "USER_ID",
  "USER_NAME",
  "DATABASE",
  "PASSWORD",
  "USER",
  "CURRENT_USER",
  "CURRENT_DATE",
  "CURRENT_TIME",
  "CURRENT_TIMESTAMP",
  "LOCALTIME",
  "LOCALTIMESTAMP",
];

/** isOperand: a number, string, word, variable or ')' (libinjection-go's fix for "1 LIKE (...)"). */
function isOperand(t: Token): boolean {
  const x = t.type;
  return x === T.NUMBER || x === T.STRING || x === T.BAREWORD || x === T.VARIABLE || x === T.RIGHTPARENS;
}

/** fold tokenizes and folds the input of s; answers how many tokens (at most 5) s.tokens holds. */
export function fold(s: SqliState, lastComment: Token): number {
  const v = s.tokens;
  let pos = 0; // where the next token goes
  let left = 0; // how many tokens are final
  s.more = true;
  lastComment.clear();

  // Skip leading comments, '(', SQL types and unary operators.
  s.current = v[0]!;
  while (s.more) {
    s.more = s.tokenize();
    const c = s.current;
    if (!(c.type === T.COMMENT || c.type === T.LEFTPARENS || c.type === T.SQLTYPE || c.isUnaryOp())) break;
  }
  if (!s.more) return 0;
  pos++;

  for (;;) {
    if (pos >= MAX_TOKENS && fiveTokenRestart(v)) {
      // Keep an already-read sixth token by moving it to position 1.
      if (pos > MAX_TOKENS) {
        v[1]!.copyFrom(v[MAX_TOKENS]!);
        left = 1;
        pos = 2;
      } else {
        pos = 1;
        left = 0;
      }
    }
    if (!s.more || left >= MAX_TOKENS) {
      left = pos;
      break;
    }

    pos = read(s, pos, left, 2, lastComment);
    if (pos - left < 2) {
      left = pos;
      continue;
    }
    const a = v[left]!;
    const b = v[left + 1]!;
    const r2 = foldTwo(s, a, b, left);
    if (r2 === EVIL_BRACE) return left + 2;
    if (r2 !== null) {
      pos -= r2.drop;
      s.statsFolds += r2.folds;
      left = r2.left === KEEP ? left : r2.left === BACK ? (left > 0 ? left - 1 : 0) : r2.left;
      if (!r2.goOn) continue;
    }

    pos = read(s, pos, left, 3, lastComment);
    if (pos - left < 3) {
      left = pos;
      continue;
    }
    const r3 = foldThree(v, left);
    if (r3 !== null) {
      pos -= r3.drop;
      s.statsFolds += r3.folds;
      left = 0;
      continue;
    }
    // No folding: the left-most token is final; use the two after it, reading no other.
    left++;
  }

  // Four tokens or fewer and a trailing comment: add it back.
  if (left < MAX_TOKENS && lastComment.type === T.COMMENT) {
    v[left]!.copyFrom(lastComment);
    left++;
  }
  return left > MAX_TOKENS ? MAX_TOKENS : left;
}

/** read tokenizes until pos - left reaches n (comments kept aside, s.more false at the end); answers pos. */
function read(s: SqliState, pos: number, left: number, n: number, lastComment: Token): number {
  const v = s.tokens;
  while (s.more && pos <= MAX_TOKENS && pos - left < n) {
    s.current = v[pos]!;
    s.more = s.tokenize();
    if (s.more) {
      if (s.current.type === T.COMMENT) lastComment.copyFrom(s.current);
      else {
        lastComment.type = T.NONE;
        pos++;
      }
    }
  }
  return pos;
}

/** fiveTokenRestart: five tokens that are only a harmless "1,(1)"-like prefix start folding over. */
function fiveTokenRestart(v: Token[]): boolean {
  const a = v[0]!.type;
  const b = v[1]!.type;
  const c = v[2]!.type;
  const d = v[3]!.type;
  const e = v[4]!.type;
  return (
    (a === T.NUMBER &&
      (b === T.OPERATOR || b === T.COMMA) &&
      c === T.LEFTPARENS &&
      d === T.NUMBER &&
      e === T.RIGHTPARENS) ||
    (a === T.BAREWORD &&
      b === T.OPERATOR &&
      c === T.LEFTPARENS &&
      (d === T.BAREWORD || d === T.NUMBER) &&
      e === T.RIGHTPARENS) ||
    (a === T.NUMBER && b === T.RIGHTPARENS && c === T.COMMA && d === T.LEFTPARENS && e === T.NUMBER) ||
    (a === T.BAREWORD && b === T.RIGHTPARENS && c === T.OPERATOR && d === T.LEFTPARENS && e === T.BAREWORD)
  );
}

const KEEP = -1;
const BACK = -2;
/**
 * Fold says how a rule folded: tokens dropped from the end, folds counted, where `left` goes
 * (KEEP, BACK one, or an index) and whether the three-token rules still run (else start over).
 */
interface Fold {
  drop: number;
  folds: number;
  left: number;
  goOn?: boolean;
}
// The outcomes, shared so the hot path allocates nothing. EVIL_BRACE ends folding at once.
const EVIL_BRACE: Fold = { drop: 0, folds: 0, left: 0 };
const DROP1_KEEP: Fold = { drop: 1, folds: 1, left: KEEP };
const DROP1_BACK: Fold = { drop: 1, folds: 1, left: BACK };
const DROP1_RESTART: Fold = { drop: 1, folds: 1, left: 0 };
const DROP2_RESTART: Fold = { drop: 2, folds: 2, left: 0 };
const RETYPED: Fold = { drop: 0, folds: 0, left: KEEP };
const RETYPED_RESTART: Fold = { drop: 0, folds: 0, left: 0 };
// The COLLATE rule: left goes to 0, then (as in C) the three-token rules run, without starting over.
const RETYPED_THEN_THREE: Fold = { drop: 0, folds: 0, left: 0, goOn: true };
// Three-token rules restart at left 0 and, but for the cast, count no fold (as in C).
const DROP1_NOFOLD: Fold = { drop: 1, folds: 0, left: 0 };
const DROP2_NOFOLD: Fold = { drop: 2, folds: 0, left: 0 };
const DROP3_NOFOLD: Fold = { drop: 3, folds: 0, left: 0 };

/** foldTwo applies the two-token rules to a, b (= v[left], v[left+1]); null if none applied. */
function foldTwo(s: SqliState, a: Token, b: Token, left: number): Fold | null {
  // "foo" "bar" is valid SQL: keep the first string.
  if (a.type === T.STRING && b.type === T.STRING) return DROP1_KEEP;
  // Repeated semicolons fold away ("select 1;;drop table foo").
  if (a.type === T.SEMICOLON && b.type === T.SEMICOLON) return DROP1_KEEP;
  if ((a.type === T.OPERATOR || a.type === T.LOGIC_OPERATOR) && (b.isUnaryOp() || b.type === T.SQLTYPE)) {
    return DROP1_RESTART;
  }
  if (a.type === T.LEFTPARENS && b.isUnaryOp()) return DROP1_BACK;
  if (merge(s, a, b)) return DROP1_BACK;
  // IF after a semicolon is Transact-SQL's control flow, not the function.
  if (
    a.type === T.SEMICOLON &&
    b.type === T.FUNCTION &&
    (b.val[0] === 0x49 || b.val[0] === 0x69) &&
    (b.val[1] === 0x46 || b.val[1] === 0x66)
  ) {
    b.type = T.TSQL;
    return RETYPED;
  }
  if ((a.type === T.BAREWORD || a.type === T.VARIABLE) && b.type === T.LEFTPARENS) {
    for (const w of FUNCTION_LIKE) {
      if (a.is(w)) {
        a.type = T.FUNCTION;
        return RETYPED;
      }
    }
  }
  if (a.type === T.KEYWORD && (a.is("IN") || a.is("NOT IN"))) {
    // "IN (" is an operator; otherwise (MySQL's "IN BOOLEAN MODE") nothing.
    a.type = b.type === T.LEFTPARENS ? T.OPERATOR : T.BAREWORD;
    return RETYPED;
  }
  if (a.type === T.OPERATOR && (a.is("LIKE") || a.is("NOT LIKE"))) {
    // "SELECT LIKE(" is the function; after an operand it can only be the operator.
    if (b.type === T.LEFTPARENS && !(left > 0 && isOperand(s.tokens[left - 1]!))) a.type = T.FUNCTION;
    return null;
  }
  if (
    a.type === T.SQLTYPE &&
    (b.type === T.BAREWORD ||
      b.type === T.NUMBER ||
      b.type === T.SQLTYPE ||
      b.type === T.LEFTPARENS ||
      b.type === T.FUNCTION ||
      b.type === T.VARIABLE ||
      b.type === T.STRING)
  ) {
    a.copyFrom(b);
    return DROP1_RESTART;
  }
  if (a.type === T.COLLATE && b.type === T.BAREWORD) {
    // Too many collations to list: a word with '_' after COLLATE is a SQL type.
    if (b.val.indexOf(0x5f) >= 0 && b.val.indexOf(0x5f) < b.len) {
      b.type = T.SQLTYPE;
      return RETYPED_THEN_THREE;
    }
    return null;
  }
  if (a.type === T.BACKSLASH) {
    // T-SQL reads "\%1" as "0 % 1" and "\1" as "1".
    if (b.isArithmeticOp()) {
      a.type = T.NUMBER;
      return RETYPED_RESTART;
    }
    a.copyFrom(b);
    return DROP1_RESTART;
  }
  if (a.type === T.LEFTPARENS && b.type === T.LEFTPARENS) return DROP1_RESTART;
  if (a.type === T.RIGHTPARENS && b.type === T.RIGHTPARENS) return DROP1_RESTART;
  if (a.type === T.LEFTBRACE && b.type === T.BAREWORD) {
    // MySQL's "{ ``.``.id }" cannot be folded in three tokens: blacklist "{ ``".
    if (b.len === 0) {
      b.type = T.EVIL;
      return EVIL_BRACE;
    }
    // ODBC's "{foo expr}" → expr: strip "{ foo".
    return DROP2_RESTART;
  }
  if (b.type === T.RIGHTBRACE) return DROP1_RESTART;
  return null;
}

/** foldThree applies the three-token rules at v[left..left+2]; null if none applied. */
function foldThree(v: Token[], left: number): Fold | null {
  const a = v[left]!;
  const b = v[left + 1]!;
  const c = v[left + 2]!;
  const at = a.type;
  const bt = b.type;
  const ct = c.type;
  // 1 + 1, a - b, @v = 1: an expression folds to its first operand.
  if (at === T.NUMBER && bt === T.OPERATOR && ct === T.NUMBER) return DROP2_NOFOLD;
  if (at === T.OPERATOR && bt !== T.LEFTPARENS && ct === T.OPERATOR) return DROP2_NOFOLD;
  if (at === T.LOGIC_OPERATOR && ct === T.LOGIC_OPERATOR) return DROP2_NOFOLD;
  if (at === T.VARIABLE && bt === T.OPERATOR && (ct === T.VARIABLE || ct === T.NUMBER || ct === T.BAREWORD)) {
    return DROP2_NOFOLD;
  }
  if ((at === T.BAREWORD || at === T.NUMBER) && bt === T.OPERATOR && (ct === T.NUMBER || ct === T.BAREWORD)) {
    return DROP2_NOFOLD;
  }
  // PostgreSQL's cast: x::type.
  if (
    (at === T.BAREWORD || at === T.NUMBER || at === T.VARIABLE || at === T.STRING) &&
    bt === T.OPERATOR &&
    b.len === 2 &&
    b.val[0] === 0x3a &&
    b.val[1] === 0x3a &&
    ct === T.SQLTYPE
  ) {
    return DROP2_RESTART;
  }
  if (
    (at === T.BAREWORD || at === T.NUMBER || at === T.STRING || at === T.VARIABLE) &&
    bt === T.COMMA &&
    (ct === T.NUMBER || ct === T.BAREWORD || ct === T.STRING || ct === T.VARIABLE)
  ) {
    return DROP2_NOFOLD;
  }
  // SELECT + (, LIMIT + (: drop the unary operator.
  if ((at === T.EXPRESSION || at === T.GROUP || at === T.COMMA) && b.isUnaryOp() && ct === T.LEFTPARENS) {
    b.copyFrom(c);
    return DROP1_NOFOLD;
  }
  // select -1: drop the unary operator.
  if (
    (at === T.KEYWORD || at === T.EXPRESSION || at === T.GROUP) &&
    b.isUnaryOp() &&
    (ct === T.NUMBER || ct === T.BAREWORD || ct === T.VARIABLE || ct === T.STRING || ct === T.FUNCTION)
  ) {
    b.copyFrom(c);
    return DROP1_NOFOLD;
  }
  // ", -1" → ",1", then back up: "1, -1" → "1".
  if (
    at === T.COMMA &&
    b.isUnaryOp() &&
    (ct === T.NUMBER || ct === T.BAREWORD || ct === T.VARIABLE || ct === T.STRING)
  ) {
    b.copyFrom(c);
    return DROP3_NOFOLD;
  }
  // 1,-sin(1) → 1,sin(1).
  if (at === T.COMMA && b.isUnaryOp() && ct === T.FUNCTION) {
    b.copyFrom(c);
    return DROP1_NOFOLD;
  }
  // database.table: ignore the ".n".
  if (at === T.BAREWORD && bt === T.DOT && ct === T.BAREWORD) return DROP2_NOFOLD;
  // select . `foo` → select `foo`.
  if (at === T.EXPRESSION && bt === T.DOT && ct === T.BAREWORD) {
    b.copyFrom(c);
    return DROP1_NOFOLD;
  }
  // USER() takes no arguments: USER(foo) is not the function.
  if (at === T.FUNCTION && bt === T.LEFTPARENS && ct !== T.RIGHTPARENS && a.is("USER")) a.type = T.BAREWORD;
  return null;
}

// multipart-head.ts: the header-level pieces of ModSecurity's strict multipart parser — the
// boundary in the request's Content-Type and each part's Content-Disposition — with the same
// checks, numbers and flags as ModSecurity v3 (src/request_body_processor/multipart.cc), so the
// MULTIPART_* variables CRS and the recommended rules test mean the same here.
import { isSpace } from "./cookies.ts";

/** MultipartFlags are ModSecurity's multipart flags (each becomes a MULTIPART_* variable). */
export interface MultipartFlags {
  error: boolean;
  boundaryQuoted: boolean;
  boundaryWhitespace: boolean;
  dataBefore: boolean;
  dataAfter: boolean;
  headerFolding: boolean;
  lfLine: boolean;
  crlfLine: boolean;
  unmatchedBoundary: boolean;
  missingSemicolon: boolean;
  invalidQuoting: boolean;
  invalidPart: boolean;
  invalidHeaderFolding: boolean;
  fileLimitExceeded: boolean;
}

/** newFlags is a MultipartFlags with every flag clear. */
export function newFlags(): MultipartFlags {
  return {
    error: false,
    boundaryQuoted: false,
    boundaryWhitespace: false,
    dataBefore: false,
    dataAfter: false,
    headerFolding: false,
    lfLine: false,
    crlfLine: false,
    unmatchedBoundary: false,
    missingSemicolon: false,
    invalidQuoting: false,
    invalidPart: false,
    invalidHeaderFolding: false,
    fileLimitExceeded: false,
  };
}

/** countBoundaryParams counts "boundary" (any case) followed somewhere later by `=`. */
function countBoundaryParams(s: string): number {
  const lower = s.toLowerCase();
  let count = 0;
  for (let at = lower.indexOf("boundary"); at >= 0; at = lower.indexOf("boundary", at + 8)) {
    if (lower.indexOf("=", at + 8) >= 0) count++;
  }
  return count;
}

/** validBoundaryChars says every char is in RFC 2046's bchars (a space, but not at the end). */
function validBoundaryChars(b: string): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i);
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c === 0x20 && i + 1 < b.length) ||
      "'()+_,-./:=?".includes(b[i]!);
    if (!ok) return false;
  }
  return true;
}

/** parseBoundary extracts the boundary from a Content-Type as ModSecurity does, setting the
 * boundary flags; a string result is the boundary, an object the error that stops the parse. */
export function parseBoundary(ct: string, flags: MultipartFlags): string | { error: string } {
  const fail = (what: string) => ({ error: `Multipart: ${what}` });
  if (ct === "") return fail("Content-Type header not available.");
  if (ct.length > 1024) return fail("Invalid boundary in C-T (length).");
  if (ct.slice(0, 19).toLowerCase() !== "multipart/form-data") return fail("Invalid MIME type.");
  if (countBoundaryParams(ct) > 1) return fail("Multiple boundary parameters in C-T.");
  // ModSecurity looks for "boundary" case-sensitively and reports other spellings apart.
  const at = ct.indexOf("boundary");
  if (at < 0) {
    return countBoundaryParams(ct) > 0
      ? fail("Invalid boundary in C-T (case sensitivity).")
      : fail("Boundary not found in C-T.");
  }
  let semicolon = false;
  for (let i = 19; i < at; i++) {
    const c = ct.charCodeAt(i);
    if (isSpace(c)) continue;
    // Only one `;` may stand between the type and the parameter: "multipart/form-data;
    // charset=x; boundary=y" is refused like ModSecurity refuses it.
    if (c === 0x3b && !semicolon) semicolon = true;
    else return fail("Invalid boundary in C-T (malformed).");
  }
  if (!semicolon) flags.missingSemicolon = true;
  const eq = ct.indexOf("=", at + 8);
  if (eq < 0) return fail("Invalid boundary in C-T (malformed).");
  for (let i = at + 8; i < eq; i++) {
    if (!isSpace(ct.charCodeAt(i))) return fail("Invalid boundary in C-T (parameter name).");
    flags.boundaryWhitespace = true;
  }
  let b = ct.slice(eq + 1);
  if (b.length > 0 && isSpace(b.charCodeAt(0))) flags.boundaryWhitespace = true;
  if (b.length >= 2 && b[0] === '"' && b[b.length - 1] === '"') {
    b = b.slice(1, -1);
    flags.boundaryQuoted = true;
  } else if (b[0] === '"' || (b.length >= 2 && b[b.length - 1] === '"')) {
    return fail("Invalid boundary in C-T (quote).");
  }
  if (b === "") return fail("Invalid boundary in C-T (empty).");
  if (countBoundaryParams(b) !== 0) return fail("Invalid boundary in C-T (content).");
  if (!validBoundaryChars(b)) return fail("Invalid boundary in C-T (characters).");
  return b;
}

/** isTokenChar is RFC 2045's token char (no CTLs, space, or tspecials). */
function isTokenChar(c: number): boolean {
  return c > 32 && c < 127 && !'()<>@,;:\\"/[]?='.includes(String.fromCharCode(c));
}

/** Disposition is what a part's Content-Disposition named. */
export interface Disposition {
  name: string;
  filename: string;
  /** names / filenames are every value seen, for MULTIPART_NAME / MULTIPART_FILENAME. */
  names: string[];
  filenames: string[];
}

const isBlank = (c: number | undefined) => c === 0x20 || c === 0x09;

/** parseDisposition parses a Content-Disposition value into d as ModSecurity does; the result is 1
 * or ModSecurity's negative code (-1 not form-data, -2 no `;`, -3..-8/-10 truncated, -11 unknown
 * parameter, -12 junk after a value, -13 no `=`, -14/-15 duplicate name/filename). */
export function parseDisposition(v: string, d: Disposition, flags: MultipartFlags): number {
  if (!v.startsWith("form-data")) return -1;
  let p = 9;
  const at = (i: number) => (i < v.length ? v.charCodeAt(i) : undefined);
  while (isBlank(at(p))) p++;
  if (p >= v.length) return 1;
  if (v[p] !== ";") return -2;
  p++;
  while (p < v.length) {
    while (isBlank(at(p))) p++;
    if (p >= v.length) return -3;
    let start = p;
    while (p < v.length && v[p] !== "=" && !isBlank(at(p))) p++;
    if (p >= v.length) return -4;
    const name = v.slice(start, p);
    while (isBlank(at(p))) p++;
    if (p >= v.length) return -5;
    if (v[p] !== "=") return -13;
    p++;
    while (isBlank(at(p))) p++;
    if (p >= v.length) return -6;
    let value = "";
    const quote = v[p];
    if (quote === '"' || quote === "'") {
      // A single quote is accepted, as some back ends do, but flagged.
      if (quote === "'") flags.invalidQuoting = true;
      p++;
      if (p >= v.length) return -7;
      start = p;
      while (p < v.length) {
        if (v[p] === "\\") {
          if (p + 1 >= v.length) return -8;
          // Only the quote and `\` are escapes; other `\x` stay as written (IE sends those).
          if (v[p + 1] === quote || v[p + 1] === "\\") {
            value += v.slice(start, p);
            p++;
            start = p;
          }
        } else if (v[p] === quote) break;
        p++;
      }
      value += v.slice(start, p);
      // ModSecurity v3 accepts an unterminated quoted value (v2 returned -10); so does this.
      p++;
    } else {
      start = p;
      while (p < v.length && isTokenChar(v.charCodeAt(p))) p++;
      value = v.slice(start, p);
    }
    if (name === "name" || name === "filename") {
      if (value.includes("'")) flags.invalidQuoting = true;
      if (name === "name") {
        d.names.push(value);
        if (d.name !== "") return -14;
        d.name = value;
      } else {
        d.filenames.push(value);
        if (d.filename !== "") return -15;
        d.filename = value;
      }
    } else return -11;
    if (p < v.length) {
      while (isBlank(at(p))) p++;
      if (p >= v.length) return 1;
      if (v[p] !== ";") {
        if (v[p - 1] === "'" || v[p - 1] === '"') flags.invalidQuoting = true;
        return -12;
      }
      p++;
    }
  }
  return 1;
}

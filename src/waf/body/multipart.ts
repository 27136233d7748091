// multipart.ts: the MULTIPART body processor, ModSecurity's strict line parser (v3
// multipart.cc) over a whole body. Every line either is a boundary ("--" + boundary, then "--"
// for the last, then CRLF or LF and nothing else), a part header, or part data; ModSecurity's
// flags (MULTIPART_DATA_BEFORE, _LF_LINE, _HEADER_FOLDING, ...) are set by the same conditions,
// and MULTIPART_STRICT_ERROR is their OR, as in multipart_complete(). Structural errors (a part
// header without a colon, a bad Content-Disposition, a boundary followed by junk, a missing final
// boundary) stop the parse with `error` (REQBODY_ERROR); the parts finished before stay.
// Differences from ModSecurity v3, each toward seeing more: part-header errors are errors (v3
// compares their `false` with `< 0` and carries on silently; v2 stops, as here); a form field's
// inner line breaks are kept (v3 drops them when appending lines); the part an unterminated or
// broken body ends in is still reported as an argument or a file, so leaving out the final
// boundary or breaking a boundary line does not hide its content (the body is in error all the
// same).
import { isSpace } from "./cookies.ts";
import type { Disposition, MultipartFlags } from "./multipart-head.ts";
import { newFlags, parseBoundary, parseDisposition } from "./multipart-head.ts";
import type { BodyLimits, BodyResult, FilePart, Pair } from "./types.ts";

/** LINE_MAX is ModSecurity's MULTIPART_BUF_SIZE: a part header line (with its line break) and a
 * folded header value must fit in it. */
const LINE_MAX = 4096;

/** FILE_LIMIT is ModSecurity's default SecUploadFileLimit: files past it are listed without
 * content and set MULTIPART_FILE_LIMIT_EXCEEDED. */
export const FILE_LIMIT = 100;

/** Part is the part being read: its headers (lower-cased name → [name as sent, value]) and where
 * its data starts (-1 while headers are still being read). */
interface Part {
  headers: Map<string, [string, string]>;
  lastHeader: string;
  dataStart: number;
  disposition: Disposition;
}

/** Parser holds one parse's state; one object per body, no per-byte allocation. */
class Parser {
  readonly flags: MultipartFlags = newFlags();
  readonly args: Pair[] = [];
  readonly files: FilePart[] = [];
  readonly names: string[] = [];
  readonly filenames: string[] = [];
  readonly partHeaders: Pair[] = [];
  error: string | undefined;
  part: Part | undefined;
  complete = false;
  boundaries = 0;
  readonly body: string;
  readonly boundary: string;
  readonly limits: BodyLimits;
  constructor(body: string, boundary: string, limits: BodyLimits) {
    this.body = body;
    this.boundary = boundary;
    this.limits = limits;
  }

  fail(message: string): void {
    this.flags.error = true;
    this.error = message;
  }

  /** run reads every line; the tail without a line break is left for finish(). */
  run(): number {
    const { body, boundary } = this;
    const marker = "--" + boundary;
    let pos = 0;
    let seen = body.indexOf(marker);
    while (pos < body.length && this.error === undefined) {
      if (this.complete) {
        this.flags.dataAfter = true;
        return body.length;
      }
      const nl = body.indexOf("\n", pos);
      if (nl < 0) return pos;
      const end = nl + 1;
      let asBoundary = false;
      if (end - pos > 3 && body.startsWith("--", pos)) {
        if (body.startsWith(marker, pos)) {
          let be = pos + marker.length;
          const last = body.startsWith("--", be);
          if (last) be += 2;
          if (be === nl || (be + 1 === nl && body.charCodeAt(be) === 0x0d)) {
            if (be === nl) this.flags.lfLine = true;
            else this.flags.crlfLine = true;
            this.closePart(pos, last);
            this.boundaries++;
            asBoundary = true;
          } else {
            this.fail(`Multipart: Invalid boundary: ${clip(body, pos, body[nl - 1] === "\r" ? nl - 1 : nl)}`);
            break;
          }
        } else if (this.flags.boundaryQuoted && body.startsWith('"' + boundary, pos + 2)) {
          this.fail("Multipart: Invalid boundary (quotes).");
          break;
        } else {
          let p = pos + 2;
          while (p < end && isSpace(body.charCodeAt(p))) p++;
          if (p > pos + 2 && body.startsWith(boundary, p)) {
            this.fail("Multipart: Invalid boundary (whitespace).");
            break;
          }
          this.flags.unmatchedBoundary = true;
        }
      } else {
        // The next place the marker occurs is searched once and reused until passed: one
        // indexOf per line would be quadratic on a body of many short lines.
        if (seen >= 0 && seen < pos) seen = body.indexOf(marker, pos);
        if (seen >= 0 && seen < end) this.flags.unmatchedBoundary = true;
      }
      if (!asBoundary) {
        if (this.part === undefined) this.flags.dataBefore = true;
        else if (this.part.dataStart < 0) this.headerLine(this.part, pos, end);
      }
      pos = end;
    }
    // A structural error still reports the part it interrupted, up to the faulty line: breaking
    // the structure must not hide a part's content from the rules.
    if (this.error !== undefined && this.part !== undefined && this.part.dataStart >= 0)
      this.emit(this.part, pos);
    return body.length;
  }

  /** headerLine reads one part header line body[pos, end) (end is after its "\n"). */
  headerLine(part: Part, pos: number, end: number): void {
    const { body, flags } = this;
    if (end - pos > LINE_MAX) return this.fail(`Multipart: Part header line over ${LINE_MAX} bytes long`);
    for (let i = pos; i < end; i++) {
      if (body.charCodeAt(i) === 0) return this.fail("Multipart: Nul byte in part headers.");
    }
    const crlf = end - pos > 1 && body.charCodeAt(end - 2) === 0x0d;
    if (crlf) flags.crlfLine = true;
    else flags.lfLine = true;
    const textEnd = crlf ? end - 2 : end - 1;
    if (textEnd === pos) return this.endHeaders(part, end);
    const first = body.charCodeAt(pos);
    if (isSpace(first)) {
      flags.headerFolding = true;
      let p = pos;
      while (p < textEnd && isSpace(body.charCodeAt(p))) {
        // RFC 2557 folds with SP or HTAB only; PHP takes any whitespace, so it passes, flagged.
        if (body[p] !== " " && body[p] !== "\t") flags.invalidHeaderFolding = true;
        p++;
      }
      const header = part.headers.get(part.lastHeader);
      if (header === undefined) return this.fail("Multipart: Invalid part header (folding error).");
      header[1] += " " + body.slice(p, textEnd);
      if (header[1].length > LINE_MAX) return this.fail("Multipart: Part header too long.");
      return;
    }
    const colon = body.indexOf(":", pos);
    if (colon < 0 || colon >= textEnd) {
      return this.fail(`Multipart: Invalid part header (colon missing): ${clip(body, pos, textEnd)}`);
    }
    if (colon === pos) return this.fail("Multipart: Invalid part header (header name missing).");
    const name = body.slice(pos, colon);
    let v = colon + 1;
    while (v < textEnd && (body[v] === " " || body[v] === "\t")) v++;
    const key = name.toLowerCase();
    if (part.headers.has(key)) return this.fail(`Multipart: Duplicate part header: ${name}.`);
    part.headers.set(key, [name, body.slice(v, textEnd)]);
    part.lastHeader = key;
  }

  /** endHeaders checks a part's headers at the empty line that ends them. */
  endHeaders(part: Part, dataStart: number): void {
    const cd = part.headers.get("content-disposition");
    if (cd === undefined) return this.fail("Multipart: Part missing Content-Disposition header.");
    const d = part.disposition;
    const rc = parseDisposition(cd[1], d, this.flags);
    this.names.push(...d.names);
    this.filenames.push(...d.filenames);
    if (rc < 0) return this.fail(`Multipart: Invalid Content-Disposition header (${rc}): ${cd[1]}`);
    if (d.name === "") return this.fail("Multipart: Content-Disposition header missing name field.");
    // A crude back-end parser looking for `filename=` would miss `filename = "x"`, which this one
    // understood: ModSecurity refuses the disagreement.
    if (d.filename !== "" && !cd[1].includes("filename=")) {
      return this.fail("Multipart: Invalid Content-Disposition header (filename).");
    }
    for (const [name, value] of part.headers.values()) this.partHeaders.push([d.name, `${name}: ${value}`]);
    part.dataStart = dataStart;
  }

  /** closePart ends the part being read at the boundary line starting at `at`, then starts the
   * next one unless the boundary was the last. */
  closePart(at: number, last: boolean): void {
    const part = this.part;
    if (part !== undefined) {
      if (part.dataStart >= 0) this.emit(part, at);
      else this.flags.invalidPart = true;
    }
    this.part = last ? undefined : newPart();
    if (last) this.complete = true;
  }

  /** emit reports a finished part: its data ends before the line break that precedes `at`. */
  emit(part: Part, at: number): void {
    const { body } = this;
    let end = at;
    if (end > part.dataStart && body.charCodeAt(end - 1) === 0x0a) end--;
    if (end > part.dataStart && body.charCodeAt(end - 1) === 0x0d) end--;
    const d = part.disposition;
    if (d.filename !== "") {
      const size = end - part.dataStart;
      let keep = Math.min(size, this.limits.fileContentBytes);
      if (this.files.length >= FILE_LIMIT) {
        this.flags.fileLimitExceeded = true;
        keep = 0;
      }
      const content = body.slice(part.dataStart, part.dataStart + keep);
      this.files.push({ field: d.name, filename: d.filename, size, content });
    } else if (this.args.length >= this.limits.maxArgs) {
      if (this.error === undefined)
        this.fail(`Multipart: more than ${this.limits.maxArgs} arguments (SecArgumentsLimit)`);
    } else this.args.push([d.name, body.slice(part.dataStart, end)]);
  }

  /** finish handles the unterminated tail: ModSecurity accepts "--boundary--" without a line
   * break at the very end; anything else means the final boundary is missing. */
  finish(tail: number): void {
    const { body } = this;
    if (this.error !== undefined || this.complete || body.length === 0) return;
    if (this.boundaries === 0) return this.fail("Multipart: No boundaries found in payload.");
    if (body.length - tail === this.boundary.length + 4 && body.startsWith(`--${this.boundary}--`, tail)) {
      this.closePart(tail, true);
      return;
    }
    const part = this.part;
    if (part !== undefined && part.dataStart >= 0) this.emit(part, body.length);
    this.fail("Multipart: Final boundary missing.");
  }

  result(): BodyResult {
    const f = this.flags;
    const strict =
      f.error ||
      f.boundaryQuoted ||
      f.boundaryWhitespace ||
      f.dataBefore ||
      f.dataAfter ||
      f.headerFolding ||
      f.lfLine ||
      f.missingSemicolon ||
      f.invalidQuoting ||
      f.invalidPart ||
      f.invalidHeaderFolding ||
      f.fileLimitExceeded;
    const bit = (b: boolean) => (b ? "1" : "0");
    const flags: Record<string, string> = {
      MULTIPART_STRICT_ERROR: bit(strict),
      MULTIPART_UNMATCHED_BOUNDARY: bit(f.unmatchedBoundary),
      MULTIPART_BOUNDARY_QUOTED: bit(f.boundaryQuoted),
      MULTIPART_BOUNDARY_WHITESPACE: bit(f.boundaryWhitespace),
      MULTIPART_DATA_BEFORE: bit(f.dataBefore),
      MULTIPART_DATA_AFTER: bit(f.dataAfter),
      MULTIPART_HEADER_FOLDING: bit(f.headerFolding),
      MULTIPART_LF_LINE: bit(f.lfLine),
      MULTIPART_CRLF_LF_LINES: bit(f.crlfLine && f.lfLine),
      MULTIPART_INVALID_QUOTING: bit(f.invalidQuoting),
      MULTIPART_INVALID_PART: bit(f.invalidPart),
      MULTIPART_INVALID_HEADER_FOLDING: bit(f.invalidHeaderFolding),
      MULTIPART_FILE_LIMIT_EXCEEDED: bit(f.fileLimitExceeded),
      MULTIPART_MISSING_SEMICOLON: bit(f.missingSemicolon),
      FILES_COMBINED_SIZE: String(this.files.reduce((n, file) => n + file.size, 0)),
    };
    const out: BodyResult = {
      args: this.args,
      files: this.files,
      multipartNames: this.names,
      multipartFilenames: this.filenames,
      partHeaders: this.partHeaders,
      flags,
    };
    if (this.error !== undefined) out.error = this.error;
    return out;
  }
}

/** clip is s[start, end) cut to 100 chars, so a hostile line does not become a huge message. */
function clip(s: string, start: number, end: number): string {
  return end - start > 100 ? s.slice(start, start + 100) + "..." : s.slice(start, end);
}

function newPart(): Part {
  return {
    headers: new Map(),
    lastHeader: "",
    dataStart: -1,
    disposition: { name: "", filename: "", names: [], filenames: [] },
  };
}

/** parseMultipart runs the MULTIPART processor on a whole body with its request Content-Type. */
export function parseMultipart(
  body: string,
  contentType: string | undefined,
  limits: BodyLimits,
): BodyResult {
  const flags = newFlags();
  const boundary = parseBoundary(contentType ?? "", flags);
  const parser = new Parser(body, typeof boundary === "string" ? boundary : "", limits);
  Object.assign(parser.flags, flags);
  if (typeof boundary !== "string") parser.fail(boundary.error);
  else parser.finish(parser.run());
  return parser.result();
}

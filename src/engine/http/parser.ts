// parser.ts: Portico's HTTP/1.1 message parser (RFC 9112), as strict as llhttp's strict mode:
// parser-diff.test.ts holds it to llhttp on the same inputs, byte-split every way. It refuses what
// request smuggling needs — CL with TE, duplicate Content-Length, bare CR or LF, obs-fold, space
// before the colon, bad chunk framing — and hands the proxy heads whose framing is unambiguous.
//
// Why not llhttp itself (through Node's binding, as before): the binding calls from C++ into
// JavaScript for every head, body piece and message end, makes every header string in C++, and
// copies each body piece into a new Buffer — ~15 % of the engine's CPU per proxied request.
// Here a message is one pass over its bytes, repeated header strings come from an intern cache
// (chars.ts), and body pieces are views of the input.
//
// Heads are scanned byte by byte as they arrive (so a bad byte is refused at once, not when the
// head ends) and decoded when complete; a head split over reads is copied into a growing buffer.
import { METHODS } from "./tables.ts";
import { HEX, TARGET, TOKEN, fieldByte, latin1, lowerIs } from "./chars.ts";

/** MessageHead is a parsed request or response head; headers alternate name, value as received. */
export interface MessageHead {
  versionMajor: number;
  versionMinor: number;
  headers: string[];
  /** method and url are set for requests. */
  method: string;
  url: string;
  /** statusCode and statusMessage are set for responses (0 and "" for requests). */
  statusCode: number;
  statusMessage: string;
  /** upgrade: an Upgrade request (Upgrade + Connection: upgrade), CONNECT, or a 101 response. */
  upgrade: boolean;
  /** keepAlive: the connection may carry another message after this one (version and Connection). */
  keepAlive: boolean;
}

/** MessageSink receives a parser's events; they run synchronously inside execute(). */
export interface MessageSink {
  /** onBegin runs at the first byte of each message (header timeouts start here). */
  onBegin(): void;
  /** onHead returns true to tell a response parser the message has no body (HEAD request). */
  onHead(head: MessageHead): boolean;
  /** onBody gets de-chunked body bytes: a view of the input, valid only during the call. */
  onBody(chunk: Buffer): void;
  /** onTrailers gets chunked trailers (name, value pairs), just before onComplete. */
  onTrailers(trailers: string[]): void;
  onComplete(): void;
}

/** ParseError is a rejection: an llhttp-style code ("HPE_INVALID_HEADER_TOKEN") and its offset in the input. */
export interface ParseError {
  code: string;
  reason: string;
  bytesParsed: number;
}

// DETACHED is the sink of a parser between connections (detach); reuse gives it a real one.
const DETACHED: MessageSink = {
  onBegin() {},
  onHead: () => false,
  onBody() {},
  onTrailers() {},
  onComplete() {},
};

// Message states.
const START = 0; // between messages: CRLFs are skipped
const HEAD = 2; // start line and fields (or trailers): see the head states below
const BODY = 3; // Content-Length body: `remaining` bytes to go
const EOF_BODY = 4; // body delimited by the connection closing
const CHUNK_SIZE = 5;
const CHUNK_EXT = 6;
const CHUNK_SIZE_LF = 7;
const CHUNK_DATA = 8;
const CHUNK_CR = 9;
const CHUNK_LF = 10;
const CLOSED = 11; // after a message that ends the connection: only CR and LF may follow
const DEAD = 12; // after an error

// Head states.
const METHOD = 0;
const TARGET_START = 1;
const TARGET_REST = 2;
const VERSION = 3; // "HTTP/x.y", matched byte by byte
const LINE_CR = 4;
const LINE_LF = 5;
const STATUS = 6; // response: three digits
const STATUS_SP = 7;
const REASON = 8;
const FIELD_START = 9;
const NAME = 10;
const OWS = 11;
const VALUE = 12;
const VALUE_LF = 13;
const END_LF = 14;

// Chunk-extension states.
const EXT_NAME_START = 0;
const EXT_NAME = 1;
const EXT_AFTER_NAME = 2;
const EXT_VALUE_START = 3;
const EXT_VALUE = 4;
const EXT_AFTER_VALUE = 5;
const EXT_QUOTED = 6;
const EXT_ESCAPE = 7;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
// A chunk-size line (size and extensions) longer than this is refused: extensions carry nothing a
// proxy needs, and unbounded ones are a known resource attack.
const MAX_CHUNK_LINE = 4096;
const DEFAULT_MAX_HEAD = 16 * 1024;
const MAX_METHOD = 16;
const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"
const KNOWN_METHODS: ReadonlySet<string> = new Set(METHODS);

/** HttpParser parses one direction of one connection, message after message. */
export class HttpParser {
  private sink: MessageSink;
  private readonly response: boolean;
  private readonly begin: boolean;
  private maxHead: number;
  private state = START;
  private hs = METHOD;
  private closed = false;
  private executing = false;
  private err: ParseError | undefined;
  // Head bookkeeping. Offsets are relative to the head's first byte: `origin` maps them to the
  // current input (index = offset + origin); a head split over reads is copied into acc.
  private origin = 0;
  private acc: Buffer | null = null;
  private accLen = 0;
  private trailers = false;
  private lineStart = 0; // chunk-size line length so far
  private marks: number[] = []; // name start, name end, value start, value end per field
  private nMarks = 0;
  private valueEnd = 0;
  private methodEnd = 0;
  private method = "";
  private targetStart = 0;
  private targetEnd = 0;
  private vpos = 0; // bytes of "HTTP/x.y" matched
  private major = 0;
  private minor = 0;
  private status = 0;
  private reasonStart = 0;
  private reasonEnd = 0;
  private remaining = 0;
  private chunkDigits = 0;
  private ext = EXT_NAME_START;
  private keepAlive = true;

  /**
   * HttpParser makes a strict parser; maxHeaderSize bounds the head (start line and fields, and
   * separately the trailers) in bytes, 0 for 16 KiB. begin false never calls sink.onBegin.
   */
  constructor(kind: "request" | "response", sink: MessageSink, maxHeaderSize: number, begin = true) {
    this.sink = sink;
    this.response = kind === "response";
    this.begin = begin;
    this.maxHead = maxHeaderSize > 0 ? maxHeaderSize : DEFAULT_MAX_HEAD;
  }

  /**
   * execute feeds bytes. It returns the count consumed — less than buf.length only after an
   * upgrade (the rest belongs to the new protocol; the next call starts a new message) — or a
   * ParseError; after an error the parser is unusable. Nothing of buf is kept after it returns.
   */
  execute(buf: Buffer): number | ParseError {
    if (this.closed) return { code: "HPE_CLOSED", reason: "parser closed", bytesParsed: 0 };
    if (this.err !== undefined) return this.err;
    this.executing = true;
    const r = this.run(buf);
    this.executing = false;
    if (typeof r === "number" && this.closed) return buf.length;
    return r;
  }

  private run(buf: Buffer): number | ParseError {
    const end = buf.length;
    let i = 0;
    while (i < end) {
      if (this.paused) {
        // The message that just ended was an upgrade: the rest belongs to the new protocol.
        this.paused = false;
        return i;
      }
      switch (this.state) {
        case START: {
          const c = buf[i]!;
          // Empty lines before a message are skipped (RFC 9112 §2.2); like llhttp, a lone CR or
          // LF too: nothing of a message is lost or invented by it.
          if (c === 13 || c === 10) {
            i++;
            continue;
          }
          this.startHead(i);
          if (this.begin) {
            this.sink.onBegin();
            if (this.closed) return end;
          }
          continue;
        }
        case HEAD: {
          const r = this.scanHead(buf, i, end);
          if (r < 0) return this.err!;
          i = r;
          if (this.closed) return end;
          continue;
        }
        case BODY:
        case CHUNK_DATA: {
          // A Content-Length body, or one chunk's data: `remaining` bytes to go.
          const n = Math.min(this.remaining, end - i);
          this.remaining -= n;
          const chunk = buf.subarray(i, i + n);
          i += n;
          this.sink.onBody(chunk);
          if (this.closed) return end;
          if (this.remaining === 0) {
            if (this.state === BODY) this.complete();
            else this.state = CHUNK_CR;
          }
          continue;
        }
        case EOF_BODY:
          this.sink.onBody(buf.subarray(i, end));
          return end;
        case CHUNK_SIZE: {
          const c = buf[i]!;
          const v = HEX[c]!;
          if (v !== 0) {
            if (++this.chunkDigits > 13)
              return this.fail("HPE_INVALID_CHUNK_SIZE", "chunk size too large", i);
            this.remaining = this.remaining * 16 + (v - 1);
            if (this.remaining > MAX_SAFE)
              return this.fail("HPE_INVALID_CHUNK_SIZE", "chunk size too large", i);
            i++;
            continue;
          }
          if (this.chunkDigits === 0) return this.fail("HPE_INVALID_CHUNK_SIZE", "invalid chunk size", i);
          if (c === 13) this.state = CHUNK_SIZE_LF;
          else if (c === 0x3b /* ; */) {
            this.state = CHUNK_EXT;
            this.ext = EXT_NAME_START;
          } else return this.fail("HPE_INVALID_CHUNK_SIZE", "invalid character in chunk size", i);
          this.lineStart = this.chunkDigits + 1;
          i++;
          continue;
        }
        case CHUNK_EXT: {
          if (++this.lineStart > MAX_CHUNK_LINE)
            return this.fail("HPE_CHUNK_EXTENSIONS_OVERFLOW", "chunk extensions too large", i);
          const c = buf[i]!;
          if (c === 13 && this.ext !== EXT_QUOTED && this.ext !== EXT_ESCAPE) {
            this.state = CHUNK_SIZE_LF;
          } else if (!this.chunkExt(c)) return this.fail("HPE_STRICT", "invalid chunk extension", i);
          i++;
          continue;
        }
        case CHUNK_SIZE_LF:
          if (buf[i] !== 10) return this.fail("HPE_LF_EXPECTED", "expected LF after chunk size", i);
          i++;
          if (this.remaining === 0) {
            this.trailers = true;
            this.startHeadAt(i, FIELD_START);
          } else this.state = CHUNK_DATA;
          continue;
        case CHUNK_CR:
          if (buf[i] !== 13) return this.fail("HPE_STRICT", "expected CRLF after chunk data", i);
          this.state = CHUNK_LF;
          i++;
          continue;
        case CHUNK_LF:
          if (buf[i] !== 10) return this.fail("HPE_STRICT", "expected CRLF after chunk data", i);
          this.state = CHUNK_SIZE;
          this.remaining = 0;
          this.chunkDigits = 0;
          i++;
          continue;
        case CLOSED: {
          const c = buf[i]!;
          if (c !== 13 && c !== 10)
            return this.fail("HPE_CLOSED_CONNECTION", "data after Connection: close", i);
          i++;
          continue;
        }
        default:
          return this.err ?? this.fail("HPE_INTERNAL", "parser in an unknown state", i);
      }
    }
    // A head (or trailer section) still open at the end of the input is kept for the next read.
    if (this.state === HEAD) this.keepPartialHead(buf, end);
    return end;
  }

  // chunkExt steps the chunk-extension grammar (RFC 9112 §7.1.1) over one byte other than the
  // line's CR: *( ";" name [ "=" ( token / quoted-string ) ] ). As in llhttp, name and value may
  // be empty and whitespace (BWS) is refused; quotes must balance; controls are refused.
  private chunkExt(c: number): boolean {
    const ws = false;
    switch (this.ext) {
      case EXT_NAME_START:
        // llhttp takes an empty name or value; so does this (the size before ";" is what frames).
        if (ws) return true;
        if (c === 0x3d) this.ext = EXT_VALUE_START;
        else if (TOKEN[c] === 1) this.ext = EXT_NAME;
        else return false;
        return true;
      case EXT_NAME:
        if (TOKEN[c] === 1) return true;
        if (ws) this.ext = EXT_AFTER_NAME;
        else if (c === 0x3d /* = */) this.ext = EXT_VALUE_START;
        else if (c === 0x3b) this.ext = EXT_NAME_START;
        else return false;
        return true;
      case EXT_AFTER_NAME:
      case EXT_AFTER_VALUE:
        if (ws) return true;
        if (c === 0x3b) this.ext = EXT_NAME_START;
        else if (c === 0x3d && this.ext === EXT_AFTER_NAME) this.ext = EXT_VALUE_START;
        else return false;
        return true;
      case EXT_VALUE_START:
        if (ws) return true;
        if (c === 0x22 /* " */) this.ext = EXT_QUOTED;
        else if (TOKEN[c] === 1) this.ext = EXT_VALUE;
        else if (c === 0x3b) this.ext = EXT_NAME_START;
        else return false;
        return true;
      case EXT_VALUE:
        if (TOKEN[c] === 1) return true;
        if (ws) this.ext = EXT_AFTER_VALUE;
        else if (c === 0x3b) this.ext = EXT_NAME_START;
        else return false;
        return true;
      case EXT_QUOTED:
        if (c === 0x22) this.ext = EXT_AFTER_VALUE;
        else if (c === 0x5c /* \ */) this.ext = EXT_ESCAPE;
        else if (!fieldByte(c)) return false;
        return true;
      default:
        // EXT_ESCAPE: quoted-pair
        if (!fieldByte(c)) return false;
        this.ext = EXT_QUOTED;
        return true;
    }
  }

  // paused is set when a message ends in an upgrade: execute returns where the new protocol begins.
  private paused = false;
  // upgradeAfter: the message in progress is an upgrade, so its end pauses parsing.
  private upgradeAfter = false;

  private startHead(i: number): void {
    this.trailers = false;
    this.startHeadAt(i, this.response ? VERSION : METHOD);
  }

  private startHeadAt(i: number, hs: number): void {
    this.state = HEAD;
    this.hs = hs;
    this.origin = i;
    this.accLen = 0;
    this.nMarks = 0;
    this.vpos = 0;
  }

  // keepPartialHead copies the head bytes of this read so the head can be decoded when it ends.
  private keepPartialHead(buf: Buffer, end: number): void {
    const from = this.origin > 0 ? this.origin : 0;
    this.append(buf, from, end);
    this.origin = -this.accLen;
  }

  private append(buf: Buffer, from: number, to: number): void {
    this.reserve(to - from);
    buf.copy(this.acc!, this.accLen, from, to);
    this.accLen += to - from;
  }

  // reserve makes room for n more bytes in acc, doubling it: a head trickled byte by byte costs
  // linear copying, not quadratic.
  private reserve(n: number): void {
    const acc = this.acc;
    if (acc !== null && acc.length >= this.accLen + n) return;
    const grown = Buffer.allocUnsafe(Math.max(1024, (this.accLen + n) * 2));
    if (acc !== null) acc.copy(grown, 0, 0, this.accLen);
    this.acc = grown;
  }

  /**
   * scanHead checks head bytes from i; it returns the index after the head's last byte once the
   * head ended (and was handed on), end when it needs more input, or -1 after an error.
   */
  private scanHead(buf: Buffer, i: number, end: number): number {
    const origin = this.origin;
    // Scan at most up to the size limit; a head that is not over by then is refused.
    const limit = origin + this.maxHead;
    const stop = end < limit ? end : limit;
    let hs = this.hs;
    while (i < stop) {
      let c = buf[i]!;
      switch (hs) {
        case METHOD:
          while (i < stop && TOKEN[buf[i]!] === 1) {
            // No method is longer than 11 bytes: a longer token is refused at once (501).
            if (i - origin >= MAX_METHOD) return this.failAt("HPE_INVALID_METHOD", "unknown method", i);
            i++;
          }
          if (i === stop) continue;
          c = buf[i]!;
          if (c !== 0x20 || i - origin === 0) return this.failAt("HPE_INVALID_METHOD", "invalid method", i);
          this.methodEnd = i - origin;
          if (!this.knownMethod(buf, i)) {
            // The HTTP/2 preface on an HTTP/1.1 connection: answered as a version (505), not a method.
            if (this.method === "PRI") return this.failAt("HPE_INVALID_VERSION", "HTTP/2 preface", i);
            return this.failAt("HPE_INVALID_METHOD", "unknown method", i);
          }
          hs = TARGET_START;
          i++;
          continue;
        case TARGET_START:
          // Parts of the request line may be separated by more than one SP (RFC 9112 §3 MAY).
          if (c === 0x20) {
            i++;
            continue;
          }
          // origin-form starts with "/", absolute-form with a scheme, asterisk-form is "*"; only
          // CONNECT's authority-form may start otherwise (RFC 9112 §3.2).
          if (c !== 0x2f && c !== 0x2a && !((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a)) {
            if (TARGET[c] !== 1 || this.method !== "CONNECT")
              return this.failAt("HPE_INVALID_URL", "invalid request target", i);
          }
          this.targetStart = i - origin;
          hs = TARGET_REST;
          i++;
          continue;
        case TARGET_REST:
          while (i < stop && TARGET[buf[i]!] === 1) i++;
          if (i === stop) continue;
          if (buf[i] !== 0x20 && buf[i] !== 13)
            return this.failAt("HPE_INVALID_URL", "invalid request target", i);
          this.targetEnd = i - origin;
          if (!this.targetOk(buf, i)) return this.failAt("HPE_INVALID_URL", "invalid request target", i);
          if (buf[i] === 13) {
            // No version: an HTTP/0.9 request line, read as llhttp reads it; prepare() answers 505.
            this.major = 0;
            this.minor = 9;
            hs = LINE_LF;
          } else hs = VERSION;
          i++;
          continue;
        case VERSION: {
          const p = this.vpos;
          // Fast path: "HTTP/1.1" or "HTTP/1.0" whole in this read.
          if (
            p === 0 &&
            i + 8 <= stop &&
            c === 0x48 &&
            buf[i + 1] === 0x54 &&
            buf[i + 2] === 0x54 &&
            buf[i + 3] === 0x50 &&
            buf[i + 4] === 0x2f &&
            buf[i + 5] === 0x31 &&
            buf[i + 6] === 0x2e &&
            (buf[i + 7] === 0x31 || buf[i + 7] === 0x30)
          ) {
            this.major = 1;
            this.minor = buf[i + 7]! - 0x30;
            i += 8;
            hs = this.response ? STATUS_SP : LINE_CR;
            continue;
          }
          if (p === 0 && c === 0x20 && !this.response) {
            i++;
            continue;
          }
          let ok: boolean;
          if (p < 5) ok = c === HTTP_SLASH[p];
          else if (p === 5) {
            ok = c >= 0x30 && c <= 0x39;
            this.major = c - 0x30;
          } else if (p === 6) ok = c === 0x2e;
          else {
            ok = c >= 0x30 && c <= 0x39;
            this.minor = c - 0x30;
          }
          if (!ok) return this.failAt("HPE_INVALID_VERSION", "invalid HTTP version", i);
          i++;
          if (p < 7) {
            this.vpos = p + 1;
            continue;
          }
          if (this.response ? this.major !== 1 || this.minor > 1 : !requestVersion(this.major, this.minor))
            return this.failAt("HPE_INVALID_VERSION", "unsupported HTTP version", i - 1);
          hs = this.response ? STATUS_SP : LINE_CR;
          this.vpos = 0;
          continue;
        }
        case STATUS_SP:
          // Response: one SP after the version, then three digits.
          if (this.vpos === 0) {
            if (c !== 0x20) return this.failAt("HPE_INVALID_VERSION", "expected SP after version", i);
            this.vpos = 1;
            this.status = 0;
            hs = STATUS;
            i++;
            continue;
          }
          // After the digits: SP and a reason, or the end of the line.
          if (c === 0x20) {
            hs = REASON;
            this.reasonStart = this.reasonEnd = i + 1 - origin;
          } else if (c === 13) {
            this.reasonStart = this.reasonEnd = i - origin;
            hs = LINE_LF;
          } else return this.failAt("HPE_INVALID_STATUS", "invalid status line", i);
          i++;
          continue;
        case STATUS:
          if (c < 0x30 || c > 0x39) return this.failAt("HPE_INVALID_STATUS", "invalid status code", i);
          this.status = this.status * 10 + (c - 0x30);
          i++;
          if (++this.vpos === 4) {
            if (this.status < 100) return this.failAt("HPE_INVALID_STATUS", "invalid status code", i - 1);
            hs = STATUS_SP;
          }
          continue;
        case REASON:
          // The reason phrase means nothing to a proxy (RFC 9112 §4): like llhttp, take any byte
          // but CR and LF; it is re-sent only as latin1 text on a line of its own.
          while (i < stop && buf[i] !== 13 && buf[i] !== 10) i++;
          if (i === stop) continue;
          if (buf[i] !== 13) return this.failAt("HPE_CR_EXPECTED", "bare LF after the reason phrase", i);
          this.reasonEnd = i - origin;
          hs = LINE_LF;
          i++;
          continue;
        case LINE_CR:
          if (c !== 13) return this.failAt("HPE_INVALID_VERSION", "expected CRLF after version", i);
          hs = LINE_LF;
          i++;
          continue;
        case LINE_LF:
          if (c !== 10) return this.failAt("HPE_LF_EXPECTED", "expected LF after CR", i);
          hs = FIELD_START;
          i++;
          continue;
        case FIELD_START:
          // Fast path: whole field lines while they are in this read, with no state kept between
          // bytes. A line that is cut off or wrong is left to the byte-by-byte states below,
          // which resume at its start (nothing of it was recorded).
          while (i < stop && TOKEN[buf[i]!] === 1) {
            let j = i + 1;
            while (j < stop && TOKEN[buf[j]!] === 1) j++;
            if (j >= stop || buf[j] !== 0x3a) break;
            const nameEnd = j++;
            while (j < stop && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
            const valueStart = j;
            let valueEnd = j;
            while (j < stop) {
              const v = buf[j]!;
              if (v > 0x20 && v !== 0x7f) valueEnd = j + 1;
              else if (v !== 0x20 && v !== 0x09) break;
              j++;
            }
            if (j + 1 >= stop || buf[j] !== 13 || buf[j + 1] !== 10) break;
            this.mark(i - origin);
            this.mark(nameEnd - origin);
            this.mark(valueStart - origin);
            this.mark(valueEnd - origin);
            i = j + 2;
          }
          if (i === stop) continue;
          c = buf[i]!;
          if (TOKEN[c] === 1) {
            this.mark(i - origin);
            hs = NAME;
            i++;
            continue;
          }
          if (c === 13) {
            hs = END_LF;
            i++;
            continue;
          }
          if (c === 10) return this.failAt("HPE_CR_EXPECTED", "bare LF in the head", i);
          return this.failAt("HPE_INVALID_HEADER_TOKEN", "invalid header field start", i);
        case NAME:
          while (i < stop && TOKEN[buf[i]!] === 1) i++;
          if (i === stop) continue;
          if (buf[i] !== 0x3a /* : */)
            return this.failAt("HPE_INVALID_HEADER_TOKEN", "invalid header name", i);
          this.mark(i - origin);
          hs = OWS;
          i++;
          continue;
        case OWS:
          if (c === 0x20 || c === 0x09) {
            i++;
            continue;
          }
          this.mark(i - origin);
          this.valueEnd = i - origin;
          hs = VALUE;
          continue;
        case VALUE: {
          let last = -1;
          while (i < stop) {
            const v = buf[i]!;
            if (v > 0x20 && v !== 0x7f) last = i;
            else if (v !== 0x20 && v !== 0x09) break;
            i++;
          }
          if (last !== -1) this.valueEnd = last + 1 - origin;
          if (i === stop) continue;
          const v = buf[i]!;
          if (v === 13) {
            this.mark(this.valueEnd);
            hs = VALUE_LF;
            i++;
            continue;
          }
          if (v === 10) return this.failAt("HPE_CR_EXPECTED", "bare LF in a header value", i);
          return this.failAt("HPE_INVALID_HEADER_TOKEN", "invalid header value character", i);
        }
        case VALUE_LF:
          if (c !== 10) return this.failAt("HPE_LF_EXPECTED", "expected LF after header value", i);
          hs = FIELD_START;
          i++;
          continue;
        case END_LF: {
          if (c !== 10) return this.failAt("HPE_LF_EXPECTED", "expected LF at the end of the head", i);
          i++;
          this.hs = FIELD_START;
          return this.headEnd(buf, i);
        }
      }
    }
    this.hs = hs;
    if (i < end) {
      const what = this.trailers ? "trailers" : "head";
      return this.failAt("HPE_HEADER_OVERFLOW", `${what} larger than ${this.maxHead} bytes`, i);
    }
    return end;
  }

  // knownMethod reads the method that ends before buf[i].
  private knownMethod(buf: Buffer, i: number): boolean {
    const src = this.headSoFar(buf, i);
    const s = src === buf ? this.origin : 0;
    this.method = latin1(src, s, s + this.methodEnd);
    return KNOWN_METHODS.has(this.method);
  }

  // targetOk checks the form of the request-target that ends before buf[i].
  private targetOk(buf: Buffer, i: number): boolean {
    const src = this.headSoFar(buf, i);
    const s = src === buf ? this.origin : 0;
    return targetForm(src, s + this.targetStart, s + this.targetEnd, this.method);
  }

  // headSoFar returns a buffer holding the head up to buf[i] at its offsets: buf itself when the
  // head began in this read, else acc with this read's part copied behind the earlier bytes
  // (not committed: keepPartialHead or headEnd append it for good).
  private headSoFar(buf: Buffer, i: number): Buffer {
    if (this.accLen === 0) return buf;
    this.reserve(i);
    buf.copy(this.acc!, this.accLen, 0, i);
    return this.acc!;
  }

  private mark(offset: number): void {
    this.marks[this.nMarks++] = offset;
  }

  // headEnd decodes a complete head (or trailer section) ending before i and hands it on.
  private headEnd(buf: Buffer, i: number): number {
    let src = buf;
    let shift = this.origin;
    if (this.accLen > 0) {
      this.append(buf, 0, i);
      src = this.acc!;
      shift = 0;
    }
    this.accLen = 0;
    const m = this.marks;
    const n = this.nMarks;
    const fields = new Array<string>(n >> 1);
    for (let k = 0; k < n; k += 2) fields[k >> 1] = latin1(src, m[k]! + shift, m[k + 1]! + shift);
    if (this.trailers) {
      // Framing fields must not be trailers (RFC 9110 §6.5.1) and llhttp refuses them (a second
      // Content-Length, chunked applied twice): forwarded in the last chunk, a backend that merges
      // trailers into the header section would see framing the proxy never checked.
      for (let k = 0; k < n; k += 4) {
        const ns = m[k]! + shift;
        const ne = m[k + 1]! + shift;
        if (lowerIs(src, ns, ne, "content-length"))
          return this.failAt("HPE_INVALID_CONTENT_LENGTH", "Content-Length in the trailers", i);
        if (!this.response && lowerIs(src, ns, ne, "transfer-encoding"))
          return this.failAt("HPE_INVALID_TRANSFER_ENCODING", "Transfer-Encoding in the trailers", i);
      }
      if (fields.length > 0) this.sink.onTrailers(fields);
      if (this.closed) return i;
      this.complete();
      return i;
    }
    return this.dispatch(src, shift, fields, i);
  }

  // dispatch reads framing and connection handling from the fields, reports the head and moves
  // to its body.
  private dispatch(src: Buffer, shift: number, fields: string[], i: number): number {
    const m = this.marks;
    let length = -1;
    let te = false;
    let chunked = false;
    let close = false;
    let keep = false;
    let upgradeToken = false;
    let upgradeField = false;
    for (let k = 0; k < this.nMarks; k += 4) {
      const ns = m[k]! + shift;
      const ne = m[k + 1]! + shift;
      const len = ne - ns;
      if (len !== 7 && len !== 10 && len !== 14 && len !== 17) continue;
      const vs = m[k + 2]! + shift;
      const ve = m[k + 3]! + shift;
      if (lowerIs(src, ns, ne, "content-length")) {
        if (length !== -1) return this.failAt("HPE_UNEXPECTED_CONTENT_LENGTH", "duplicate Content-Length", i);
        if (te)
          return this.failAt("HPE_UNEXPECTED_CONTENT_LENGTH", "Content-Length with Transfer-Encoding", i);
        length = digits(src, vs, ve);
        if (length < 0) return this.failAt("HPE_INVALID_CONTENT_LENGTH", "invalid Content-Length", i);
      } else if (lowerIs(src, ns, ne, "transfer-encoding")) {
        if (length !== -1)
          return this.failAt("HPE_INVALID_TRANSFER_ENCODING", "Transfer-Encoding with Content-Length", i);
        // chunked must be the last coding, applied once (RFC 9112 §6.1): a later field or token
        // after it leaves a request unframed.
        const codings = chunkedAt(src, vs, ve);
        if (chunked || codings === 2) {
          if (!this.response) return this.failAt("HPE_INVALID_TRANSFER_ENCODING", "chunked applied twice", i);
          chunked = false;
        } else chunked = codings === 1;
        te = true;
      } else if (lowerIs(src, ns, ne, "connection")) {
        const f = connectionFlags(src, vs, ve);
        if ((f & 1) !== 0) close = true;
        if ((f & 2) !== 0) keep = true;
        if ((f & 4) !== 0) upgradeToken = true;
      } else if (lowerIs(src, ns, ne, "upgrade")) upgradeField = true;
    }
    const major = this.major;
    const minor = this.minor;
    let keepAlive = minor >= 1 ? !close : keep && !close;
    const head: MessageHead = {
      versionMajor: major,
      versionMinor: minor,
      headers: fields,
      method: "",
      url: "",
      statusCode: 0,
      statusMessage: "",
      upgrade: false,
      keepAlive,
    };
    if (this.response) {
      const status = this.status;
      head.statusCode = status;
      head.statusMessage = latin1(src, this.reasonStart + shift, this.reasonEnd + shift);
      head.upgrade = status === 101 && upgradeField && upgradeToken;
      const eof = !te && length === -1 && status >= 200 && status !== 204 && status !== 304;
      // A body delimited by the connection closing ends the connection too.
      if (eof || (te && !chunked)) head.keepAlive = keepAlive = false;
      this.keepAlive = keepAlive;
      const skip = this.sink.onHead(head);
      if (this.closed) return i;
      if (status === 101) {
        this.upgradeAfter = true;
        this.complete();
      } else if (skip || status < 200 || status === 204 || status === 304 || length === 0) this.complete();
      else if (chunked) this.startChunks();
      else if (te || length === -1) this.state = EOF_BODY;
      else this.startBody(length);
      return i;
    }
    const method = this.method;
    if (te && !chunked)
      return this.failAt("HPE_INVALID_TRANSFER_ENCODING", "request Transfer-Encoding must end in chunked", i);
    head.method = method;
    head.url = latin1(src, this.targetStart + shift, this.targetEnd + shift);
    const connect = method === "CONNECT";
    head.upgrade = connect || (upgradeField && upgradeToken);
    this.keepAlive = keepAlive;
    // An upgrade request ends the HTTP/1.1 stream with its message (after its body, if any, as
    // llhttp does); CONNECT has no body.
    this.upgradeAfter = head.upgrade;
    this.sink.onHead(head);
    if (this.closed) return i;
    if (chunked && !connect) this.startChunks();
    else if (length > 0 && !connect) this.startBody(length);
    else this.complete();
    return i;
  }

  private startBody(length: number): void {
    this.state = BODY;
    this.remaining = length;
  }

  private startChunks(): void {
    this.state = CHUNK_SIZE;
    this.remaining = 0;
    this.chunkDigits = 0;
  }

  private complete(): void {
    this.state = this.keepAlive ? START : CLOSED;
    if (this.upgradeAfter) {
      // The caller gets the rest of the input, and a next call starts a new message.
      this.upgradeAfter = false;
      this.paused = true;
      this.state = START;
    }
    this.sink.onComplete();
  }

  // failAt records an error found while scanning a head; scanHead's callers return it.
  private failAt(code: string, reason: string, at: number): -1 {
    this.fail(code, reason, at);
    return -1;
  }

  private fail(code: string, reason: string, at: number): ParseError {
    this.state = DEAD;
    this.err = { code, reason, bytesParsed: at };
    return this.err;
  }

  /** finish signals end of input: a message delimited by close completes, a truncated one errors. */
  finish(): ParseError | undefined {
    if (this.closed || this.err !== undefined) return undefined;
    const s = this.state;
    if (s === START || s === CLOSED) return undefined;
    if (s === EOF_BODY) {
      this.state = CLOSED;
      this.sink.onComplete();
      return undefined;
    }
    return this.fail("HPE_INVALID_EOF_STATE", "connection closed mid-message", 0);
  }

  /**
   * reuse gives a parser that sits between messages (or a fresh one) to another connection:
   * nothing of the previous connection carries over. Pools of idle parsers keep idle keep-alive
   * connections from holding one each.
   */
  reuse(sink: MessageSink, maxHeaderSize: number): this {
    this.sink = sink;
    this.maxHead = maxHeaderSize > 0 ? maxHeaderSize : DEFAULT_MAX_HEAD;
    this.state = START;
    this.err = undefined;
    this.accLen = 0;
    this.nMarks = 0;
    this.paused = false;
    this.upgradeAfter = false;
    this.keepAlive = true;
    // A large head's buffers are not kept for the next connection.
    if (this.acc !== null && this.acc.length > 4096) this.acc = null;
    if (this.marks.length > 256) this.marks = [];
    return this;
  }

  /**
   * detach drops the parser's connection while it waits in a pool: a pooled parser outlives
   * connections, and one that kept its last sink kept that closed connection, its socket and its
   * last exchange alive until the parser's next use.
   */
  detach(): void {
    this.sink = DETACHED;
  }

  /** usable is false once the parser was closed. */
  get usable(): boolean {
    return !this.closed;
  }

  /** free releases what the parser holds. */
  free(): void {
    this.acc = null;
  }

  /** close ends the parser (the connection closed); safe inside a sink callback. */
  close(): void {
    this.closed = true;
    if (!this.executing) this.acc = null;
  }
}

// targetForm checks the shape of a request-target: origin-form ("/..."), asterisk-form ("*"),
// absolute-form (a scheme, then "://"), or for CONNECT authority-form.
function targetForm(b: Buffer, s: number, e: number, method: string): boolean {
  const c = b[s]!;
  if (c === 0x2f || method === "CONNECT") return true;
  if (c === 0x2a) return e - s === 1;
  let i = s + 1;
  while (i < e && (TOKEN[b[i]!] === 1 || b[i] === 0x2b) && b[i] !== 0x3a) i++;
  return e - i > 3 && b[i] === 0x3a && b[i + 1] === 0x2f && b[i + 2] === 0x2f;
}

// digits parses a Content-Length value: 1*DIGIT, at most 2^53 - 1; -1 if invalid.
function digits(b: Buffer, s: number, e: number): number {
  if (s >= e) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
    if (n > MAX_SAFE) return -1;
  }
  return n;
}

// requestVersion says whether llhttp reads a request of this version: 1.0, 1.1, and 0.9 and 2.0,
// which prepare() answers with 505.
function requestVersion(major: number, minor: number): boolean {
  return (major === 1 && minor <= 1) || (major === 0 && minor === 9) || (major === 2 && minor === 0);
}

// chunkedAt reads a Transfer-Encoding list: 0 if its last coding is not chunked, 1 if it is,
// 2 if chunked also comes earlier (applied twice).
function chunkedAt(b: Buffer, s: number, e: number): number {
  let seen = 0;
  let last = false;
  let i = s;
  while (i < e) {
    while (i < e && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x2c)) i++;
    const ts = i;
    while (i < e && b[i] !== 0x2c) i++;
    let te = i;
    while (te > ts && (b[te - 1] === 0x20 || b[te - 1] === 0x09)) te--;
    if (te === ts) continue;
    last = lowerIs(b, ts, te, "chunked");
    if (last) seen++;
  }
  if (seen > 1) return 2;
  // A list ending in a comma has an empty last element: chunked is not last (llhttp agrees).
  let end = e;
  while (end > s && (b[end - 1] === 0x20 || b[end - 1] === 0x09)) end--;
  return last && b[end - 1] !== 0x2c ? 1 : 0;
}

// connectionFlags reads a Connection value's tokens: 1 close, 2 keep-alive, 4 upgrade.
function connectionFlags(b: Buffer, s: number, e: number): number {
  let flags = 0;
  let i = s;
  while (i < e) {
    while (i < e && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x2c)) i++;
    const ts = i;
    while (i < e && b[i] !== 0x2c) i++;
    let te = i;
    while (te > ts && (b[te - 1] === 0x20 || b[te - 1] === 0x09)) te--;
    if (lowerIs(b, ts, te, "close")) flags |= 1;
    else if (lowerIs(b, ts, te, "keep-alive")) flags |= 2;
    else if (lowerIs(b, ts, te, "upgrade")) flags |= 4;
  }
  return flags;
}

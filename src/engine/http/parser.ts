// parser.ts: the one door to llhttp, through Node's internal binding `_http_common.HTTPParser`.
// It is not a documented API, so everything that depends on its shape lives here and
// parser.test.ts pins the behaviour we rely on (strictness, flush of >32 headers, upgrade offset).
// Strict mode: no lenient flags, so llhttp rejects what request smuggling needs (CL+TE, bare LF,
// obs-fold, bad chunk sizes, duplicate Content-Length).
import { createRequire } from "node:module";

interface RawParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(buf: Buffer): number | (Error & { code: string; bytesParsed: number; reason?: string });
  finish(): undefined | (Error & { code: string; bytesParsed: number });
  close(): void;
  free(): void;
  [k: number]: unknown;
}
interface RawParserClass {
  new (): RawParser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
}

const common = createRequire(import.meta.url)("_http_common") as {
  HTTPParser: RawParserClass;
  methods: string[];
};
const Raw = common.HTTPParser;
const methods = common.methods;

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
  /** upgrade is llhttp's verdict: an Upgrade request/101 response, or CONNECT. */
  upgrade: boolean;
  /** keepAlive is llhttp's verdict from version and Connection. */
  keepAlive: boolean;
}

/** MessageSink receives a parser's events; they run synchronously inside execute(). */
export interface MessageSink {
  /** onBegin runs at the first byte of each message (header timeouts start here). */
  onBegin(): void;
  /** onHead returns true to tell a response parser the message has no body (HEAD request). */
  onHead(head: MessageHead): boolean;
  /** onBody gets de-chunked body bytes; the Buffer is a view of the input, valid until the sink keeps it. */
  onBody(chunk: Buffer): void;
  /** onTrailers gets chunked trailers (name, value pairs), just before onComplete. */
  onTrailers(trailers: string[]): void;
  onComplete(): void;
}

/** ParseError is llhttp's rejection: a stable code ("HPE_INVALID_HEADER_TOKEN") and its offset. */
export interface ParseError {
  code: string;
  reason: string;
  bytesParsed: number;
}

/** HttpParser parses one direction of one connection, message after message. */
export class HttpParser {
  private readonly raw: RawParser;
  private sink: MessageSink;
  private readonly type: number;
  // The binding flushes headers in batches of 32 through kOnHeaders, and hands the rest (and the url
  // when flushed) to kOnHeadersComplete; these collect the batches.
  private pendingHeaders: string[] = [];
  private pendingUrl = "";
  private inHead = true;
  private executing = false;
  private closed = false;

  /**
   * HttpParser makes a strict parser; maxHeaderSize bounds request line + headers in bytes.
   * begin false never calls sink.onBegin: the binding skips a call into JavaScript per message.
   */
  constructor(kind: "request" | "response", sink: MessageSink, maxHeaderSize: number, begin = true) {
    this.sink = sink;
    const raw = new Raw();
    this.type = kind === "request" ? Raw.REQUEST : Raw.RESPONSE;
    raw.initialize(this.type, {}, maxHeaderSize, 0);
    if (begin) raw[Raw.kOnMessageBegin] = () => this.sink.onBegin();
    raw[Raw.kOnHeaders] = (headers: string[], url: string) => {
      if (this.inHead) {
        for (let i = 0; i < headers.length; i++) this.pendingHeaders.push(headers[i]!);
        this.pendingUrl += url;
      } else {
        this.sink.onTrailers(headers);
      }
    };
    raw[Raw.kOnHeadersComplete] = (
      versionMajor: number,
      versionMinor: number,
      headers: string[] | undefined,
      method: number | undefined,
      url: string | undefined,
      statusCode: number | undefined,
      statusMessage: string | undefined,
      upgrade: boolean,
      keepAlive: boolean,
    ): number => {
      let all = headers ?? [];
      if (this.pendingHeaders.length > 0) {
        all = headers === undefined ? this.pendingHeaders : this.pendingHeaders.concat(headers);
        this.pendingHeaders = [];
      }
      const u = url ?? this.pendingUrl;
      this.pendingUrl = "";
      this.inHead = false;
      const skipBody = this.sink.onHead({
        versionMajor,
        versionMinor,
        headers: all,
        method: method === undefined ? "" : (methods[method] ?? ""),
        url: u,
        statusCode: statusCode ?? 0,
        statusMessage: statusMessage ?? "",
        upgrade,
        keepAlive,
      });
      return skipBody ? 1 : 0;
    };
    raw[Raw.kOnBody] = (chunk: Buffer) => this.sink.onBody(chunk);
    raw[Raw.kOnMessageComplete] = () => {
      this.inHead = true;
      this.sink.onComplete();
    };
    this.raw = raw;
  }

  /**
   * execute feeds bytes. It returns the count consumed — less than buf.length only after an
   * upgrade head (the rest belongs to the new protocol) — or a ParseError; after an error the
   * parser is unusable.
   */
  execute(buf: Buffer): number | ParseError {
    if (this.closed) return { code: "HPE_CLOSED", reason: "parser closed", bytesParsed: 0 };
    this.executing = true;
    const r = this.raw.execute(buf);
    this.executing = false;
    if (this.closed) this.raw.close();
    if (typeof r === "number") return r;
    return { code: r.code, reason: r.reason ?? r.message, bytesParsed: r.bytesParsed };
  }

  /** finish signals end of input: a message delimited by close completes, a truncated one errors. */
  finish(): ParseError | undefined {
    if (this.closed) return undefined;
    const r = this.raw.finish();
    if (r === undefined) return undefined;
    return { code: r.code, reason: r.message, bytesParsed: r.bytesParsed };
  }

  /**
   * reuse gives a parser that sits between messages (or a fresh one) to another connection:
   * llhttp is re-initialised, so nothing of the previous connection carries over. Pools of idle
   * parsers keep idle keep-alive connections from holding ~6 KiB of parser each.
   */
  reuse(sink: MessageSink, maxHeaderSize: number): this {
    this.raw.initialize(this.type, {}, maxHeaderSize, 0);
    this.sink = sink;
    this.pendingHeaders = [];
    this.pendingUrl = "";
    this.inHead = true;
    return this;
  }

  /** usable is false once the parser was closed. */
  get usable(): boolean {
    return !this.closed;
  }

  /** free releases the native parser. */
  free(): void {
    this.raw.free();
  }

  /**
   * close deletes the native parser; call it when the connection closed. Until then the binding
   * holds the parser strongly, and through its callbacks the whole connection: never closing it
   * leaks every connection ever accepted. Safe inside a callback (it waits for execute to return).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.executing) this.raw.close();
  }
}

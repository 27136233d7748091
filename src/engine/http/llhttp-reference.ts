// llhttp-reference.ts: Node's internal llhttp binding (`_http_common.HTTPParser`) behind the same
// interface as parser.ts. The engine does not use it: it is the reference the differential tests
// hold Portico's own parser to (parser-diff.test.ts), so the two agree on what strict llhttp
// accepts and refuses. Not a documented API; tests skip when a Node lacks it.
// Strict mode: no lenient flags.
import { createRequire } from "node:module";
import type { MessageSink, ParseError } from "./parser.ts";

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

/** LlhttpParser parses one direction of one connection with llhttp, as HttpParser does in JavaScript. */
export class LlhttpParser {
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

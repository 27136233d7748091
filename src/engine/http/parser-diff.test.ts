// Holds Portico's JavaScript parser to llhttp (strict, through Node's binding): on the same bytes,
// split at every offset, both must accept or refuse alike and report the same messages. The
// corpus is hand-written smuggling and framing cases plus seeded random mutations of valid ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HttpParser, type MessageHead, type MessageSink, type ParseError } from "./parser.ts";
import { LlhttpParser } from "./llhttp-reference.ts";

type Kind = "request" | "response";

interface Parser {
  execute(b: Buffer): number | ParseError;
  finish(): ParseError | undefined;
}

// trace runs input through a parser in the given pieces and describes what it reported.
function trace(make: (s: MessageSink) => Parser, pieces: Buffer[], skipBody: boolean, eof: boolean): string {
  const out: string[] = [];
  const line = firstLine(Buffer.concat(pieces));
  // upgrading: the last message was an upgrade — if a read ends right where it completed, what
  // follows is the new protocol's (the proxy stops parsing there).
  let upgrading = false;
  let body = "";
  const flush = () => {
    if (body !== "") out.push(`body ${JSON.stringify(body)}`);
    body = "";
  };
  const sink: MessageSink = {
    onBegin: () => {},
    onHead: (h: MessageHead) => {
      flush();
      // llhttp takes a request line without a version as HTTP/0.9 and reads "HTTP/2.0" heads,
      // which prepare() then refuses (400 or 505); Portico's parser refuses the line itself.
      if (h.method !== "" && h.versionMajor !== 1) throw new OtherVersion(h.versionMajor);
      upgrading = h.upgrade;
      out.push(
        `head ${h.method}|${h.url}|${h.versionMajor}.${h.versionMinor}|${h.statusCode}|${h.statusMessage}|` +
          `up=${h.upgrade}|ka=${h.keepAlive}|${JSON.stringify(h.headers)}`,
      );
      return skipBody;
    },
    onBody: (b) => (body += b.toString("latin1")),
    onTrailers: (t) => (flush(), out.push(`trailers ${JSON.stringify(t)}`)),
    onComplete: () => (flush(), out.push("complete")),
  };
  const p = make(sink);
  for (let k = 0; k < pieces.length; k++) {
    let piece = pieces[k]!;
    if (upgrading && out[out.length - 1] === "complete") {
      out.push(`upgrade-rest ${pieces.slice(k).reduce((n, b) => n + b.length, 0)}`);
      return out.join("\n");
    }
    let r: number | ParseError;
    try {
      r = p.execute(piece);
    } catch (e) {
      if (!(e instanceof OtherVersion)) throw e;
      flush();
      // llhttp reads a request line without a version as HTTP/0.9: a malformed line, 400.
      const explicit = e.major !== 0 || / HTTP\/0\.9\r?$/m.test(Buffer.concat(pieces).toString("latin1"));
      out.push(explicit ? "error version" : "error bad");
      return out.join("\n");
    }
    // After an upgrade the rest is another protocol: report it and stop, as the proxy does.
    if (typeof r === "number" && r < piece.length) {
      flush();
      out.push(`upgrade-rest ${pieces.slice(k).reduce((n, b) => n + b.length, 0) - r}`);
      return out.join("\n");
    }
    if (typeof r !== "number") {
      flush();
      // A head refused by the check that ends it never reaches a backend: the proxy starts
      // exchanges only after the whole read parsed cleanly. llhttp reports such heads first.
      // Body bytes before an error are a truncated request either way; where in the body the
      // error shows does not matter.
      if (out[out.length - 1]?.startsWith("body ")) out.pop();
      if (out[out.length - 1]?.startsWith("head ")) out.pop();
      out.push(`error ${classOf(r.code, line)}`);
      return out.join("\n");
    }
    piece = piece.subarray(r);
  }
  if (eof) {
    const e = p.finish();
    flush();
    // A message cut by the end of input fails like a malformed one.
    if (e !== undefined) out.push("error bad");
  }
  flush();
  return out.join("\n");
}

class OtherVersion extends Error {
  readonly major: number;
  constructor(major: number) {
    super(`HTTP/${major}`);
    this.major = major;
  }
}

// classOf keeps the codes whose difference changes the proxy's answer (414/431, 501, 505) and
// folds the rest into "bad": both parsers then answer 400.
function classOf(code: string, line: string): string {
  if (code === "HPE_HEADER_OVERFLOW") return code;
  // As ClientConn.reject maps them: a well-formed line with an unknown method is 501, another
  // major version 505; anything else is 400.
  if (code === "HPE_INVALID_METHOD" && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+( |$)/.test(line)) return "501";
  // A well-formed other version is refused with 505 by the parser or by prepare(), depending on
  // where it shows; a malformed one is a 400 like any other error.
  if (code === "HPE_INVALID_VERSION" && / HTTP\/(?!1\.[01])\d\.\d$|^HTTP\/(?!1\.[01])\d\.\d /.test(line))
    return "version";
  return "bad";
}

// firstLine is the input's first non-empty line (the request line the status mapping reads).
function firstLine(b: Buffer): string {
  return (
    b
      .toString("latin1")
      .split(/\r?\n/)
      .find((l) => l !== "") ?? ""
  );
}

const reference = (kind: Kind, max: number) => (s: MessageSink) => new LlhttpParser(kind, s, max);
const ours = (kind: Kind, max: number) => (s: MessageSink) => new HttpParser(kind, s, max);

/**
 * onPurpose says whether a difference is one Portico makes on purpose, refusing what llhttp lets
 * through: a response that is not HTTP/1.x or has a status below 100,
 * and the HTTP/2 preface, which gets 505 (llhttp: a generic error, so 400).
 */
function onPurpose(kind: Kind, input: Buffer, ours: string): boolean {
  if (!ours.endsWith("error bad") && !ours.endsWith("error version")) return false;
  const line = firstLine(input);
  if (line === "PRI * HTTP/2.0") return true;
  return kind === "response" && /^HTTP\/(\d\.\d 0\d\d|[02-9]\.)/.test(line);
}

function compare(kind: Kind, input: Buffer, max = 1024, skipBody = false): void {
  const splits: Buffer[][] = [[input]];
  for (let k = 1; k < input.length; k++) splits.push([input.subarray(0, k), input.subarray(k)]);
  // The response to a close-delimited body only ends at EOF; requests never do.
  const eof = kind === "response";
  const want = trace(reference(kind, max), [input], skipBody, eof);
  for (const pieces of splits) {
    const got = trace(ours(kind, max), pieces, skipBody, eof);
    if (got !== want && onPurpose(kind, input, got)) continue;
    assert.equal(
      got,
      want,
      `${kind} ${JSON.stringify(input.toString("latin1"))} split at ${pieces[0]!.length}`,
    );
  }
  // Byte by byte too: every state must survive a read boundary.
  const bytes = [...input].map((b) => Buffer.from([b]));
  if (onPurpose(kind, input, trace(ours(kind, max), bytes, skipBody, eof))) return;
  assert.equal(
    trace(ours(kind, max), bytes, skipBody, eof),
    want,
    `byte by byte ${JSON.stringify(input.toString("latin1"))}`,
  );
}

const requests = [
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /x?y=1 HTTP/1.0\r\n\r\n",
  "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
  "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n",
  'POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;a=b;c="d"\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n',
  "POST /p HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n",
  `${"A".repeat(40)} / HTTP/1.1\r\n\r\n`,
  "GET  /x  HTTP/1.1\r\nHost: h\r\n\r\n",
  "GET /\r\nHost: h\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
  "POST /p HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
  "POST /p HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
  "POST /p HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
  "POST /p HTTP/1.1\r\nContent-Length:  3 \r\n\r\nabc",
  "POST /p HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
  "POST /p HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n\r\n",
  "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00",
  "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\nrest",
  "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\n\r\n",
  "POST /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\nabGET / HTTP/1.1\r\n\r\n",
  "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nxyz",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
  "M-SEARCH * HTTP/1.1\r\n\r\n",
  "FOO / HTTP/1.1\r\n\r\n",
  "get / HTTP/1.1\r\n\r\n",
  "GET  / HTTP/1.1\r\n\r\n",
  "GET / HTTP/1.1 \r\n\r\n",
  "GET /\r\n\r\n",
  "GET / HTTP/1.2\r\n\r\n",
  "GET / HTTP/2.0\r\n\r\n",
  "GET / HTTP/0.9\r\n\r\n",
  "GET / HTTP/1.1\nHost: h\n\n",
  "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
  "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
  "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
  "GET / HTTP/1.1\r\nHo st: h\r\n\r\n",
  "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
  "GET / HTTP/1.1\r\n: h\r\n\r\n",
  "GET / HTTP/1.1\r\nX:\r\nY: \t \r\nZ:\tv\t\r\n\r\n",
  "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
  "GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n",
  "GET / HTTP/1.1\r\nX: caf\xe9\r\n\r\n",
  "GET /caf\xe9 HTTP/1.1\r\n\r\n",
  "GET /a\x7f HTTP/1.1\r\n\r\n",
  "GET /a#b\\c HTTP/1.1\r\n\r\n",
  "GET http://u@h/x HTTP/1.1\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\rX",
  "\nGET / HTTP/1.1\r\n\r\n",
  "\r\rGET / HTTP/1.1\r\n\r\n",
  "\x16\x03\x01\x02\x00\x01\x00",
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nContent-Length: 5\r\n\r\nGET /s HTTP/1.1\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nHost: x\r\nConnection: close\r\n\r\n",
  "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\r\nb\r\n1;=\r\nc\r\n1;;\r\nd\r\n0\r\n\r\n",
];

const responses = [
  "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nhello, world\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nGrpc-Status: 0\r\n\r\n",
  "HTTP/1.1 200 OK\r\n\r\nuntil eof",
  "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nab",
  "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nabHTTP/1.0 204 No\r\n\r\n",
  "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00",
  "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
  "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw until eof",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
  "HTTP/1.1 20 OK\r\n\r\n",
  "HTTP/1.1 2000 OK\r\n\r\n",
  "HTTP/1.1  200 OK\r\n\r\n",
  "HTTP/2.0 200 OK\r\n\r\n",
  "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
  "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n",
  "ICY 200 OK\r\n\r\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nContent-Length: 1\r\n\r\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nTransfer-Encoding: gzip\r\n\r\n",
];

test("the parser agrees with llhttp on every split of the request corpus", () => {
  for (const r of requests) compare("request", Buffer.from(r, "latin1"));
});

test("the parser agrees with llhttp on every split of the response corpus", () => {
  for (const r of responses) compare("response", Buffer.from(r, "latin1"));
  // A response to HEAD: the parser is told to skip the body its head announces.
  compare("response", Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "latin1"), 1024, true);
});

test("the head limit counts the whole head: exactly the limit passes, one byte more is refused", () => {
  // llhttp (through Node) counts only the target and the field bytes; Portico counts every byte
  // of the head, start line and CRLFs included, so "maxHeaderBytes" means what it says.
  const sink = (heads: MessageHead[]): MessageSink => ({
    onBegin: () => {},
    onHead: (h) => (heads.push(h), false),
    onBody: () => {},
    onTrailers: () => {},
    onComplete: () => {},
  });
  for (const make of [
    (n: number) => `GET /${"a".repeat(n)} HTTP/1.1\r\nHost: h\r\n\r\n`,
    (n: number) => `GET / HTTP/1.1\r\nX: ${"a".repeat(n)}\r\n\r\n`,
  ]) {
    const fits = Buffer.from(make(256 - make(0).length), "latin1");
    const over = Buffer.from(make(257 - make(0).length), "latin1");
    assert.equal(fits.length, 256);
    for (let k = 1; k <= fits.length; k++) {
      const heads: MessageHead[] = [];
      const p = new HttpParser("request", sink(heads), 256);
      let r = p.execute(fits.subarray(0, k));
      if (typeof r === "number" && k < fits.length) r = p.execute(fits.subarray(k));
      assert.equal(typeof r, "number", `${JSON.stringify(fits.toString())} split at ${k}`);
      assert.equal(heads.length, 1);
      const q = new HttpParser("request", sink([]), 256);
      let e = q.execute(over.subarray(0, k));
      if (typeof e === "number") e = q.execute(over.subarray(k));
      assert.equal(typeof e === "number" ? "ok" : e.code, "HPE_HEADER_OVERFLOW");
    }
  }
  // Far below and far above the limit, both parsers agree.
  for (const n of [10, 100, 400]) {
    compare("request", Buffer.from(`GET /${"a".repeat(n)} HTTP/1.1\r\nHost: h\r\n\r\n`, "latin1"), 256);
    compare("request", Buffer.from(`GET / HTTP/1.1\r\nX: ${"a".repeat(n)}\r\n\r\n`, "latin1"), 256);
  }
});

// mulberry32: a small seeded generator, so a failing mutation is reproducible from its seed.
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const alphabet = [13, 10, 32, 9, 0x3a, 0x2c, 0x3b, 0, 0x7f, 0x80, 0x61, 0x30, 0x35, 0x46, 0x2f, 0x2d];

test("the parser agrees with llhttp on 20,000 seeded mutations of valid messages", () => {
  const bad: string[] = [];
  for (let seed = 1; seed <= 20000; seed++) {
    const next = rng(seed);
    const kind: Kind = seed % 3 === 0 ? "response" : "request";
    const base = kind === "request" ? requests.slice(0, 8) : responses.slice(0, 8);
    const b = [...Buffer.from(base[Math.floor(next() * base.length)]!, "latin1")];
    const edits = 1 + Math.floor(next() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(next() * b.length);
      const byte = alphabet[Math.floor(next() * alphabet.length)]!;
      const op = next();
      if (op < 0.4) b[at] = byte;
      else if (op < 0.7) b.splice(at, 0, byte);
      else b.splice(at, 1);
    }
    const input = Buffer.from(b);
    const eof = kind === "response";
    const want = trace(reference(kind, 1024), [input], false, eof);
    const got = trace(ours(kind, 1024), [input], false, eof);
    if (got !== want && !onPurpose(kind, input, got))
      bad.push(
        `seed ${seed}: ${JSON.stringify(input.toString("latin1"))}\n  ours: ${got}\n  llhttp: ${want}`,
      );
  }
  assert.deepEqual(bad.slice(0, 15), []);
});

// Regression: an HTTP/2 response without trailers ended with RST_STREAM(NO_ERROR) after its last
// DATA frame; node:http2 clients saw the headers, then an aborted stream and no body. And (issue
// 15's accuracy): a response that cannot carry trailers ends with END_STREAM on its last DATA
// frame, in the body's own write — not on an empty frame node:http2 sent a turn later, after the
// exchange's clock had stopped, so clients had the whole response ~0.2–0.5 ms after "total" ended.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { once } from "node:events";
import net from "node:net";
import { createHash } from "node:crypto";
import type { HttpListener } from "../../model/ir.ts";
import { compileHttp } from "./compile.ts";
import { chunkedBody } from "./h2-response-head.ts";
import { listen, poolOf, RoundRobinUpstreams } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

/** proxyTo starts the HTTP listener (h2c by prior knowledge, or HTTP/1.1) in front of a backend. */
async function proxyTo(be: http.Server): Promise<number> {
  be.listen(0, "127.0.0.1");
  await once(be, "listening");
  closers.push(() => be.close());
  const pools = { main: poolOf("main", [(be.address() as net.AddressInfo).port]) };
  const listener: HttpListener = {
    name: "l",
    address: "127.0.0.1",
    port: 0,
    requestTimeoutMs: 3000,
    idleTimeoutMs: 5000,
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            name: "r",
            match: { path: { type: "Prefix", value: "/" } },
            action: { type: "Forward", backends: [{ pool: "main", weight: 1 }] },
          },
        ],
      },
    ],
  };
  const snapshot = { version: 1, l4: [], http: [listener], pools, certificates: {} };
  const handler = compileHttp(listener, {
    snapshot,
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  });
  const { server, port } = await listen({ current: handler });
  closers.push(() => server.close());
  return port;
}

test("HTTP/2 client, HTTP/1.1 backend, no trailers: the stream ends with END_STREAM and the body arrives", async () => {
  const port = await proxyTo(
    http.createServer((req, res) => {
      let b = "";
      req.on("data", (d: Buffer) => (b += d.toString()));
      req.on("end", () => res.end(`got ${req.method} ${b}`));
    }),
  );
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  for (const [method, body] of [
    ["PUT", "with a body"],
    ["GET", undefined],
  ] as const) {
    const got = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ":method": method, ":path": "/x" }, { endStream: body === undefined });
      let b = "";
      req.on("data", (d: Buffer) => (b += d.toString()));
      req.on("end", () => resolve(b));
      // A deadline, not a wait: a cut-short stream never ends, and then nothing else keeps the loop alive.
      const deadline = setTimeout(
        () => reject(new Error(`no end of stream; body so far ${JSON.stringify(b)}`)),
        2000,
      );
      req.on("close", () => {
        clearTimeout(deadline);
        reject(new Error(`stream closed without end; body so far ${JSON.stringify(b)}`));
      });
      req.on("error", reject);
      if (body !== undefined) req.end(body);
    });
    assert.equal(got, `got ${method} ${body ?? ""}`);
  }
});

/** Frame is one HTTP/2 frame's header as a raw client read it. */
interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

const DATA = 0;
const HEADERS = 1;
const END_STREAM = 0x1;

/**
 * rawStream sends one GET on a fresh h2c connection (prior knowledge, raw bytes: no client library
 * that would hide how the frames came) and resolves with stream 1's frames up to END_STREAM.
 */
async function rawStream(port: number): Promise<Frame[]> {
  const sock = net.connect(port, "127.0.0.1");
  closers.push(() => sock.destroy());
  await once(sock, "connect");
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(stream, 5);
    return Buffer.concat([h, payload]);
  };
  // HPACK: :method GET, :scheme http, :path / (static 2, 6, 4), :authority "a" (literal, name 1).
  const block = Buffer.from([0x82, 0x86, 0x84, 0x41, 0x01, 0x61]);
  sock.write(
    Buffer.concat([
      Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      frame(4, 0, 0, Buffer.alloc(0)),
      frame(HEADERS, 0x4 | END_STREAM, 1, block),
    ]),
  );
  const frames: Frame[] = [];
  let buf = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(
      () => reject(new Error(`no END_STREAM; frames ${JSON.stringify(frames)}`)),
      3000,
    );
    sock.on("error", reject);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
        const len = buf.readUIntBE(0, 3);
        const f = {
          type: buf[3]!,
          flags: buf[4]!,
          stream: buf.readUInt32BE(5) & 0x7fffffff,
          payload: buf.subarray(9, 9 + len),
        };
        buf = buf.subarray(9 + len);
        if (f.type === 4 && (f.flags & 1) === 0) sock.write(frame(4, 1, 0, Buffer.alloc(0)));
        if (f.stream !== 1) continue;
        frames.push(f);
        if ((f.type === DATA || f.type === HEADERS) && f.flags & END_STREAM) {
          clearTimeout(deadline);
          resolve(frames);
        }
      }
    });
  });
}

test("a Content-Length response ends with END_STREAM on its last DATA frame, no empty frame after", async () => {
  const body = "fast\n";
  const port = await proxyTo(http.createServer((_req, res) => res.end(body)));
  const frames = await rawStream(port);
  assert.deepEqual(
    frames.map((f) => [f.type, f.flags & END_STREAM, f.payload.length]),
    [
      [HEADERS, 0, frames[0]!.payload.length],
      [DATA, END_STREAM, body.length],
    ],
    "HEADERS, then the body's DATA frame carrying END_STREAM",
  );
});

test("a chunked response still waits for its trailers: they end the stream", async () => {
  const port = await proxyTo(
    http.createServer((_req, res) => {
      res.writeHead(200, { "transfer-encoding": "chunked", trailer: "x-sum" });
      res.write("part\n");
      res.addTrailers({ "x-sum": "42" });
      res.end();
    }),
  );
  const frames = await rawStream(port);
  const last = frames[frames.length - 1]!;
  assert.equal(last.type, HEADERS, "the trailers' HEADERS frame ends the stream");
  assert.equal(last.flags & END_STREAM, END_STREAM);
  assert.ok(
    frames.some((f) => f.type === DATA && f.payload.toString() === "part\n"),
    "the body came",
  );
});

test("chunkedBody: only a chunked final coding can carry trailers (RFC 9112 §7.1.2)", () => {
  assert.equal(chunkedBody(["Content-Length", "5"]), false);
  assert.equal(chunkedBody(["Transfer-Encoding", "chunked"]), true);
  assert.equal(chunkedBody(["transfer-encoding", "gzip, Chunked"]), true);
  assert.equal(chunkedBody(["Transfer-Encoding", "chunked, gzip"]), false);
  assert.equal(chunkedBody(["Transfer-Encoding", "gzip", "Transfer-Encoding", "chunked"]), true);
  assert.equal(chunkedBody([]), false);
});

test("a 6 MiB HTTP/2 upload to a backend that reads in bursts arrives whole, and the response after it", async () => {
  // The backend stops reading for 20 ms after each 256 KiB: when the backend socket is full the
  // exchange pauses the client's stream (its window held, 64 KiB per stream) and resumes it on the
  // socket's drain; every byte must still arrive, in order.
  const size = 6 << 20;
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + (i >> 12)) & 0xff;
  const port = await proxyTo(
    http.createServer((req, res) => {
      const hash = createHash("sha256");
      let got = 0;
      let burst = 0;
      req.on("data", (d: Buffer) => {
        hash.update(d);
        got += d.length;
        burst += d.length;
        if (burst < 256 << 10) return;
        burst = 0;
        req.pause();
        setTimeout(() => req.resume(), 20);
      });
      req.on("end", () => res.end(`${got} ${hash.digest("hex")}`));
    }),
  );
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  const got = await new Promise<string>((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": "/up" });
    let b = "";
    req.on("data", (d: Buffer) => (b += d.toString()));
    req.on("end", () => resolve(b));
    req.on("error", reject);
    req.end(body);
  });
  assert.equal(got, `${size} ${createHash("sha256").update(body).digest("hex")}`);
});

// hostile.test.ts: H2Connection against a raw client over real sockets, for what a security review
// found: HPACK integers that ran to NaN (a crash, a table that never evicts), a client that never
// reads, frames a client sends after our graceful GOAWAY, frames that were never counted (ACKs,
// GOAWAY, padding), a short GOAWAY and DATA on an even stream, and an exception out of the handler.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { H2Connection, type H2Handler, type H2Settings } from "./connection.ts";
import { defaultAbuseLimits } from "./abuse.ts";
import { ErrorCode, Flag, FrameType, PREFACE, frame, settingsFrame } from "./frames.ts";
import { HpackEncoder } from "./hpack-encoder.ts";

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
after(() => {
  sockets.forEach((s) => s.destroy());
  servers.forEach((s) => s.close());
});

interface Got {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

// Raw is one client connection: what it sent, the frames it read back, the server's side.
interface Raw {
  client: net.Socket;
  conn: H2Connection;
  server: net.Socket;
  frames: Got[];
  cuts: string[];
  closed: () => boolean;
}

// open starts a server connection with handler and a raw client that sent the preface and SETTINGS.
async function open(handler: H2Handler, settings: Partial<H2Settings> = {}, read = true): Promise<Raw> {
  let conn: H2Connection | undefined;
  let server: net.Socket | undefined;
  const cuts: string[] = [];
  const srv = net.createServer((s) => {
    sockets.add(s);
    server = s;
    const cut = handler.cut;
    conn = new H2Connection(
      s,
      {
        ...handler,
        cut: (reason, detail) => {
          cuts.push(reason);
          cut?.(reason, detail);
        },
      },
      settings,
    );
  });
  servers.push(srv);
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const client = net.connect((srv.address() as AddressInfo).port, "127.0.0.1");
  sockets.add(client);
  client.on("error", () => {});
  const frames: Got[] = [];
  let buf = Buffer.alloc(0);
  let closed = false;
  client.on("close", () => (closed = true));
  if (read)
    client.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        frames.push({
          type: buf[3]!,
          flags: buf[4]!,
          id: buf.readUInt32BE(5) & 0x7fffffff,
          payload: buf.subarray(9, 9 + len),
        });
        buf = buf.subarray(9 + len);
      }
    });
  await once(client, "connect");
  client.write(Buffer.concat([PREFACE, settingsFrame([])]));
  await until("the server's connection", () => conn !== undefined);
  return { client, conn: conn!, server: server!, frames, cuts, closed: () => closed };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function goaways(r: Raw): { last: number; code: number }[] {
  return r.frames
    .filter((f) => f.type === FrameType.GOAWAY)
    .map((f) => ({ last: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4) }));
}

const enc = new HpackEncoder(0);
function get(path = "/"): Buffer {
  return enc.encode([":method", "GET", ":scheme", "http", ":path", path, ":authority", "x.test"]);
}

// answer responds 200 at once to every request, or once its body ended.
const answer: H2Handler = {
  stream(s, _fields, end) {
    if (end) s.respond(200, [], true);
    else s.onEnd = () => s.respond(200, [], true);
  },
};

test("an HPACK integer of 147 continuation bytes is a COMPRESSION_ERROR, not a crash", async () => {
  for (const first of [0xff, 0x3f]) {
    const r = await open(answer);
    const block = Buffer.concat([Buffer.from([first]), Buffer.alloc(147, 0x80), Buffer.from([0])]);
    r.client.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block));
    await until("GOAWAY", () => goaways(r).length > 0);
    assert.equal(goaways(r)[0]!.code, ErrorCode.COMPRESSION_ERROR);
    r.client.destroy();
  }
});

test("an exception out of the handler costs the connection (INTERNAL_ERROR), not the process", async () => {
  const r = await open({
    stream() {
      throw new TypeError("a bug in the exchange");
    },
  });
  const stderr = process.stderr.write;
  let logged = "";
  process.stderr.write = ((s: string) => ((logged += s), true)) as typeof process.stderr.write;
  try {
    r.client.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, get()));
    await until("GOAWAY", () => goaways(r).length > 0);
  } finally {
    process.stderr.write = stderr;
  }
  assert.equal(goaways(r)[0]!.code, ErrorCode.INTERNAL_ERROR);
  assert.match(logged, /a bug in the exchange/);
  r.client.destroy();
});

test("a client that never reads stops being read: output held stays bounded", async () => {
  // Each request is a few bytes (its fields indexed in the client's table), each answer ten times more.
  const pad = "y".repeat(200);
  const r = await open(
    {
      stream(s) {
        s.respond(200, ["content-type", "text/plain", "x-pad", pad], true);
      },
    },
    { encoderTableSize: 0 },
    false,
  );
  const reqs = new HpackEncoder(4096);
  const fields = [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x.test"];
  let id = 1;
  let maxHeld = 0;
  for (let n = 0; n < 40 && !r.server.isPaused(); n++) {
    const burst: Buffer[] = [];
    for (let i = 0; i < 2000; i++, id += 2)
      burst.push(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, reqs.encode(fields)));
    r.client.write(Buffer.concat(burst));
    await until("the burst read", () => r.client.writableLength === 0 || r.server.isPaused());
    maxHeld = Math.max(maxHeld, r.server.writableLength);
  }
  await until("the server to stop reading", () => r.server.isPaused());
  // Reading stopped: more requests do not grow what is held.
  const atPause = r.server.writableLength;
  const more: Buffer[] = [];
  for (let i = 0; i < 2000; i++, id += 2)
    more.push(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, reqs.encode(fields)));
  r.client.write(Buffer.concat(more));
  await until("the client's write to reach its socket", () => r.client.writableLength === 0);
  await new Promise((res) => setImmediate(res));
  maxHeld = Math.max(maxHeld, r.server.writableLength);
  assert.ok(
    r.server.writableLength <= atPause,
    `${r.server.writableLength} > ${atPause} held after the pause`,
  );
  assert.ok(maxHeld < 4 << 20, `${maxHeld} bytes held for a client that does not read`);
  // Once the client reads, the server reads again and answers.
  r.client.resume();
  await until("reading again", () => !r.server.isPaused());
  r.client.destroy();
});

test("after a graceful GOAWAY, streams the client opened before seeing it are dropped quietly", async () => {
  const r = await open({
    stream(s) {
      // Stream 1 is an upload that ends later: it keeps the connection open.
      s.onEnd = () => s.respond(200, [], true);
    },
  });
  r.client.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, get("/up")));
  await until("stream 1", () => r.conn.streamCount === 1);
  r.conn.close();
  const burst: Buffer[] = [];
  for (let id = 3; id < 3 + 2 * 120; id += 2) {
    burst.push(frame(FrameType.HEADERS, Flag.END_HEADERS, id, get("/up")));
    burst.push(frame(FrameType.DATA, Flag.END_STREAM, id, Buffer.alloc(16_000)));
    burst.push(frame(FrameType.WINDOW_UPDATE, 0, id, Buffer.from([0, 0, 1, 0])));
    burst.push(frame(FrameType.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
  }
  r.client.write(Buffer.concat(burst));
  // Stream 1 still completes; then the connection closes.
  r.client.write(frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("x")));
  await until("stream 1's answer", () => r.frames.some((f) => f.type === FrameType.HEADERS && f.id === 1));
  await until("the close", () => r.closed());
  assert.deepEqual(goaways(r), [{ last: 1, code: ErrorCode.NO_ERROR }]);
  assert.equal(r.frames.filter((f) => f.type === FrameType.RST_STREAM).length, 0);
  assert.deepEqual(r.cuts, []);
});

test("REFUSED_STREAM: the refused stream's DATA and trailers are ignored, not counted or answered", async () => {
  const r = await open({ stream() {} }, { maxConcurrentStreams: 2 });
  const burst: Buffer[] = [];
  for (let id = 1; id <= 2 * 60; id += 2) {
    burst.push(frame(FrameType.HEADERS, Flag.END_HEADERS, id, get("/up")));
    burst.push(frame(FrameType.DATA, 0, id, Buffer.from("x")));
  }
  r.client.write(Buffer.concat(burst));
  // Trailers of a refused stream (not one of the first two, which stay open).
  r.client.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 5, enc.encode(["x-t", "1"])));
  r.client.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
  await until("the PING's answer", () => r.frames.some((f) => f.type === FrameType.PING));
  assert.deepEqual(goaways(r), []);
  assert.deepEqual(r.cuts, []);
  const rst = r.frames.filter((f) => f.type === FrameType.RST_STREAM);
  assert.equal(rst.length, 58);
  assert.ok(rst.every((f) => f.payload.readUInt32BE(0) === ErrorCode.REFUSED_STREAM));
  r.client.destroy();
});

test("a flood of PING ACKs, SETTINGS ACKs or GOAWAYs is cut", async () => {
  const ack = frame(FrameType.PING, Flag.ACK, 0, Buffer.alloc(8));
  const sack = frame(FrameType.SETTINGS, Flag.ACK, 0);
  const goaway = frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(8));
  for (const f of [ack, sack, goaway]) {
    const r = await open({ stream() {} });
    // Stream 1 stays open, so a GOAWAY from the client does not end the connection.
    r.client.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, get()));
    const n = Math.ceil((2 * defaultAbuseLimits.maxFrameBytes) / f.length);
    r.client.write(Buffer.concat(Array.from({ length: n }, () => f)));
    await until("a cut", () => goaways(r).some((g) => g.code === ErrorCode.ENHANCE_YOUR_CALM));
    assert.deepEqual(r.cuts, ["frame_flood"]);
    r.client.destroy();
  }
});

test("a GOAWAY shorter than 8 bytes is FRAME_SIZE_ERROR; DATA on an even stream is PROTOCOL_ERROR", async () => {
  const short = await open(answer);
  short.client.write(frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(4)));
  await until("GOAWAY", () => goaways(short).length > 0);
  assert.equal(goaways(short)[0]!.code, ErrorCode.FRAME_SIZE_ERROR);
  const even = await open({ stream() {} });
  even.client.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 3, get()));
  even.client.write(frame(FrameType.DATA, 0, 2, Buffer.from("x")));
  await until("GOAWAY", () => goaways(even).length > 0);
  assert.equal(goaways(even)[0]!.code, ErrorCode.PROTOCOL_ERROR);
  short.client.destroy();
  even.client.destroy();
});

test("a request with two content-lengths, or a :path not starting with /, is reset; the handler never sees it", async () => {
  let seen = 0;
  const r = await open({
    stream(s) {
      seen++;
      s.respond(200, [], true);
    },
  });
  const base = [":method", "POST", ":scheme", "http", ":authority", "x.test"];
  const bad = [
    [...base, ":path", "/", "content-length", "5", "content-length", "05"],
    [...base, ":path", "http://admin.internal/secret"],
    [...base, ":path", "/public /admin"],
    [":method", "GET", ":scheme", "http", ":path", "/", ":authority", 'x";for=10.0.0.1;by="y'],
  ];
  bad.forEach((fields, i) =>
    r.client.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1 + 2 * i, enc.encode(fields))),
  );
  await until("four resets", () => r.frames.filter((f) => f.type === FrameType.RST_STREAM).length === 4);
  for (const f of r.frames.filter((f) => f.type === FrameType.RST_STREAM))
    assert.equal(f.payload.readUInt32BE(0), ErrorCode.PROTOCOL_ERROR);
  assert.equal(seen, 0);
  r.client.destroy();
});

test("an exception while the connection fails (a stream's onReset) still costs only the connection", async () => {
  const r = await open({
    stream(s) {
      if (s.id === 1) {
        s.onReset = () => {
          throw new TypeError("a bug in onReset");
        };
        return;
      }
      throw new TypeError("a bug in the exchange");
    },
  });
  const stderr = process.stderr.write;
  let logged = "";
  process.stderr.write = ((s: string) => ((logged += s), true)) as typeof process.stderr.write;
  try {
    r.client.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, get()));
    r.client.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, get()));
    await until("the close", () => r.closed());
  } finally {
    process.stderr.write = stderr;
  }
  assert.match(logged, /a bug in the exchange/);
  assert.match(logged, /a bug in onReset/);
});

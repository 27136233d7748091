// clock.test.ts: the two clock readings H2Connection gives an exchange (analytics, issue 15),
// over real sockets with raw frames. arrivedAt is the arrival of the read that brought the first
// byte of the stream's HEADERS frame — read before that read is parsed, also when the frame was
// cut by a read boundary, continued in CONTINUATION frames, or came after other frames — and
// sentAt is read just before the write that carries the frames the turn held, per connection: not
// before other connections' writes of the same release.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { H2Connection, type H2Handler } from "./connection.ts";
import { FRAME_HEADER, Flag, FrameType, PREFACE, frame, settingsFrame } from "./frames.ts";
import { HpackEncoder } from "./hpack-encoder.ts";
import type { H2Stream } from "./stream.ts";

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
after(() => {
  sockets.forEach((s) => s.destroy());
  servers.forEach((s) => s.close());
});

// serve runs each accepted connection with handler; conns holds them.
async function serve(handler: H2Handler): Promise<{ port: number; conns: H2Connection[] }> {
  const conns: H2Connection[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    conns.push(new H2Connection(socket, handler));
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, conns };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// client opens a raw connection that has sent its preface and SETTINGS.
async function client(port: number): Promise<net.Socket> {
  const c = net.connect(port, "127.0.0.1");
  sockets.add(c);
  c.setNoDelay(true);
  c.on("data", () => {});
  await once(c, "connect");
  c.write(Buffer.concat([PREFACE, settingsFrame([])]));
  return c;
}

// carriesHeaders says whether a written buffer holds a HEADERS frame (a response head).
function carriesHeaders(b: Uint8Array): boolean {
  for (
    let i = 0;
    i + FRAME_HEADER <= b.length;
    i += FRAME_HEADER + ((b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!)
  )
    if (b[i + 3] === FrameType.HEADERS) return true;
  return false;
}

const hpack = new HpackEncoder(0);
function block(path: string): Buffer {
  return hpack.encode([":method", "GET", ":scheme", "http", ":path", path, ":authority", "a.test"]);
}

test("arrivedAt is the read that brought the HEADERS frame's first byte, before that read is parsed", async () => {
  // Each read is numbered by the clock the handler gives; streams note the number they were handed.
  let reads = 0;
  const seen = new Map<string, { arrivedAt: number; readsThen: number }>();
  const { port } = await serve({
    arrival: () => ++reads,
    stream(s) {
      seen.set(s.path, { arrivedAt: s.arrivedAt, readsThen: reads });
      s.respond(200, [], true);
    },
  });
  const c = await client(port);
  await until("the preface's read", () => reads >= 1);
  // /a: a HEADERS frame cut after 4 bytes; its rest comes with a PING and /b's HEADERS in one write.
  const a = frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block("/a"));
  c.write(a.subarray(0, 4));
  await until("the cut frame's read", () => reads >= 2);
  const cutRead = reads;
  const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
  const b = frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, block("/b"));
  c.write(Buffer.concat([a.subarray(4), ping, b]));
  await until("/a and /b", () => seen.has("/b"));
  const restRead = seen.get("/b")!.readsThen;
  assert.equal(restRead, cutRead + 1, "the rest came in one read");
  assert.equal(seen.get("/a")!.arrivedAt, cutRead, "/a started with the read that brought its first byte");
  assert.equal(seen.get("/b")!.arrivedAt, restRead, "/b with the read that carried it (read before parsing)");
  // /c: HEADERS without END_HEADERS in one read, its CONTINUATION in the next.
  const blk = block("/c");
  c.write(frame(FrameType.HEADERS, Flag.END_STREAM, 5, blk.subarray(0, 3)));
  await until("the HEADERS read", () => reads > restRead);
  const headersRead = reads;
  c.write(frame(FrameType.CONTINUATION, Flag.END_HEADERS, 5, blk.subarray(3)));
  await until("/c", () => seen.has("/c"));
  assert.ok(seen.get("/c")!.readsThen > headersRead, "the block ended in a later read");
  assert.equal(seen.get("/c")!.arrivedAt, headersRead, "/c started with its HEADERS frame's read");
  c.destroy();
});

test("sentAt is read just before the write of its own connection's held frames, not before the release", async () => {
  const streams: H2Stream[] = [];
  const { port, conns } = await serve({
    stream(s) {
      streams.push(s);
      // Both answered in the turn the second arrives: one release flushes both connections.
      if (streams.length === 2) {
        for (const x of streams) {
          x.respond(200, [], true);
          assert.equal(x.timeSend(), true, "frames are held for the release");
        }
      }
    },
  });
  const c1 = await client(port);
  const c2 = await client(port);
  await until("both connections", () => conns.length === 2);
  // Each connection's write of its response: the clock just as it starts.
  const writes = new Map<H2Connection, number>();
  for (const conn of conns) {
    const socket = conn.socket;
    const write = socket.write.bind(socket);
    socket.write = ((...a: Parameters<typeof write>) => {
      if (!writes.has(conn) && carriesHeaders(a[0] as Uint8Array)) writes.set(conn, performance.now());
      return write(...a);
    }) as typeof socket.write;
  }
  c1.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block("/1")));
  await until("the first stream", () => streams.length === 1);
  c2.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block("/2")));
  await until("both written", () => writes.size === 2);
  const [w1, w2] = conns.map((c) => writes.get(c)!) as [number, number];
  const [s1, s2] = streams as [H2Stream, H2Stream];
  const [first, second] = w1 < w2 ? [s1, s2] : [s2, s1];
  const [wFirst, wSecond] = w1 < w2 ? [w1, w2] : [w2, w1];
  assert.ok(first.sentAt > 0 && first.sentAt <= wFirst, `first: sentAt ${first.sentAt}, write ${wFirst}`);
  // The second connection's clock is read after the first one's write, just before its own.
  assert.ok(second.sentAt >= wFirst, `second: sentAt ${second.sentAt} before the first write ${wFirst}`);
  assert.ok(second.sentAt <= wSecond, `second: sentAt ${second.sentAt}, write ${wSecond}`);
  // Nothing held: no write to wait for.
  assert.equal(s1.timeSend(), false);
  c1.destroy();
  c2.destroy();
});

test("sendNow writes the held frames at once and returns the clock read just before", async () => {
  let got: { before: number; sent: number; after: number; written: boolean } | undefined;
  const { port, conns } = await serve({
    stream(s) {
      s.respond(200, [], true);
      s.timeSend();
      let written = false;
      const socket = conns[0]!.socket;
      const write = socket.write.bind(socket);
      socket.write = ((...a: Parameters<typeof write>) => {
        written = true;
        return write(...a);
      }) as typeof socket.write;
      const before = performance.now();
      const sent = s.sendNow();
      got = { before, sent, after: performance.now(), written };
    },
  });
  const c = await client(port);
  c.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block("/")));
  await until("the answer", () => got !== undefined);
  assert.ok(got!.written, "sendNow wrote");
  assert.ok(got!.before <= got!.sent && got!.sent <= got!.after, JSON.stringify(got));
  c.destroy();
});

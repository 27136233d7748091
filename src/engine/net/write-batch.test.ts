// write-batch.test.ts: batchWrites on real sockets — writes stay with the socket until the end of
// the event-loop turn and then leave in order (direct writes included), flushWrites sends them at
// once, and end() on a held socket still delivers everything before the FIN. whenSent: a finished
// exchange's clock stops with its own connection's bytes still held and sent right after, its
// event once every held write left; on HTTP/2, after node:http2 wrote the stream's frames (the
// ordering of native and JavaScript immediates it relies on, pinned here). departNow runs the
// waiting departures at once (shutdown); a flush while one waits stamps its connection (flushedAt).
import assert from "node:assert/strict";
import { once } from "node:events";
import net, { type Socket } from "node:net";
import { test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { batchWrites, departNow, flushWrites, whenSent, type Batched } from "./write-batch.ts";
import http2 from "node:http2";

/** connected gives a client socket and a promise of everything the server side reads until EOF. */
async function connected(): Promise<{ conn: Batched<Socket>; received: Promise<string>; close: () => void }> {
  const server = net.createServer((s: Socket) => {
    let got = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => (got += d));
    s.on("end", () => server.emit("got", got));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const socket = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await once(socket, "connect");
  const received = once(server, "got").then(([s]) => s as string);
  return { conn: { socket, batched: false, flushedAt: 0 }, received, close: () => server.close() };
}

test("held writes leave at the end of the turn, in order with direct writes", async () => {
  const { conn, received, close } = await connected();
  batchWrites(conn);
  batchWrites(conn); // a second hold in the same turn is the same hold
  conn.socket.write("one ");
  conn.socket.write("two ");
  assert.equal(conn.batched, true);
  assert.equal(conn.socket.writableLength, 8, "the writes are held, not with the kernel");
  await nextTurn();
  assert.equal(conn.batched, false);
  assert.equal(conn.socket.writableLength, 0, "released at the end of the turn");
  conn.socket.write("three");
  conn.socket.end();
  assert.equal(await received, "one two three");
  close();
});

test("flushWrites sends held writes at once, and the socket can be held again", async () => {
  const { conn, received, close } = await connected();
  batchWrites(conn);
  conn.socket.write("a");
  flushWrites(conn);
  assert.equal(conn.socket.writableLength, 0);
  batchWrites(conn);
  conn.socket.write("b");
  assert.equal(conn.socket.writableLength, 1);
  await nextTurn();
  assert.equal(conn.socket.writableLength, 0);
  conn.socket.end();
  assert.equal(await received, "ab");
  close();
});

test("end() on a held socket delivers the held writes before the FIN; destroy drops them quietly", async () => {
  const { conn, received, close } = await connected();
  batchWrites(conn);
  conn.socket.write("last words");
  conn.socket.end();
  assert.equal(await received, "last words");
  const other = await connected();
  batchWrites(other.conn);
  other.conn.socket.write("never sent");
  other.conn.socket.destroy();
  await nextTurn(); // the release must not throw on a destroyed socket
  assert.equal(other.conn.batched, false);
  close();
  other.close();
});

test("whenSent: the clock is read before its own bytes leave, the event once every held write left", async () => {
  const a = await connected();
  const b = await connected();
  const seen: string[] = [];
  batchWrites(a.conn);
  a.conn.socket.write("A");
  batchWrites(b.conn);
  b.conn.socket.write("B");
  whenSent({
    sent() {
      // The clock is read here, before the write: the client cannot have read the bytes yet.
      seen.push(`sent: A held ${a.conn.socket.writableLength}`);
      flushWrites(a.conn);
      seen.push(`flushed: A held ${a.conn.socket.writableLength}, B held ${b.conn.socket.writableLength}`);
    },
    depart() {
      seen.push(`depart: A held ${a.conn.socket.writableLength}, B held ${b.conn.socket.writableLength}`);
    },
  });
  assert.deepEqual(seen, [], "nothing runs before the end of the turn");
  await nextTurn();
  assert.deepEqual(seen, ["sent: A held 1", "flushed: A held 0, B held 1", "depart: A held 0, B held 0"]);
  a.conn.socket.end();
  b.conn.socket.end();
  assert.equal(await a.received, "A");
  assert.equal(await b.received, "B");
  a.close();
  b.close();
});

test("whenSent on HTTP/2: the stream's frames are written before sent() runs", async () => {
  const server = http2.createServer();
  const written = new Promise<[number, number]>((resolve) => {
    server.once("stream", (stream) => {
      const socket = stream.session!.socket;
      stream.respond({ ":status": 200 });
      stream.end("hello");
      const atEnd = socket.bytesWritten;
      whenSent({ sent: () => resolve([atEnd, socket.bytesWritten]), depart() {} });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  const req = client.request({ ":path": "/" });
  req.resume();
  req.end();
  const [atEnd, atSent] = await written;
  await once(req, "end");
  // The response's HEADERS and DATA (END_STREAM) frames: 9-byte headers each, 5 bytes of body.
  assert.ok(atSent - atEnd >= 9 + 9 + 5, `written by sent(): ${atSent - atEnd} bytes`);
  client.close();
  server.close();
});

test("departNow runs the waiting departures at once (shutdown), and the release finds nothing left", async () => {
  const a = await connected();
  const seen: string[] = [];
  batchWrites(a.conn);
  a.conn.socket.write("A");
  whenSent({
    sent() {
      flushWrites(a.conn);
      seen.push(`sent: A held ${a.conn.socket.writableLength}`);
    },
    depart: () => seen.push("depart"),
  });
  departNow();
  assert.deepEqual(seen, ["sent: A held 0", "depart"], "ran before the turn ended");
  await nextTurn();
  assert.deepEqual(seen, ["sent: A held 0", "depart"], "and only once");
  a.conn.socket.end();
  assert.equal(await a.received, "A");
  a.close();
});

test("flushedAt: stamped just before a flush while a departure waits, not otherwise", async () => {
  const a = await connected();
  batchWrites(a.conn);
  a.conn.socket.write("1");
  flushWrites(a.conn);
  assert.equal(a.conn.flushedAt, 0, "nothing waits: no clock read");
  batchWrites(a.conn);
  a.conn.socket.write("2");
  let stamp = 0;
  whenSent({ sent: () => void (stamp = a.conn.flushedAt), depart() {} });
  const before = performance.now();
  // A flush before the release (a closing connection's) stamps the connection for the departure.
  flushWrites(a.conn);
  const after = performance.now();
  assert.ok(a.conn.flushedAt >= before && a.conn.flushedAt <= after, "read at that flush");
  await nextTurn();
  assert.equal(stamp, a.conn.flushedAt, "the departure sees that flush's stamp");
  a.conn.socket.end();
  assert.equal(await a.received, "12");
  a.close();
});

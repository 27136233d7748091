// write-batch.test.ts: batchWrites on real sockets — writes stay with the socket until the end of
// the event-loop turn and then leave in order (direct writes included), flushWrites sends them at
// once, and end() on a held socket still delivers everything before the FIN.
import assert from "node:assert/strict";
import { once } from "node:events";
import net, { type Socket } from "node:net";
import { test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { batchWrites, flushWrites, type Batched } from "./write-batch.ts";

/** connected gives a client socket and a promise of everything the server side reads until EOF. */
async function connected(): Promise<{ conn: Batched; received: Promise<string>; close: () => void }> {
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
  return { conn: { socket, batched: false }, received, close: () => server.close() };
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

// onread.test.ts: adoptReads/releaseReads on real accepted sockets — reads land in our buffer
// and reach the callback, pause/resume and 'end' still work, a released socket reads as a stream
// again (its bytes copied out of the shared buffer), and a released socket can be adopted anew.
// If the first test fails, this Node lacks the onread fields: the relay and HTTP/1.1 reads fall
// back to streams (slower, still correct); look at onread.ts.
import assert from "node:assert/strict";
import { once } from "node:events";
import net, { type Socket } from "node:net";
import { test } from "node:test";
import { adoptReads, releaseReads, userReads } from "./onread.ts";

/** pair gives a connected client and the server's accepted socket (allowHalfOpen, nothing read yet). */
async function pair(): Promise<{ client: Socket; accepted: Socket; close: () => void }> {
  const server = net.createServer({ allowHalfOpen: true });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepting = once(server, "connection");
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  const [accepted] = (await accepting) as [Socket];
  await once(client, "connect");
  client.on("error", () => {});
  accepted.on("error", () => {});
  return {
    client,
    accepted,
    close: () => {
      client.destroy();
      accepted.destroy();
      server.close();
    },
  };
}

/** waitFor polls cond until it holds or the deadline passes. */
async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test("adoptReads: reads land in our buffer and reach the callback; pause, resume and 'end' still work", async () => {
  assert.equal(userReads, true, "this Node has no onread fields (see onread.ts)");
  const { client, accepted, close } = await pair();
  const buf = Buffer.alloc(16);
  let got = "";
  let inOurBuffer = true;
  assert.equal(
    adoptReads(accepted, buf, (data) => {
      inOurBuffer &&= data.buffer === buf.buffer;
      got += data.toString("latin1");
      return true;
    }),
    true,
  );
  client.write("hello, ");
  await waitFor(() => got === "hello, ", "first bytes");
  accepted.pause();
  // Once written, the bytes sit in accepted's receive queue (loopback); a few loop turns (each
  // polls for I/O) would deliver them if the handle still read.
  await new Promise((r) => client.write("world, longer than sixteen bytes", r));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.equal(got, "hello, ");
  accepted.resume();
  await waitFor(() => got === "hello, world, longer than sixteen bytes", "bytes after resume");
  const ended = once(accepted, "end");
  client.end();
  await ended;
  assert.equal(inOurBuffer, true);
  assert.equal(accepted.bytesRead, got.length);
  close();
});

test("adoptReads refuses a socket whose stream someone reads", async () => {
  const { accepted, close } = await pair();
  accepted.on("data", () => {});
  assert.equal(
    adoptReads(accepted, Buffer.alloc(16), () => true),
    false,
  );
  close();
});

test("releaseReads: the stream reads again, with copies; adoptReads takes the socket over again", async () => {
  const { client, accepted, close } = await pair();
  const shared = Buffer.alloc(64);
  let first = "";
  adoptReads(accepted, shared, (data) => {
    first += data.toString("latin1");
    return true;
  });
  client.write("one");
  await waitFor(() => first === "one", "adopted read");
  releaseReads(accepted);
  const chunks: Buffer[] = [];
  accepted.on("data", (d: Buffer) => chunks.push(d));
  client.write("two");
  await waitFor(() => chunks.length > 0, "'data' after release");
  // Another user of the shared buffer overwrites it: the stream's chunk must be a copy.
  shared.fill(0x78);
  assert.equal(Buffer.concat(chunks).toString("latin1"), "two");
  accepted.removeAllListeners("data");
  accepted.pause();
  const own = Buffer.alloc(64);
  let again = "";
  assert.equal(
    adoptReads(accepted, own, (data) => {
      // The first read still lands in the shared buffer (the handle moves on after it): copied.
      again += data.toString("latin1");
      shared.fill(0x79);
      return true;
    }),
    true,
  );
  accepted.resume();
  client.write("three");
  await waitFor(() => again === "three", "first read after re-adoption");
  client.write("four");
  await waitFor(() => again === "threefour", "second read after re-adoption");
  close();
});

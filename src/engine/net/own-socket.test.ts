// own-socket.test.ts: the own socket layer on real accepted TCP connections — reads reach the
// owner, writes (alone, corked into one writev, strings and buffers) arrive in order, a slow
// reader makes write() ask for backpressure and onDrain follows, end() half-closes (the peer sees
// the FIN and can still send), the peer's FIN is onEnd, destroy and the peer's reset are onClose
// once, the inactivity timer fires, and detach() hands the connection to a working net.Socket.
// If the first test fails, this Node lacks the stream_wrap pieces own-socket.ts drives: listeners
// keep Node's net.Socket path (slower, still correct); look at own-socket.ts.
import assert from "node:assert/strict";
import { once } from "node:events";
import net, { type Socket } from "node:net";
import { test } from "node:test";
import { OwnSocket, ownSockets, takeAccepts, type SocketOwner, type TcpHandle } from "./own-socket.ts";

/** Recorder is an owner that records what its socket tells it. */
class Recorder implements SocketOwner {
  data = "";
  ends = 0;
  drains = 0;
  timeouts = 0;
  closes = 0;
  onData(b: Buffer): void {
    this.data += b.toString("latin1");
  }
  onEnd(): void {
    this.ends++;
  }
  onDrain(): void {
    this.drains++;
  }
  onTimeout(): void {
    this.timeouts++;
  }
  onClose(): void {
    this.closes++;
  }
}

/** pair gives a connected client and an OwnSocket on the accepted handle, reading into a Recorder. */
async function pair(): Promise<{ client: Socket; own: OwnSocket; rec: Recorder; close: () => void }> {
  const server = net.createServer({ allowHalfOpen: true });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  let own: OwnSocket | undefined;
  assert.equal(
    takeAccepts(server, (h: TcpHandle) => {
      own = new OwnSocket(h);
      return true;
    }),
    true,
  );
  const client = net.connect({
    port: (server.address() as net.AddressInfo).port,
    host: "127.0.0.1",
    allowHalfOpen: true,
  });
  client.on("error", () => {});
  await once(client, "connect");
  await waitFor(() => own !== undefined, "accept");
  const rec = new Recorder();
  own!.start(rec);
  return {
    client,
    own: own!,
    rec,
    close: () => {
      client.destroy();
      own!.destroy();
      server.close();
    },
  };
}

/** waitFor polls cond until it holds or the deadline passes. */
async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function collect(s: Socket): { text: () => string; ended: () => boolean } {
  let text = "";
  let ended = false;
  s.on("data", (d: Buffer) => (text += d.toString("latin1")));
  s.on("end", () => (ended = true));
  return { text: () => text, ended: () => ended };
}

test("reads reach the owner; the peer's address is the client's; writes arrive in order, corked ones together", async () => {
  assert.equal(ownSockets, true, "this Node lacks the stream_wrap pieces (see own-socket.ts)");
  const { client, own, rec, close } = await pair();
  try {
    assert.equal(own.remoteAddress, "127.0.0.1");
    assert.equal(own.remotePort, client.localPort);
    assert.equal(own.localPort, client.remotePort);
    const got = collect(client);
    client.write("GET / HTTP/1.1\r\n\r\n");
    await waitFor(() => rec.data === "GET / HTTP/1.1\r\n\r\n", "the request");
    assert.equal(own.bytesRead, 18);
    assert.equal(own.write("one,"), true);
    own.cork();
    own.write("two,");
    own.write(Buffer.from("three,"));
    own.write("four");
    // Held: nothing has left yet.
    assert.equal(own.writableLength, 14);
    own.uncork();
    assert.equal(own.writableLength, 0);
    own.cork();
    own.write(Buffer.from("|five"));
    own.write(Buffer.from("|six"));
    own.uncork();
    await waitFor(() => got.text() === "one,two,three,four|five|six", "the writes");
  } finally {
    close();
  }
});

test("a reader that does not read: write() asks for backpressure, onDrain once it read everything", async () => {
  const { client, own, rec, close } = await pair();
  try {
    client.pause();
    const chunk = Buffer.alloc(256 * 1024, 120);
    let writes = 0;
    let sent = 0;
    while (writes < 200) {
      writes++;
      sent += chunk.length;
      if (!own.write(chunk)) break;
    }
    assert.ok(writes < 200, "write() never asked for backpressure");
    assert.ok(own.writableLength > 0);
    assert.equal(rec.drains, 0);
    let received = 0;
    client.on("data", (d: Buffer) => (received += d.length));
    client.resume();
    await waitFor(() => rec.drains === 1, "onDrain");
    assert.equal(own.writableLength, 0);
    await waitFor(() => received === sent, "every byte");
  } finally {
    close();
  }
});

test("end() half-closes: the peer sees the FIN and can still send; its FIN then closes the socket", async () => {
  const { client, own, rec, close } = await pair();
  try {
    const got = collect(client);
    own.cork();
    own.write("last words");
    own.end();
    assert.equal(own.writableEnded, true);
    await waitFor(() => got.ended(), "the FIN");
    assert.equal(got.text(), "last words");
    client.write("still talking");
    await waitFor(() => rec.data === "still talking", "bytes after our FIN");
    assert.equal(rec.closes, 0);
    client.end();
    await waitFor(() => rec.closes === 1, "close after both FINs");
    assert.equal(rec.ends, 1);
    assert.equal(own.destroyed, true);
  } finally {
    close();
  }
});

test("the peer's FIN is onEnd and the socket stays writable; destroy() is onClose once", async () => {
  const { client, own, rec, close } = await pair();
  try {
    const got = collect(client);
    client.end("bye");
    await waitFor(() => rec.ends === 1, "onEnd");
    assert.equal(rec.data, "bye");
    own.write("answer after your FIN");
    own.end();
    await waitFor(() => got.ended(), "our FIN");
    assert.equal(got.text(), "answer after your FIN");
    await waitFor(() => rec.closes === 1, "close");
    own.destroy();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(rec.closes, 1);
  } finally {
    close();
  }
});

test("a reset by the peer closes the socket; writes after it fail quietly", async () => {
  const { client, own, rec, close } = await pair();
  try {
    client.resetAndDestroy();
    await waitFor(() => rec.closes === 1, "close after the reset");
    assert.equal(own.write("nobody listens"), false);
  } finally {
    close();
  }
});

test("pause stops reading and resume starts it; the inactivity timer fires only without traffic", async () => {
  const { client, own, rec, close } = await pair();
  try {
    own.pause();
    assert.equal(own.isPaused(), true);
    client.write("held back");
    // Reading stopped: the bytes wait in the kernel while the loop turns.
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(rec.data, "");
    own.resume();
    await waitFor(() => rec.data === "held back", "the bytes after resume");
    own.setTimeout(40);
    await waitFor(() => rec.timeouts === 1, "the timeout");
    own.setTimeout(0);
  } finally {
    close();
  }
});

test("detach hands the connection to a net.Socket: held writes first, then the stream reads and writes", async () => {
  const { client, own, rec, close } = await pair();
  try {
    const got = collect(client);
    own.cork();
    own.write("HTTP/1.1 101 Switching Protocols\r\n\r\n");
    const s = own.detach();
    assert.ok(s instanceof net.Socket);
    let streamed = "";
    s.on("data", (d: Buffer) => (streamed += d.toString("latin1")));
    s.resume();
    client.write("frame one");
    await waitFor(() => streamed === "frame one", "a read through the stream");
    assert.equal(rec.data, "", "the owner heard nothing after detach");
    s.write("frame two");
    await waitFor(
      () => got.text() === "HTTP/1.1 101 Switching Protocols\r\n\r\nframe two",
      "writes in order",
    );
    // destroy on the own socket reaches the net.Socket; the owner is not told.
    own.destroy();
    await once(s, "close");
    assert.equal(rec.closes, 0);
  } finally {
    close();
  }
});

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
import { kernelHas, rxQueued } from "../../../test/support/tcp-queue.ts";
import {
  ownSockets,
  ownSocketsMissing,
  setFirstRead,
  takeAccepts,
  type OwnSocket,
  type SocketOwner,
  writeDirect,
} from "./own-socket.ts";

// TCP_PROTO is Node's native TCP handle class's prototype (what own-socket.ts probes).
const TCP_PROTO = (process as unknown as { binding(n: string): { TCP: { prototype: object } } }).binding(
  "tcp_wrap",
).TCP.prototype;

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
  const p = await accepted();
  const rec = new Recorder();
  p.own.start(rec);
  return { ...p, rec };
}

/** accepted gives a connected client and an OwnSocket on the accepted handle, not started. */
async function accepted(): Promise<{ client: Socket; own: OwnSocket; close: () => void }> {
  const server = net.createServer({ allowHalfOpen: true });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  let own: OwnSocket | undefined;
  assert.equal(
    takeAccepts(server, {
      wants: () => true,
      take: (s) => void (own = s),
      failed: (reason) => assert.fail(reason),
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
  return {
    client,
    own: own!,
    close: () => {
      client.destroy();
      own!.destroy();
      server.close();
    },
  };
}

/** startQueued starts own, reading into a new Recorder, once n bytes from client wait with the kernel. */
async function startQueued(client: Socket, own: OwnSocket, n: number): Promise<Recorder> {
  await waitFor(() => rxQueued(own.localPort!, client.localPort!) === n, "the bytes with the kernel");
  const rec = new Recorder();
  own.start(rec);
  return rec;
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
  assert.equal(ownSockets, true, `this Node lacks what own-socket.ts drives: ${ownSocketsMissing}`);
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

test("a reset by the peer closes the socket; writes after it are dropped and ask for no drain", async () => {
  const { client, own, rec, close } = await pair();
  try {
    client.resetAndDestroy();
    await waitFor(() => rec.closes === 1, "close after the reset");
    // false would leave a caller waiting for an onDrain that never comes.
    assert.equal(own.write("nobody listens"), true);
    assert.equal(own.write(Buffer.alloc(1 << 20)), true);
    assert.equal(rec.drains, 0);
  } finally {
    close();
  }
});

test("a write after end() destroys the socket (a net.Socket's write-after-end error does, through its owner)", async () => {
  const { client, own, rec, close } = await pair();
  try {
    const got = collect(client);
    own.write("answer");
    own.end();
    assert.equal(own.write("too late"), true);
    assert.equal(own.destroyed, true);
    await waitFor(() => rec.closes === 1, "close");
    await waitFor(() => got.ended(), "the client sees the connection end");
    assert.equal(got.text().includes("too late"), false);
  } finally {
    close();
  }
});

test("the peer's address: a failed getpeername is not kept, the next read asks the kernel again", async () => {
  // The kernel's getpeername does not fail on a connected socket on demand: the handle's method is
  // made to fail once (as it does with ENOTCONN), then the real one answers.
  const proto = TCP_PROTO as { getpeername(out: object): number };
  const real = proto.getpeername;
  let failOnce = true;
  proto.getpeername = function (this: unknown, out: object): number {
    if (!failOnce) return real.call(this, out);
    failOnce = false;
    return -107;
  };
  const { client, own, close } = await pair();
  try {
    assert.equal(own.remoteAddress, undefined);
    assert.equal(own.remotePort, client.localPort);
    assert.equal(own.remoteAddress, "127.0.0.1");
  } finally {
    proto.getpeername = real;
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

test("detach after a failed write: the socket returned is destroyed and closes, the tracker hears of it once", async () => {
  const { client, own, rec, close } = await pair();
  try {
    let trackerCloses = 0;
    own.tracker = { closed: () => void trackerCloses++ };
    // As ClientConn does after an Upgrade head with bytes after it: reading stops, so the reset is
    // found by the next write, the 101 that detach() flushes.
    own.pause();
    const ports = { local: own.localPort!, peer: client.localPort! };
    client.resetAndDestroy();
    await waitFor(() => !kernelHas(ports.local, ports.peer), "the reset to reach the accepted socket");
    own.cork();
    own.write("HTTP/1.1 101 Switching Protocols\r\n\r\n");
    const s = own.detach();
    assert.equal(own.destroyed, true);
    assert.equal(s.destroyed, true);
    let closes = 0;
    s.on("close", () => closes++);
    s.on("error", () => {});
    await waitFor(() => closes === 1 && trackerCloses === 1, "the socket's close and the tracker's");
    // The owner let go at detach: it hears of the close through the returned socket.
    assert.equal(rec.closes, 0);
    assert.equal(own.detach(), s);
    own.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(trackerCloses, 1);
  } finally {
    close();
  }
});

test("writes right after an async write completed, from onDrain and from a promise, go async on new requests", async () => {
  // Node detaches a completed write request from C++ only after its callback and the ticks and
  // microtasks it runs; a write that reused it there and went async aborted the process.
  const { client, own, rec, close } = await pair();
  try {
    client.pause();
    const big = Buffer.alloc(8 << 20, 0x61);
    let drains = 0;
    let queued = 0;
    let resolveDrain: (() => void) | undefined;
    rec.onDrain = () => {
      drains++;
      // From inside the completion callback: onDrain runs synchronously in it.
      if (drains === 1) {
        queued++;
        own.write(big);
      }
      resolveDrain?.();
    };
    assert.equal(own.write(big), false, "8 MiB to a reader that does not read went async");
    queued++;
    let received = 0;
    client.on("data", (d: Buffer) => (received += d.length));
    client.resume();
    await waitFor(() => drains === 1, "the first drain");
    // From a promise continuation resolved by the next completion's onDrain.
    const next = new Promise<void>((r) => (resolveDrain = r));
    void next.then(() => {
      queued++;
      own.write(big);
      own.write(big);
      queued++;
    });
    await waitFor(() => drains >= 2, "the second drain");
    await next;
    await waitFor(() => received === queued * big.length, "every byte");
    assert.equal(own.destroyed, false);
  } finally {
    close();
  }
});

test("writeDirect: on a connected net.Socket the bytes go straight to the handle, in order with the socket's own writes; not before connect", async () => {
  let got = "";
  const server = net.createServer((s) => s.on("data", (d: Buffer) => (got += d.toString("latin1"))));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const c = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  assert.equal(
    writeDirect(c, "early"),
    false,
    "a connecting socket queues in its Writable: the caller writes there",
  );
  await once(c, "connect");
  // A large string goes partly async: the socket's next write still lands after it.
  const big = "x".repeat(4 << 20);
  assert.equal(writeDirect(c, "GET / HTTP/1.1\r\n"), true);
  assert.equal(writeDirect(c, big), true);
  c.write("tail", "latin1");
  const want = "GET / HTTP/1.1\r\n".length + big.length + 4;
  const deadline = Date.now() + 10_000;
  while (got.length < want && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.equal(got.length, want);
  assert.ok(got.startsWith("GET / HTTP/1.1\r\nxxx") && got.endsWith("xtail"));
  c.destroy();
  server.close();
});

test("writeDirect: a write the kernel refuses destroys the socket with the error's code", async () => {
  const server = net.createServer((s) => s.resume());
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const c = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  const errors: NodeJS.ErrnoException[] = [];
  c.on("error", (e: NodeJS.ErrnoException) => errors.push(e));
  // (events.once would reject on the error event: the close is awaited on its own.)
  const closed = new Promise((r) => c.on("close", r));
  await once(c, "connect");
  // After our FIN the handle refuses writes (EPIPE): what a write to a broken connection meets.
  c.end();
  await once(c, "finish");
  assert.equal(writeDirect(c, "GET / HTTP/1.1\r\n\r\n"), true);
  await closed;
  assert.equal(c.destroyed, true);
  assert.deepEqual(
    errors.map((e) => [e.code, e.syscall]),
    [["EPIPE", "write"]],
  );
  server.close();
});

test("the first read is taken at start: bytes already waiting reach the owner inside start(), a pause there keeps the socket from reading on", async () => {
  const { client, own, close } = await accepted();
  try {
    client.write("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    await waitFor(() => rxQueued(own.localPort!, client.localPort!) === 37, "the request with the kernel");
    // The owner pauses in onData, as a ClientConn does after a Connection: close request.
    const rec = new Recorder();
    const onData = rec.onData.bind(rec);
    rec.onData = (b) => {
      onData(b);
      if (rec.data.length === b.length) own.pause();
    };
    own.start(rec);
    assert.equal(rec.data, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "read within start()");
    assert.equal(own.bytesRead, 37);
    // Paused: what comes next stays with the kernel until resume.
    client.write("more");
    await waitFor(() => rxQueued(own.localPort!, client.localPort!) === 4, "the next bytes with the kernel");
    assert.equal(rec.data.endsWith("more"), false);
    own.resume();
    await waitFor(() => rec.data.endsWith("more"), "the bytes after resume");
    // The peer's FIN still comes through the event loop.
    client.end();
    await waitFor(() => rec.ends === 1, "the FIN");
    own.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    own.destroy();
    await waitFor(() => rec.closes === 1, "the close");
  } finally {
    close();
  }
});

test("the first read at start: nothing waiting reads as usual; FIN or reset already waiting end or close the socket", async () => {
  // Nothing there yet: start reads nothing now, the request comes through the event loop.
  {
    const { client, own, close } = await accepted();
    try {
      const rec = new Recorder();
      own.start(rec);
      assert.equal(rec.data, "");
      client.write("hello");
      await waitFor(() => rec.data === "hello", "the bytes");
    } finally {
      close();
    }
  }
  // Bytes and the FIN waiting: the bytes at start, the FIN right after.
  {
    const { client, own, close } = await accepted();
    try {
      client.end("bye");
      const rec = await startQueued(client, own, 3);
      assert.equal(rec.data, "bye");
      await waitFor(() => rec.ends === 1, "the FIN");
      assert.equal(own.destroyed, false, "a FIN half-closes: still writable");
    } finally {
      close();
    }
  }
  // A reset waiting: the socket closes, the owner hears onClose once.
  {
    const { client, own, close } = await accepted();
    try {
      const local = own.localPort!;
      const peer = client.localPort!;
      client.resetAndDestroy();
      await waitFor(() => !kernelHas(local, peer), "the reset with the kernel");
      const rec = new Recorder();
      own.start(rec);
      await waitFor(() => rec.closes === 1, "the close");
      assert.equal(own.destroyed, true);
    } finally {
      close();
    }
  }
});

test("with the first read off (setFirstRead(false)), bytes waiting at start come through the event loop", async () => {
  setFirstRead(false);
  try {
    const { client, own, close } = await accepted();
    try {
      client.write("hello");
      const rec = await startQueued(client, own, 5);
      assert.equal(rec.data, "", "not read within start()");
      await waitFor(() => rec.data === "hello", "the bytes");
    } finally {
      close();
    }
  } finally {
    setFirstRead(true);
  }
});

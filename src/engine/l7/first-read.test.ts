// first-read.test.ts: a plain connection whose first bytes are already with the kernel when it is
// accepted is served from the own socket layer's first read (inside OwnSocket.start): a
// Connection: close request is answered, and an h2c prior-knowledge connection handed off from
// that read stays open past the header timeout (the ClientConn it left must not re-arm the
// coarse sweep, which would close the HTTP/2 connection as a silent client after 5 s).
import assert from "node:assert/strict";
import { once } from "node:events";
import http2 from "node:http2";
import net from "node:net";
import { test } from "node:test";
import { kernelHas, peerClosed, rxQueued } from "../../../test/support/tcp-queue.ts";
import { COARSE_MIN_MS, SWEEP_MS } from "../net/coarse-timer.ts";
import { takeAccepts, type OwnSocket } from "../net/own-socket.ts";
import { compileHttpWith } from "./compile.ts";
import { defaultLimits } from "./runtime.ts";
import { RecordingBackend, RoundRobinUpstreams, catchAllListener, poolOf, snapshotOf } from "./testing.ts";

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/** okBackend answers every read with a 200 "ok". */
function okBackend(): Promise<RecordingBackend> {
  return new RecordingBackend((_d, s) => s.write(OK)).start();
}

/** connected opens a client connection to port and collects what it receives. */
async function connected(port: number, allowHalfOpen = false) {
  const client = net.connect({ port, host: "127.0.0.1", allowHalfOpen });
  await once(client, "connect");
  const seen = { text: "" };
  client.on("data", (d: Buffer) => (seen.text += d.toString("latin1")));
  client.on("error", () => {});
  return { client, seen };
}

/**
 * engine listens with a catch-all route to backend; each accepted connection is handed to the
 * handler only once `bytes` of it wait with the kernel (or `ready` says so), so its first read
 * finds them.
 */
async function engine(
  backend: RecordingBackend,
  bytes: number,
  ready?: (port: number, peer: number) => boolean,
) {
  const pools = { p: poolOf("p", [backend.port]) };
  const listener = catchAllListener("first-read", { idleTimeoutMs: 60_000 });
  const handler = compileHttpWith(
    listener,
    { snapshot: snapshotOf(listener, pools), upstreams: new RoundRobinUpstreams(pools), log: () => {} },
    // The coarse sweep is the connection's timer from COARSE_MIN_MS on.
    { ...defaultLimits, headerTimeoutMs: COARSE_MIN_MS },
  );
  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted: OwnSocket[] = [];
  assert.equal(
    takeAccepts(server, { wants: () => true, take: (s) => void accepted.push(s), failed: assert.fail }),
    true,
  );
  const port = (server.address() as net.AddressInfo).port;
  const serveWhenQueued = async (clientPort: number) => {
    await waitFor(() => accepted.length > 0, "the accept");
    const s = accepted.shift()!;
    const there = ready ?? ((p: number, c: number) => rxQueued(p, c) >= bytes);
    await waitFor(() => there(port, clientPort), "the first bytes with the kernel");
    // closed says when the connection's handle closed (no descriptor left behind).
    const closed = { done: false };
    s.tracker = { closed: () => void (closed.done = true) };
    handler.onHandle!(s);
    return closed;
  };
  return { port, serveWhenQueued, accepted, close: () => server.close() };
}

test("a Connection: close request waiting at accept is answered from the first read", async () => {
  const backend = await okBackend();
  const e = await engine(backend, 10);
  try {
    const { client, seen } = await connected(e.port);
    client.write("GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    await e.serveWhenQueued(client.localPort!);
    await once(client, "end");
    assert.match(seen.text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
    assert.match(backend.received, /^GET \/x HTTP\/1\.1\r\n/);
    client.destroy();
  } finally {
    e.close();
    backend.close();
  }
});

test("h2c prior knowledge handed off from the first read outlives the header timeout", async () => {
  const backend = await okBackend();
  const e = await engine(backend, 24);
  const client = net.connect(e.port, "127.0.0.1");
  await once(client, "connect");
  // The session writes the preface at once; the engine takes the connection once it is queued.
  const session = http2.connect(`http://127.0.0.1:${e.port}`, { createConnection: () => client });
  session.on("error", () => {});
  try {
    const served = e.serveWhenQueued(client.localPort!);
    const get = async () => {
      const req = session.request({ ":path": "/h2" });
      req.end();
      const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
      req.resume();
      await once(req, "end");
      return headers[":status"];
    };
    await served;
    assert.equal(await get(), 200);
    // Past the header timeout and two sweeps: a connection still watched would be closed by now.
    const until = performance.now() + COARSE_MIN_MS + 3 * SWEEP_MS;
    await waitFor(
      () => performance.now() > until || session.closed || client.destroyed,
      "the timeout",
      10_000,
    );
    assert.equal(client.destroyed, false, "the HTTP/2 connection was closed");
    assert.equal(await get(), 200);
  } finally {
    session.destroy();
    e.close();
    backend.close();
  }
});

// The cases below queue more, or odder, bytes at accept than one request head: the first read
// must hand everything on in order and leave the rest to libuv.

test("a POST body larger than the first read, queued at accept, reaches the backend whole", async () => {
  const size = 150_000;
  let body = 0;
  const backend = await new RecordingBackend((d, s) => {
    const at = d.indexOf("\r\n\r\n");
    body += at >= 0 ? d.length - at - 4 : d.length;
    if (body >= size) s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  }).start();
  // More than the 64 KiB read buffer waits with the kernel when the connection is taken.
  const e = await engine(backend, 70_000);
  try {
    const { client, seen } = await connected(e.port);
    client.write(`POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`);
    client.write(Buffer.alloc(size, 0x61));
    await e.serveWhenQueued(client.localPort!);
    await once(client, "end");
    assert.match(seen.text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
    assert.equal(body, size);
    assert.equal(backend.received.slice(-size), "a".repeat(size));
    client.destroy();
  } finally {
    e.close();
    backend.close();
  }
});

test("pipelined requests queued at accept are all answered, in order", async () => {
  const backend = await new RecordingBackend((d, s) => {
    for (const m of d.matchAll(/GET \/(\w+)/g))
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${m[1]!.length}\r\n\r\n${m[1]}`);
  }).start();
  const reqs = ["one", "two", "three"].map((p) => `GET /${p} HTTP/1.1\r\nHost: h\r\n\r\n`).join("");
  const e = await engine(backend, reqs.length);
  try {
    const { client, seen } = await connected(e.port);
    client.write(reqs + "GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    const closed = await e.serveWhenQueued(client.localPort!);
    await once(client, "end");
    client.end();
    await waitFor(() => closed.done, "the engine's side closed after the client's FIN");
    const bodies = [...seen.text.matchAll(/\r\n\r\n([a-z]+)/g)].map((m) => m[1]);
    assert.deepEqual(bodies, ["one", "two", "three", "last"]);
    client.destroy();
  } finally {
    e.close();
    backend.close();
  }
});

test("a request and the client's FIN queued at accept: answered, then closed", async () => {
  const backend = await okBackend();
  const e = await engine(backend, 10);
  try {
    const { client, seen } = await connected(e.port, true);
    client.end("GET /fin HTTP/1.1\r\nHost: h\r\n\r\n");
    const closed = await e.serveWhenQueued(client.localPort!);
    await once(client, "end");
    assert.match(seen.text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
    await waitFor(() => closed.done, "the engine's side closed");
    client.destroy();
  } finally {
    e.close();
    backend.close();
  }
});

test("a connection closed before its first read is closed, nothing served", async () => {
  const backend = await new RecordingBackend().start();
  // Taken once the client's FIN is with the kernel: the first read returns 0 (end of stream).
  const e = await engine(backend, 0, peerClosed);
  try {
    const { client } = await connected(e.port, true);
    const clientPort = client.localPort!;
    client.end();
    const closed = await e.serveWhenQueued(clientPort);
    // The FIN is all there is: the engine's side closes too (no half-open connection left).
    await once(client, "end");
    await waitFor(() => closed.done, "the own socket's close");
    assert.equal(backend.connections, 0);
    client.destroy();
    await waitFor(() => !kernelHas(e.port, clientPort), "the kernel's connection gone", 5000);
  } finally {
    e.close();
    backend.close();
  }
});

test("h2c preface and a request queued together at accept: the request is served", async () => {
  const backend = await okBackend();
  // Preface (24) + SETTINGS (9+) + HEADERS: more than the preface waits with the kernel.
  const e = await engine(backend, 60);
  const client = net.connect(e.port, "127.0.0.1");
  await once(client, "connect");
  const session = http2.connect(`http://127.0.0.1:${e.port}`, { createConnection: () => client });
  session.on("error", () => {});
  try {
    const req = session.request({ ":path": "/together" });
    req.end();
    req.on("error", () => {});
    await e.serveWhenQueued(client.localPort!);
    const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    await once(req, "end");
    assert.equal(headers[":status"], 200);
    assert.equal(body, "ok");
    assert.match(backend.received, /^GET \/together HTTP\/1\.1\r\n/);
  } finally {
    session.destroy();
    e.close();
    backend.close();
  }
});

test("a WebSocket upgrade and its first frame queued at accept: both reach the backend", async () => {
  const backend = await new RecordingBackend((d, s) => {
    if (d.startsWith("GET /ws"))
      s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  }).start();
  const head =
    "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const e = await engine(backend, head.length + 5);
  try {
    const { client, seen } = await connected(e.port);
    client.write(head + "FRAME");
    await e.serveWhenQueued(client.localPort!);
    await waitFor(() => backend.received.endsWith("FRAME"), "the frame at the backend");
    await waitFor(() => seen.text.startsWith("HTTP/1.1 101"), "the 101");
    // The tunnel carries bytes both ways after the hand-off.
    client.write("MORE");
    await waitFor(() => backend.received.endsWith("FRAMEMORE"), "later bytes at the backend");
    assert.equal(
      backend.received.indexOf("FRAME"),
      backend.received.lastIndexOf("FRAME"),
      "FRAME duplicated",
    );
    client.destroy();
  } finally {
    e.close();
    backend.close();
  }
});

test("a malformed request queued at accept is answered 400 and the connection closed", async () => {
  const backend = await new RecordingBackend().start();
  const e = await engine(backend, 10);
  try {
    const { client, seen } = await connected(e.port);
    client.write("GET /x HTTP/1.1\r\nHo st: h\r\n\r\n");
    await e.serveWhenQueued(client.localPort!);
    await once(client, "close");
    assert.match(seen.text, /^HTTP\/1\.1 400 /);
    assert.equal(backend.connections, 0);
  } finally {
    e.close();
    backend.close();
  }
});

// upstream-hold.test.ts: a body-less request to a pooled backend connection is held to the end of
// the event-loop turn and written then straight to the TCP handle (UpstreamConn.holdHead), not
// through the socket's Writable (docs/performance.md, "The backend write on the handle"). What
// must hold: the backend gets the head once, whole, after the turn; nothing reaches a connection
// destroyed before the release; where the handle cannot be written directly, holdHead declines.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import http2 from "node:http2";
import { once } from "node:events";
import { poolOf, proxyRoute, RecordingBackend } from "./testing.ts";
import type { Route } from "../../model/ir.ts";
import { UpstreamPool, type UpstreamConn } from "./upstream.ts";
import { ownSocketsSetting } from "../net/accept-path.ts";

// Each accepted backend connection's bytes, in accept order.
async function backend(): Promise<{ port: number; got: string[]; accepted: () => number }> {
  const got: string[] = [];
  const open: net.Socket[] = [];
  const server = net.createServer((s) => {
    open.push(s);
    const i = got.push("") - 1;
    s.setEncoding("latin1");
    s.on("data", (d: string) => (got[i] += d));
    s.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  after(() => {
    server.close();
    for (const s of open) s.destroy();
  });
  return { port: (server.address() as net.AddressInfo).port, got, accepted: () => got.length };
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

// connected opens a pooled connection to port and waits until it is up.
async function connected(pool: UpstreamPool, port: number): Promise<UpstreamConn> {
  const endpoint = poolOf("b", [port]).endpoints[0]!;
  const c = pool.acquire({ id: "b", address: "127.0.0.1", port, endpoint }, 5_000);
  await until("the backend connection is up", () => c.connected);
  return c;
}

const HEAD = "GET / HTTP/1.1\r\nHost: b.test\r\n\r\n";
const direct = ownSocketsSetting() !== false;

test("a held request head leaves once, whole, at the end of the turn", { skip: !direct }, async () => {
  const b = await backend();
  const pool = new UpstreamPool();
  after(() => pool.close());
  const c = await connected(pool, b.port);
  await until("the backend accepted", () => b.accepted() === 1);
  assert.equal(c.holdHead(HEAD), true, "a connected plain-TCP connection takes the head");
  assert.equal(c.holdHead(HEAD), false, "one request at a time: a second is refused while one is held");
  await until("the head arrived", () => b.got[0] === HEAD);
  // The release wrote it: another turn brings nothing more.
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(b.got[0], HEAD);
});

test(
  "a head held on a connection destroyed before the release never reaches the backend",
  { skip: !direct },
  async () => {
    const b = await backend();
    const pool = new UpstreamPool();
    after(() => pool.close());
    const c = await connected(pool, b.port);
    assert.equal(c.holdHead(HEAD), true);
    c.destroy();
    // A second connection's head arrives turns after the first's release: by then that had its chance.
    const d = await connected(pool, b.port);
    assert.equal(d.holdHead(HEAD), true);
    await until("the second connection's head arrived", () => b.got[1] === HEAD);
    assert.equal(b.got[0], "", "the destroyed connection sent nothing");
  },
);

test("holdHead declines a connection not yet connected: the caller writes through the socket", async () => {
  const b = await backend();
  const pool = new UpstreamPool();
  after(() => pool.close());
  const endpoint = poolOf("b", [b.port]).endpoints[0]!;
  const c = pool.acquire({ id: "b", address: "127.0.0.1", port: b.port, endpoint }, 5_000);
  assert.equal(c.connected, false);
  assert.equal(c.holdHead(HEAD), false);
  c.destroy();
});

// The inactivity timeout of a busy backend connection (a route's backend timeout under the coarse
// sweep's 5 s, kept on the socket's own timer) counts from the request's write, as a write through
// the socket restarts that timer. A head written on the handle must restart it too (the HTTP/1.1
// front's held head, the HTTP/2 front's writeHead): else a pooled connection idle for most of the
// timeout times out its next request early (504), though the backend answers well inside the
// timeout counted from the request.
const TIMEOUT = 1000;
const IDLE = 700;
const SLOW = 600;

// slowSecond starts a backend answering its first request at once and the others after SLOW, and a
// proxy to it whose route's backend timeout is TIMEOUT.
async function slowSecond(): Promise<{ backend: RecordingBackend; port: number }> {
  let requests = 0;
  const backend = await new RecordingBackend((data, s) => {
    if (!data.endsWith("\r\n\r\n")) return;
    const answer = () => s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    if (++requests === 1) answer();
    else setTimeout(answer, SLOW);
  }).start();
  after(() => backend.close());
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    backendTimeoutMs: TIMEOUT,
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
  };
  const { server, port } = await proxyRoute(route, { p: poolOf("p", [backend.port]) });
  after(() => server.close());
  return { backend, port };
}

// idle lets the pooled backend connection sit idle for IDLE ms (the scenario, not a synchronisation).
async function idle(): Promise<void> {
  const from = Date.now();
  await until("the idle gap passed", () => Date.now() - from >= IDLE);
}

test("HTTP/1.1 front: a held head written on the handle restarts the backend timeout", async () => {
  const { backend, port } = await slowSecond();
  const client = net.connect(port, "127.0.0.1");
  after(() => client.destroy());
  let got = "";
  client.setEncoding("latin1").on("data", (d: string) => (got += d));
  const responses = () => got.split("HTTP/1.1 ").length - 1;
  client.write("GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\n");
  await until("the first response", () => got.endsWith("ok"));
  await idle();
  client.write("GET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n");
  // Its whole answer: the backend's body, or the proxy's 504 text.
  await until("the second response", () => responses() === 2 && /\r\n\r\n(ok|.*in time\n)$/.test(got));
  assert.equal(backend.connections, 1, "the second request reused the pooled connection");
  assert.match(
    got.slice(got.lastIndexOf("HTTP/1.1 ")),
    /^HTTP\/1\.1 200 /,
    "the second request got its answer, not a timeout",
  );
});

test("HTTP/2 front: a head written on the handle (writeHead) restarts the backend timeout", async () => {
  const { backend, port } = await slowSecond();
  const session = http2.connect(`http://127.0.0.1:${port}`);
  after(() => session.close());
  session.on("error", () => {});
  const get = async (path: string): Promise<number> => {
    const req = session.request({ ":path": path, ":authority": "a.test" });
    req.resume();
    const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
    await once(req, "end");
    return Number(headers[":status"]);
  };
  assert.equal(await get("/1"), 200);
  await idle();
  assert.equal(await get("/2"), 200, "the second request got its answer, not a timeout");
  assert.equal(backend.connections, 1, "the second request reused the pooled connection");
});

// pooled starts a raw backend (handle sets up each connection, kept in sockets), a proxy to it,
// and a client whose first request was answered ("ok"): its backend connection is in the pool.
async function pooled(
  handle: (s: net.Socket) => void,
): Promise<{ sockets: net.Socket[]; client: net.Socket; got: () => string }> {
  const sockets: net.Socket[] = [];
  const backend = net.createServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    handle(s);
  });
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  after(() => {
    backend.close();
    for (const s of sockets) s.destroy();
  });
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
  };
  const bport = (backend.address() as net.AddressInfo).port;
  const { server, port } = await proxyRoute(route, { p: poolOf("p", [bport]) });
  after(() => server.close());
  const client = net.connect(port, "127.0.0.1");
  after(() => client.destroy());
  let got = "";
  client.setEncoding("latin1").on("data", (d: string) => (got += d));
  client.write("GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\n");
  await until("the first response", () => got.endsWith("ok"));
  return { sockets, client, got: () => got };
}

// The keep-alive race with the head held: the backend closes (FIN or RST) its idle pooled
// connection in the same turn as a request takes it. Whichever of the two the proxy reads first,
// the request is answered by a retry on a new connection, never with a 502.
for (const how of ["FIN", "RST"] as const) {
  test(`a backend closing the pooled connection (${how}) as the held request takes it: the retry answers`, async () => {
    const { sockets, client, got } = await pooled((s) =>
      s.on("data", () => s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
    );
    // Both in the kernel before the proxy's next poll, the request first (epoll reports in order
    // of readiness: the request is read, and its head held, before the close is): a connected
    // socket's write is tried at once, and the backend handle's fd closes now.
    client.write("GET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n");
    if (how === "FIN") sockets[0]!.destroy();
    else sockets[0]!.resetAndDestroy();
    await until(
      "the second response",
      () => got().split("HTTP/1.1 ").length === 3 && /\r\n\r\n[^\r]+$/.test(got()),
    );
    assert.match(got().slice(got().lastIndexOf("HTTP/1.1 ")), /^HTTP\/1\.1 200 /, got());
    assert.equal(sockets.length, 2, "the retry went on a new connection");
  });
}

// A WebSocket upgrade is a request without a body: on a pooled connection its head is held. The
// client's first frame, sent with the head before the 101, must reach the backend after the head.
test("a WebSocket upgrade on a pooled connection: the held head, then the 101, then the client's early bytes", async () => {
  const seen: string[] = [];
  const { sockets, client, got } = await pooled((s) => {
    let read = "";
    let tunnel = false;
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      if (tunnel) return void (seen.push(d), s.write(`echo:${d}`));
      read += d;
      if (!read.includes("\r\n\r\n")) return;
      const head = read.slice(0, read.indexOf("\r\n\r\n") + 4);
      const rest = read.slice(head.length);
      read = "";
      seen.push(head.split("\r\n")[0]!);
      if (!/upgrade: websocket/i.test(head))
        return void s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      tunnel = true;
      s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
      if (rest !== "") {
        seen.push(rest);
        s.write(`echo:${rest}`);
      }
    });
  });
  client.write(
    "GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nEARLY",
  );
  await until("the early bytes' echo", () => got().endsWith("echo:EARLY"));
  assert.equal(sockets.length, 1, "the upgrade reused the pooled connection");
  assert.deepEqual(seen, ["GET /1 HTTP/1.1", "GET /ws HTTP/1.1", "EARLY"]);
});

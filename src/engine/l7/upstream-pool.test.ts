// upstream-pool.test.ts: the backend pool keeps every connection a burst used, so the next burst
// of the same size reuses them all instead of closing the surplus and opening it again (at an idle
// cap of 256, h2-tls's 640 concurrent streams opened a new backend connection for about half
// their requests: docs/performance.md, "HTTP/2 on the own codec").
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { poolOf, proxyAll } from "./testing.ts";
import { UpstreamPool, type UpstreamOwner } from "./upstream.ts";

const N = 300;

test(`a burst of ${N} concurrent requests, then another: the second reuses all ${N} backend connections`, async () => {
  // The backend holds every request until all N are in: the pool has N connections busy at once.
  let accepted = 0;
  let waiting: net.Socket[] = [];
  const held: net.Socket[] = [];
  const backend = net.createServer((s) => {
    accepted++;
    held.push(s);
    s.on("data", () => {
      waiting.push(s);
      if (waiting.length < N) return;
      for (const w of waiting) w.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      waiting = [];
    });
    s.on("error", () => {});
  });
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  const { server, port } = await proxyAll("pool", (backend.address() as net.AddressInfo).port);
  const clients: net.Socket[] = [];
  after(() => {
    for (const c of clients) c.destroy();
    server.close();
    backend.close();
    for (const s of held) s.destroy();
  });
  for (let i = 0; i < N; i++) {
    const c = net.connect(port, "127.0.0.1");
    c.setEncoding("latin1");
    clients.push(c);
  }
  await Promise.all(clients.map((c) => once(c, "connect")));
  // burst sends one request on every client connection and waits for every answer.
  const burst = () =>
    Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((done, fail) => {
            let got = "";
            const onData = (d: string) => {
              got += d;
              if (!got.endsWith("\r\n\r\nok")) return;
              c.off("data", onData);
              assert.match(got, /^HTTP\/1\.1 200 /);
              done();
            };
            c.on("data", onData);
            c.once("error", fail);
            c.write("GET / HTTP/1.1\r\nHost: pool.test\r\n\r\n");
          }),
      ),
    );
  await burst();
  assert.equal(accepted, N, "the first burst opened one backend connection per request");
  await burst();
  assert.equal(accepted, N, "the second burst found every connection of the first in the pool");
});

test("the pool's idle connections are capped across backends: past the cap a released connection is closed, not parked", async () => {
  const backend = net.createServer((s) => s.on("error", () => {}));
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  const port = (backend.address() as net.AddressInfo).port;
  const pool = new UpstreamPool(2);
  after(() => {
    pool.close();
    backend.close();
  });
  // Three backends (distinct ids, one listener): one connection each, all released reusable.
  const endpoint = poolOf("b", [port]).endpoints[0]!;
  const conns = [1, 2, 3].map((i) =>
    pool.acquire({ id: `b${i}`, address: "127.0.0.1", port, endpoint }, 5_000),
  );
  for (const c of conns) c.release(true);
  assert.equal(pool.idleCount(), 2, "two parked: the cap");
  // Taking one out and giving it back fits under the cap again.
  const again = pool.acquire(conns[0]!.backend, 5_000);
  assert.equal(again, conns[0], "the parked connection is reused");
  assert.equal(pool.idleCount(), 1);
  again.release(true);
  assert.equal(pool.idleCount(), 2);
  // A parked connection closed by either side leaves room for another.
  conns[1]!.destroy();
  assert.equal(pool.idleCount(), 1);
});

test("a parked connection closes after the pool's idle timeout, not after the timeout of the route it served last", async () => {
  let closed = 0;
  const backend = net.createServer((s) => {
    s.on("error", () => {});
    s.on("close", () => closed++);
  });
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  const port = (backend.address() as net.AddressInfo).port;
  const IDLE_MS = 200;
  const pool = new UpstreamPool(8, IDLE_MS);
  after(() => {
    pool.close();
    backend.close();
  });
  const endpoint = poolOf("b", [port]).endpoints[0]!;
  const conn = pool.acquire({ id: "b", address: "127.0.0.1", port, endpoint }, 5_000);
  await once(conn.socket, "connect");
  // The owner is the test: an exchange whose route's backend timeout is a minute, ended cleanly.
  const owner: UpstreamOwner = {
    onUpstreamFailure() {},
    onUpgrade() {},
    onUpstreamDrain() {},
    onBegin() {},
    onHead: () => false,
    onBody() {},
    onTrailers() {},
    onComplete() {},
  };
  conn.attach(owner, 60_000);
  conn.release(true);
  assert.equal(pool.idleCount(), 1, "parked");
  // Polled with a deadline far past the idle timeout and far short of the route's minute: the
  // connection used to keep the route's timeout while parked, so it was still open at the deadline.
  const deadline = Date.now() + 20_000;
  while ((pool.idleCount() !== 0 || closed === 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(pool.idleCount(), 0, "the idle connection left the pool");
  assert.equal(closed, 1, "and the backend saw it close");
});

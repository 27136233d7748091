// Flow control and timeouts end to end: large bodies both ways (backpressure keeps them intact),
// client idle timeout, listener request timeout, backend closing pooled connections.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import { createHash } from "node:crypto";
import type { HttpListener } from "../../src/model/ir.ts";
import { compileHttp } from "../../src/engine/l7/compile.ts";
import { COARSE_MIN_MS, SWEEP_MS, watchedCount } from "../../src/engine/net/coarse-timer.ts";
import { sharedPool } from "../../src/engine/l7/upstream.ts";
import {
  INTERNALS,
  RoundRobinUpstreams,
  catchAllListener,
  listen,
  poolOf,
  proxyErrors,
  rawExchange,
  snapshotOf,
} from "../../src/engine/l7/testing.ts";

const big = Buffer.alloc(8 * 1024 * 1024, "abcdefghijklmnopqrstuvwxyz0123456789");
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let lastDownload: http.ServerResponse | undefined;
/** backendUnsent is how many bytes the backend's last download response could not write yet. */
function backendUnsent(): number {
  return lastDownload?.socket?.writableLength ?? 0;
}
const backend = http.createServer((req, res) => {
  if (req.url === "/download") {
    lastDownload = res;
    res.end(big);
    return;
  }
  if (req.url === "/slow") return; // never answers
  if (req.url === "/close") res.setHeader("Connection", "close");
  const h = createHash("sha256");
  let n = 0;
  req.on("data", (d: Buffer) => {
    n += d.length;
    h.update(d);
  });
  req.on("end", () => res.end(`${n} ${h.digest("hex")}`));
});
backend.listen(0, "127.0.0.1");
await once(backend, "listening");
const pools = { p: poolOf("p", [(backend.address() as net.AddressInfo).port]) };
const listener = catchAllListener("flow:80", { requestTimeoutMs: 300, idleTimeoutMs: 200 });
// /slow keeps the listener's 300 ms request timeout (the 504 test); the big transfers get a route
// timeout of their own, since 8 MiB both ways can take longer than 300 ms on a loaded machine.
const catchAll = listener.virtualHosts[0]!.routes[0]!;
listener.virtualHosts[0]!.routes = [
  { ...catchAll, match: { path: { type: "Exact", value: "/slow" } } },
  { ...catchAll, timeoutMs: 60_000 },
];
const upstreams = new RoundRobinUpstreams(pools);
const handler = {
  current: compileHttp(listener, { snapshot: snapshotOf(listener, pools), upstreams, log: () => {} }),
};
const { server, port } = await listen(handler);
after(() => {
  server.close();
  backend.closeAllConnections();
  backend.close();
});

function request(path: string, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: body ? "POST" : "GET", agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

test("an 8 MiB upload and download pass intact (Content-Length both ways)", async () => {
  const up = await request("/upload", big);
  assert.equal(up.body.toString(), `${big.length} ${sha(big)}`);
  const down = await request("/download");
  assert.equal(down.body.length, big.length);
  assert.equal(sha(down.body), sha(big));
});

test("a slow reader gets the whole download (backend reads pause and resume)", async () => {
  const s = net.connect(port, "127.0.0.1");
  s.write("GET /download HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  s.pause();
  lastDownload = undefined;
  // Backpressure must travel back to the backend: poll (with a deadline) until the backend's own
  // socket holds unsent bytes because the proxy stopped reading it.
  const deadline = performance.now() + 5000;
  while (backendUnsent() === 0) {
    assert.ok(performance.now() < deadline, "backend never saw backpressure");
    await new Promise((r) => setImmediate(r));
  }
  s.resume();
  const parts: Buffer[] = [];
  s.on("data", (d: Buffer) => parts.push(d));
  await once(s, "close");
  const all = Buffer.concat(parts);
  const body = all.subarray(all.indexOf("\r\n\r\n") + 4);
  assert.equal(sha(body), sha(big));
});

test("the listener's request timeout answers 504", async () => {
  const errs = proxyErrors();
  const r = await request("/slow");
  await errs.stop();
  assert.equal(r.status, 504);
  assert.doesNotMatch(r.body.toString(), INTERNALS);
  assert.match(errs.errors.join("\n"), /request timed out after 300 ms on route r/);
  assert.ok(
    upstreams.log.includes(`end p ${pools.p.endpoints[0]!.address}:${pools.p.endpoints[0]!.port} false`),
  );
});

test("an idle keep-alive client connection is closed after idleTimeoutMs", async () => {
  const s = net.connect(port, "127.0.0.1");
  let got = "";
  s.on("data", (d) => (got += d));
  s.write("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  const start = performance.now();
  await once(s, "close");
  assert.match(got, /^HTTP\/1\.1 200 /);
  assert.ok(performance.now() - start >= 150, "not closed before the idle timeout");
});

test("a backend closing its keep-alive connection does not break the next request", async () => {
  const a = await rawExchange(port, "GET /close HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  assert.match(a, /^HTTP\/1\.1 200 /);
  const b = await rawExchange(port, "GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  assert.match(b, /^HTTP\/1\.1 200 /);
});

test("a close-delimited response is re-chunked for HTTP/1.1 clients and its connection is not pooled", async () => {
  const { RecordingBackend } = await import("../../src/engine/l7/testing.ts");
  const raw = await new RecordingBackend((_d, s) => s.end("HTTP/1.1 200 OK\r\n\r\nuntil-close")).start();
  after(() => raw.close());
  const p = { raw: poolOf("raw", [raw.port]) };
  const l: HttpListener = {
    ...listener,
    name: "eof:80",
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            name: "eof",
            match: { path: { type: "Prefix", value: "/" } },
            action: { type: "Forward", backends: [{ pool: "raw", weight: 1 }] },
          },
        ],
      },
    ],
  };
  const h = {
    current: compileHttp(l, {
      snapshot: snapshotOf(l, p),
      upstreams: new RoundRobinUpstreams(p),
      log: () => {},
    }),
  };
  const { server: s2, port: p2 } = await listen(h);
  after(() => s2.close());
  // Two pipelined requests: the second must get a fresh backend connection.
  const out = await rawExchange(
    p2,
    "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
  );
  const bodies = out.match(
    /Transfer-Encoding: chunked\r\n(Connection: close\r\n)?\r\nb\r\nuntil-close\r\n0\r\n\r\n/g,
  );
  assert.equal(bodies?.length, 2, out);
  assert.doesNotMatch(bodies![0]!, /Connection: close/, "only the last response announces the close");
  assert.match(bodies![1]!, /Connection: close/);
  assert.equal(raw.connections, 2);
});

test("timeouts of seconds (the coarse sweep): 504 and idle close on time, nothing left watched", async () => {
  // 5 s is the shortest timeout the coarse sweep serves: request, idle and header timeouts of
  // seconds are checked four times a second instead of by per-socket timers.
  const l = catchAllListener("flow-coarse:80", {
    requestTimeoutMs: COARSE_MIN_MS,
    idleTimeoutMs: COARSE_MIN_MS,
  });
  const h = { current: compileHttp(l, { snapshot: snapshotOf(l, pools), upstreams, log: () => {} }) };
  const { server: s3, port: p3 } = await listen(h);
  after(() => s3.close());
  const start = performance.now();
  // An idle keep-alive connection (one request served) and a request the backend never answers.
  const idle = net.connect(p3, "127.0.0.1");
  idle.write("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
  let idleOut = "";
  idle.on("data", (d: Buffer) => (idleOut += d.toString("latin1")));
  const closed = once(idle, "close").then(() => performance.now() - start);
  const s = net.connect(p3, "127.0.0.1");
  s.write("GET /slow HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  let slowOut = "";
  s.on("data", (d: Buffer) => (slowOut += d.toString("latin1")));
  const slow = once(s, "close").then(() => ({ out: slowOut, ms: performance.now() - start }));
  const [idleMs, answer] = await Promise.all([closed, slow]);
  assert.match(idleOut, /^HTTP\/1\.1 200 /);
  assert.match(answer.out, /^HTTP\/1\.1 504 /);
  for (const ms of [idleMs, answer.ms]) {
    assert.ok(ms >= COARSE_MIN_MS - 5, `fired after ${ms} ms, before ${COARSE_MIN_MS}`);
    assert.ok(ms < COARSE_MIN_MS + 2 * SWEEP_MS + 500, `fired after ${ms} ms, late`);
  }
  // Requests and client connections left the sweep once done or closed; what stays watched is the
  // pool's parked backend connections, each timed by the pool's own idle timeout (60 s, not the
  // route's), and those leave it when they close.
  await until(() => watchedCount() === sharedPool.idleCount());
  assert.ok(sharedPool.idleCount() >= 1, "the /ok request's backend connection is parked");
  sharedPool.close();
  await until(() => watchedCount() === 0);
});

// until polls a condition for up to two sweeps: the pooled backend connection's idle timeout
// expires in the same sweep as the client's, or the next.
async function until(ok: () => boolean): Promise<void> {
  const deadline = performance.now() + 2 * SWEEP_MS + 200;
  while (!ok() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), `${watchedCount()} still watched`);
}

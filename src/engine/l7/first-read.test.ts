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
import { rxQueued } from "../../../test/support/tcp-queue.ts";
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

/**
 * engine listens with a catch-all route to backend; each accepted connection is handed to the
 * handler only once `bytes` of it wait with the kernel, so its first read finds them.
 */
async function engine(backend: RecordingBackend, bytes: number) {
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
    await waitFor(() => rxQueued(port, clientPort) >= bytes, "the first bytes with the kernel");
    handler.onHandle!(s);
  };
  return { port, serveWhenQueued, close: () => server.close() };
}

test("a Connection: close request waiting at accept is answered from the first read", async () => {
  const backend = await new RecordingBackend((_d, s) =>
    s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
  ).start();
  const e = await engine(backend, 10);
  try {
    const client = net.connect(e.port, "127.0.0.1");
    await once(client, "connect");
    let got = "";
    client.on("data", (d: Buffer) => (got += d.toString("latin1")));
    client.write("GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    await e.serveWhenQueued(client.localPort!);
    await once(client, "end");
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
    assert.match(backend.received, /^GET \/x HTTP\/1\.1\r\n/);
    client.destroy();
  } finally {
    e.close();
    backend.close();
  }
});

test("h2c prior knowledge handed off from the first read outlives the header timeout", async () => {
  const backend = await new RecordingBackend((_d, s) =>
    s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
  ).start();
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

// websocket-reset.test.ts: a client that sends an Upgrade head with early bytes (the connection
// stops reading) and resets before the backend's 101. Writing the 101 then fails as the own socket
// detaches for the tunnel; the connection must still close everywhere: the listener's count (so
// drain() resolves: reloads and shutdown do not hang) and the backend connection. Run on both
// accept paths: Portico's own sockets and Node's net.Sockets.
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { test } from "node:test";
import type { HttpListener } from "../../model/ir.ts";
import { ListenerManager } from "../listeners.ts";
import { compileHttp } from "./compile.ts";
import { poolOf, RoundRobinUpstreams, snapshotOf } from "./testing.ts";

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** kernelHas says whether 127.0.0.1:local has a TCP connection with 127.0.0.1:peer (/proc/net/tcp). */
function kernelHas(local: number, peer: number): boolean {
  const hex = (p: number) => `0100007F:${p.toString(16).toUpperCase().padStart(4, "0")}`;
  return readFileSync("/proc/net/tcp", "latin1").includes(`${hex(local)} ${hex(peer)}`);
}

async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

for (const ownSockets of [true, false]) {
  test(`${ownSockets ? "own sockets" : "net.Sockets"}: a client reset before the backend's 101 closes the connection; drain resolves, the backend sees the close`, async (t) => {
    let backendConn: net.Socket | undefined;
    let backendClosed = false;
    let atBackend = "";
    // Not half-open: the proxy's FIN closes the backend's socket.
    const backend = net.createServer((s) => {
      backendConn = s;
      s.on("error", () => {});
      s.on("close", () => (backendClosed = true));
      // Read, so that the proxy's FIN is seen.
      s.on("data", (d: Buffer) => (atBackend += d.toString("latin1")));
    });
    backend.listen(0, "127.0.0.1");
    await once(backend, "listening");
    t.after(() => backend.close());
    const port = await freePort();
    const pools = { ws: poolOf("ws", [(backend.address() as net.AddressInfo).port]) };
    const listener: HttpListener = {
      name: "ws:80",
      address: "127.0.0.1",
      port,
      idleTimeoutMs: 60_000,
      requestTimeoutMs: 30_000,
      virtualHosts: [
        {
          hostname: "*",
          routes: [
            {
              name: "ws",
              match: { path: { type: "Prefix", value: "/" } },
              action: { type: "Forward", backends: [{ pool: "ws", weight: 1 }] },
            },
          ],
        },
      ],
    };
    const handler = compileHttp(listener, {
      snapshot: snapshotOf(listener, pools),
      upstreams: new RoundRobinUpstreams(pools),
      log: () => {},
    });
    const m = new ListenerManager({ log: () => {}, ownSockets });
    t.after(() => void m.close());
    m.sync([{ protocol: "TCP", name: "ws", address: "127.0.0.1", port, handler }]);
    await waitFor(() => m.status()[0]?.state === "bound", "bound");
    const client = net.connect(port, "127.0.0.1");
    client.on("error", () => {});
    await once(client, "connect");
    const clientPort = client.localPort!;
    // The head and a first frame in one write: the proxy keeps the frame and stops reading.
    client.write(
      "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x80\x01\x02\x03\x04",
    );
    await waitFor(() => atBackend.includes("\r\n\r\n"), "the request at the backend");
    client.resetAndDestroy();
    await waitFor(() => !kernelHas(port, clientPort), "the reset to reach the proxy's socket");
    backendConn!.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    );
    await waitFor(() => backendClosed, "the proxy to close the backend connection");
    let drained = false;
    const draining = m.drain().then(() => (drained = true));
    await waitFor(() => drained, "drain() to resolve (no connection left counted)");
    await draining;
    assert.equal(m.status().length, 0);
  });
}

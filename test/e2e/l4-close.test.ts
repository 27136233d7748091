// l4-close.test.ts: an engine that closes (the end of a drain) tears down the backend side of
// every TCP connection it proxies. It once destroyed only the client side: the backend socket then
// stayed open until the backend closed it (a keep-alive backend: a minute), and kept the drained
// engine's process alive that long (measured in test/e2e/announce-fleet-bgp.test.ts: 61 s exits).
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import { waitFor } from "./harness.ts";
import { endpoint, freePort, l4, pool, readUntil, snapshot, tcpBackend } from "./l4-helpers.ts";

test("engine close destroys the backend side of open TCP connections", async () => {
  const backend = await tcpBackend("127.0.0.26", "hello");
  const vip = "127.0.0.25";
  const port = await freePort(vip);
  const engine = new Engine();
  try {
    const snap = snapshot(
      1,
      [l4("tcp", vip, port, "p")],
      [pool("p", [endpoint(backend.address, backend.port)])],
    );
    assert.deepEqual(engine.apply(snap), { ok: true });
    await engine.settled();
    const client = connect({ host: vip, port });
    client.on("error", () => {});
    await once(client, "connect");
    await readUntil(client, (d) => d.includes("hello"));
    assert.equal(backend.sockets.size, 1);
    await engine.close();
    // The backend sees its side closed: nothing is left open behind a closed engine.
    await waitFor("the backend's connection closed", () => backend.sockets.size === 0, 5000);
    client.destroy();
  } finally {
    await engine.close();
    await backend.close();
  }
});

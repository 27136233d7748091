// drain-silent.test.ts: clients that say nothing more do not hold a drain to its deadline. Behind a
// BGP router, once a draining engine's route is withdrawn the client's packets go to another
// engine: a connection accepted just before (its request went elsewhere) and one whose client's
// FIN went elsewhere are never heard from again here. A drain ends the first after RETIRE_IDLE_MS
// (no request came) and gives the second RETIRE_IDLE_MS for the FIN, then closes: with the timeouts
// here at a minute, the drain resolving within seconds shows neither waited for them. Both end
// cleanly (a FIN, no reset). Run on both accept paths: Portico's own sockets and Node's net.Sockets.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import net from "node:net";
import { test } from "node:test";
import { ListenerManager } from "../listeners.ts";
import { compileHttpWith } from "./compile.ts";
import { defaultLimits } from "./runtime.ts";
import { catchAllListener, poolOf, RoundRobinUpstreams, snapshotOf } from "./testing.ts";

async function waitFor(cond: () => boolean, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** silent connects a client that sends only what it is given and never closes its side. */
async function silent(port: number, send = "") {
  const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  const seen = { data: "", ended: false, error: "" };
  s.on("data", (d: Buffer) => (seen.data += d.toString("latin1")));
  s.on("end", () => (seen.ended = true));
  s.on("error", (e: NodeJS.ErrnoException) => (seen.error = e.code ?? e.message));
  await once(s, "connect");
  if (send) s.write(send);
  return { s, seen };
}

for (const ownSockets of [true, false]) {
  test(`${ownSockets ? "own sockets" : "net.Sockets"}: a drain ends a connection that never sent a request, and one whose client never sends its FIN, without waiting for their timeouts`, async (t) => {
    const backend = createServer((_, res) => res.end("ok\n"));
    backend.listen(0, "127.0.0.1");
    await once(backend, "listening");
    t.after(() => backend.close());
    const pools = { p: poolOf("p", [(backend.address() as net.AddressInfo).port]) };
    const listener = catchAllListener("web:80", { idleTimeoutMs: 60_000, requestTimeoutMs: 30_000 });
    const handler = compileHttpWith(
      listener,
      { snapshot: snapshotOf(listener, pools), upstreams: new RoundRobinUpstreams(pools), log: () => {} },
      { ...defaultLimits, headerTimeoutMs: 60_000 },
    );
    const probe = net.createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const m = new ListenerManager({ log: () => {}, ownSockets });
    t.after(() => void m.close());
    m.sync([{ protocol: "TCP", name: "web", address: "127.0.0.1", port, handler }]);
    await waitFor(() => m.status()[0]?.state === "bound", "bound", 5000);

    const mute = await silent(port);
    const closer = await silent(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    // Answered and shut on our side; accepted after the mute one, so that one is accepted too.
    await waitFor(() => closer.seen.ended, "the response and the proxy's FIN", 5000);
    assert.match(closer.seen.data, /^HTTP\/1\.1 200 [^]*\r\n\r\nok\n$/);
    let drained = false;
    const draining = m.drain().then(() => (drained = true));
    await waitFor(() => drained, "the drain to finish without waiting for a minute's timeout", 10_000);
    await draining;
    await waitFor(() => mute.seen.ended, "the mute connection's FIN", 5000);
    assert.equal(mute.seen.data, "", "nothing was asked, nothing answered");
    assert.deepEqual([mute.seen.error, closer.seen.error], ["", ""], "closed, not reset");
    mute.s.destroy();
    closer.s.destroy();
  });
}

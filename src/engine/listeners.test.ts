import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server } from "node:net";
import type { ConnectionHandler } from "./contracts.ts";
import { ListenerManager, type ListenerSpec } from "./listeners.ts";
import { OwnSocket } from "./net/own-socket.ts";

/** waitFor polls cond until it holds or the deadline passes. */
async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const handler: ConnectionHandler = { onConnection: (s) => s.destroy() };
const spec = (port: number, name = `l${port}`): ListenerSpec => ({
  protocol: "TCP",
  name,
  address: "127.0.0.1",
  port,
  handler,
});

async function hold(): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen({ host: "127.0.0.1", port: 0 }, r));
  return s;
}

test("onChange fires for real changes only (first failure, bound, closed), once per burst", async (t) => {
  const held = await hold();
  const port = (held.address() as { port: number }).port;
  let changes = 0;
  const m = new ListenerManager({ log: () => {}, bindRetryMs: 5, onChange: () => changes++ });
  t.after(() => {
    held.close(() => {});
    void m.close();
  });
  m.sync([spec(port)]);
  await waitFor(() => (m.status()[0]?.attempts ?? 0) >= 10, "ten failed attempts");
  // The same error again and again is no news: one change, the first failure.
  assert.equal(changes, 1);
  await new Promise<void>((r) => held.close(() => r()));
  await waitFor(() => m.status()[0]?.state === "bound", "bound after retry");
  await waitFor(() => changes === 2, "the bind reported");
  // Five listeners added and bound in one snapshot, then all closed: a change or two, not ten.
  const others = await Promise.all([1, 2, 3, 4, 5].map(() => hold()));
  const ports = others.map((s) => (s.address() as { port: number }).port);
  await Promise.all(others.map((s) => new Promise<void>((r) => s.close(() => r()))));
  m.sync([spec(port), ...ports.map((p) => spec(p))]);
  await m.settled();
  await waitFor(() => m.status().every((l) => l.state === "bound"), "six bound");
  await new Promise((r) => setImmediate(r));
  const afterBind = changes;
  assert.ok(afterBind - 2 <= 2, `binding five listeners made ${afterBind - 2} calls`);
  await m.close();
  await waitFor(() => changes === afterBind + 1, "close reported once");
  await new Promise((r) => setImmediate(r));
  assert.equal(changes, afterBind + 1);
});

test("own sockets: a handler with onHandle gets plain connections on its own socket; caps count them, drain waits for them", async (t) => {
  // A free port: bind one, note it, let it go.
  const probe = await hold();
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const m = new ListenerManager({ log: () => {}, ownSockets: true });
  t.after(() => void m.close());
  const taken: OwnSocket[] = [];
  let nodeSockets = 0;
  const own: ConnectionHandler = {
    onConnection: (s) => {
      nodeSockets++;
      s.destroy();
    },
    onHandle: (s) => {
      taken.push(s);
      // The client's FIN closes it, as ClientConn does once nothing is in flight.
      s.start({ onData() {}, onEnd: () => s.destroy(), onDrain() {}, onTimeout() {}, onClose() {} });
    },
  };
  m.sync([{ protocol: "TCP", name: "own", address: "127.0.0.1", port, handler: own, maxConnections: 1 }]);
  await waitFor(() => m.status()[0]?.state === "bound", "bound");
  const first = connect(port, "127.0.0.1");
  first.on("error", () => {});
  await once(first, "connect");
  await waitFor(() => taken.length === 1, "the own socket");
  assert.ok(taken[0] instanceof OwnSocket);
  assert.equal(nodeSockets, 0);
  // Past the listener's cap of 1 the next connection is closed at once.
  const second = connect(port, "127.0.0.1");
  second.on("error", () => {});
  await once(second, "close");
  assert.equal(taken.length, 1);
  // drain resolves only once the own socket closed (net.Server does not count it).
  let drained = false;
  const draining = m.drain().then(() => (drained = true));
  await waitFor(() => m.status().length === 0, "the listener closed");
  assert.equal(drained, false, "drain resolved with a connection open");
  first.end();
  await draining;
  assert.equal(taken[0]!.destroyed, true);
});

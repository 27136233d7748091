// l4-udp.test.ts: the UDP proxy through a real engine, real sockets on 127.0.0.x.
import assert from "node:assert/strict";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { once } from "node:events";
import { after, before, test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import { endpoint, freePort, l4, pool, snapshot, waitL4Event } from "./l4-helpers.ts";

const VIP = "127.0.0.31";
const engine = new Engine();
const ports: Record<string, number> = {};
let backend: Socket;
/** sources are the backend-side peers seen per message (session → own upstream socket). */
const sources: string[] = [];

before(async () => {
  backend = createSocket("udp4");
  backend.on("message", (msg, rinfo) => {
    sources.push(`${rinfo.address}:${rinfo.port}`);
    backend.send(Buffer.concat([Buffer.from("echo:"), msg]), rinfo.port, rinfo.address);
  });
  backend.bind(0, "127.0.0.32");
  await once(backend, "listening");
  const bport = backend.address().port;
  for (const n of ["echo", "capped", "idle"]) ports[n] = await freePort(VIP, "UDP");
  const p = pool("udp", [endpoint("127.0.0.32", bport)]);
  const snap = snapshot(
    1,
    [
      l4("echo", VIP, ports.echo!, "udp", { protocol: "UDP" }),
      l4("capped", VIP, ports.capped!, "udp", { protocol: "UDP", maxSessions: 1 }),
      l4("idle", VIP, ports.idle!, "udp", { protocol: "UDP", idleTimeoutMs: 80 }),
    ],
    [p],
  );
  assert.deepEqual(engine.apply(snap), { ok: true });
  await engine.settled();
  assert.ok(engine.status().listeners.every((l) => l.state === "bound"));
});

after(async () => {
  await engine.close();
  backend.close();
});

async function client(): Promise<Socket> {
  const c = createSocket("udp4");
  c.bind(0, "127.0.0.1");
  await once(c, "listening");
  return c;
}

async function ask(c: Socket, port: number, text: string): Promise<[Buffer, RemoteInfo]> {
  const reply = once(c, "message") as Promise<[Buffer, RemoteInfo]>;
  c.send(text, port, VIP);
  return reply;
}

test("udp: replies come back from the VIP; one upstream socket per client", async () => {
  const a = await client();
  const b = await client();
  try {
    const before = sources.length;
    const [m1, r1] = await ask(a, ports.echo!, "a1");
    assert.equal(m1.toString(), "echo:a1");
    assert.equal(`${r1.address}:${r1.port}`, `${VIP}:${ports.echo}`);
    await ask(a, ports.echo!, "a2");
    const [m3] = await ask(b, ports.echo!, "b1");
    assert.equal(m3.toString(), "echo:b1");
    const seen = sources.slice(before);
    assert.equal(seen[0], seen[1], "same client, same session");
    assert.notEqual(seen[0], seen[2], "another client, another session");
  } finally {
    a.close();
    b.close();
  }
});

test("udp: maxSessions drops new clients beyond the cap", async () => {
  const a = await client();
  const b = await client();
  try {
    assert.equal((await ask(a, ports.capped!, "first"))[0].toString(), "echo:first");
    const rejected = waitL4Event((e) => e.listener === "capped" && e.event === "reject");
    b.on("message", () => assert.fail("a client beyond the cap got a reply"));
    b.send("second", ports.capped!, VIP);
    await rejected;
    // The first session still works.
    assert.equal((await ask(a, ports.capped!, "again"))[0].toString(), "echo:again");
  } finally {
    a.close();
    b.close();
  }
});

test("udp: an idle session expires, and a new one opens on the next datagram", async () => {
  const a = await client();
  try {
    const opened = waitL4Event((e) => e.listener === "idle" && e.event === "open");
    await ask(a, ports.idle!, "x");
    await opened;
    const closed = await waitL4Event((e) => e.listener === "idle" && e.event === "close");
    assert.equal(closed.bytesIn, 1);
    assert.equal(closed.bytesOut, 6);
    assert.ok(closed.durationMs >= 80);
    const reopened = waitL4Event((e) => e.listener === "idle" && e.event === "open");
    await ask(a, ports.idle!, "y");
    await reopened;
  } finally {
    a.close();
  }
});

test("udp: after a swap, live sessions keep their backend and new clients use the new pool", async () => {
  const other = createSocket("udp4");
  other.on("message", (msg, rinfo) =>
    other.send(Buffer.concat([Buffer.from("other:"), msg]), rinfo.port, rinfo.address),
  );
  other.bind(0, "127.0.0.33");
  await once(other, "listening");
  const port = await freePort(VIP, "UDP");
  const swapEngine = new Engine();
  const bport = backend.address().port;
  const a = await client();
  const b = await client();
  try {
    const listener = l4("swap", VIP, port, "udp", { protocol: "UDP" });
    swapEngine.apply(snapshot(1, [listener], [pool("udp", [endpoint("127.0.0.32", bport)])]));
    await swapEngine.settled();
    assert.equal((await ask(a, port, "1"))[0].toString(), "echo:1");
    const next = pool("udp", [endpoint("127.0.0.33", other.address().port)]);
    assert.deepEqual(swapEngine.apply(snapshot(2, [listener], [next])), { ok: true });
    assert.equal((await ask(a, port, "2"))[0].toString(), "echo:2");
    assert.equal((await ask(b, port, "3"))[0].toString(), "other:3");
  } finally {
    a.close();
    b.close();
    await swapEngine.close();
    other.close();
  }
});

test("udp: a backend that refuses (ICMP) is ejected and clients move to a live one", async () => {
  const port = await freePort(VIP, "UDP");
  const deadPort = await freePort("127.0.0.34", "UDP");
  const eng = new Engine({ health: { passiveFailures: 1, ejectBaseMs: 60_000 } });
  const a = await client();
  try {
    const p = pool("udp", [endpoint("127.0.0.34", deadPort), endpoint("127.0.0.32", backend.address().port)]);
    eng.apply(snapshot(1, [l4("fo", VIP, port, "udp", { protocol: "UDP" })], [p]));
    await eng.settled();
    // Resend until a reply comes: the first session may hit the dead backend and be closed.
    let reply = "";
    a.on("message", (m) => (reply = m.toString()));
    const deadline = Date.now() + 5000;
    while (!reply && Date.now() < deadline) {
      a.send("hello", port, VIP);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(reply, "echo:hello");
    const dead = eng.status().endpoints.find((e) => e.backend === `127.0.0.34:${deadPort}`);
    assert.equal(dead?.healthy, false);
  } finally {
    a.close();
    await eng.close();
  }
});

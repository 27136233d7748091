// engine-swap.test.ts: hitless snapshot swaps, NACKed snapshots, listener removal, bind errors,
// reusePort and health state across swaps, through real sockets on 127.0.0.x.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import type { EngineSnapshot } from "../../src/model/ir.ts";
import {
  endpoint,
  freePort,
  l4,
  pool,
  readUntil,
  snapshot,
  tcpBackend,
  until,
  type TcpBackend,
} from "./l4-helpers.ts";

const VIP = "127.0.0.41";
let a: TcpBackend;
let b: TcpBackend;

before(async () => {
  a = await tcpBackend("127.0.0.42", "A");
  b = await tcpBackend("127.0.0.43", "B");
});

after(async () => {
  await a.close();
  await b.close();
});

async function greet(port: number): Promise<{ s: Socket; tag: string }> {
  const s = connect({ host: VIP, port });
  await once(s, "connect");
  return { s, tag: await readUntil(s, (d) => d.length >= 1) };
}

async function echo(s: Socket, text: string): Promise<string> {
  const reply = readUntil(s, (d) => d.endsWith(text));
  s.write(text);
  return reply;
}

function v(
  version: number,
  port: number,
  backend: TcpBackend,
  extra: Partial<EngineSnapshot> = {},
): EngineSnapshot {
  return {
    ...snapshot(version, [l4("svc", VIP, port, "p")], [pool("p", [endpoint(backend.address, backend.port)])]),
    ...extra,
  };
}

test("swap: established connections keep v1, new ones use v2, an invalid v3 is rejected", async () => {
  const logs: string[] = [];
  const engine = new Engine({ log: (level, msg) => logs.push(`${level} ${msg}`) });
  const port = await freePort(VIP);
  try {
    assert.deepEqual(engine.apply(v(1, port, a)), { ok: true });
    await engine.settled();
    const old = await Promise.all([greet(port), greet(port), greet(port)]);
    assert.deepEqual(
      old.map((c) => c.tag),
      ["A", "A", "A"],
    );
    assert.deepEqual(engine.apply(v(2, port, b)), { ok: true });
    for (const c of old) assert.equal(await echo(c.s, "still-there"), "still-there");
    assert.equal((await greet(port)).tag, "B");

    const bad = v(3, port, a);
    bad.l4[0]!.pool = "missing";
    const res = engine.apply(bad);
    assert.equal(res.ok, false);
    assert.match((res as { error: string }).error, /missing/);
    assert.equal((res as { code: string }).code, "InvalidSnapshot");
    assert.ok(logs.some((l) => l.startsWith("error snapshot rejected")));
    assert.equal(engine.status().version, 2);
    assert.equal(engine.status().lastError?.version, 3);
    assert.equal((await greet(port)).tag, "B");
    for (const c of old) assert.equal(await echo(c.s, "x"), "x");
    for (const c of old) c.s.destroy();
  } finally {
    await engine.close();
  }
});

test("swap: a removed listener stops accepting while its connections finish", async () => {
  const engine = new Engine();
  const port = await freePort(VIP);
  const other = await freePort(VIP);
  try {
    const two = snapshot(
      1,
      [l4("svc", VIP, port, "p"), l4("other", VIP, other, "p")],
      [pool("p", [endpoint(a.address, a.port)])],
    );
    engine.apply(two);
    await engine.settled();
    const c = await greet(port);
    assert.deepEqual(engine.apply(v(2, other, b)), { ok: true });
    assert.deepEqual(
      engine.status().listeners.map((l) => l.port),
      [other],
    );
    const refused = connect({ host: VIP, port });
    const [err] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    assert.equal(err.code, "ECONNREFUSED");
    assert.equal(await echo(c.s, "bye"), "bye");
    assert.equal((await greet(other)).tag, "B", "a listener kept across snapshots switched pools");
    c.s.destroy();
  } finally {
    await engine.close();
  }
});

test("bind: EADDRINUSE is reported per listener and retried until the port frees", async () => {
  const lines: string[] = [];
  const engine = new Engine({
    bindRetryMs: 20,
    log: (_level, msg, f) => lines.push(`${msg} ${f?.listener}`),
  });
  const busyPort = await freePort(VIP);
  const okPort = await freePort(VIP);
  const squatter = createServer();
  squatter.listen(busyPort, VIP);
  await once(squatter, "listening");
  try {
    const snap = snapshot(
      1,
      [l4("busy", VIP, busyPort, "p"), l4("fine", VIP, okPort, "p")],
      [pool("p", [endpoint(a.address, a.port)])],
    );
    assert.deepEqual(engine.apply(snap), { ok: true });
    await engine.settled();
    const byName = () => Object.fromEntries(engine.status().listeners.map((l) => [l.name, l]));
    assert.equal(byName().busy!.state, "error");
    assert.match(byName().busy!.error!, /EADDRINUSE/);
    assert.equal(byName().fine!.state, "bound");
    assert.equal((await greet(okPort)).tag, "A");
    await new Promise((r) => squatter.close(r));
    await until(() => byName().busy!.state === "bound", "busy listener bound after retry");
    assert.equal((await greet(busyPort)).tag, "A");
    // Retried every 20 ms, but logged once when the retries started and once when one succeeded.
    assert.deepEqual(
      lines.filter((l) => l.endsWith(" busy")),
      ["listener bind failed; retrying busy", "listener bound after retry busy"],
    );
  } finally {
    squatter.close();
    await engine.close();
  }
});

test("reusePort: two engines bind the same VIP:port", async () => {
  const port = await freePort(VIP);
  const one = new Engine({ reusePort: true });
  const two = new Engine({ reusePort: true });
  try {
    one.apply(v(1, port, a));
    two.apply(v(1, port, a));
    await Promise.all([one.settled(), two.settled()]);
    assert.equal(one.status().listeners[0]!.state, "bound");
    assert.equal(two.status().listeners[0]!.state, "bound");
    assert.equal((await greet(port)).tag, "A");
  } finally {
    await one.close();
    await two.close();
  }
});

test("health: passive ejection survives a swap for endpoints that remain", async () => {
  const engine = new Engine({ health: { passiveFailures: 1, ejectBaseMs: 60_000 } });
  const port = await freePort(VIP);
  try {
    const snap1 = snapshot(
      1,
      [l4("svc", VIP, port, "p")],
      [pool("p", [endpoint(a.address, a.port), endpoint(b.address, b.port)])],
    );
    engine.apply(snap1);
    await engine.settled();
    engine.health.passive("p", `${a.address}:${a.port}`, false);
    const snap2 = { ...snap1, version: 2 };
    engine.apply(snap2);
    for (let i = 0; i < 4; i++) assert.equal((await greet(port)).tag, "B");
    assert.deepEqual(
      engine.status().endpoints.map((e) => [e.backend, e.healthy]),
      [
        [`${a.address}:${a.port}`, false],
        [`${b.address}:${b.port}`, true],
      ],
    );
    // An endpoint that leaves the pool loses its state; coming back, it starts healthy.
    engine.apply(snapshot(3, [l4("svc", VIP, port, "p")], [pool("p", [endpoint(b.address, b.port)])]));
    engine.apply(snap1);
    const tags = new Set<string>();
    for (let i = 0; i < 4; i++) tags.add((await greet(port)).tag);
    assert.deepEqual([...tags].sort(), ["A", "B"]);
  } finally {
    await engine.close();
  }
});

// l4-tcp.test.ts: the TCP proxy through a real engine, real sockets on 127.0.0.x.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import { HealthRegistry } from "../../src/engine/health/registry.ts";
import { forwardTcp } from "../../src/engine/l4/tcp.ts";
import { InFlight, UpstreamSet } from "../../src/engine/upstreams.ts";
import {
  endpoint,
  freePort,
  l4,
  pool,
  readAll,
  readUntil,
  snapshot,
  tcpBackend,
  waitL4Event,
  type TcpBackend,
} from "./l4-helpers.ts";

const VIP = "127.0.0.21";
const engine = new Engine();
const backends: TcpBackend[] = [];

async function dial(port: number, localAddress = "127.0.0.1"): Promise<Socket> {
  const s = connect({ host: VIP, port, localAddress, allowHalfOpen: true });
  await once(s, "connect");
  return s;
}

let echoA: TcpBackend;
let ports: Record<string, number> = {};

before(async () => {
  echoA = await tcpBackend("127.0.0.22", "A");
  backends.push(echoA);
  // half-close: answer only after the client's FIN, then close our side.
  const halfClose = await tcpBackend("127.0.0.22", "", (s) => {
    let got = "";
    s.on("data", (d) => (got += d));
    s.on("end", () => s.end(`got:${got}`));
  });
  backends.push(halfClose);
  const proxyPeek = await tcpBackend("127.0.0.23", "", (s) => {
    // Echo everything up to the payload "ping" (the PROXY header first) in hex, then close.
    let got = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.subarray(-4).toString() === "ping") s.end(got.toString("hex"));
    });
  });
  backends.push(proxyPeek);
  const refusedPort = await freePort("127.0.0.24");
  const names = ["echo", "half", "failover", "v1", "v2", "idle", "empty"];
  ports = {};
  for (const n of names) ports[n] = await freePort(VIP);
  const snap = snapshot(
    1,
    [
      l4("echo", VIP, ports.echo!, "echo"),
      l4("half", VIP, ports.half!, "half"),
      l4("failover", VIP, ports.failover!, "failover"),
      l4("v1", VIP, ports.v1!, "peek", { proxyProtocol: 1 }),
      l4("v2", VIP, ports.v2!, "peek", { proxyProtocol: 2 }),
      l4("idle", VIP, ports.idle!, "echo", { idleTimeoutMs: 100 }),
      l4("empty", VIP, ports.empty!, "empty"),
    ],
    [
      pool("echo", [endpoint(echoA.address, echoA.port)]),
      pool("half", [endpoint(halfClose.address, halfClose.port)]),
      pool("failover", [endpoint("127.0.0.24", refusedPort), endpoint(echoA.address, echoA.port)]),
      pool("peek", [endpoint(proxyPeek.address, proxyPeek.port)]),
      pool("empty", [endpoint(echoA.address, echoA.port, { ready: false, serving: false })]),
    ],
  );
  assert.deepEqual(engine.apply(snap), { ok: true });
  await engine.settled();
  assert.ok(engine.status().listeners.every((l) => l.state === "bound"));
});

after(async () => {
  await engine.close();
  for (const b of backends) await b.close();
});

test("tcp: echo through the VIP, with a payload large enough to need backpressure", async () => {
  const s = await dial(ports.echo!);
  assert.equal(await readUntil(s, (d) => d === "A"), "A");
  const big = Buffer.alloc(8 * 1024 * 1024, "x");
  let received = 0;
  const done = new Promise<void>((resolve) =>
    s.on("data", (d: Buffer) => {
      received += d.length;
      if (received >= big.length) resolve();
    }),
  );
  s.write(big);
  await done;
  assert.equal(received, big.length);
  s.destroy();
});

test("tcp: half-close is forwarded and the reply still comes back", async () => {
  const s = await dial(ports.half!);
  s.end("hello");
  const reply = readUntil(s, (d) => d === "got:hello");
  const [, ended] = await Promise.all([reply, once(s, "end")]);
  assert.deepEqual(ended, []);
  s.destroy();
});

test("tcp: fails over when the first backend refuses", async () => {
  for (let i = 0; i < 4; i++) {
    const s = await dial(ports.failover!);
    assert.equal(await readUntil(s, (d) => d === "A"), "A");
    s.destroy();
  }
});

test("tcp: PROXY v1 header reaches the backend before the payload", async () => {
  const s = await dial(ports.v1!, "127.0.0.5");
  const reply = readAll(s);
  s.write("ping");
  const text = Buffer.from((await reply).toString(), "hex").toString();
  assert.equal(text, `PROXY TCP4 127.0.0.5 ${VIP} ${s.localPort} ${ports.v1}\r\nping`);
});

test("tcp: PROXY v2 binary header reaches the backend", async () => {
  const s = await dial(ports.v2!, "127.0.0.6");
  const reply = readAll(s);
  s.write("ping");
  const bytes = Buffer.from((await reply).toString(), "hex");
  const expected = Buffer.alloc(28);
  Buffer.from("0d0a0d0a000d0a515549540a2111000c", "hex").copy(expected, 0);
  Buffer.from([127, 0, 0, 6, 127, 0, 0, 21]).copy(expected, 16);
  expected.writeUInt16BE(s.localPort!, 24);
  expected.writeUInt16BE(ports.v2!, 26);
  assert.deepEqual(bytes, Buffer.concat([expected, Buffer.from("ping")]));
});

test("tcp: an idle connection is closed after idleTimeoutMs, with a close event", async () => {
  const closed = waitL4Event((e) => e.listener === "idle" && e.event === "close");
  const s = await dial(ports.idle!);
  await readUntil(s, (d) => d === "A");
  const started = Date.now();
  await once(s, "end");
  assert.ok(Date.now() - started >= 90, "not before the idle timeout");
  const ev = await closed;
  assert.equal(ev.backend, `${echoA.address}:${echoA.port}`);
  assert.equal(ev.bytesOut, 1);
  s.destroy();
});

test("tcp: no usable backend closes the client and publishes a reject", async () => {
  const rejected = waitL4Event((e) => e.listener === "empty" && e.event === "reject");
  const s = connect({ host: VIP, port: ports.empty! });
  s.on("error", () => {});
  await once(s, "close");
  assert.equal((await rejected).backend, "");
});

// A listener with backlog 0 that never accepts: once its queue holds one connection, the kernel
// drops further SYNs, so a connect hangs — a real connect timeout on loopback.
const BLACKHOLE = `
import socket, sys
s = socket.socket(); s.bind(("127.0.0.25", 0)); s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;
const hasPython = spawnSync("python3", ["-c", "pass"]).status === 0;

test(
  "tcp: fails over when the first backend's connect times out",
  { skip: !hasPython && "needs python3 for a never-accepting listener" },
  async () => {
    const hole = spawn("python3", ["-c", BLACKHOLE], { stdio: ["pipe", "pipe", "inherit"] });
    const eng = new Engine();
    const filler: Socket[] = [];
    try {
      const [line] = (await once(hole.stdout!, "data")) as [Buffer];
      const holePort = Number(line.toString().trim());
      const first = connect({ host: "127.0.0.25", port: holePort });
      filler.push(first);
      await once(first, "connect");
      const port = await freePort(VIP);
      eng.apply(
        snapshot(
          1,
          [l4("timeout", VIP, port, "p", { connectTimeoutMs: 150 })],
          [pool("p", [endpoint("127.0.0.25", holePort), endpoint(echoA.address, echoA.port)])],
        ),
      );
      await eng.settled();
      const started = Date.now();
      const s = await dial(port);
      assert.equal(await readUntil(s, (d) => d === "A"), "A");
      assert.ok(Date.now() - started >= 140, "waited for the connect timeout before failing over");
      s.destroy();
    } finally {
      for (const f of filler) f.destroy();
      hole.stdin!.end();
      hole.kill();
      await eng.close();
    }
  },
);

test("forwardTcp: bytes already peeked by the caller (head) reach the backend first", async () => {
  const upstreams = new UpstreamSet(
    { p: pool("p", [endpoint(echoA.address, echoA.port)]) },
    { health: new HealthRegistry(), inflight: new InFlight() },
  );
  const front = createServer({ allowHalfOpen: true }, (s) => {
    s.once("data", (head: Buffer) => {
      s.pause();
      forwardTcp(s, {
        listener: "peek",
        pool: "p",
        upstreams,
        log: () => {},
        connectTimeoutMs: 1000,
        idleTimeoutMs: 0,
        head,
      });
    });
  });
  front.listen(0, VIP);
  await once(front, "listening");
  try {
    const s = connect({ host: VIP, port: (front.address() as { port: number }).port });
    s.write("hello");
    assert.equal(await readUntil(s, (d) => d === "Ahello"), "Ahello");
    const more = readUntil(s, (d) => d === "+more");
    s.write("+more");
    await more;
    s.destroy();
  } finally {
    front.close();
  }
});

test("tcp: a backend that resets established connections is not ejected (only connect failures count)", async () => {
  // Like iperf3 closing a data stream with unread bytes: data flowed, then an RST.
  const resetter = await tcpBackend("127.0.0.22", "", (s) => {
    s.once("data", () => s.resetAndDestroy());
  });
  backends.push(resetter);
  const health = new HealthRegistry();
  const upstreams = new UpstreamSet(
    { p: pool("p", [endpoint(resetter.address, resetter.port)]) },
    { health, inflight: new InFlight() },
  );
  const front = createServer({ allowHalfOpen: true }, (s) =>
    forwardTcp(s, {
      listener: "rst",
      pool: "p",
      upstreams,
      log: () => {},
      connectTimeoutMs: 1000,
      idleTimeoutMs: 0,
    }),
  );
  front.listen(0, VIP);
  await once(front, "listening");
  try {
    // More resets than the passive threshold (5): every connection still reaches the backend.
    for (let i = 0; i < 8; i++) {
      const s = connect({ host: VIP, port: (front.address() as { port: number }).port });
      s.on("error", () => {});
      s.write("x");
      await once(s, "close");
    }
    assert.equal(health.usable("p", `${resetter.address}:${resetter.port}`), true);
  } finally {
    front.close();
  }
});

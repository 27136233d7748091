import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { test } from "node:test";
import type { HealthCheck, Pool } from "../../model/ir.ts";
import { HealthChecker, type Timers } from "./checker.ts";
import { httpProbe } from "./probe.ts";
import { HealthRegistry, type HealthChange } from "./registry.ts";

function poolOf(name: string, ports: number[], check: HealthCheck, address = "127.0.0.1"): Pool {
  return {
    name,
    algorithm: { type: "RoundRobin" },
    endpoints: ports.map((port) => ({
      address,
      port,
      weight: 1,
      ready: true,
      serving: true,
      terminating: false,
    })),
    healthCheck: check,
  };
}

/** fakeTimers runs timers only when the test calls fire(). */
function fakeTimers() {
  const pending = new Map<number, () => void>();
  let id = 0;
  const timers: Timers = {
    setTimeout: (fn) => {
      pending.set(++id, fn);
      return id;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  const fire = () => {
    const fns = [...pending.values()];
    pending.clear();
    for (const fn of fns) fn();
  };
  return { timers, fire, pending };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

test("checker: probes each endpoint, applies fall/rise, keeps state across sync", async () => {
  const reg = new HealthRegistry();
  const up = new Map([
    [8001, true],
    [8002, true],
  ]);
  const probed: number[] = [];
  const { timers, fire, pending } = fakeTimers();
  const checker = new HealthChecker(reg, {
    timers,
    probe: async (_a, port) => {
      probed.push(port);
      return up.get(port) ?? false;
    },
  });
  const check: HealthCheck = { type: "TCP", intervalMs: 1000, timeoutMs: 100, rise: 2, fall: 1 };
  checker.sync({ p: poolOf("p", [8001, 8002], check) });
  await tick();
  assert.deepEqual(probed.sort(), [8001, 8002]);
  assert.equal(pending.size, 2);
  up.set(8002, false);
  fire();
  await tick();
  assert.equal(reg.usable("p", "127.0.0.1:8002"), false);
  // same pool again: nothing restarts, so no extra probes
  checker.sync({ p: poolOf("p", [8001, 8002], check) });
  await tick();
  assert.equal(probed.length, 4);
  up.set(8002, true);
  fire();
  await tick();
  assert.equal(reg.usable("p", "127.0.0.1:8002"), false, "rise 2 needs two passes");
  fire();
  await tick();
  assert.equal(reg.usable("p", "127.0.0.1:8002"), true);
  checker.sync({ p: poolOf("p", [8001], check) });
  assert.equal(checker.size, 1);
  checker.close();
  assert.equal(pending.size, 0);
});

test("checker: not-ready endpoints are not checked", async () => {
  const reg = new HealthRegistry();
  const probed: number[] = [];
  const { timers } = fakeTimers();
  const checker = new HealthChecker(reg, { timers, probe: async (_a, port) => (probed.push(port), true) });
  const pool = poolOf("p", [1, 2], { type: "TCP", intervalMs: 1, timeoutMs: 1, rise: 1, fall: 1 });
  pool.endpoints[1]!.ready = false;
  checker.sync({ p: pool });
  await tick();
  assert.deepEqual(probed, [1]);
  checker.close();
});

/** waitChange resolves on the next change of backend matching healthy. */
function waitChange(reg: HealthRegistry, backend: string, healthy: boolean): Promise<HealthChange> {
  return new Promise((resolve) => {
    const on = (c: HealthChange) => {
      if (c.backend === backend && c.healthy === healthy) {
        reg.off("change", on);
        resolve(c);
      }
    };
    reg.on("change", on);
  });
}

test("checker (real sockets): a killed backend goes down and comes back when it returns", async () => {
  const sockets = new Set<Socket>();
  const listen = async (port = 0): Promise<Server> => {
    const s = createServer((c) => (sockets.add(c), c.on("close", () => sockets.delete(c))));
    s.listen(port, "127.0.0.3");
    await once(s, "listening");
    return s;
  };
  let server = await listen();
  const port = (server.address() as { port: number }).port;
  const reg = new HealthRegistry();
  const checker = new HealthChecker(reg);
  const check: HealthCheck = { type: "TCP", intervalMs: 50, timeoutMs: 200, rise: 1, fall: 1 };
  checker.sync({ p: poolOf("p", [port], check, "127.0.0.3") });
  const backend = `127.0.0.3:${port}`;
  try {
    const started = Date.now();
    const down = waitChange(reg, backend, false);
    server.close();
    for (const c of sockets) c.destroy();
    await down;
    assert.ok(Date.now() - started < 50 + 200 + 200, "taken out within interval + timeout");
    assert.equal(reg.usable("p", backend), false);
    const upAgain = waitChange(reg, backend, true);
    server = await listen(port);
    await upAgain;
    assert.equal(reg.usable("p", backend), true);
  } finally {
    checker.close();
    server.close();
  }
});

test("httpProbe: sends Host and path, checks the expected status range", async () => {
  const seen: string[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(`${req.headers.host} ${req.url}`);
    res.statusCode = req.url === "/healthz" ? 204 : 503;
    res.end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const base: HealthCheck = { type: "HTTP", intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1 };
  try {
    assert.equal(
      await httpProbe("127.0.0.1", port, { ...base, path: "/healthz", host: "svc.example" }),
      true,
    );
    assert.equal(await httpProbe("127.0.0.1", port, { ...base, path: "/other" }), false);
    assert.equal(
      await httpProbe("127.0.0.1", port, { ...base, path: "/healthz", expectedStatuses: [200, 200] }),
      false,
    );
    assert.deepEqual(seen, [
      "svc.example /healthz",
      `127.0.0.1:${port} /other`,
      `127.0.0.1:${port} /healthz`,
    ]);
  } finally {
    server.close();
  }
});

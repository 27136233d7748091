// engine-idle-timeout.test.ts: an idle keep-alive connection is closed at its listener's idle
// timeout, not before and not much after — both under the coarse sweep (timeouts of seconds:
// no socket timer and no 'timeout' listener per connection) and with a socket timer (short ones).
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import { COARSE_MIN_MS, SWEEP_MS } from "../../src/engine/net/coarse-timer.ts";
import type { EngineSnapshot } from "../../src/model/ir.ts";
import { freePort, readUntil } from "./l4-helpers.ts";

const VIP = "127.0.0.53";

function snap(port: number, idleTimeoutMs: number): EngineSnapshot {
  return {
    version: 1,
    l4: [],
    http: [
      {
        name: "web:80",
        address: VIP,
        port,
        requestTimeoutMs: 5000,
        idleTimeoutMs,
        virtualHosts: [
          {
            hostname: "*",
            routes: [
              {
                name: "hi",
                match: { path: { type: "Prefix", value: "/" } },
                action: { type: "DirectResponse", status: 200, body: "hi" },
              },
            ],
          },
        ],
      },
    ],
    pools: {},
    certificates: {},
  };
}

// idleCloseAfter answers one request on a keep-alive connection and resolves with the time from
// the end of the response to the engine's close.
async function idleCloseAfter(idleTimeoutMs: number): Promise<number> {
  const port = await freePort(VIP);
  const engine = new Engine();
  assert.deepEqual(engine.apply(snap(port, idleTimeoutMs)), { ok: true });
  await engine.settled();
  try {
    const s = connect({ host: VIP, port });
    await once(s, "connect");
    const answered = readUntil(s, (d) => d.endsWith("\r\n\r\nhi\n"));
    s.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await answered;
    const t0 = performance.now();
    s.resume();
    await once(s, "close");
    return performance.now() - t0;
  } finally {
    await engine.close();
  }
}

test("an idle keep-alive connection closes at a coarse idle timeout (swept, no socket timer)", async () => {
  const idle = COARSE_MIN_MS + 1000;
  const took = await idleCloseAfter(idle);
  // Never early; late by at most two sweeps, plus generous headroom for a loaded machine.
  assert.ok(took >= idle - 50, `closed after ${took.toFixed(0)} ms, idle timeout ${idle}`);
  assert.ok(took < idle + 2 * SWEEP_MS + 3000, `closed after ${took.toFixed(0)} ms, idle timeout ${idle}`);
});

test("an idle keep-alive connection closes at a short idle timeout (socket timer)", async () => {
  const idle = 1500;
  const took = await idleCloseAfter(idle);
  assert.ok(took >= idle - 50, `closed after ${took.toFixed(0)} ms, idle timeout ${idle}`);
  assert.ok(took < idle + 3000, `closed after ${took.toFixed(0)} ms, idle timeout ${idle}`);
});

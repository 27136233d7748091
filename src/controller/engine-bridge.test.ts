// engine-bridge.test.ts: engine calls across a real MessageChannel; an unanswered call is rejected.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { RemoteEngine, serveEngine } from "./engine-bridge.ts";
import { idleLoad } from "../engine/load.ts";
import type { AnnounceStatus } from "../announce/types.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import { Controller } from "./standalone.ts";
import { L2_POOL, resourceSet, serviceYaml } from "./fleet/testing.ts";
import { waitFor } from "../../test/e2e/harness.ts";
import { channel } from "node:diagnostics_channel";
import { Collector } from "../analytics/collector.ts";
import { httpEvent } from "../analytics/event-testing.ts";
import type { AnalyticsBatch } from "../analytics/types.ts";
import { HTTP_RESPONSE_CHANNEL } from "../engine/l7/events.ts";

test("RemoteEngine rejects a call the engine side never answers, after its timeout", async () => {
  const { port1, port2 } = new MessageChannel();
  try {
    // port2 receives the call and never replies: a wedged engine thread.
    port2.on("message", () => {});
    const engine = new RemoteEngine(port1, { timeoutMs: 200 });
    await assert.rejects(Promise.resolve(engine.metrics()), /engine did not answer metrics within 0\.2 s/);
  } finally {
    port1.close();
    port2.close();
  }
});

test("serveEngine reports the engine thread's loop; RemoteEngine says how long ago it heard", async () => {
  const { port1, port2 } = new MessageChannel();
  const engine = {
    apply: () => ({ ok: true as const }),
    metrics: () => "",
    status: () => undefined,
    close() {},
  };
  const stop = serveEngine(port2, engine, { heartbeatMs: 50 });
  try {
    const remote = new RemoteEngine(port1);
    const beat = await new Promise<{ stallMs: number }>((resolve) =>
      port1.on("message", (m: { type?: string; stallMs: number }) => {
        if (m.type === "engine-heartbeat") resolve(m);
      }),
    );
    assert.equal(remote.liveness().stallMs, beat.stallMs);
    assert.ok(remote.liveness().ageMs < 5_000);
  } finally {
    stop();
    port1.close();
    port2.close();
  }
});

test("the engine's load rides the heartbeat; RemoteEngine.load() folds the beats since its last call", async () => {
  const { port1, port2 } = new MessageChannel();
  let n = 0;
  const engine = {
    apply: () => ({ ok: true as const }),
    metrics: () => "",
    status: () => undefined,
    close() {},
    // Each beat reports 1 s with 100 more requests/s than the one before.
    load: () => ({ ...idleLoad(++n * 1000, 1000), requestsPerSecond: n * 100 }),
  };
  const stop = serveEngine(port2, engine, { heartbeatMs: 20 });
  try {
    const remote = new RemoteEngine(port1);
    assert.equal(remote.load(), undefined, "nothing before the first beat");
    // Read at the third beat, in the same message event RemoteEngine heard it in: exactly 3 beats.
    let beats = 0;
    const l = await new Promise<ReturnType<RemoteEngine["load"]>>((resolve) =>
      port1.on("message", (m: { type?: string }) => {
        if (m.type === "engine-heartbeat" && ++beats === 3) resolve(remote.load());
      }),
    );
    // 100, 200 and 300 req/s over 1 s each.
    assert.equal(l!.intervalMs, 3000);
    assert.equal(l!.requestsPerSecond, 200);
    assert.equal(l!.at, 3000);
  } finally {
    stop();
    port1.close();
    port2.close();
  }
});

test("portico run: the engine thread's announcement report reaches the controller thread's Announced condition", async () => {
  const { port1, port2 } = new MessageChannel();
  let report: AnnounceStatus | undefined;
  const changed: (() => void)[] = [];
  const engine = {
    apply: (s: EngineSnapshot) => {
      // The announcer reports the snapshot's VIPs once it announced them.
      report = {
        vips: (s.announce?.vips ?? []).map((v) => ({
          address: v.address,
          mode: v.mode,
          state: "Announced" as const,
          interface: "eth1",
          since: "2026-12-06T20:00:00.000Z",
        })),
        peers: [],
      };
      changed.forEach((fn) => fn());
      return { ok: true as const };
    },
    metrics: () => "",
    status: () => undefined,
    close() {},
    announce: () => report,
    onAnnounceChange: (fn: () => void) => void changed.push(fn),
  };
  const stop = serveEngine(port2, engine, { heartbeatMs: 1000 });
  try {
    const remote = new RemoteEngine(port1);
    const controller = new Controller(
      remote,
      undefined,
      { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 },
      () => {},
    );
    await controller.update(resourceSet(L2_POOL + serviceYaml("a", 8080)));
    await waitFor("the report crossed the thread", () => remote.announce() !== undefined);
    const c = controller
      .statuses()
      .find((s) => s.kind === "Service" && s.name === "a")
      ?.status.conditions?.find((x) => x.type === "portico.dev/Announced");
    assert.equal(c?.status, "True", JSON.stringify(c));
    assert.match(
      c!.message!,
      /^192\.0\.2\.10 announced by engine local on node .* via L2 since 2026-12-06T20:00:00\.000Z$/,
    );
  } finally {
    stop();
    port1.close();
    port2.close();
  }
});

test("portico run: the engine thread's analytics ride the heartbeat to the sink the controller was given; a failing sink is logged once", async () => {
  const { port1, port2 } = new MessageChannel();
  const collector = new Collector().subscribe();
  const engine = {
    apply: () => ({ ok: true as const }),
    metrics: () => "",
    status: () => undefined,
    close() {},
    analytics: () => collector.takeIfAny(),
  };
  const stop = serveEngine(port2, engine, { heartbeatMs: 20 });
  try {
    const logs: Record<string, unknown>[] = [];
    const controller = new Controller(
      new RemoteEngine(port1),
      undefined,
      { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 },
      (level, msg, fields) => logs.push({ level, msg, ...fields }),
    );
    const got: AnalyticsBatch[] = [];
    let failing = true;
    controller.setAnalytics({
      ingest: (b) => {
        if (failing) throw new Error("disk full");
        got.push(b);
      },
    });
    for (let i = 0; i < 3; i++) channel(HTTP_RESPONSE_CHANNEL).publish(httpEvent({ status: 502 }));
    await waitFor("a batch lost to the failing sink", () => logs.length > 0);
    failing = false;
    for (let i = 0; i < 5; i++) channel(HTTP_RESPONSE_CHANNEL).publish(httpEvent());
    await waitFor("a batch stored", () => got.length > 0);
    assert.equal(got[0]!.engine, "local");
    assert.equal(
      got[0]!.services["L a.example"]!.total.requests,
      5,
      "each interval once: nothing resent, nothing lost twice",
    );
    assert.deepEqual(logs, [
      { level: "error", msg: "analytics batch not stored", engine: "local", error: "disk full" },
    ]);
  } finally {
    stop();
    collector.close();
    port1.close();
    port2.close();
  }
});

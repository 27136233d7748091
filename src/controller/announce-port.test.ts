// announce-port.test.ts: the order the announcing engine port keeps — prepare, apply, commit (the
// previous announcement after a refusal), withdraw → wait → drain, announcer closed before the
// engine — that nothing is started for snapshots without `announce`, and the metrics it adds.
// The inner engine and the announcer here are recorders (RecordingAnnouncer is test-only); the
// kernel side runs for real in test/e2e/announce-*.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RecordingAnnouncer } from "../announce/testing.ts";
import type { Announcement, EngineSnapshot } from "../model/ir.ts";
import { announceMetrics, withAnnouncer } from "./announce-port.ts";
import type { EnginePort, PortApplyResult } from "./standalone.ts";

function recorder(calls: string[], refuse: Set<number> = new Set()): EnginePort {
  return {
    apply(s): PortApplyResult {
      calls.push(`apply:${s.version}`);
      return refuse.has(s.version) ? { ok: false, error: "refused" } : { ok: true };
    },
    metrics: () => "portico_up 1\n",
    status: () => undefined,
    async drain(ms) {
      calls.push(`drain:${ms}`);
      return true;
    },
    close: () => void calls.push("engine.close"),
  };
}

const ann = (withdrawDelayMs: number, ...vips: string[]): Announcement => ({
  leaseMs: 3000,
  withdrawDelayMs,
  vips: vips.map((address) => ({ address, pool: "p", mode: "L2" as const })),
});
const snap = (version: number, announce?: Announcement): EngineSnapshot => ({
  version,
  l4: [],
  http: [],
  pools: {},
  certificates: {},
  ...(announce ? { announce } : {}),
});

test("withAnnouncer: no announcer until a snapshot carries announce", async () => {
  const calls: string[] = [];
  let made = 0;
  const port = withAnnouncer(recorder(calls), {
    log: () => {},
    create: () => (made++, new RecordingAnnouncer()),
  });
  await port.apply(snap(1));
  assert.equal(made, 0);
  assert.equal(port.announce?.(), undefined);
  assert.equal(await port.metrics(), "portico_up 1\n");
  assert.equal(await port.drain?.(100), true);
  assert.deepEqual(calls, ["apply:1", "drain:100"], "no withdrawal wait without an announcer");
});

test("withAnnouncer: prepare → apply → commit; a refused snapshot commits the previous announcement", async () => {
  const calls: string[] = [];
  const a = new RecordingAnnouncer();
  const port = withAnnouncer(recorder(calls, new Set([3])), { log: () => {}, create: () => a });
  await port.apply(snap(2, ann(0, "198.51.100.1")));
  await port.apply(snap(3, ann(0, "198.51.100.1", "198.51.100.2")));
  await port.apply(snap(4));
  assert.deepEqual([...calls.splice(0)].join(" "), "apply:2 apply:3 apply:4");
  assert.deepEqual(a.calls, [
    "prepare:198.51.100.1",
    "commit:198.51.100.1",
    "prepare:198.51.100.1,198.51.100.2",
    "commit:198.51.100.1", // snapshot 3 was refused: back to what serves
    "prepare:none",
    "commit:none", // a snapshot without announce withdraws everything
  ]);
});

test("withAnnouncer: drain withdraws, waits the snapshot's withdrawDelayMs, then drains what is left of the deadline; close closes the announcer first", async () => {
  const calls: string[] = [];
  const a = new RecordingAnnouncer();
  const port = withAnnouncer(recorder(calls), { log: () => {}, create: () => a });
  await port.apply(snap(1, ann(150, "198.51.100.1")));
  const t0 = performance.now();
  assert.equal(await port.drain!(10_000), true);
  const waited = performance.now() - t0;
  assert.ok(waited >= 140, `waited ${waited} ms`);
  // Withdrawn, then (after the delay, the new owners having announced) the L2 addresses released.
  assert.deepEqual(a.calls.slice(-2), ["withdrawAll", "releaseL2"]);
  const drain = calls.find((c) => c.startsWith("drain:"))!;
  assert.ok(Number(drain.slice(6)) <= 10_000 - 140, drain);
  await port.close();
  assert.deepEqual([a.calls.at(-1), calls.at(-1)], ["close", "engine.close"]);
});

test("withAnnouncer: status changes reach onAnnounceChange; metrics carry the VIP states and sessions", async () => {
  const a = new RecordingAnnouncer();
  const port = withAnnouncer(recorder([]), { log: () => {}, create: () => a });
  let changes = 0;
  port.onAnnounceChange?.(() => changes++);
  await port.apply(snap(1, ann(0, "198.51.100.1")));
  a.report({
    vips: [
      {
        address: "198.51.100.1",
        mode: "BGP",
        state: "Announced",
        interface: "lo",
        since: "2026-01-01T00:00:00.000Z",
      },
    ],
    peers: [
      { name: "edge/r1", address: "203.0.113.1", state: "Established", since: "2026-01-01T00:00:00.000Z" },
      { name: "edge/r2", address: "203.0.113.2", state: "Active", since: "2026-01-01T00:00:00.000Z" },
    ],
  });
  assert.equal(changes, 1);
  assert.equal(port.announce?.()?.vips[0]?.state, "Announced");
  const text = await port.metrics();
  assert.ok(text.startsWith("portico_up 1\n# HELP portico_announce_vip_state"));
  for (const line of [
    'portico_announce_vip_state{vip="198.51.100.1",mode="BGP",state="Announced"} 1',
    'portico_announce_vip_state{vip="198.51.100.1",mode="BGP",state="Failed"} 0',
    'portico_announce_vip_state{vip="198.51.100.1",mode="BGP",state="Withdrawn"} 0',
    'portico_bgp_session_up{peer="edge/r1"} 1',
    'portico_bgp_session_up{peer="edge/r2"} 0',
  ])
    assert.ok(text.includes(`${line}\n`), line);
  assert.ok(!announceMetrics({ vips: [], peers: [] }).includes("portico_bgp_session_up"));
});

test("withAnnouncer: a sole engine announces again after a freeze (not while draining); a fleet engine waits for its controller", async () => {
  const frozen = {
    vips: [
      {
        address: "192.0.2.10",
        mode: "L2" as const,
        state: "Withdrawn" as const,
        since: "2026-12-06T20:00:00.000Z",
        reason: "EngineFrozen",
        message: "frozen",
      },
    ],
    peers: [],
  };
  for (const sole of [true, false]) {
    const calls: string[] = [];
    const a = new RecordingAnnouncer();
    const port = withAnnouncer(recorder(calls), { log: () => {}, create: () => a, sole });
    await port.apply(snap(1, ann(0, "192.0.2.10")));
    a.calls.length = 0;
    a.report(frozen);
    // The re-announcement goes through the same queue as apply: an apply after it runs after it.
    await port.apply(snap(2, ann(0, "192.0.2.10")));
    assert.deepEqual(
      a.calls,
      sole
        ? ["commit:192.0.2.10", "prepare:192.0.2.10", "commit:192.0.2.10"]
        : ["prepare:192.0.2.10", "commit:192.0.2.10"],
      `sole ${sole}`,
    );
    if (!sole) continue;
    await port.drain?.(0);
    a.calls.length = 0;
    a.report({ ...frozen, vips: [{ ...frozen.vips[0]!, since: "2026-12-06T20:00:01.000Z" }] });
    await port.apply(snap(3, ann(0, "192.0.2.10")));
    assert.deepEqual(
      a.calls,
      ["prepare:192.0.2.10", "commit:192.0.2.10"],
      "no re-announcement while draining",
    );
  }
});

test("withAnnouncer: an engine apply that throws still commits the previous announcement (prepare undone)", async () => {
  const calls: string[] = [];
  const a = new RecordingAnnouncer();
  const inner = recorder(calls);
  const port = withAnnouncer(
    {
      ...inner,
      apply: (s) => {
        if (s.version === 2) throw new Error("engine failed");
        return inner.apply(s);
      },
    },
    { log: () => {}, create: () => a },
  );
  await port.apply(snap(1, ann(0, "192.0.2.10")));
  await assert.rejects(
    Promise.resolve(port.apply(snap(2, ann(0, "192.0.2.10", "192.0.2.11")))),
    /engine failed/,
  );
  assert.deepEqual(a.calls, [
    "prepare:192.0.2.10",
    "commit:192.0.2.10",
    "prepare:192.0.2.10,192.0.2.11",
    "commit:192.0.2.10",
  ]);
});

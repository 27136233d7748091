import assert from "node:assert/strict";
import { SnapshotGuard } from "../agent/guard.ts";
import { unelectedTerm } from "./kube.ts";
import { test } from "node:test";
import type { EngineLoad } from "../link/protocol.ts";
import { identity } from "./fleet/testing.ts";
import type { EngineView, FleetView } from "./fleet/view.ts";
import { Autoscaler, fleetStatus } from "./kube-fleet.ts";
import { groupSettings } from "./fleet/group-settings.ts";

const NOW = 50_000_000;

/** load is one report of cpu cores busy at time at. */
function load(at: number, cpuCores: number): EngineLoad {
  return {
    at,
    intervalMs: 2_000,
    cpuCores,
    eventLoopUtilization: 0.5,
    lagP99Ms: 1,
    connectionsOpen: 12,
    connectionsPerSecond: 3,
    requestsPerSecond: 1234.4,
    tlsHandshakesPerSecond: 0,
    bytesInPerSecond: 0,
    bytesOutPerSecond: 0,
    rssBytes: 1 << 27,
  };
}

/** engine is a connected engine of group with reports every 2 s for the last 30 s at cpu cores. */
function engine(name: string, group: string, cpu: number, over: Partial<EngineView> = {}): EngineView {
  const history = Array.from({ length: 16 }, (_, k) => load(NOW - (15 - k) * 2_000, cpu));
  return {
    identity: identity(name, group),
    local: false,
    connected: true,
    lastHeardMsAgo: 100,
    acked: { epoch: 3, seq: 4, version: 7 },
    ready: true,
    listeners: [],
    load: history[history.length - 1]!,
    history,
    ...over,
  };
}

const view = (engines: EngineView[]): FleetView => ({ epoch: 3, seq: 4, engines });

test("fleetStatus lists a group's connected remote engines with their load, counts and sizing", () => {
  const v = view([
    engine("w1", "web", 0.5),
    engine("w2", "web", 0.5, {
      ready: false,
      acked: undefined,
      lastNack: { epoch: 3, seq: 4, version: 7, error: "listener web:443 cannot bind", code: "BindFailed" },
    }),
    engine("gone", "web", 0.5, { connected: false }),
    engine("o1", "other", 0.5),
    engine("local", "web", 0.5, { local: true }),
  ]);
  const s = fleetStatus(v, "web", undefined, NOW);
  assert.deepEqual(
    s.engines!.map((e) => [e.name, e.node, e.ackedVersion, e.ready]),
    [
      ["w1", "node-w1", 7, true],
      ["w2", "node-w2", undefined, false],
    ],
  );
  assert.deepEqual(s.engines![0]!.load, {
    requestsPerSecond: 1234,
    connectionsOpen: 12,
    cpuCores: 0.5,
    saturationPercent: 50,
  });
  // A refused snapshot shows on the object, in the engine's own words.
  assert.equal(s.engines![0]!.lastNack, undefined);
  assert.equal(s.engines![1]!.lastNack, "listener web:443 cannot bind");
  assert.equal(s.replicas, 2);
  assert.equal(s.readyReplicas, 1);
  assert.equal(s.sizing!.saturation, 50);
  assert.match(s.sizing!.advice, /group web/);
  assert.equal(s.sizing!.at, new Date(NOW).toISOString());
});

test("Autoscaler: a group at 95% scales up with the autoscaler's sentence; a drop right after holds (5 min cool-down)", () => {
  const g = { name: "web", spec: { autoscaling: { minReplicas: 1, maxReplicas: 5 } } };
  const a = new Autoscaler();
  assert.equal(a.decide({ name: "web", spec: {} }, 2, view([]), undefined, NOW), undefined, "not autoscaled");
  const busy = view([engine("w1", "web", 0.95), engine("w2", "web", 0.95)]);
  const up = a.decide(g, 2, busy, undefined, NOW)!;
  assert.equal(up.replicas, 3);
  assert.match(up.reason, /^scaled up from 2 to 3 engines: utilization 95% and 95%/);
  // Quiet for the whole window a minute later: without the remembered scale-up it would go down.
  const quiet = (now: number) =>
    view(
      ["w1", "w2", "w3"].map((n) =>
        engine(n, "web", 0.05, {
          history: Array.from({ length: 200 }, (_, k) => load(now - (199 - k) * 2_000, 0.05)),
        }),
      ),
    );
  const held = a.decide(g, 3, quiet(NOW + 60_000), undefined, NOW + 60_000)!;
  assert.equal(held.replicas, 3);
  assert.match(held.reason, /changed less than 5 min ago/);
  const fresh = new Autoscaler().decide(g, 3, quiet(NOW + 60_000), undefined, NOW + 60_000)!;
  assert.equal(fresh.replicas, 2, fresh.reason);
});

test("groupSettings gives the FleetPort each group's HA mode, spares, announcement timings and BGP speaker", () => {
  const bgp = {
    asn: 64512,
    peers: [{ name: "r", address: "192.0.2.1", asn: 1, holdTimeSeconds: 9, bfd: false }],
  };
  const serving = (haMode: "ActiveActive" | "NPlusM", spares: number, withBgp = false) =>
    ({
      spec: { haMode, spares, announcement: { leaseSeconds: 3, withdrawDelaySeconds: 0 } },
      builtin: false,
      exists: true,
      accepted: true,
      vips: [],
      objects: [],
      ...(withBgp ? { bgp } : {}),
    }) as never;
  assert.deepEqual(groupSettings({ default: serving("ActiveActive", 0), web: serving("NPlusM", 2, true) }), {
    default: { haMode: "ActiveActive", spares: 0, announcement: { leaseMs: 3000, withdrawDelayMs: 0 } },
    web: { haMode: "NPlusM", spares: 2, announcement: { leaseMs: 3000, withdrawDelayMs: 0 }, bgp },
  });
});

test("a controller restarted without leader election outranks its previous run on the engines", () => {
  // The engine's rule (guard.ts): an engine that applied seq 57 of the old run must take seq 1 of
  // the new one. With a constant epoch it NACKed it as stale until the seq passed 57.
  const guard = new SnapshotGuard();
  const before = unelectedTerm();
  assert.equal(guard.accept(before, 57), "apply");
  guard.applied({ epoch: before, seq: 57, version: 57 });
  const after = unelectedTerm(before + 1_000);
  assert.equal(guard.accept(after, 1), "apply");
});

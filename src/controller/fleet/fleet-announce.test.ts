// fleet-announce.test.ts: the controller side of VIP announcement over real TLS links — the
// announce slices engines get, a failover moving an L2 VIP's owner, and the Announced condition,
// `portico explain`, `portico get pools -o wide` and the metrics following the engines' reports.
// The engines are TestEngine (testing.ts): they announce nothing themselves, they report.
import { test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../../../test/e2e/harness.ts";
import type { Controller } from "../standalone.ts";
import { explain, renderExplanation } from "../explain/index.ts";
import { tableRows } from "../tables.ts";
import { identity, L2_POOL, resourceSet, rig, serviceYaml, type TestEngine } from "./testing.ts";

const announced = (c: Controller, name: string) =>
  c
    .statuses()
    .find((s) => s.kind === "Service" && s.name === name)
    ?.status.conditions?.find((x) => x.type === "portico.dev/Announced");

/** condition is c without observedGeneration, to compare what it says. */
const condition = (c: { observedGeneration?: number } | undefined) => {
  const { observedGeneration: _g, ...rest } = c ?? {};
  return rest;
};

const vipsOf = (e: TestEngine) =>
  (e.of("snapshot").at(-1)?.snapshot.announce?.vips ?? []).map((v) => v.address);

test("L2: each VIP has one owner; conditions, explain, get pools and metrics follow the reports; a failover moves the owner", async () => {
  const r = await rig();
  try {
    const e1 = await r.join("e1");
    const e2 = await r.join("e2");
    await r.controller.update(resourceSet(L2_POOL + serviceYaml("a", 8080) + serviceYaml("b", 8081)));
    // ActiveActive + L2: spread one VIP each (fewest owned, ties by name), with the group's lease.
    assert.deepEqual(vipsOf(e1), ["192.0.2.10"]);
    assert.deepEqual(vipsOf(e2), ["192.0.2.11"]);
    assert.deepEqual(e1.of("snapshot").at(-1)!.snapshot.announce, {
      leaseMs: 3000,
      withdrawDelayMs: 2000,
      vips: [{ address: "192.0.2.10", pool: "l2", mode: "L2", interfaces: ["eth1"] }],
    });
    // Nobody reported yet: NotAnnounced, naming the engine waited for.
    assert.deepEqual(condition(announced(r.controller, "a")), {
      type: "portico.dev/Announced",
      status: "False",
      reason: "NotAnnounced",
      message: "192.0.2.10 (L2) not announced yet: waiting for engine e1 to report it",
    });
    e1.announce({ since: "2026-12-06T20:00:00.000Z" });
    e2.announce({
      failed: { "192.0.2.11": { reason: "InterfaceNotFound", message: "no interface eth1 on this node" } },
    });
    await waitFor("e1's report", () => announced(r.controller, "a")?.status === "True");
    assert.equal(
      announced(r.controller, "a")!.message,
      "192.0.2.10 announced by engine e1 on node node-e1 via L2 since 2026-12-06T20:00:00.000Z",
    );
    await waitFor("e2's failure", () => announced(r.controller, "b")?.reason === "AnnounceFailed");
    assert.equal(
      announced(r.controller, "b")!.message,
      "192.0.2.11 not announced: engine e2 on node node-e2 failed (InterfaceNotFound): no interface eth1 on this node",
    );

    const i = r.controller.inspect()!;
    const text = renderExplanation(
      explain(
        i.set,
        { ...i.out, statuses: i.live!, announcements: i.announcements! },
        {
          kind: "Service",
          namespace: "default",
          name: "b",
        },
      ),
    );
    assert.match(text, /Announce: 192\.0\.2\.11 via L2 \(pool l2, group default\)/);
    assert.match(
      text,
      /engine e2 on node node-e2: Failed since .* — InterfaceNotFound: no interface eth1 on this node/,
    );
    const offline = renderExplanation(
      explain(i.set, i.out, { kind: "Service", namespace: "default", name: "a" }),
    );
    assert.match(
      offline,
      /Announce: 192\.0\.2\.10 via L2 .*\n {2}who announces it is known to a running Portico/,
    );
    const [pool] = tableRows("pools", i.set, i.out, i.ports, i.announcements);
    assert.equal(pool!.ANNOUNCE, "L2");
    assert.equal(pool!["ANNOUNCED-BY"], "192.0.2.10=e1,192.0.2.11=-");
    const metrics = await r.fleet.metrics();
    assert.match(
      metrics,
      /^portico_vip_announcer_info\{vip="192\.0\.2\.10",group="default",engine="e1",node="node-e1",mode="L2"\} 1$/m,
    );
    assert.doesNotMatch(metrics, /portico_vip_announcer_info\{vip="192\.0\.2\.11"/);

    // e1 goes: its VIP moves to e2, which now owns both; e2's report turns the condition over.
    e1.close();
    await waitFor("e2 takes 192.0.2.10", () => vipsOf(e2).length === 2);
    assert.deepEqual(vipsOf(e2), ["192.0.2.10", "192.0.2.11"]);
    await waitFor("a waits for e2", () =>
      /waiting for engine e2/.test(announced(r.controller, "a")?.message ?? ""),
    );
    e2.announce({ since: "2026-12-06T20:01:00.000Z" });
    await waitFor("e2 announces a", () => announced(r.controller, "a")?.status === "True");
    assert.match(
      announced(r.controller, "a")!.message!,
      /192\.0\.2\.10 announced by engine e2 on node node-e2 via L2/,
    );
    assert.equal(announced(r.controller, "b")!.status, "True");

    // e1 back: sticky, it takes nothing back.
    const again = await r.join("e1b", {}, identity("e1"));
    await waitFor("e1 back gets a slice", () => again.of("snapshot").length > 0);
    assert.deepEqual(vipsOf(again), []);
    assert.deepEqual(vipsOf(e2), ["192.0.2.10", "192.0.2.11"]);
  } finally {
    await r.close();
  }
});

test("an engine that withdrew after a freeze is sent its slice again, also when nothing changed and after a reconnect", async () => {
  const r = await rig();
  try {
    const e1 = await r.join("e1");
    await r.controller.update(resourceSet(L2_POOL + serviceYaml("a", 8080)));
    assert.deepEqual(vipsOf(e1), ["192.0.2.10"]);
    const frozen = {
      withdrawn: { reason: "EngineFrozen", message: "this engine did not run for 4.0 s" },
    };
    // Frozen shorter than the link's timeout: the link stayed, the fleet changed nothing.
    const before = e1.of("snapshot").length;
    e1.announce(frozen);
    await waitFor("e1 sent its slice again", () => e1.of("snapshot").length > before);
    const [prev, next] = e1.of("snapshot").slice(-2);
    assert.ok(next!.seq > prev!.seq, "a fresh seq, so the engine applies it rather than re-acking");
    assert.deepEqual(next!.snapshot.announce, prev!.snapshot.announce);
    e1.announce();
    // Frozen past the link's timeout: it comes back with a current `have`, which alone gets nothing.
    const last = e1.of("snapshot").at(-1)!;
    e1.close();
    await waitFor("e1 gone", () => r.fleet.view().engines.every((e) => !e.connected));
    const back = await r.join(
      "e1b",
      { have: { epoch: last.epoch, seq: last.seq, version: last.snapshot.version } },
      identity("e1"),
    );
    back.received.push(last);
    back.announce(frozen);
    await waitFor("e1 back is sent its slice", () => back.of("snapshot").length > 1);
    assert.deepEqual(vipsOf(back), ["192.0.2.10"]);
  } finally {
    await r.close();
  }
});

test("BGP in an ActiveActive group: every engine announces every VIP with the peers of its node; sessions are metrics", async () => {
  const r = await rig();
  try {
    const n1 = await r.join("n1", {}, { ...identity("e1", "edge"), node: "n1" });
    const n2 = await r.join("n2", {}, { ...identity("e2", "edge"), node: "n2" });
    const manifests = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: bgp }
spec:
  addresses: [198.51.100.10-198.51.100.19]
  engineGroup: edge
  announce: { mode: BGP, bgp: { communities: ["65000:100"] } }
---
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: edge }
spec:
  announcement: { leaseSeconds: 6, withdrawDelaySeconds: 1 }
  bgp:
    asn: 64512
    peers:
      - { name: tor1, address: 198.51.100.1, asn: 64500, nodes: [n1] }
      - { name: core, address: 198.51.100.2, asn: 64501, holdTimeSeconds: 30 }
`;
    await r.controller.update(resourceSet(manifests + serviceYaml("a", 8080)));
    for (const [e, peers] of [
      [n1, ["tor1", "core"]],
      [n2, ["core"]],
    ] as const) {
      const a = e.of("snapshot").at(-1)!.snapshot.announce!;
      assert.deepEqual(
        [a.leaseMs, a.withdrawDelayMs, a.vips.map((v) => [v.address, v.mode, v.communities]), a.bgp?.asn],
        [6000, 1000, [["198.51.100.10", "BGP", ["65000:100"]]], 64512],
      );
      assert.deepEqual(
        a.bgp!.peers.map((p) => p.name),
        peers,
      );
    }
    n1.announce({
      peers: [
        { name: "tor1", address: "198.51.100.1", state: "Established", since: "2026-12-06T20:00:00.000Z" },
        { name: "core", address: "198.51.100.2", state: "Active", since: "2026-12-06T20:00:00.000Z" },
      ],
    });
    n2.announce({ failed: { "198.51.100.10": { reason: "NoPeerEstablished", message: "no session up" } } });
    await waitFor("both reports", () => announced(r.controller, "a")?.message?.includes("NoPeerEstablished"));
    // One engine up is enough for the VIP to be reachable; the other's failure is named.
    assert.deepEqual(condition(announced(r.controller, "a")), {
      type: "portico.dev/Announced",
      status: "True",
      reason: "Announced",
      message:
        "198.51.100.10 announced by engine e1 on node n1 via BGP since 2026-12-06T20:00:00.000Z; engine e2 on node n2 failed (NoPeerEstablished): no session up",
    });
    const metrics = await r.fleet.metrics();
    assert.match(metrics, /^portico_bgp_session_up\{engine="e1",peer="tor1"\} 1$/m);
    assert.match(metrics, /^portico_bgp_session_up\{engine="e1",peer="core"\} 0$/m);
    assert.deepEqual(
      r.fleet.view().engines.map((e) => [e.identity.name, e.announce?.peers.length ?? 0]),
      [
        ["e1", 2],
        ["e2", 0],
      ],
    );
  } finally {
    await r.close();
  }
});

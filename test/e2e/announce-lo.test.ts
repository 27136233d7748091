// announce-lo.test.ts: BGP VIPs on a real kernel (a network namespace): the address goes on lo with
// the lease before the route is exported, and stays until after the export stopped; an aggregated
// VIP is VIP/len `noprefixroute`, so the node does not make the whole prefix local; two aggregated
// VIPs of one prefix survive each other's removal (promote_secondaries); without a BGP driver a
// BGP VIP is Failed/DaemonUnreachable. The driver here is a TEST-ONLY recorder: it runs no BIRD,
// it notes the routes it is given and which addresses lo holds at that moment.
import { test } from "node:test";
import assert from "node:assert/strict";
import { KernelAnnouncer } from "../../src/announce/announcer.ts";
import type { BgpDriver, BgpRoute } from "../../src/announce/types.ts";
import type { AnnouncedVip, Announcement } from "../../src/model/ir.ts";
import { addresses, segmentSkip, useSegment, type SegmentHost } from "./announce-topo.ts";

const skip = segmentSkip({});
const seg = useSegment(["e1"], skip);

/** RecordingDriver is test-only: a BgpDriver that records set() calls with lo's addresses at the time. */
class RecordingDriver implements BgpDriver {
  readonly calls: { routes: string[]; onLo: string[] }[] = [];
  readonly host: SegmentHost;
  constructor(host: SegmentHost) {
    this.host = host;
  }
  async set(_speaker: Announcement["bgp"], routes: readonly BgpRoute[]): Promise<void> {
    this.calls.push({ routes: routes.map((r) => r.prefix), onLo: await onLo(this.host) });
  }
  peers() {
    return [
      { name: "r1", address: "198.51.100.254", state: "Established", since: new Date(0).toISOString() },
    ];
  }
  daemon() {
    return { state: "Running" as const, restarts: 0 };
  }
  onChange(): void {}
  async close(): Promise<void> {}
}

async function onLo(host: SegmentHost): Promise<string[]> {
  return (await addresses(host))
    .filter((a) => a.dev === "lo" && !a.local.startsWith("127.") && a.local !== "::1")
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

const bgp = (vips: Partial<AnnouncedVip>[]): Announcement => ({
  leaseMs: 3000,
  bgp: { asn: 64512, peers: [] },
  vips: vips.map((v) => ({ address: "", pool: "p", mode: "BGP" as const, ...v })),
});

test(
  "BGP: address on lo before the export, export stopped before the address goes; aggregation keeps the prefix non-local",
  { skip },
  async (t) => {
    const e1 = seg.hosts.e1!;
    const driver = new RecordingDriver(e1);
    const a = new KernelAnnouncer({ netns: e1.ns, bgp: () => driver });
    t.after(() => a.close());
    const both = bgp([
      { address: "198.51.100.200", aggregationLength: 24, communities: ["64512:1"] },
      { address: "198.51.100.201", aggregationLength: 24 },
      { address: "2001:db8::200" },
    ]);
    await a.prepare(both);
    assert.deepEqual(await onLo(e1), ["198.51.100.200/24", "198.51.100.201/24", "2001:db8::200/128"]);
    assert.equal(driver.calls.length, 0, "nothing exported before commit (the engine binds in between)");
    await a.commit(both);
    assert.deepEqual(driver.calls.at(-1), {
      routes: ["198.51.100.0/24", "2001:db8::200/128"],
      onLo: ["198.51.100.200/24", "198.51.100.201/24", "2001:db8::200/128"],
    });
    assert.deepEqual(
      a.status().vips.map((v) => [v.address, v.state, v.interface]),
      [
        ["198.51.100.200", "Announced", "lo"],
        ["198.51.100.201", "Announced", "lo"],
        ["2001:db8::200", "Announced", "lo"],
      ],
    );
    // noprefixroute: only the VIPs themselves are local, not 198.51.100.0/24.
    const local = await e1.run("ip", ["-4", "route", "show", "table", "local", "dev", "lo"]);
    assert.ok(!/198\.51\.100\.0\/24/.test(local), local);
    assert.match(local, /local 198\.51\.100\.200 /);
    // Removing the first of the prefix's addresses keeps the second (promote_secondaries), and the
    // export set shrinks before the address leaves.
    await a.commit(bgp([{ address: "198.51.100.201", aggregationLength: 24 }]));
    assert.deepEqual(driver.calls.at(-1), {
      routes: ["198.51.100.0/24"],
      onLo: ["198.51.100.200/24", "198.51.100.201/24", "2001:db8::200/128"],
    });
    assert.deepEqual(await onLo(e1), ["198.51.100.201/24"]);
    await a.commit(undefined);
    assert.deepEqual(driver.calls.at(-1), { routes: [], onLo: ["198.51.100.201/24"] });
    assert.deepEqual(await onLo(e1), []);
  },
);

test(
  "BGP without a driver: the address goes on lo (the engine can bind) but the VIP is Failed/DaemonUnreachable",
  { skip },
  async (t) => {
    const e1 = seg.hosts.e1!;
    const a = new KernelAnnouncer({ netns: e1.ns });
    t.after(() => a.close());
    const one = bgp([{ address: "198.51.100.210" }]);
    await a.prepare(one);
    await a.commit(one);
    assert.deepEqual(await onLo(e1), ["198.51.100.210/32"]);
    const v = a.status().vips[0]!;
    assert.equal(v.state, "Failed");
    assert.equal(v.reason, "DaemonUnreachable");
  },
);

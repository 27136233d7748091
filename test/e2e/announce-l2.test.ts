// announce-l2.test.ts: L2 announcement on a real kernel, on a bridge of network namespaces
// (announce-topo.ts): a client and two engines. The VIP's address appears with the lease and is
// renewed; withdrawing removes it; a new owner's gratuitous ARP (IPv4) or unsolicited NA (IPv6)
// flips the client's neighbour entry long before the entry would be re-resolved on its own; a
// missing interface or tool is a Failed status with its reason; an announcer killed (SIGKILL) or
// frozen (SIGSTOP) loses its address when the lease runs out, and a frozen one that wakes
// withdraws instead of renewing. The kill and freeze cases run the announcer in a child process.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { KernelAnnouncer } from "../../src/announce/announcer.ts";
import type { AnnounceStatus, VipAnnounceStatus } from "../../src/announce/types.ts";
import type { Announcement } from "../../src/model/ir.ts";
import { addresses, neighbour, segmentSkip, touch, useSegment, type SegmentHost } from "./announce-topo.ts";
import { waitFor } from "./harness.ts";

const childFile = join(import.meta.dirname, "announce-child.ts");
const skip = segmentSkip({ "/usr/bin/arping": "iputils-arping", "/usr/sbin/na6": "ipv6toolkit" });
const seg = useSegment(["client", "e1", "e2"], skip);

const l2 = (address: string, leaseMs = 3000, interfaces?: string[]): Announcement => ({
  leaseMs,
  vips: [{ address, pool: "edge", mode: "L2", ...(interfaces ? { interfaces } : {}) }],
});

const vipStatus = (s: AnnounceStatus, address: string): VipAnnounceStatus | undefined =>
  s.vips.find((v) => v.address === address);

async function addressOn(host: string, address: string) {
  return (await addresses(seg.hosts[host]!)).find((a) => a.local === address);
}

test(
  "an L2 VIP's address comes with the lease at prepare, is announced at commit, renewed, and removed by a withdrawal",
  { skip },
  async (t) => {
    const a = new KernelAnnouncer({ netns: seg.hosts.e1!.ns });
    t.after(() => a.close());
    const vip = "198.51.100.10";
    const prepared = performance.now();
    await a.prepare(l2(vip));
    const added = await addressOn("e1", vip);
    assert.ok(added, "the address is there after prepare, before the engine binds");
    assert.equal(added.dev, "eth2", "the interface whose subnet holds the VIP");
    assert.equal(added.prefixlen, 32);
    assert.ok(
      added.valid_life_time <= 3 && added.preferred_life_time <= 3,
      `leased: ${JSON.stringify(added)}`,
    );
    assert.equal(vipStatus(a.status(), vip), undefined, "nothing is announced before commit");
    await a.commit(l2(vip));
    assert.deepEqual(
      { ...vipStatus(a.status(), vip), since: undefined },
      { address: vip, mode: "L2", state: "Announced", interface: "eth2", since: undefined },
    );
    // Renewed: unrenewed, it would leave the kernel one lease after prepare (the SIGKILL test shows
    // it does); it is still there, every time we look, for twice the lease.
    let looks = 0;
    await waitFor(
      "two leases to pass with the address present at every look",
      async () => {
        const now = await addressOn("e1", vip);
        assert.ok(now, `the address went away ${(performance.now() - prepared).toFixed(0)} ms after prepare`);
        assert.ok(now.valid_life_time <= 3);
        looks++;
        return performance.now() - prepared > 2 * 3000;
      },
      15_000,
    );
    t.diagnostic(`address present at all ${looks} looks over two leases`);
    await a.commit({ leaseMs: 3000, vips: [] });
    assert.equal(await addressOn("e1", vip), undefined, "withdrawn: the address is removed at once");
    assert.deepEqual(a.status().vips, []);
  },
);

for (const [family, vip] of [
  ["IPv4 (gratuitous ARP)", "198.51.100.20"],
  ["IPv6 (unsolicited NA)", "2001:db8::20"],
] as const)
  test(
    `${family}: on failover the client's neighbour entry flips to the new owner's MAC`,
    { skip },
    async (t) => {
      const { client, e1, e2 } = seg.hosts;
      const a1 = new KernelAnnouncer({ netns: e1!.ns });
      const a2 = new KernelAnnouncer({ netns: e2!.ns });
      t.after(() => Promise.all([a1.close(), a2.close()]));
      await a1.prepare(l2(vip));
      await a1.commit(l2(vip));
      await touch(client!, vip);
      assert.equal(await neighbour(client!, vip), e1!.mac, "the client reached the first owner");
      // The controller moves the VIP: the old owner withdraws, the new one takes it.
      await a1.commit({ leaseMs: 3000, vips: [] });
      await a2.prepare(l2(vip));
      const t0 = performance.now();
      await a2.commit(l2(vip));
      const committed = performance.now() - t0;
      // The client's entry is REACHABLE for 15-45 s after the touch: within 5 s only the
      // announcement can change it.
      await waitFor(
        "the client's entry to name the new owner",
        async () => (await neighbour(client!, vip)) === e2!.mac,
        5_000,
      );
      const flipped = performance.now() - t0;
      t.diagnostic(
        `${family}: commit() took ${committed.toFixed(0)} ms; neighbour flipped ${flipped.toFixed(0)} ms after commit() began`,
      );
      assert.equal(vipStatus(a2.status(), vip)?.state, "Announced");
    },
  );

test(
  "a drain: withdrawAll keeps the L2 address (open connections), releaseL2 then removes it (no ARP answers beside the new owner)",
  { skip },
  async (t) => {
    const a = new KernelAnnouncer({ netns: seg.hosts.e1!.ns });
    t.after(() => a.close());
    const vip = "198.51.100.40";
    await a.prepare(l2(vip));
    await a.commit(l2(vip));
    await a.withdrawAll();
    assert.ok(await addressOn("e1", vip), "kept while the controller moves the VIP");
    assert.equal(vipStatus(a.status(), vip)?.state, "Withdrawn");
    await a.releaseL2();
    assert.equal(await addressOn("e1", vip), undefined, "released after the withdraw delay");
    assert.equal(vipStatus(a.status(), vip)?.reason, "Draining");
  },
);

test(
  "no interface for the VIP: Failed, InterfaceNotFound, saying what to configure; no address added",
  { skip },
  async (t) => {
    const a = new KernelAnnouncer({ netns: seg.hosts.e1!.ns });
    t.after(() => a.close());
    let changes = 0;
    a.onChange(() => changes++);
    // Listed interfaces that the node lacks, and a VIP outside every subnet with no default route.
    const ann: Announcement = {
      leaseMs: 3000,
      vips: [
        { address: "198.51.100.30", pool: "edge", mode: "L2", interfaces: ["bond9", "eth7"] },
        { address: "203.0.113.30", pool: "far", mode: "L2" },
      ],
    };
    await a.prepare(ann);
    await a.commit(ann);
    const [listed, far] = [vipStatus(a.status(), "198.51.100.30")!, vipStatus(a.status(), "203.0.113.30")!];
    assert.equal(listed.state, "Failed");
    assert.equal(listed.reason, "InterfaceNotFound");
    assert.match(
      listed.message!,
      /VipPool edge's spec\.announce\.l2\.interfaces \(bond9, eth7\) is on this node \(it has lo, eth2\)/,
    );
    assert.equal(far.reason, "InterfaceNotFound");
    assert.match(
      far.message!,
      /no interface of this node has a subnet holding 203\.0\.113\.30 and there is no default route; set VipPool far's spec\.announce\.l2\.interfaces/,
    );
    const addrs = (await addresses(seg.hosts.e1!)).map((x) => x.local);
    assert.ok(!addrs.includes("198.51.100.30") && !addrs.includes("203.0.113.30"), addrs.join(" "));
    assert.ok(changes >= 1, "onChange told of the failure");
  },
);

test("arping missing: Failed, ToolMissing, naming the Debian package", { skip }, async (t) => {
  const child = startChild(t, seg.hosts.e1!, l2("198.51.100.40"), { PATH: "/nonexistent" });
  const s = await child.status((s) => vipStatus(s, "198.51.100.40")?.state === "Failed");
  const v = vipStatus(s, "198.51.100.40")!;
  assert.equal(v.reason, "ToolMissing");
  assert.match(v.message!, /arping is not installed .* Debian package iputils-arping/);
});

test(
  "SIGKILL: the killed announcer's address leaves the kernel within the lease, by itself",
  { skip },
  async (t) => {
    const vip = "198.51.100.50";
    const leaseMs = 2000;
    const child = startChild(t, seg.hosts.e1!, l2(vip, leaseMs));
    await child.status((s) => vipStatus(s, vip)?.state === "Announced");
    assert.ok(await addressOn("e1", vip));
    const t0 = performance.now();
    child.proc.kill("SIGKILL");
    await waitFor(
      "the address to expire",
      async () => (await addressOn("e1", vip)) === undefined,
      leaseMs + 8_000,
    );
    t.diagnostic(
      `SIGKILL → address gone: ${(performance.now() - t0).toFixed(0)} ms (lease ${leaseMs} ms, renewed every ${leaseMs / 3} ms)`,
    );
  },
);

test(
  "SIGSTOP: a frozen announcer's address expires; woken, it withdraws instead of renewing",
  { skip },
  async (t) => {
    const vip = "198.51.100.60";
    const leaseMs = 2000;
    const child = startChild(t, seg.hosts.e1!, l2(vip, leaseMs));
    await child.status((s) => vipStatus(s, vip)?.state === "Announced");
    const t0 = performance.now();
    child.proc.kill("SIGSTOP");
    await waitFor(
      "the frozen announcer's address to expire",
      async () => (await addressOn("e1", vip)) === undefined,
      leaseMs + 8_000,
    );
    t.diagnostic(`SIGSTOP → address gone: ${(performance.now() - t0).toFixed(0)} ms (lease ${leaseMs} ms)`);
    child.proc.kill("SIGCONT");
    const s = await child.status((s) => vipStatus(s, vip)?.state === "Withdrawn");
    const v = vipStatus(s, vip)!;
    assert.equal(v.reason, "EngineFrozen");
    assert.match(v.message!, /did not run for \d+\.\d s, more than its lease/);
    assert.equal(await addressOn("e1", vip), undefined, "not re-added after waking");
  },
);

/** startChild runs announce-child.ts in ns with ann; status(pred) waits for a status line matching pred. */
function startChild(t: TestContext, ns: SegmentHost, ann: Announcement, env: NodeJS.ProcessEnv = {}) {
  const child = seg.spawn<{ status: AnnounceStatus }>(ns, childFile, [JSON.stringify(ann)], env);
  t.after(() => {
    child.proc.kill("SIGCONT");
    child.proc.kill("SIGTERM");
  });
  // Each wait looks only at the lines after the one the previous wait matched.
  let from = 0;
  return {
    proc: child.proc,
    status: async (pred: (s: AnnounceStatus) => boolean) => {
      const i = await waitFor(
        `a status of the child announcer (stderr: ${child.stderr()})`,
        () => {
          const at = child.lines.findIndex((l, i) => i >= from && pred(l.status));
          return at >= 0 ? at : undefined;
        },
        15_000,
      );
      from = i + 1;
      return child.lines[i]!.status;
    },
  };
}

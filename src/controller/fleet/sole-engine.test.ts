// sole-engine.test.ts: `portico run` without a fleet — the in-process engine announces every
// announced VIP with the group "default"'s settings, and its own report is the view.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fixtureSnapshot } from "./testing.ts";
import { soleEngineAnnouncements, soleEngineSnapshot } from "./sole-engine.ts";
import { redactSnapshot } from "../redact.ts";

const full = {
  ...fixtureSnapshot(1),
  announce: {
    leaseMs: 3000,
    vips: [
      { address: "10.0.0.1", group: "default", pool: "p", mode: "L2" as const },
      { address: "10.0.0.3", group: "edge", pool: "q", mode: "BGP" as const },
    ],
  },
};

test("soleEngineSnapshot: every VIP, without groups, with the default group's lease and the peers of this node", () => {
  const s = soleEngineSnapshot(
    full,
    {
      default: {
        haMode: "ActiveActive",
        spares: 0,
        announcement: { leaseMs: 9000, withdrawDelayMs: 0 },
        bgp: {
          asn: 64512,
          peers: [
            {
              name: "here",
              address: "192.0.2.1",
              asn: 1,
              holdTimeSeconds: 9,
              bfd: false,
              nodes: ["host-a"],
              password: "pw",
            },
            {
              name: "there",
              address: "192.0.2.2",
              asn: 1,
              holdTimeSeconds: 9,
              bfd: false,
              nodes: ["host-b"],
            },
          ],
        },
      },
    },
    "host-a",
  );
  assert.deepEqual(s.announce, {
    leaseMs: 9000,
    withdrawDelayMs: 0,
    vips: [
      { address: "10.0.0.1", pool: "p", mode: "L2" },
      { address: "10.0.0.3", pool: "q", mode: "BGP" },
    ],
    bgp: {
      asn: 64512,
      peers: [{ name: "here", address: "192.0.2.1", asn: 1, holdTimeSeconds: 9, bfd: false, password: "pw" }],
    },
  });
  assert.equal(s.l4.length, full.l4.length, "listeners untouched");
  assert.equal(redactSnapshot(s).announce!.bgp!.peers[0]!.password, "<redacted>");
  assert.equal(soleEngineSnapshot(fixtureSnapshot(1), {}, "host-a").announce, undefined);
});

test("soleEngineAnnouncements: the local engine announces every VIP; its report says how it stands", () => {
  const views = soleEngineAnnouncements(full, "host-a", {
    vips: [{ address: "10.0.0.1", mode: "L2", state: "Announced", since: "T", interface: "eth0" }],
    peers: [],
  })!;
  assert.deepEqual(views, [
    {
      address: "10.0.0.1",
      group: "default",
      pool: "p",
      mode: "L2",
      announcers: [{ engine: "local", node: "host-a", state: "Announced", since: "T", interface: "eth0" }],
    },
    {
      address: "10.0.0.3",
      group: "edge",
      pool: "q",
      mode: "BGP",
      announcers: [{ engine: "local", node: "host-a", state: "Pending" }],
    },
  ]);
  assert.equal(soleEngineAnnouncements(fixtureSnapshot(1), "host-a", undefined), undefined);
});

// announcers.test.ts: who announces each VIP, as story rows — each row acts on the answer the
// previous row left (the fleet keeps it as `previous`), and the inputs are never mutated.
import { test } from "node:test";
import assert from "node:assert/strict";
import { announcers, type Announcers, type AnnouncersInput } from "./announcers.ts";
import { place, type PlacedEngine } from "./placement.ts";
import type { HaMode } from "../../k8s/engine-group.ts";

const engine = (name: string, node = `n-${name}`): PlacedEngine => ({ name, node, ready: true });

/** story runs rows of engines over one group's VIPs, placement and announcers both sticky. */
function story(
  mode: HaMode,
  vips: AnnouncersInput["vips"],
  rows: { engines: string[]; want: Announcers }[],
): void {
  let placement = {};
  let previous: Announcers = {};
  rows.forEach((row, i) => {
    placement = place({
      mode,
      spares: mode === "NPlusM" ? 1 : 0,
      engines: row.engines.map((e) => engine(e)),
      vips: vips.map((v) => v.address),
      previous: placement,
    });
    const input = { mode, placement, vips, previous };
    const frozen = JSON.stringify(input);
    const got = announcers(input);
    assert.equal(JSON.stringify(input), frozen, `row ${i}: input mutated`);
    assert.deepEqual(got, row.want, `row ${i} (${row.engines.join(",")})`);
    assert.deepEqual(announcers(input), got, `row ${i}: not deterministic`);
    previous = got;
  });
}

const l2 = (...a: string[]) => a.map((address) => ({ address, mode: "L2" as const }));
const bgp = (...a: string[]) => a.map((address) => ({ address, mode: "BGP" as const }));

test("announcers: ActiveActive + BGP: every engine placed on the VIP announces it (ECMP)", () => {
  story("ActiveActive", bgp("192.0.2.1", "192.0.2.2"), [
    {
      engines: ["e1", "e2", "e3"],
      want: { "192.0.2.1": ["e1", "e2", "e3"], "192.0.2.2": ["e1", "e2", "e3"] },
    },
    { engines: ["e1", "e3"], want: { "192.0.2.1": ["e1", "e3"], "192.0.2.2": ["e1", "e3"] } },
    { engines: [], want: { "192.0.2.1": [], "192.0.2.2": [] } },
  ]);
});

test("announcers: ActiveActive + L2 spreads VIPs one owner each, sticky, the least loaded taking new and orphaned ones", () => {
  story("ActiveActive", l2("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"), [
    // Fewest owned first, ties by name.
    {
      engines: ["e1", "e2"],
      want: { "192.0.2.1": ["e1"], "192.0.2.2": ["e2"], "192.0.2.3": ["e1"], "192.0.2.4": ["e2"] },
    },
    // A new engine takes nothing from the healthy ones.
    {
      engines: ["e1", "e2", "e3"],
      want: { "192.0.2.1": ["e1"], "192.0.2.2": ["e2"], "192.0.2.3": ["e1"], "192.0.2.4": ["e2"] },
    },
    // e1 goes: its VIPs go to the least loaded (e3 owns none, then e2 and e3 tie at one... by name).
    {
      engines: ["e2", "e3"],
      want: { "192.0.2.1": ["e3"], "192.0.2.2": ["e2"], "192.0.2.3": ["e3"], "192.0.2.4": ["e2"] },
    },
    // e1 back: nothing moves.
    {
      engines: ["e1", "e2", "e3"],
      want: { "192.0.2.1": ["e3"], "192.0.2.2": ["e2"], "192.0.2.3": ["e3"], "192.0.2.4": ["e2"] },
    },
  ]);
});

test("announcers: ActiveStandby announces from the active engine only, and the standby takes over", () => {
  for (const vips of [l2("192.0.2.1"), bgp("192.0.2.1")])
    story("ActiveStandby", vips, [
      { engines: ["e1", "e2"], want: { "192.0.2.1": ["e1"] } },
      { engines: ["e2"], want: { "192.0.2.1": ["e2"] } },
      { engines: ["e1", "e2"], want: { "192.0.2.1": ["e2"] } },
    ]);
});

test("announcers: NPlusM announces from each VIP's active engine; a spare takes a failed engine's VIPs", () => {
  story("NPlusM", bgp("192.0.2.1", "192.0.2.2"), [
    { engines: ["a", "b", "c"], want: { "192.0.2.1": ["a"], "192.0.2.2": ["b"] } },
    { engines: ["a", "c"], want: { "192.0.2.1": ["a"], "192.0.2.2": ["c"] } },
  ]);
});

test("announcers: mixed modes in one ActiveActive group: BGP VIPs everywhere, L2 VIPs one owner", () => {
  const placement = {
    "192.0.2.1": { active: ["e1", "e2"], standby: [] },
    "192.0.2.2": { active: ["e1", "e2"], standby: [] },
  };
  assert.deepEqual(
    announcers({
      mode: "ActiveActive",
      placement,
      vips: [...bgp("192.0.2.1"), ...l2("192.0.2.2")],
      previous: { "192.0.2.2": ["e2"] },
    }),
    { "192.0.2.1": ["e1", "e2"], "192.0.2.2": ["e2"] },
  );
});

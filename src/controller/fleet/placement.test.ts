// placement.test.ts: place() in story tables (each row acts on the placement the previous row
// left, as src/ipam/allocate.test.ts does), for each HA mode: first placement, failover, an
// engine's return (no needless moves), growth; plus invariants over seeded random histories.
import assert from "node:assert/strict";
import { test } from "node:test";
import { deepFreeze } from "../../k8s/resource-set.ts";
import type { HaMode } from "../../k8s/engine-group.ts";
import { mulberry32 } from "../../ipam/testing.ts";
import { place, type PlacedEngine, type Placement } from "./placement.ts";

/** Row is one step of a story: the engines and VIPs now, and what the placement must then be. */
interface Row {
  what: string;
  engines: PlacedEngine[];
  vips: string[];
  want: Record<string, string>;
}

/** render writes a placement as "active/standby,standby" per VIP, for short expectations. */
function render(p: Placement): Record<string, string> {
  return Object.fromEntries(
    Object.entries(p).map(([vip, v]) => [vip, `${v.active.join(",")}/${v.standby.join(",")}`]),
  );
}

const e = (name: string, node: string, ready = true, zone?: string): PlacedEngine =>
  zone === undefined ? { name, node, ready } : { name, node, ready, zone };

function story(mode: HaMode, spares: number, rows: Row[]): void {
  let previous: Placement = {};
  for (const row of rows) {
    const input = deepFreeze({ mode, spares, engines: row.engines, vips: row.vips, previous });
    const got = place(input);
    assert.deepEqual(render(got), row.want, row.what);
    assert.deepEqual(place(input), got, `${row.what}: deterministic`);
    // Moves are counted by the caller; here a row says exactly where each VIP is.
    previous = got;
  }
}

const V = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];

test("ActiveActive: every ready engine serves every VIP", () => {
  story("ActiveActive", 0, [
    {
      what: "two ready, one not",
      engines: [e("b", "n2"), e("a", "n1"), e("c", "n3", false)],
      vips: V.slice(0, 2),
      want: { "10.0.0.1": "a,b/", "10.0.0.2": "a,b/" },
    },
    {
      what: "none ready: nobody serves",
      engines: [e("a", "n1", false)],
      vips: V.slice(0, 1),
      want: { "10.0.0.1": "/" },
    },
  ]);
});

test("ActiveStandby: fair actives, standby elsewhere, failover, return without moves", () => {
  story("ActiveStandby", 0, [
    {
      what: "four VIPs over two engines: two actives each, the other engine stands by",
      engines: [e("a", "n1"), e("b", "n2")],
      vips: V,
      want: { "10.0.0.1": "a/b", "10.0.0.2": "b/a", "10.0.0.3": "a/b", "10.0.0.4": "b/a" },
    },
    {
      what: "a goes: its standby b takes its VIPs; no standby is left",
      engines: [e("a", "n1", false), e("b", "n2")],
      vips: V,
      want: { "10.0.0.1": "b/", "10.0.0.2": "b/", "10.0.0.3": "b/", "10.0.0.4": "b/" },
    },
    {
      what: "a returns: it becomes the standby of everything and takes nothing back",
      engines: [e("a", "n1"), e("b", "n2")],
      vips: V,
      want: { "10.0.0.1": "b/a", "10.0.0.2": "b/a", "10.0.0.3": "b/a", "10.0.0.4": "b/a" },
    },
    {
      what: "a new VIP goes to the engine with the fewest actives",
      engines: [e("a", "n1"), e("b", "n2")],
      vips: [...V, "10.0.0.5"],
      want: { "10.0.0.1": "b/a", "10.0.0.2": "b/a", "10.0.0.3": "b/a", "10.0.0.4": "b/a", "10.0.0.5": "a/b" },
    },
    {
      what: "c joins on a third node: nothing moves",
      engines: [e("a", "n1"), e("b", "n2"), e("c", "n3")],
      vips: [...V, "10.0.0.5"],
      want: { "10.0.0.1": "b/a", "10.0.0.2": "b/a", "10.0.0.3": "b/a", "10.0.0.4": "b/a", "10.0.0.5": "a/b" },
    },
    {
      what: "b goes: each of its VIPs goes to its standby a, and a new standby is picked (c, the least loaded)",
      engines: [e("a", "n1"), e("b", "n2", false), e("c", "n3")],
      vips: [...V, "10.0.0.5"],
      want: { "10.0.0.1": "a/c", "10.0.0.2": "a/c", "10.0.0.3": "a/c", "10.0.0.4": "a/c", "10.0.0.5": "a/c" },
    },
  ]);
});

test("ActiveStandby: the standby is on another node, in another zone when there is one", () => {
  story("ActiveStandby", 0, [
    {
      what: "a and b share node n1; c is on n2: the VIP on a is backed by c, not b",
      engines: [e("a", "n1"), e("b", "n1"), e("c", "n2")],
      vips: ["10.0.0.1"],
      want: { "10.0.0.1": "a/c" },
    },
  ]);
  story("ActiveStandby", 0, [
    {
      what: "zones: a's standby is d, the one engine in another zone",
      engines: [
        e("a", "n1", true, "z1"),
        e("b", "n2", true, "z1"),
        e("c", "n3", true, "z1"),
        e("d", "n4", true, "z2"),
      ],
      vips: ["10.0.0.1"],
      want: { "10.0.0.1": "a/d" },
    },
  ]);
  story("ActiveStandby", 0, [
    {
      what: "one engine: active, no standby",
      engines: [e("a", "n1")],
      vips: ["10.0.0.1"],
      want: { "10.0.0.1": "a/" },
    },
    {
      what: "a second engine on the same node is better than none",
      engines: [e("a", "n1"), e("b", "n1")],
      vips: ["10.0.0.1"],
      want: { "10.0.0.1": "a/b" },
    },
    {
      what: "c on another node arrives: the standby moves to it (a standby announces nothing), the active stays",
      engines: [e("a", "n1"), e("b", "n1"), e("c", "n2")],
      vips: ["10.0.0.1"],
      want: { "10.0.0.1": "a/c" },
    },
  ]);
});

test("NPlusM: actives serve, the spare takes a failed engine's VIPs, a return moves nothing", () => {
  story("NPlusM", 1, [
    {
      what: "a and b are the actives (first by name), c the spare stands by",
      engines: [e("c", "n3"), e("a", "n1"), e("b", "n2")],
      vips: V,
      want: { "10.0.0.1": "a/c", "10.0.0.2": "b/c", "10.0.0.3": "a/c", "10.0.0.4": "b/c" },
    },
    {
      what: "b goes: the spare c takes all of b's VIPs; a keeps its own",
      engines: [e("a", "n1"), e("b", "n2", false), e("c", "n3")],
      vips: V,
      want: { "10.0.0.1": "a/", "10.0.0.2": "c/", "10.0.0.3": "a/", "10.0.0.4": "c/" },
    },
    {
      what: "b returns: it takes nothing back and stands by",
      engines: [e("a", "n1"), e("b", "n2"), e("c", "n3")],
      vips: V,
      want: { "10.0.0.1": "a/b", "10.0.0.2": "c/b", "10.0.0.3": "a/b", "10.0.0.4": "c/b" },
    },
    {
      what: "a new VIP goes to the least loaded engine, b (an active by name)",
      engines: [e("a", "n1"), e("b", "n2"), e("c", "n3")],
      vips: [...V, "10.0.0.5"],
      want: { "10.0.0.1": "a/", "10.0.0.2": "c/", "10.0.0.3": "a/", "10.0.0.4": "c/", "10.0.0.5": "b/" },
    },
    {
      what: "a and c go with no idle engine left: their VIPs spread over what is ready",
      engines: [e("a", "n1", false), e("b", "n2"), e("c", "n3", false)],
      vips: [...V, "10.0.0.5"],
      want: { "10.0.0.1": "b/", "10.0.0.2": "b/", "10.0.0.3": "b/", "10.0.0.4": "b/", "10.0.0.5": "b/" },
    },
  ]);
});

test("NPlusM with two spares: each failed engine's VIPs move together to one spare", () => {
  story("NPlusM", 2, [
    {
      what: "a, b active; c, d spare",
      engines: [e("a", "n1"), e("b", "n2"), e("c", "n3"), e("d", "n4")],
      vips: V,
      want: { "10.0.0.1": "a/c,d", "10.0.0.2": "b/c,d", "10.0.0.3": "a/c,d", "10.0.0.4": "b/c,d" },
    },
    {
      what: "a and b both go: a's VIPs to c, b's to d",
      engines: [e("a", "n1", false), e("b", "n2", false), e("c", "n3"), e("d", "n4")],
      vips: V,
      want: { "10.0.0.1": "c/", "10.0.0.2": "d/", "10.0.0.3": "c/", "10.0.0.4": "d/" },
    },
  ]);
});

test("invariants over random histories: only ready engines serve, actives stay while ready", () => {
  for (const mode of ["ActiveActive", "ActiveStandby", "NPlusM"] as const) {
    for (let seed = 1; seed <= 40; seed++) {
      const r = mulberry32(seed);
      let previous: Placement = {};
      const names = ["e1", "e2", "e3", "e4", "e5"];
      for (let step = 0; step < 30; step++) {
        const engines = names.map((n, i) => e(n, `n${i % 3}`, r() > 0.3, `z${i % 2}`));
        const vips = Array.from({ length: 1 + Math.floor(r() * 8) }, (_, i) => `10.0.0.${i + 1}`);
        const got = place({ mode, spares: 1, engines, vips, previous });
        const ready = new Set(engines.filter((x) => x.ready).map((x) => x.name));
        const where = `${mode} seed ${seed} step ${step}`;
        assert.deepEqual(Object.keys(got).sort(), [...vips].sort(), where);
        for (const [vip, p] of Object.entries(got)) {
          for (const n of [...p.active, ...p.standby]) assert.ok(ready.has(n), `${where}: ${n} not ready`);
          assert.equal(p.active.length > 0, ready.size > 0, `${where}: ${vip} served iff an engine is ready`);
          if (mode !== "ActiveActive") assert.ok(p.active.length <= 1, where);
          for (const s of p.standby) assert.ok(!p.active.includes(s), `${where}: standby is not the active`);
          const was = previous[vip]?.active[0];
          if (mode !== "ActiveActive" && was !== undefined && ready.has(was))
            assert.deepEqual(p.active, [was], `${where}: ${vip} moved off a ready engine`);
        }
        previous = got;
      }
    }
  }
});

// announce-flows.test.ts: blame()'s rules on hand-written packet records (what the router's
// watcher prints; the BGP tests feed it real ones). Only a reset that another engine sent, after
// the route changed under an accepted flow, is the router's; everything else is Portico's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { blame, hopSets, type FlowWatch } from "./announce-flows.ts";
import type { Rec } from "./announce-topology.ts";

const A = "02:00:00:00:00:0b";
const B = "02:00:00:00:00:0c";
const failed = (t0: number, t1: number, why: string, port: number): Rec => [t0, t1, 0, why, "", port];

test("blame: a flow reset by another engine across a route change is the router's; the rest is Portico's", () => {
  const w: FlowWatch = {
    events: [
      { t: 1000, mac: A, port: 40001, kind: "SA" },
      { t: 1012, mac: B, port: 40001, kind: "R" },
      { t: 1000, mac: A, port: 40002, kind: "SA" },
      { t: 1012, mac: A, port: 40002, kind: "R" },
      { t: 5000, mac: A, port: 40003, kind: "SA" },
      { t: 5010, mac: B, port: 40003, kind: "R" },
      // The same port a minute earlier: another connection, outside the request's window.
      { t: -60_000, mac: A, port: 40004, kind: "SA" },
      { t: 1011, mac: B, port: 40004, kind: "R" },
    ],
    routes: [{ t: 1005, hops: ["198.51.100.12", "198.51.100.13"] }],
  };
  const recs: Rec[] = [
    failed(999, 1013, "ECONNRESET", 40001), // moved: accepted by A, reset by B, route changed between
    failed(999, 1013, "ECONNRESET", 40002), // reset by the engine that accepted it
    failed(4999, 5011, "ECONNRESET", 40003), // reset by B, but the route had not changed then
    failed(999, 1013, "ECONNRESET", 40004), // no accept seen for this connection
    failed(999, 1001, "ECONNREFUSED", 0), // a SYN to an engine not listening
    failed(999, 2000, "TIMEOUT", 40005),
    [999, 1013, 1, "200", "backend 198.51.100.11", 40006], // succeeded: not counted
    failed(100, 200, "ECONNRESET", 40007), // before t
  ];
  const b = blame(recs, w, 900, 50);
  assert.deepEqual(
    b.stray.map((r) => r[5]),
    [40001],
  );
  assert.deepEqual(
    b.portico.map((r) => r[5]),
    [40002, 40003, 40004, 0, 40005],
  );
});

test("hopSets: the route's next-hop sets after t, repeats folded", () => {
  const w: FlowWatch = {
    events: [],
    routes: [
      { t: 1, hops: ["a", "b", "c"] },
      { t: 10, hops: ["b", "c"] },
      { t: 11, hops: ["b", "c"] },
      { t: 20, hops: ["a", "b", "c"] },
    ],
  };
  assert.deepEqual(hopSets(w, 5), ["b,c", "a,b,c"]);
});

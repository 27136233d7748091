// first-seen.test.ts: creation times for objects from files — a newcomer is always younger than
// every holder (even within the same second, even when its name sorts first), a restart changes no
// one's age, a deleted object starts again, and a time written in the file wins.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AnyObject } from "../../k8s/types.ts";
import { FirstSeen, type FirstSeenStore } from "./first-seen.ts";
import { Generations } from "./generation.ts";

const ingress = (name: string, metadata: object = {}): AnyObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name, namespace: "default", ...metadata },
  spec: {},
});

/** memory is a FirstSeenStore in a record, counting saves. */
function memory(): FirstSeenStore & { times: Record<string, string>; saves: number } {
  const m = {
    times: {} as Record<string, string>,
    saves: 0,
    loadFirstSeen: () => ({ ...m.times }),
    saveFirstSeen: (t: Record<string, string>) => {
      m.times = { ...t };
      m.saves++;
    },
  };
  return m;
}

/** rebuild stamps objects as the file source does per rebuild and returns name → creationTimestamp. */
function rebuild(g: Generations, ...objs: AnyObject[]): Record<string, string | undefined> {
  const out = Object.fromEntries(objs.map((o) => [o.metadata.name, g.stamp(o).metadata.creationTimestamp]));
  g.commit();
  return out;
}

test("a newcomer is younger than every holder, even in the same second and sorting first", () => {
  const clock = { ms: Date.parse("2026-12-06T15:00:00.200Z") };
  const store = memory();
  const g = new Generations(new FirstSeen(store, () => new Date(clock.ms)));
  const T0 = "2026-12-06T15:00:00Z";
  assert.deepEqual(rebuild(g, ingress("holder"), ingress("other")), { holder: T0, other: T0 });
  clock.ms += 300; // still the same second
  const next = rebuild(g, ingress("aaa-newcomer"), ingress("holder"), ingress("other"));
  assert.deepEqual(next, { "aaa-newcomer": "2026-12-06T15:00:01Z", holder: T0, other: T0 });
  assert.ok(next["aaa-newcomer"]! > next.holder!, "string order is age order");
  const saves = store.saves;
  rebuild(g, ingress("aaa-newcomer"), ingress("holder"), ingress("other"));
  assert.equal(store.saves, saves, "nothing new, nothing written");

  // A restart, clock back at the first second: stored times hold, a newcomer is still younger.
  clock.ms = Date.parse("2026-12-06T15:00:00.500Z");
  const after = new Generations(new FirstSeen(store, () => new Date(clock.ms)));
  assert.deepEqual(rebuild(after, ingress("aaa-newcomer"), ingress("holder"), ingress("0-late")), {
    "aaa-newcomer": "2026-12-06T15:00:01Z",
    holder: T0,
    "0-late": "2026-12-06T15:00:02Z",
  });
});

test("a deleted object starts again as a newcomer; a time written in the file wins", () => {
  const clock = { ms: Date.parse("2026-12-06T15:00:00Z") };
  const g = new Generations(new FirstSeen(memory(), () => new Date(clock.ms)));
  rebuild(g, ingress("a"), ingress("b"));
  rebuild(g, ingress("b"));
  clock.ms += 60_000;
  assert.deepEqual(rebuild(g, ingress("a"), ingress("b")), {
    a: "2026-12-06T15:01:00Z",
    b: "2026-12-06T15:00:00Z",
  });
  const own = "2020-01-01T00:00:00Z";
  assert.equal(rebuild(g, ingress("c", { creationTimestamp: own })).c, own);
});

test("without FirstSeen nothing is stamped, and the input object is never changed", () => {
  assert.deepEqual(rebuild(new Generations(), ingress("a")), { a: undefined });
  const frozen = Object.freeze(ingress("a"));
  const stamped = new Generations(new FirstSeen(memory())).stamp(frozen);
  assert.equal(frozen.metadata.creationTimestamp, undefined);
  assert.match(stamped.metadata.creationTimestamp ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

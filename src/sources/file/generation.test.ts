// generation.test.ts: metadata.generation numbered as the API server would for objects from files.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AnyObject } from "../../k8s/types.ts";
import { Generations } from "./generation.ts";

function route(spec: object, metadata: object = {}): AnyObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "default", ...metadata },
    spec,
  } as AnyObject;
}

/** rebuild stamps one set of objects, as the file source does per rebuild. */
function rebuild(g: Generations, ...objs: AnyObject[]): (number | undefined)[] {
  const out = objs.map((o) => (g.stamp(o).metadata as { generation?: number }).generation);
  g.commit();
  return out;
}

test("1 when first seen, the same while only metadata or status change, +1 on each spec change", () => {
  const g = new Generations();
  assert.deepEqual(rebuild(g, route({ a: 1 })), [1]);
  assert.deepEqual(rebuild(g, route({ a: 1 })), [1]);
  assert.deepEqual(rebuild(g, route({ a: 1 }, { labels: { x: "y" } })), [1]);
  assert.deepEqual(rebuild(g, { ...route({ a: 1 }), status: { parents: [] } } as AnyObject), [1]);
  assert.deepEqual(rebuild(g, route({ a: 2 })), [2]);
  assert.deepEqual(rebuild(g, route({ a: 3 })), [3]);
});

test("a generation written in the file wins; a deleted object starts again at 1", () => {
  const g = new Generations();
  assert.deepEqual(rebuild(g, route({ a: 1 }, { generation: 7 })), [7]);
  assert.deepEqual(rebuild(g), []);
  assert.deepEqual(rebuild(g, route({ a: 1 })), [1]);
});

test("the input object is not changed", () => {
  const g = new Generations();
  const r = Object.freeze(route({ a: 1 }));
  const stamped = g.stamp(r);
  assert.equal((r.metadata as { generation?: number }).generation, undefined);
  assert.equal((stamped.metadata as { generation?: number }).generation, 1);
});

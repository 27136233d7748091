import assert from "node:assert/strict";
import { test } from "node:test";
import { validateSnapshot } from "../src/model/validate.ts";
import { scaleSnapshot } from "./route-scale.ts";

test("scaleSnapshot: 10 routes and 5 pools per VIP, distinct loopback addresses, valid IR", () => {
  const s = scaleSnapshot(300, 1);
  assert.equal(s.http.length, 300);
  assert.equal(new Set(s.http.map((l) => l.address)).size, 300);
  assert.ok(s.http.every((l) => l.address.startsWith("127.20.")));
  const routes = s.http.reduce((n, l) => n + l.virtualHosts.reduce((m, v) => m + v.routes.length, 0), 0);
  assert.equal(routes, 3000);
  assert.equal(Object.keys(s.pools).length, 1500);
  assert.deepEqual(validateSnapshot(s), []);
});

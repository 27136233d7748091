// prepare.test.ts: the weighted pick between a route's pools and its invalid backend shares.
import { test } from "node:test";
import assert from "node:assert/strict";
import { invalidBackendText, pickPool, pickTarget } from "./prepare.ts";

/** sequence returns a random() that walks evenly through [0, 1) in n steps. */
function sequence(n: number): () => number {
  let i = 0;
  return () => (i++ % n) / n;
}

test("pickTarget: an invalid share takes its weight's part of the requests, the rest go to the pools", () => {
  const missing = { ref: "Service apps/missing:80", weight: 1 };
  const action = { backends: [{ pool: "apps/a:80", weight: 3 }], invalid: [missing] };
  const random = sequence(400);
  const counts = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const t = pickTarget(action, random);
    const key = typeof t === "string" ? t : t === undefined ? "none" : `invalid ${t.ref}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(counts), { "apps/a:80": 300, "invalid Service apps/missing:80": 100 });
});

test("pickTarget: invalid shares only (a GRPCRoute with no valid backend) always pick an invalid share", () => {
  const gone = { ref: "Service apps/gone:80", weight: 2 };
  for (const r of [0, 0.5, 0.999999])
    assert.equal(
      pickTarget({ backends: [], invalid: [gone] }, () => r),
      gone,
    );
});

test("pickTarget: without invalid shares it is pickPool; weight 0 everywhere picks nothing", () => {
  const backends = [{ pool: "p", weight: 1 }];
  assert.equal(pickTarget({ backends }), "p");
  assert.equal(pickTarget({ backends, invalid: [] }), pickPool(backends));
  assert.equal(
    pickTarget({ backends: [{ pool: "p", weight: 0 }], invalid: [{ ref: "x", weight: 0 }] }),
    undefined,
  );
});

test("invalidBackendText names the reference and the route", () => {
  const text = invalidBackendText("HTTPRoute/apps/split#0.0", { ref: "Service apps/missing:80", weight: 1 });
  assert.match(text, /Service apps\/missing:80/);
  assert.match(text, /HTTPRoute\/apps\/split#0\.0/);
});

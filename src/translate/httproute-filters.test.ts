// httproute-filters.test.ts: GEP-2257 durations and the gRPC method-to-path mapping, the two small
// parsers route rules depend on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { grpcPath } from "./grpcroute.ts";
import { parseDuration } from "./httproute-filters.ts";
import { mergePools } from "./tcproute.ts";
import type { Pool } from "../model/ir.ts";

test("parseDuration: GEP-2257 durations in milliseconds; anything else is rejected", () => {
  assert.equal(parseDuration("0s"), 0);
  assert.equal(parseDuration("10s"), 10_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("2s500ms"), 2_500);
  assert.equal(parseDuration("1h1m1s1ms"), 3_661_001);
  for (const bad of ["", "10", "1.5s", "1d", "-1s", "100000s", "1h1m1s1ms1h", "1 s"]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});

test("grpcPath: service and method matches as HTTP/2 paths", () => {
  assert.deepEqual(grpcPath(undefined), { type: "Prefix", value: "/" });
  assert.deepEqual(grpcPath({ service: "a.B", method: "M" }), { type: "Exact", value: "/a.B/M" });
  assert.deepEqual(grpcPath({ service: "a.B" }), { type: "Prefix", value: "/a.B" });
  const m = grpcPath({ method: "Get.All" });
  assert.equal(m.type, "RegularExpression");
  assert.ok(new RegExp(`^${m.value}$`).test("/any.Svc/Get.All"));
  assert.ok(!new RegExp(`^${m.value}$`).test("/any.Svc/GetxAll"), "the method is quoted");
  assert.deepEqual(grpcPath({ type: "RegularExpression", service: "a\\.v[0-9]" }), {
    type: "RegularExpression",
    value: "/a\\.v[0-9]/[^/]+",
  });
});

test("mergePools: weights spread over endpoints stay integral and keep the split", () => {
  const pool = (name: string, n: number): Pool => ({
    name,
    algorithm: { type: "RoundRobin" },
    protocol: "tcp",
    endpoints: Array.from({ length: n }, (_, i) => ({
      address: `10.0.0.${i + 1}`,
      port: 80,
      weight: 1,
      ready: true,
      serving: true,
      terminating: false,
    })),
  });
  const merged = mergePools("m", [
    { pool: pool("a", 2), weight: 3 },
    { pool: pool("b", 3), weight: 1 },
  ]);
  const sum = (from: number, to: number) =>
    merged.endpoints.slice(from, to).reduce((s, e) => s + e.weight, 0);
  assert.ok(merged.endpoints.every((e) => Number.isInteger(e.weight)));
  assert.equal(sum(0, 2) / sum(2, 5), 3, "a carries three times b");
  assert.equal(merged.name, "m");
});

// pipeline.test.ts: the pipeline's own duties — addresses into listeners, pending VIPs dropped,
// statuses filled from IPAM, allocations carried between runs — on ResourceSets built in code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet, deepFreeze } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import type { AllocationState } from "../ipam/types.ts";
import { validateSnapshot } from "../model/validate.ts";
import { buildSnapshot } from "./pipeline.ts";

const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };

function pool(name: string, addresses: string[]): AnyObject {
  return { apiVersion: "portico.dev/v1alpha1", kind: "VipPool", metadata: { name }, spec: { addresses } };
}

function service(name: string, ts: string, spec: Record<string, unknown> = {}): AnyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default", creationTimestamp: ts },
    spec: {
      type: "LoadBalancer",
      loadBalancerClass: "portico.dev/lb",
      ports: [{ name: "http", port: 80 }],
      ...spec,
    },
  };
}

function set(...objects: AnyObject[]) {
  return buildResourceSet(objects, new Map(), []);
}

test("pipeline: a pending VIP gets no listener, no pool, an empty loadBalancer and a False condition", () => {
  const out = buildSnapshot(
    set(
      pool("one", ["192.0.2.7/32"]),
      service("a", "2026-01-01T00:00:00Z"),
      service("b", "2026-01-02T00:00:00Z"),
    ),
    opts,
    {},
    7,
  );
  assert.equal(out.snapshot.version, 7);
  assert.deepEqual(
    out.snapshot.l4.map((l) => [l.name, l.address]),
    [["Service/default/a:80/TCP", "192.0.2.7"]],
  );
  assert.deepEqual(Object.keys(out.snapshot.pools), ["default/a:80/TCP"]);
  const b = out.statuses.find((s) => s.kind === "Service" && s.name === "b")!;
  assert.deepEqual(b.status.loadBalancer, {});
  const cond = b.status.conditions!.find((c) => c.type === "portico.dev/VIPAllocated")!;
  assert.equal(cond.status, "False");
  assert.equal(cond.reason, "Exhausted");
  assert.match(cond.message, /exhausted/);
  const a = out.statuses.find((s) => s.kind === "Service" && s.name === "a")!;
  assert.deepEqual(a.status.loadBalancer, { ingress: [{ ip: "192.0.2.7", ipMode: "VIP" }] });
  assert.deepEqual(validateSnapshot(out.snapshot), []);
});

test("pipeline: allocations carry over; a deleted Service frees its address for a waiting one", () => {
  const p = pool("one", ["192.0.2.10-192.0.2.11"]);
  const first = buildSnapshot(
    set(
      p,
      service("a", "2026-01-01T00:00:00Z"),
      service("b", "2026-01-02T00:00:00Z"),
      service("c", "2026-01-03T00:00:00Z"),
    ),
    opts,
    {},
    1,
  );
  const held = first.allocations.state;
  assert.deepEqual(held["Service/default/b"]?.addresses, ["192.0.2.11"]);
  assert.equal(held["Service/default/c"], undefined);
  const previous: AllocationState = deepFreeze(structuredClone(held));
  const second = buildSnapshot(
    set(p, service("b", "2026-01-02T00:00:00Z"), service("c", "2026-01-03T00:00:00Z")),
    opts,
    previous,
    2,
  );
  assert.deepEqual(
    second.allocations.state["Service/default/b"]?.addresses,
    ["192.0.2.11"],
    "b keeps its address",
  );
  assert.deepEqual(
    second.allocations.state["Service/default/c"]?.addresses,
    ["192.0.2.10"],
    "c gets the freed one",
  );
  assert.deepEqual(
    second.snapshot.l4.map((l) => l.address),
    ["192.0.2.11", "192.0.2.10"],
  );
});

test("pipeline: a dual-stack VIP listens on one address per family", () => {
  const out = buildSnapshot(
    set(
      pool("both", ["192.0.2.0/30", "2001:db8::10/126"]),
      service("a", "2026-01-01T00:00:00Z", {
        ipFamilyPolicy: "RequireDualStack",
        ipFamilies: ["IPv4", "IPv6"],
      }),
    ),
    opts,
    {},
    1,
  );
  assert.deepEqual(
    out.snapshot.l4.map((l) => l.address),
    ["192.0.2.0", "2001:db8::10"],
  );
  const a = out.statuses.find((s) => s.kind === "Service")!;
  assert.deepEqual(
    a.status.loadBalancer?.ingress?.map((i) => i.ip),
    ["192.0.2.0", "2001:db8::10"],
  );
  assert.deepEqual(validateSnapshot(out.snapshot), []);
});

test("pipeline: same input, same output, inputs untouched", () => {
  const s = set(pool("one", ["192.0.2.0/29"]), service("a", "2026-01-01T00:00:00Z"));
  const previous = deepFreeze({});
  const one = buildSnapshot(s, opts, previous, 3);
  const two = buildSnapshot(s, opts, previous, 3);
  assert.deepEqual(one, two);
  assert.deepEqual(previous, {});
});

test("pipeline: VipPool statuses come from IPAM, one per pool", () => {
  const out = buildSnapshot(
    set(pool("one", ["192.0.2.0/30"]), pool("bad", ["nonsense"]), service("a", "2026-01-01T00:00:00Z")),
    opts,
    {},
    1,
  );
  const pools = out.statuses.filter((s) => s.kind === "VipPool");
  assert.deepEqual(
    pools.map((p) => p.name),
    ["bad", "one"],
  );
  const ready = (name: string) =>
    (pools.find((p) => p.name === name)!.status.conditions ?? []).find((c) => c.type === "Ready")?.status;
  assert.equal(ready("one"), "True");
  assert.equal(ready("bad"), "False");
  assert.equal(pools.find((p) => p.name === "one")!.status.assignedIPv4, 1);
});

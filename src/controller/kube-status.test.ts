// kube-status.test.ts: the pure parts of cluster write-back — which status Portico wants on an
// object, when two statuses are the same, which Event a change deserves, and allocations read back
// from status. The API round trips are in test/kube/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import { allocate } from "../ipam/allocate.ts";
import { translate } from "../translate/translate.ts";
import { ingressEvents, vipEvent } from "./kube-events.ts";
import { recoverAllocations } from "./kube-recover.ts";
import { desiredStatus, mergeConditions, rfc3339, sameStatus } from "./kube-status.ts";

const T0 = "2026-01-01T00:00:00Z";
const NOW = "2026-02-02T02:02:02Z";
const VIP = "portico.dev/VIPAllocated";

function svc(name: string, status: Record<string, unknown> = {}, ts = T0): AnyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default", creationTimestamp: ts, uid: `uid-${name}` },
    spec: {
      type: "LoadBalancer",
      loadBalancerClass: "portico.dev/lb",
      ports: [{ port: 80, protocol: "TCP" }],
    },
    status,
  };
}

test("rfc3339 drops milliseconds, as metav1.Time serialises", () => {
  assert.equal(rfc3339(new Date("2026-03-04T05:06:07.891Z")), "2026-03-04T05:06:07Z");
});

test("mergeConditions keeps lastTransitionTime while the status holds, stamps now when it flips", () => {
  const old = [
    { type: "A", status: "True", reason: "Ok", message: "", lastTransitionTime: T0 },
    { type: "B", status: "True", reason: "Ok", message: "", lastTransitionTime: T0 },
  ];
  const next = [
    { type: "A", status: "True", reason: "StillOk", message: "new words" },
    { type: "B", status: "False", reason: "Broken", message: "" },
    { type: "C", status: "True", reason: "New", message: "" },
  ];
  assert.deepEqual(
    mergeConditions(old, next, NOW).map((c) => [c.type, c.lastTransitionTime]),
    [
      ["A", T0],
      ["B", NOW],
      ["C", NOW],
    ],
  );
});

test("desiredStatus on a Service replaces Portico's conditions and the load balancer, keeps others'", () => {
  const other = {
    type: "example.com/Ready",
    status: "True",
    reason: "Fine",
    message: "",
    lastTransitionTime: T0,
  };
  const stale = {
    type: "portico.dev/Old",
    status: "True",
    reason: "Gone",
    message: "",
    lastTransitionTime: T0,
  };
  const obj = svc("a", { loadBalancer: {}, conditions: [other, stale] });
  const want = desiredStatus(
    obj,
    {
      kind: "Service",
      namespace: "default",
      name: "a",
      status: {
        loadBalancer: { ingress: [{ ip: "192.0.2.1", ipMode: "VIP" }] },
        conditions: [{ type: VIP, status: "True", reason: "Allocated", message: "192.0.2.1 from pool p" }],
      },
    },
    NOW,
  )!;
  assert.deepEqual(want.loadBalancer, { ingress: [{ ip: "192.0.2.1", ipMode: "VIP" }] });
  assert.deepEqual(
    (want.conditions as { type: string; lastTransitionTime: string }[]).map((c) => [
      c.type,
      c.lastTransitionTime,
    ]),
    [
      ["example.com/Ready", T0],
      [VIP, NOW],
    ],
  );
  assert.equal(
    obj.status && (obj.status as { conditions: unknown[] }).conditions.length,
    2,
    "input untouched",
  );
});

test("desiredStatus writes only the load balancer on an Ingress and nothing on kinds without status", () => {
  const ing: AnyObject = {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "i", namespace: "d" },
  };
  const s = {
    kind: "Ingress",
    namespace: "d",
    name: "i",
    status: {
      loadBalancer: { ingress: [{ ip: "192.0.2.9" }] },
      conditions: [{ type: "X", status: "False", reason: "R", message: "" }],
    },
  };
  assert.deepEqual(desiredStatus(ing, s, NOW), { loadBalancer: { ingress: [{ ip: "192.0.2.9" }] } });
  const cls: AnyObject = {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "c" },
  };
  assert.equal(desiredStatus(cls, { kind: "IngressClass", name: "c", status: {} }, NOW), undefined);
});

test("sameStatus ignores key order and treats an empty ingress list as none", () => {
  assert.ok(
    sameStatus(
      { loadBalancer: {}, conditions: [{ a: 1, b: 2 }] },
      { conditions: [{ b: 2, a: 1 }], loadBalancer: { ingress: [] } },
    ),
  );
  assert.ok(!sameStatus({ loadBalancer: { ingress: [{ ip: "192.0.2.1" }] } }, { loadBalancer: {} }));
});

test("vipEvent: IPAllocated when the VIP condition turns True, AllocationFailed when it turns False, nothing when unchanged", () => {
  const cond = (status: string, message: string) => ({
    conditions: [{ type: VIP, status, reason: "R", message }],
  });
  const change = (before: Record<string, unknown>, after: Record<string, unknown>) => ({
    kind: "Service",
    namespace: "default",
    name: "a",
    uid: "u",
    before,
    after,
  });
  const ok = vipEvent(change({}, cond("True", "192.0.2.1 from pool p")))!;
  assert.deepEqual(
    [ok.type, ok.reason, ok.note],
    ["Normal", "IPAllocated", "Assigned 192.0.2.1 from pool p"],
  );
  const failed = vipEvent(
    change(cond("True", "x"), cond("False", 'no address: pool "p" exhausted (2/2 assigned)')),
  )!;
  assert.deepEqual([failed.type, failed.reason], ["Warning", "AllocationFailed"]);
  assert.match(failed.note, /2\/2/);
  assert.equal(vipEvent(change(cond("False", "same"), cond("False", "same"))), undefined);
  assert.equal(vipEvent({ ...change({}, cond("True", "x")), kind: "Ingress" }), undefined);
});

test("ingressEvents warns on False conditions and True ones carrying a warning reason", () => {
  const evs = ingressEvents(
    {
      kind: "Ingress",
      namespace: "d",
      name: "i",
      status: {
        conditions: [
          { type: "portico.dev/Accepted", status: "True", reason: "Accepted", message: "" },
          {
            type: "portico.dev/ResolvedRefs",
            status: "False",
            reason: "BackendNotFound",
            message: "Service d/x not found",
          },
          { type: "portico.dev/Other", status: "True", reason: "InvalidAnnotation", message: "bad" },
          {
            type: "portico.dev/DNSRecordReady",
            status: "True",
            reason: "Published",
            message: "a.test 192.0.2.1",
          },
          {
            type: "portico.dev/DNSRecordFailed",
            status: "True",
            reason: "NamespaceNotAllowed",
            message: "namespace d may not publish b.test",
          },
        ],
      },
    },
    undefined,
  );
  assert.deepEqual(
    evs.map((e) => [e.reason, e.note]),
    [
      ["SyncFailed", "portico.dev/ResolvedRefs: BackendNotFound: Service d/x not found"],
      ["SyncWarning", "portico.dev/Other: InvalidAnnotation: bad"],
      ["SyncWarning", "portico.dev/DNSRecordFailed: NamespaceNotAllowed: namespace d may not publish b.test"],
    ],
  );
});

test("recoverAllocations keeps addresses shown in status, so IPAM moves nobody after a restart", () => {
  const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };
  const pool: AnyObject = {
    apiVersion: "portico.dev/v1alpha1",
    kind: "VipPool",
    metadata: { name: "p" },
    spec: { addresses: ["192.0.2.1-192.0.2.3"] },
  };
  // b and c hold .2 and .3 (a, which held .1, is gone); d is new. From scratch b would take .1.
  const lb = (ip: string) => ({ loadBalancer: { ingress: [{ ip, ipMode: "VIP" }] } });
  const set = buildResourceSet(
    [pool, svc("b", lb("192.0.2.2")), svc("c", lb("192.0.2.3")), svc("d", {}, "2026-01-05T00:00:00Z")],
    new Map(),
    [],
  );
  const previous = recoverAllocations(set, opts);
  assert.deepEqual(Object.keys(previous).sort(), ["Service/default/b", "Service/default/c"]);
  const out = allocate({
    requests: translate(set, opts).vipRequests,
    pools: set.vipPools,
    namespaces: [],
    previous,
  });
  const ip = (k: string) => {
    const r = out.results[`Service/default/${k}`]!;
    return r.ok ? r.addresses[0] : r.message;
  };
  assert.deepEqual([ip("b"), ip("c"), ip("d")], ["192.0.2.2", "192.0.2.3", "192.0.2.1"]);
});

test("desiredStatus on an HTTPRoute replaces Portico's parents entries only, keeping their transition times", () => {
  const ours = "portico.dev/gateway-controller";
  const route: AnyObject = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "d" },
    status: {
      parents: [
        { parentRef: { name: "theirs" }, controllerName: "example.com/other", conditions: [] },
        {
          parentRef: { name: "gw" },
          controllerName: ours,
          conditions: [
            { type: "Accepted", status: "True", reason: "Accepted", message: "", lastTransitionTime: T0 },
          ],
        },
      ],
    },
  };
  const want = desiredStatus(
    route,
    {
      kind: "HTTPRoute",
      namespace: "d",
      name: "r",
      status: {
        parents: [
          {
            parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" },
            controllerName: ours,
            conditions: [
              { type: "Accepted", status: "True", reason: "Accepted", message: "" },
              { type: "ResolvedRefs", status: "False", reason: "BackendNotFound", message: "x" },
            ],
          },
        ],
      },
    },
    NOW,
  )!;
  const parents = want.parents as {
    controllerName: string;
    conditions: { type: string; lastTransitionTime: string }[];
  }[];
  assert.deepEqual(
    parents.map((p) => p.controllerName),
    ["example.com/other", ours],
  );
  assert.deepEqual(
    parents[1]!.conditions.map((c) => [c.type, c.lastTransitionTime]),
    [
      ["Accepted", T0],
      ["ResolvedRefs", NOW],
    ],
  );
});

test("recoverAllocations reads a Gateway's status.addresses", () => {
  const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };
  const objects: AnyObject[] = [
    {
      apiVersion: "portico.dev/v1alpha1",
      kind: "VipPool",
      metadata: { name: "p" },
      spec: { addresses: ["192.0.2.1-192.0.2.3"] },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "portico" },
      spec: { controllerName: "portico.dev/gateway-controller" },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "d", creationTimestamp: T0 },
      spec: { gatewayClassName: "portico", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
      status: { addresses: [{ type: "IPAddress", value: "192.0.2.3" }] },
    },
  ];
  const previous = recoverAllocations(buildResourceSet(objects, new Map(), []), opts);
  assert.deepEqual(previous["Gateway/d/gw"]?.addresses, ["192.0.2.3"]);
});

test("an EngineGroup's status: Portico's fields replaced, the fleet's (engines, replicas) kept", () => {
  const obj: AnyObject = {
    apiVersion: "portico.dev/v1alpha1",
    kind: "EngineGroup",
    metadata: { name: "web", generation: 2 },
    spec: {},
    status: {
      replicas: 2,
      readyReplicas: 1,
      engines: [{ name: "web-1", node: "n1", version: "0.1.0", ready: true }],
      vips: ["192.0.2.9"],
      conditions: [
        { type: "Accepted", status: "True", reason: "Accepted", message: "", lastTransitionTime: T0 },
      ],
    },
  };
  const want = desiredStatus(
    obj,
    {
      kind: "EngineGroup",
      name: "web",
      status: {
        observedGeneration: 2,
        vips: ["192.0.2.1"],
        conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "ActiveActive" }],
      },
    },
    NOW,
  )!;
  assert.equal(want.replicas, 2);
  assert.equal((want.engines as unknown[]).length, 1);
  assert.deepEqual(want.vips, ["192.0.2.1"]);
  assert.equal(want.observedGeneration, 2);
  assert.equal((want.conditions as { lastTransitionTime: string }[])[0]!.lastTransitionTime, T0);
});

test("ingressEvents: an IngressClass's annotation warning is an Event too (its status has no conditions)", () => {
  const evs = ingressEvents(
    {
      kind: "IngressClass",
      name: "portico",
      status: {
        conditions: [
          {
            type: "portico.dev/Accepted",
            status: "True",
            reason: "AnnotationNotHonoured",
            message: "annotations not honoured: kube-vip.io/loadbalancerIPs (unimplemented: ...)",
          },
        ],
      },
    },
    undefined,
  );
  assert.equal(evs.length, 1);
  assert.deepEqual(evs[0]!.regarding, {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    namespace: "",
    name: "portico",
  });
  assert.equal(evs[0]!.reason, "SyncWarning");
  assert.match(
    evs[0]!.note,
    /AnnotationNotHonoured: annotations not honoured: kube-vip\.io\/loadbalancerIPs/,
  );
});

test("desiredStatus on a GatewayClass writes supportedFeatures beside the conditions", () => {
  const cls: AnyObject = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "portico" },
    status: {
      conditions: [
        { type: "Accepted", status: "True", reason: "Accepted", message: "", lastTransitionTime: T0 },
      ],
    },
  };
  const want = desiredStatus(
    cls,
    {
      kind: "GatewayClass",
      name: "portico",
      status: {
        conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "" }],
        supportedFeatures: [{ name: "Gateway" }, { name: "HTTPRoute" }],
      },
    },
    NOW,
  )!;
  assert.deepEqual(want, {
    conditions: [
      { type: "Accepted", status: "True", reason: "Accepted", message: "", lastTransitionTime: T0 },
    ],
    supportedFeatures: [{ name: "Gateway" }, { name: "HTTPRoute" }],
  });
});

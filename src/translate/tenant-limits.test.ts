// tenant-limits.test.ts: a tenant's requestsPerSecond and connections quotas compile into the
// snapshot as shared access configs on every HTTP route of its namespaces, and only theirs; the
// Tenant says how they are enforced (per engine).
import assert from "node:assert/strict";
import { test } from "node:test";
import { POOL_AND_CLASS, ingress, runStory } from "./tenant-story.ts";

const SETUP = `${POOL_AND_CLASS}---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: a }
spec:
  namespaces: [a]
  quotas: { requestsPerSecond: 5, connections: 3, engineGroupLimits: [{ engineGroup: batch, requestsPerSecond: 50 }] }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: b }
spec: { namespaces: [b] }
`;

test("story: a tenant's rate quotas are on every route of its namespaces, one shared bucket, and nowhere else", () => {
  runStory([
    {
      name: "a (5 requests/s, 3 in flight) and b (no limits) each serve two hosts",
      apply: `${SETUP}---${ingress("a", "x", ["x.a.test", "y.a.test"])}${ingress("b", "z", "z.b.test")}`,
      want: [
        {
          obj: "Tenant/a",
          type: "portico.dev/LimitsEnforced",
          status: "True",
          reason: "PerEngine",
          message:
            /requestsPerSecond 5 \(429 past it\) and connections 3 \(503 past it\).*counted by each engine on its own.*not divided/,
        },
      ],
      check: (out) => {
        const byHost = new Map<string, unknown>();
        for (const l of out.snapshot.http)
          for (const vh of l.virtualHosts)
            for (const r of vh.routes) byHost.set(vh.hostname, r.extraAccess ?? []);
        const want = [
          {
            policy: "Tenant/a (requestsPerSecond)",
            rateLimit: { requests: 5, periodMs: 1000, burst: 5, key: { type: "Shared" } },
          },
          { policy: "Tenant/a (connections)", concurrency: 3, concurrencyKey: "Shared" },
        ];
        assert.deepEqual(byHost.get("x.a.test"), want);
        assert.deepEqual(byHost.get("y.a.test"), want, "the same policy names: one bucket for both hosts");
        assert.deepEqual(byHost.get("z.b.test"), []);
        const b = out.statuses.find((s) => s.kind === "Tenant" && s.name === "b");
        const types = ((b?.status.conditions ?? []) as { type: string }[]).map((c) => c.type);
        assert.ok(!types.includes("portico.dev/LimitsEnforced"), "b sets no limits");
      },
    },
  ]);
});

test("story: an engine group's own value applies to the tenant's listeners on that group; the rest keep the default", () => {
  const dedicated = `, annotations: { "portico.dev/dedicated-vip": "true", "portico.dev/engine-group": batch }`;
  runStory([
    {
      name: "a serves x.a.test on the shared (default) listener and d.a.test on its own VIP on engine group batch",
      apply: `${SETUP}---
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: batch }
---${ingress("a", "x", "x.a.test")}${ingress("a", "d", "d.a.test", "/", dedicated)}`,
      want: [
        {
          obj: "Tenant/a",
          type: "portico.dev/LimitsEnforced",
          status: "True",
          reason: "PerEngine",
          message: /on engine group batch: requestsPerSecond 50 \(429 past it\) and connections 3/,
        },
      ],
      check: (out) => {
        const rps = new Map<string, unknown>();
        for (const l of out.snapshot.http)
          for (const vh of l.virtualHosts)
            for (const r of vh.routes)
              rps.set(
                `${l.group} ${vh.hostname}`,
                r.extraAccess?.find((a) => a.rateLimit)?.rateLimit?.requests,
              );
        assert.equal(rps.get("default x.a.test"), 5);
        assert.equal(rps.get("batch d.a.test"), 50);
      },
    },
  ]);
});

test("story: engineGroupLimits naming an EngineGroup that does not exist is a warning on the Tenant", () => {
  runStory([
    {
      name: "a's limits name group batch, which no EngineGroup defines",
      apply: SETUP,
      want: [
        {
          obj: "Tenant/a",
          status: "True",
          reason: "UnknownReference",
          message: /spec\.quotas\.engineGroupLimits: batch does not exist/,
        },
      ],
    },
  ]);
});

// tenant-events.test.ts: in Kubernetes mode a Service, Gateway or Route a tenant rule refused gets a
// Warning Event naming the quota and its usage, or the hostname's owner (Ingresses already turn
// their conditions into Events).
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, pipelineOf, service } from "../translate/tenant-story.ts";
import { tenantEvents } from "./kube-events.ts";

const QUOTA_TENANT = `
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: q }
spec: { namespaces: [q], quotas: { vips: 1 } }
`;

test("a Service refused by a quota gets a Warning Event naming the quota and its usage (kube mode)", () => {
  const { out } = pipelineOf(
    `${BASE}---${QUOTA_TENANT}---${service("q", "first")}${service("q", "second", "", "2026-02-01T00:00:00Z")}`,
  );
  const events = out.statuses.flatMap((s) => tenantEvents(s, undefined));
  assert.deepEqual(
    events.map(
      (e) =>
        `${e.regarding.kind}/${e.regarding.namespace}/${e.regarding.name} ${e.type} ${e.reason}: ${e.note}`,
    ),
    [
      "Service/q/second Warning QuotaExceeded: tenant q quota vips: 2 of 1 used (this Service needs 1, older objects hold 1) (not served)",
    ],
  );
});

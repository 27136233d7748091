// tenant.test.ts: `portico get tenants` and `portico explain tenant/NAME` from one pipeline run:
// usage against quotas in the table, and the explanation naming what the tenant's rules refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, ingress, pipelineOf } from "../../translate/tenant-story.ts";
import { narrow, renderTable, tableRows } from "../tables.ts";
import { explain, renderExplanation } from "./index.ts";
import { parseTarget } from "./target.ts";

const MANIFESTS = `${BASE.replace('domains: ["*.a.example.com"] }', 'domains: ["*.a.example.com"], quotas: { routes: 1 } }')}---
${ingress("a", "one", "one.a.example.com")}${ingress("a", "two", "two.a.example.com", "/", ", creationTimestamp: '2026-02-01T00:00:00Z'")}${ingress("b", "steal", "x.a.example.com")}`;

test("get tenants: namespaces and usage/quota per tenant", () => {
  const { set, out } = pipelineOf(MANIFESTS);
  const rows = narrow("tenants", tableRows("tenants", set, out, { http: 80, https: 443 }));
  assert.equal(
    renderTable(rows),
    [
      "NAME   NAMESPACES   VIPS   LISTENERS   ROUTES   HOSTNAMES   BACKENDS   CONFLICTED",
      "a      a            0      0           1/1      1           1          False",
      "b      b            0      0           0        0           0          False",
      "",
    ].join("\n"),
  );
});

test("explain tenant/a: usage, and the refusals of its rules, its own and on its domains", () => {
  const { set, out } = pipelineOf(MANIFESTS);
  const t = parseTarget(["tenant/a"])!;
  assert.equal(t.kind, "Tenant");
  const text = renderExplanation(explain(set, out, t));
  assert.match(text, /^Tenant a\n/);
  assert.ok(text.includes("  namespaces: a\n  domains: *.a.example.com\n"), text);
  assert.ok(text.includes("  routes: 1 of 1\n"), text);
  assert.match(text, /Refused \(2\):\n/);
  assert.match(text, /Ingress\/a\/two: QuotaExceeded: tenant a quota routes: 2 of 1 used/);
  assert.match(text, /Ingress\/b\/steal: HostnameOwned: hostname x\.a\.example\.com belongs to tenant a/);
  assert.equal(explain(set, out, parseTarget(["tenant/nope"])!).found, false);
});

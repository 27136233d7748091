// gateway-attach.test.ts: hostname intersection and namespace admission, the two rules every route
// kind's attachment rests on, as tables from the spec's own examples.
import { test } from "node:test";
import assert from "node:assert/strict";
import { emptyResourceSet, buildResourceSet } from "../k8s/resource-set.ts";
import { intersectHost, namespaceAllowed } from "./gateway-attach.ts";

test("intersectHost: the more specific name where one matches the other", () => {
  const rows: [string | undefined, string, string | undefined][] = [
    [undefined, "foo.example.com", "foo.example.com"],
    ["foo.example.com", "foo.example.com", "foo.example.com"],
    ["*.example.com", "foo.example.com", "foo.example.com"],
    ["*.example.com", "foo.bar.example.com", "foo.bar.example.com"], // one or more labels
    ["*.example.com", "example.com", undefined], // a wildcard needs a label before it
    ["foo.example.com", "*.example.com", "foo.example.com"],
    ["*.example.com", "*.foo.example.com", "*.foo.example.com"],
    ["*.foo.example.com", "*.example.com", "*.foo.example.com"],
    ["*.com", "*.example.com", "*.example.com"],
    ["foo.example.com", "bar.example.com", undefined],
    ["*.example.com", "*.example.net", undefined],
    ["foo.example.com", "*.foo.example.com", undefined],
  ];
  for (const [listener, route, want] of rows) {
    assert.equal(intersectHost(listener, route), want, `${listener} ∩ ${route}`);
  }
});

test("namespaceAllowed: Same, All, Selector (with the API server's name label), None", () => {
  const set = buildResourceSet(
    [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", labels: { team: "a" } } }],
    new Map(),
    [],
  );
  assert.equal(namespaceAllowed(set, "Same", undefined, "infra", "infra"), true);
  assert.equal(namespaceAllowed(set, "Same", undefined, "infra", "team-a"), false);
  assert.equal(namespaceAllowed(set, "All", undefined, "infra", "anything"), true);
  assert.equal(namespaceAllowed(set, "Selector", { matchLabels: { team: "a" } }, "infra", "team-a"), true);
  assert.equal(namespaceAllowed(set, "Selector", { matchLabels: { team: "a" } }, "infra", "team-b"), false);
  const byName = {
    matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["ghost"] }],
  };
  assert.equal(namespaceAllowed(emptyResourceSet(), "Selector", byName, "infra", "ghost"), true);
  assert.equal(namespaceAllowed(set, "Selector", undefined, "infra", "team-a"), false);
  assert.equal(namespaceAllowed(set, "None", undefined, "infra", "infra"), false);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import type { EngineSnapshot } from "../model/ir.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { problemChanges, problemsOf, snapshotChanges, summarize } from "./change-log.ts";

const route = (name: string, value = "/") => ({
  name,
  match: { path: { type: "Prefix", value } },
  action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
});
function snap(
  version: number,
  paths: Record<string, string>,
  pools: string[],
  certs: string[] = [],
): EngineSnapshot {
  return {
    version,
    l4: [{ name: "Service/d/db:5432/TCP", address: "127.0.0.5", port: 5432, protocol: "TCP", pool: "db" }],
    http: [
      {
        name: "IngressClass/portico:80",
        address: "127.0.0.7",
        port: 80,
        virtualHosts: [{ hostname: "a.example", routes: Object.entries(paths).map(([n, p]) => route(n, p)) }],
        requestTimeoutMs: 1000,
        idleTimeoutMs: 1000,
      },
    ],
    pools: Object.fromEntries(pools.map((p) => [p, { name: p, endpoints: [] }])),
    certificates: Object.fromEntries(certs.map((c) => [c, { cert: "x", key: "y" }])),
  } as unknown as EngineSnapshot;
}

test("snapshotChanges: the first snapshot adds everything", () => {
  const c = snapshotChanges(undefined, snap(1, { "Ingress/d/a#0.0": "/" }, ["p"]));
  assert.deepEqual(c.listeners.added, [
    "Service/d/db:5432/TCP@127.0.0.5:5432",
    "IngressClass/portico:80@127.0.0.7:80",
  ]);
  assert.deepEqual(c.routes.added, ["Ingress/d/a#0.0"]);
  assert.deepEqual(c.pools.added, ["p"]);
});

test("snapshotChanges: routes, pools and certificates added, removed and changed; listeners kept", () => {
  const before = snap(1, { "Ingress/d/a#0.0": "/", "Ingress/d/b#0.0": "/b" }, ["p", "q"], ["c1"]);
  const after = snap(2, { "Ingress/d/a#0.0": "/a", "Ingress/d/c#0.0": "/c" }, ["p", "r"], ["c1"]);
  const c = snapshotChanges(before, after);
  assert.deepEqual(c.routes, {
    added: ["Ingress/d/c#0.0"],
    removed: ["Ingress/d/b#0.0"],
    changed: ["Ingress/d/a#0.0"],
  });
  assert.deepEqual(c.pools, { added: ["r"], removed: ["q"], changed: [] });
  assert.deepEqual(c.listeners, { added: [], removed: [], changed: [] });
  assert.deepEqual(summarize(c), {
    routesAdded: ["Ingress/d/c#0.0"],
    routesRemoved: ["Ingress/d/b#0.0"],
    routesChanged: ["Ingress/d/a#0.0"],
    poolsAdded: ["r"],
    poolsRemoved: ["q"],
  });
  assert.deepEqual(summarize(snapshotChanges(after, after)), {});
});

test("summarize caps each list and says how many more", () => {
  const many = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`Ingress/d/x${i}#0.0`, "/"]));
  const s = summarize(snapshotChanges(snap(1, {}, []), snap(2, many, [])), 3);
  assert.deepEqual(s.routesAdded, ["Ingress/d/x0#0.0", "Ingress/d/x1#0.0", "Ingress/d/x2#0.0", "… 12 more"]);
});

const st = (
  name: string,
  conditions: [string, string, string][],
  extra: Record<string, unknown> = {},
): ObjectStatus => ({
  kind: "Ingress",
  namespace: "d",
  name,
  status: {
    conditions: conditions.map(([type, status, reason]) => ({ type, status, reason, message: `${reason}!` })),
    ...extra,
  },
});

test("problemsOf: False conditions, True negative-polarity ones, Gateway listeners and route parents", () => {
  const p = problemsOf([
    st("ok", [["portico.dev/Accepted", "True", "Accepted"]]),
    st("bad", [["portico.dev/ResolvedRefs", "False", "BackendNotFound"]], {
      listeners: [
        {
          name: "web",
          conditions: [{ type: "Conflicted", status: "True", reason: "HostnameConflict", message: "" }],
        },
      ],
      parents: [
        {
          parentRef: { name: "gw" },
          conditions: [{ type: "Accepted", status: "False", reason: "NotAllowedByListeners", message: "" }],
        },
      ],
    }),
  ]);
  assert.deepEqual(
    p.map((x) => [x.object, x.where, x.type, x.reason]),
    [
      ["Ingress/d/bad", "", "portico.dev/ResolvedRefs", "BackendNotFound"],
      ["Ingress/d/bad", "listener web", "Conflicted", "HostnameConflict"],
      ["Ingress/d/bad", "parent gw", "Accepted", "NotAllowedByListeners"],
    ],
  );
});

test("problemChanges: a problem appears once, stays silent while it lasts, and clears once", () => {
  const missing = problemsOf([st("a", [["portico.dev/ResolvedRefs", "False", "BackendNotFound"]])]);
  const none = problemsOf([st("a", [["portico.dev/ResolvedRefs", "True", "ResolvedRefs"]])]);
  assert.deepEqual(problemChanges([], missing).appeared.length, 1);
  assert.deepEqual(
    problemChanges(
      missing,
      problemsOf([st("a", [["portico.dev/ResolvedRefs", "False", "BackendNotFound"]])]),
    ),
    {
      appeared: [],
      cleared: [],
    },
  );
  const cleared = problemChanges(missing, none);
  assert.deepEqual(cleared.appeared, []);
  assert.deepEqual(
    cleared.cleared.map((p) => p.reason),
    ["BackendNotFound"],
  );
});

// announce-status.test.ts: the Announced condition from who announces each VIP, and the Events a
// change of announcer deserves — pure, on statuses and views built in code.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { EngineSnapshot } from "../model/ir.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { applyAnnounceState } from "./announce-status.ts";
import type { VipAnnouncementView } from "./fleet/announce-view.ts";
import { announceEvents } from "./kube-events.ts";

const listener = (name: string, address: string) => ({
  name,
  address,
  port: 80,
  protocol: "TCP" as const,
  pool: "p",
  idleTimeoutMs: 1,
  connectTimeoutMs: 1,
});

const snapshot: EngineSnapshot = {
  version: 1,
  l4: [
    listener("Service/default/a:80/TCP", "192.0.2.10"),
    listener("Service/default/b:80/TCP", "203.0.113.10"),
    listener("Gateway/default/gw:80/TCP", "192.0.2.11"),
  ],
  http: [],
  pools: {},
  certificates: {},
};

const status = (
  kind: string,
  name: string,
  conditions: ObjectStatus["status"]["conditions"] = [],
): ObjectStatus => ({
  kind,
  namespace: "default",
  name,
  status: { conditions },
});

const view = (address: string, announcers: VipAnnouncementView["announcers"], mode: "L2" | "BGP" = "L2") => ({
  address,
  group: "default",
  pool: "p",
  mode,
  announcers,
});

const cond = (s: ObjectStatus | undefined) =>
  s?.status.conditions?.find((c) => c.type === "portico.dev/Announced");

test("Announced: True names engine, node, mode and since; a Gateway gets it too; a pool with mode None gives none", () => {
  const out = applyAnnounceState(
    [
      status("Service", "a", [
        {
          type: "portico.dev/VIPAllocated",
          status: "True",
          reason: "Allocated",
          message: "",
          observedGeneration: 4,
        },
      ]),
      status("Service", "b"),
      status("Gateway", "gw"),
    ],
    snapshot,
    [
      view("192.0.2.10", [
        { engine: "e1", node: "n1", state: "Announced", since: "2026-12-06T20:00:00.000Z" },
      ]),
      view("192.0.2.11", [{ engine: "e2", node: "n2", state: "Pending" }]),
    ],
  );
  assert.deepEqual(cond(out[0]), {
    type: "portico.dev/Announced",
    status: "True",
    reason: "Announced",
    message: "192.0.2.10 announced by engine e1 on node n1 via L2 since 2026-12-06T20:00:00.000Z",
    observedGeneration: 4,
  });
  assert.equal(cond(out[1]), undefined, "203.0.113.10 is in no announced pool");
  assert.deepEqual(cond(out[2]), {
    type: "portico.dev/Announced",
    status: "False",
    reason: "NotAnnounced",
    message: "192.0.2.11 (L2) not announced yet: waiting for engine e2 to report it",
  });
});

test("Announced: AnnounceFailed with the engine's message; no engine placed says what to start; the pipeline's verdict stays", () => {
  const failed = applyAnnounceState([status("Service", "a")], snapshot, [
    view("192.0.2.10", [
      {
        engine: "e1",
        node: "n1",
        state: "Failed",
        reason: "InterfaceNotFound",
        message: "no interface eth9",
      },
    ]),
  ]);
  assert.deepEqual(cond(failed[0]), {
    type: "portico.dev/Announced",
    status: "False",
    reason: "AnnounceFailed",
    message: "192.0.2.10 not announced: engine e1 on node n1 failed (InterfaceNotFound): no interface eth9",
  });
  const nobody = applyAnnounceState([status("Service", "a")], snapshot, [view("192.0.2.10", [], "BGP")]);
  assert.match(
    cond(nobody[0])!.message!,
    /192\.0\.2\.10 \(BGP\) not announced: no engine of group default serves it; start one \(portico engine --group default\)/,
  );
  const held = status("Service", "a", [
    { type: "portico.dev/Announced", status: "False", reason: "NoBgpPeers", message: "from the pipeline" },
  ]);
  assert.equal(applyAnnounceState([held], snapshot, [view("192.0.2.10", [])])[0], held);
});

test("announceEvents: Announced on the first announcer and on a move, AnnounceFailed on a failure, nothing when unchanged", () => {
  const objects = new Map([["192.0.2.10", ["Service/default/a", "Ingress/default/web"]]]);
  const e1 = view("192.0.2.10", [{ engine: "e1", node: "n1", state: "Announced", since: "T1" }]);
  const first = announceEvents([], [e1], objects, (kind) => (kind === "Service" ? "uid-a" : undefined));
  assert.deepEqual(
    first.map((e) => [e.regarding.kind, e.regarding.uid, e.type, e.reason, e.note]),
    [
      [
        "Service",
        "uid-a",
        "Normal",
        "Announced",
        "192.0.2.10 announced by engine e1 on node n1 via L2 since T1",
      ],
      [
        "Ingress",
        undefined,
        "Normal",
        "Announced",
        "192.0.2.10 announced by engine e1 on node n1 via L2 since T1",
      ],
    ],
  );
  assert.equal(first[1]!.regarding.apiVersion, "networking.k8s.io/v1");
  assert.deepEqual(announceEvents([e1], [e1], objects), []);
  const moved = view("192.0.2.10", [{ engine: "e2", node: "n2", state: "Announced", since: "T2" }]);
  assert.deepEqual(
    announceEvents([e1], [moved], objects).map((e) => e.note),
    [
      "192.0.2.10 announced by engine e2 on node n2 via L2 since T2 (was engine e1)",
      "192.0.2.10 announced by engine e2 on node n2 via L2 since T2 (was engine e1)",
    ],
  );
  const broken = view("192.0.2.10", [
    {
      engine: "e2",
      node: "n2",
      state: "Failed",
      reason: "AddressFailed",
      message: "RTNETLINK answers: Operation not permitted",
    },
  ]);
  const warn = announceEvents([moved], [broken], new Map([["192.0.2.10", ["Gateway/default/gw"]]]));
  assert.deepEqual(
    warn.map((e) => [e.regarding.apiVersion, e.type, e.reason, e.note]),
    [
      [
        "gateway.networking.k8s.io/v1",
        "Warning",
        "AnnounceFailed",
        "192.0.2.10 (L2): engine e2 on node n2 failed (AddressFailed): RTNETLINK answers: Operation not permitted",
      ],
    ],
  );
  assert.deepEqual(announceEvents([broken], [broken], objects), []);
});

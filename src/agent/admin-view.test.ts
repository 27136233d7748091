// admin-view.test.ts: an engine's admin view shows how it announces its VIPs — a /readyz line that
// never fails readiness, and the status under /api/v1/status — and nothing when it announces none.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { AnnounceStatus } from "../announce/types.ts";
import type { EnginePort } from "../controller/standalone.ts";
import { engineAdminView } from "./admin-view.ts";
import { EngineAgent } from "./agent.ts";

function view(announce: AnnounceStatus | undefined) {
  const engine: EnginePort = {
    apply: () => ({ ok: true }),
    metrics: () => "",
    status: () => ({ version: 1, listeners: [], endpoints: [] }),
    close: () => {},
    announce: () => announce,
  };
  // Never started: the view only reads its state.
  const agent = new EngineAgent({
    host: "127.0.0.1",
    port: 1,
    ca: "",
    token: "t",
    identity: {} as never,
    engine,
    log: () => {},
  });
  return engineAdminView({
    engine,
    agent,
    labels: { engine: "e1", group: "g" },
    controller: "c:1",
    draining: () => false,
  });
}

test("engineAdminView: the announce line and status, informative only", () => {
  const status: AnnounceStatus = {
    vips: [
      {
        address: "198.51.100.1",
        mode: "L2",
        state: "Announced",
        interface: "eth1",
        since: "2026-01-01T00:00:00.000Z",
      },
      {
        address: "198.51.100.2",
        mode: "L2",
        state: "Failed",
        since: "2026-01-01T00:00:01.000Z",
        reason: "InterfaceNotFound",
        message: "none of VipPool p's interfaces is here",
      },
    ],
    peers: [{ name: "r1", address: "203.0.113.1", state: "Active", since: "2026-01-01T00:00:00.000Z" }],
  };
  const v = view(status);
  const line = v.readiness().find((c) => c.name === "announce")!;
  assert.equal(line.ok, true, "a VIP the network cannot reach does not make the engine unready");
  assert.equal(
    line.detail,
    "198.51.100.1 L2 Announced on eth1 since 2026-01-01T00:00:00.000Z; 198.51.100.2 L2 Failed since 2026-01-01T00:00:01.000Z (InterfaceNotFound: none of VipPool p's interfaces is here); peer r1 Active",
  );
  assert.deepEqual(v.statuses(), [{ kind: "Announcement", name: "e1", status }]);
  const none = view(undefined);
  assert.equal(
    none.readiness().find((c) => c.name === "announce"),
    undefined,
  );
  assert.deepEqual(none.statuses(), []);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { renderTable } from "../tables.ts";
import { age, engineRows, narrowEngines } from "./engine-table.ts";
import type { FleetView } from "./view.ts";
import { identity } from "./testing.ts";

test("get engines: one row per engine with the narrow columns; a departed engine reads Gone", () => {
  const now = Date.parse("2026-12-06T12:00:00Z");
  const view: FleetView = {
    epoch: 2,
    seq: 7,
    engines: [
      {
        identity: identity("local"),
        local: true,
        connected: true,
        lastHeardMsAgo: 0,
        acked: { epoch: 2, seq: 7, version: 12 },
        ready: true,
        listeners: [],
        history: [],
      },
      {
        identity: identity("edge-1"),
        local: false,
        connected: true,
        connectedSince: "2026-12-06T11:45:00Z",
        lastHeardMsAgo: 800,
        acked: { epoch: 2, seq: 6, version: 11 },
        pending: { epoch: 2, seq: 7, version: 12 },
        ready: false,
        listeners: [],
        load: {
          at: now,
          intervalMs: 2000,
          cpuCores: 0.734,
          eventLoopUtilization: 0.41,
          lagP99Ms: 12,
          connectionsOpen: 1520,
          connectionsPerSecond: 40,
          requestsPerSecond: 38_400,
          tlsHandshakesPerSecond: 0,
          bytesInPerSecond: 0,
          bytesOutPerSecond: 0,
          rssBytes: 0,
        },
        history: [],
        announce: {
          vips: [
            { address: "192.0.2.10", mode: "BGP", state: "Announced", since: "T" },
            { address: "192.0.2.11", mode: "BGP", state: "Failed", since: "T" },
          ],
          peers: [
            { name: "tor1", address: "192.0.2.1", state: "Established", since: "T" },
            { name: "core", address: "192.0.2.2", state: "Active", since: "T" },
          ],
        },
      },
      {
        identity: identity("edge-2"),
        local: false,
        connected: false,
        connectedSince: "2026-12-04T12:00:00Z",
        lastHeardMsAgo: 90_000,
        ready: false,
        listeners: [],
        history: [],
      },
    ],
  };
  const text = renderTable(narrowEngines(engineRows(view, now)));
  assert.equal(
    text,
    [
      "NAME     GROUP     NODE          ACKED   READY   REQ/S   CONNS   CPU    AGE",
      "local    default   node-local    12      True    -       -       -      -",
      "edge-1   default   node-edge-1   11      False   38k     1.5k    0.73   15m",
      "edge-2   default   node-edge-2   -       Gone    -       -       -      2d",
      "",
    ].join("\n"),
  );
  const wide = engineRows(view, now)[1]!;
  assert.equal(wide["EPOCH/SEQ"], "2/6");
  assert.equal(wide.PENDING, "12");
  assert.equal(wide.ANNOUNCED, "1");
  assert.equal(wide.BGP, "tor1=Established,core=Active");
  assert.equal(engineRows(view, now)[0]!.BGP, "-");
  assert.deepEqual([age(59_000), age(3 * 60_000), age(5 * 3600_000)], ["59s", "3m", "5h"]);
});

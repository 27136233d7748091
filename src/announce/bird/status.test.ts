// status.test.ts: peer state parsed from `birdc show protocols all` output captured from BIRD 2.0.12
// (testdata/show-protocols-all*.txt: an Established IPv4 session beside an IPv6 one stuck in Active).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { downStatuses, parseProtocols, peerStatuses } from "./status.ts";

const captured = readFileSync(join(import.meta.dirname, "testdata/show-protocols-all.txt"), "utf8");
const tor = "peer_EngineGroup_edge_peer_0_c5f82c00";
const v6 = "peer_edge_v6_b5ad0700";
const names = new Map([
  [tor, "EngineGroup/edge/peer-0"],
  [v6, "edge/v6"],
]);
const addresses = new Map([
  ["EngineGroup/edge/peer-0", "198.51.100.1"],
  ["edge/v6", "2001:db8::1"],
]);
const t0 = new Date("2026-12-06T20:30:00Z");

describe("parseProtocols", () => {
  it("reads every protocol, and the BGP details of the BGP ones", () => {
    const ps = parseProtocols(captured);
    assert.deepEqual(
      ps.map((p) => [p.name, p.proto, p.state]),
      [
        ["device1", "Device", "up"],
        ["portico_lo", "Direct", "up"],
        ["portico_bfd", "BFD", "up"],
        [tor, "BGP", "up"],
        [v6, "BGP", "start"],
      ],
    );
    const up = ps[3]!;
    assert.equal(up.bgpState, "Established");
    assert.equal(up.neighbor, "198.51.100.1");
    assert.equal(up.exported, 1);
    assert.equal(up.lastError, undefined);
    assert.equal(up.since, "1796588459");
    const active = ps[4]!;
    assert.equal(active.bgpState, "Active");
    assert.equal(active.lastError, "Socket: Network is unreachable");
    assert.equal(active.exported, 0);
    // The direct protocol's imported route is not an exported one.
    assert.equal(ps[1]!.exported, 0);
  });
  it("ignores noise and an empty reply", () => {
    assert.deepEqual(parseProtocols(""), []);
    assert.deepEqual(parseProtocols("BIRD 2.0.12 ready.\n"), []);
  });
});

describe("peerStatuses", () => {
  it("maps protocols to peers with BIRD's Since on first sight", () => {
    const peers = peerStatuses(parseProtocols(captured), names, addresses, [], t0);
    assert.deepEqual(peers, [
      {
        name: "EngineGroup/edge/peer-0",
        address: "198.51.100.1",
        state: "Established",
        since: new Date(1796588459 * 1000).toISOString(),
        routesExported: 1,
      },
      {
        name: "edge/v6",
        address: "2001:db8::1",
        state: "Active",
        since: new Date(1796588459 * 1000).toISOString(),
        routesExported: 0,
        message: "Socket: Network is unreachable",
      },
    ]);
  });
  it("keeps since while the state holds, moves it when the state changes without BIRD's Since", () => {
    const first = peerStatuses(parseProtocols(captured), names, addresses, [], t0);
    const again = peerStatuses(
      parseProtocols(captured),
      names,
      addresses,
      first,
      new Date(t0.getTime() + 5000),
    );
    assert.deepEqual(again, first);
    const connect = captured.replace("BGP state:          Active", "BGP state:          Connect");
    const t1 = new Date(t0.getTime() + 9000);
    const moved = peerStatuses(parseProtocols(connect), names, addresses, first, t1);
    assert.equal(moved[1]!.state, "Connect");
    assert.equal(moved[1]!.since, t1.toISOString());
    assert.equal(moved[0]!.since, first[0]!.since);
  });
  it("a configured peer BIRD does not list yet is Down", () => {
    const peers = peerStatuses([], names, addresses, [], t0);
    assert.deepEqual(
      peers.map((p) => [p.name, p.state, p.address]),
      [
        ["EngineGroup/edge/peer-0", "Down", "198.51.100.1"],
        ["edge/v6", "Down", "2001:db8::1"],
      ],
    );
  });
  it("downStatuses: every peer Down with the daemon's message", () => {
    const peers = downStatuses(addresses, [], "bird exited (SIGKILL)", t0);
    assert.deepEqual(peers[0], {
      name: "EngineGroup/edge/peer-0",
      address: "198.51.100.1",
      state: "Down",
      since: t0.toISOString(),
      message: "bird exited (SIGKILL)",
    });
  });
});

// config.test.ts: golden files for the BIRD configuration (testdata/<case>.json → <case>.conf;
// UPDATE_GOLDEN=1 rewrites the .conf files and the reviewer reads the diff), each also parsed by
// the real `bird -p`, and the values that must be refused because they could inject configuration.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { BgpPeer, BgpSpeaker } from "../../model/ir.ts";
import type { BgpRoute } from "../types.ts";
import { birdConfig, BirdConfigError, canonicalPrefix, protocolName } from "./config.ts";

const dir = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";
const bird = ["/usr/sbin/bird", "/usr/bin/bird"].find((f) => existsSync(f));

interface Case {
  speaker: BgpSpeaker;
  routes: BgpRoute[];
}

describe("birdConfig golden", () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const name = file.slice(0, -".json".length);
    it(name, () => {
      const c = JSON.parse(readFileSync(join(dir, file), "utf8")) as Case;
      const got = birdConfig(c.speaker, c.routes);
      assert.deepEqual(birdConfig(c.speaker, c.routes), got, "deterministic");
      const golden = join(dir, `${name}.conf`);
      if (update) writeFileSync(golden, got.text);
      assert.equal(
        got.text,
        readFileSync(golden, "utf8"),
        `${name}: differs from golden (UPDATE_GOLDEN=1 rewrites)`,
      );
      assert.deepEqual([...got.protocols.values()].sort(), c.speaker.peers.map((p) => p.name).sort());
    });
    it(
      `${name}: bird -p accepts it`,
      { skip: bird ? false : "bird not installed (Debian package bird2)" },
      () => {
        execFileSync(bird!, ["-p", "-c", join(dir, `${name}.conf`)], { stdio: "pipe" });
      },
    );
  }
});

const peer: BgpPeer = {
  name: "edge/tor",
  address: "198.51.100.1",
  asn: 64512,
  holdTimeSeconds: 9,
  bfd: false,
};
const speaker = (p: Partial<BgpPeer> = {}): BgpSpeaker => ({ asn: 64513, peers: [{ ...peer, ...p }] });
const route: BgpRoute = { prefix: "192.0.2.10/32", communities: [] };

function refused(code: string, fn: () => unknown, secret?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BirdConfigError, String(e));
    assert.equal(e.code, code, e.message);
    if (secret) assert.ok(!e.message.includes(secret), "the error must not echo the password");
    return true;
  });
}

describe("birdConfig refuses what could inject configuration or cannot work", () => {
  it("passwords with a quote, backslash, line break or too long", () => {
    for (const pw of ['a"; export all; "', "a\\", "line1\nprotocol static {}", "x\r", "", "x".repeat(81)]) {
      refused(
        "InvalidPassword",
        () => birdConfig(speaker({ password: pw }), [route]),
        pw.length > 1 ? pw : undefined,
      );
    }
  });
  it("peer names with a quote or control character", () => {
    for (const name of ['tor"', "tor\n}", "", "tor\u0000"])
      refused("InvalidPeerName", () => birdConfig(speaker({ name }), [route]));
  });
  it("addresses, router id, prefixes and communities that are not what they claim", () => {
    refused("InvalidPeerAddress", () => birdConfig(speaker({ address: "198.51.100.1; export all" }), []));
    refused("InvalidPeerAddress", () => birdConfig(speaker({ address: "fe80::1" }), []));
    refused("InvalidRouterId", () => birdConfig({ ...speaker(), routerId: "2001:db8::1" }, []));
    refused("InvalidPrefix", () => birdConfig(speaker(), [{ prefix: "192.0.2.10/24", communities: [] }]));
    refused("InvalidPrefix", () => birdConfig(speaker(), [{ prefix: "192.0.2.10", communities: [] }]));
    refused("InvalidPrefix", () =>
      birdConfig(speaker(), [{ prefix: "192.0.2.0/24 then accept", communities: [] }]),
    );
    refused("InvalidCommunity", () =>
      birdConfig(speaker(), [{ prefix: "192.0.2.10/32", communities: ["65536:1"] }]),
    );
    refused("InvalidCommunity", () =>
      birdConfig(speaker(), [{ prefix: "192.0.2.10/32", communities: ["1:2)); accept; (("] }]),
    );
    refused("DuplicateRoute", () => birdConfig(speaker(), [route, route]));
  });
  it("timers, multihop and families BIRD would refuse or ignore", () => {
    refused("InvalidTimer", () => birdConfig(speaker({ keepaliveSeconds: 9 }), []));
    refused("InvalidValue", () => birdConfig(speaker({ holdTimeSeconds: 1 }), []));
    refused("InvalidMultihop", () => birdConfig(speaker({ asn: 64513, ebgpMultihop: 2 }), []));
    refused("BfdMultihop", () => birdConfig(speaker({ ebgpMultihop: 2, bfd: true }), []));
    refused("NoPeerForFamily", () =>
      birdConfig(speaker(), [{ prefix: "2001:db8::10/128", communities: [] }]),
    );
    refused("DuplicatePeer", () => birdConfig({ asn: 64513, peers: [peer, peer] }, []));
  });
});

describe("helpers", () => {
  it("canonicalPrefix", () => {
    assert.equal(canonicalPrefix("192.0.2.0/24"), "192.0.2.0/24");
    assert.equal(canonicalPrefix("2001:DB8::/32"), "2001:db8::/32");
    assert.equal(canonicalPrefix("2001:db8::1/127"), undefined);
    assert.equal(canonicalPrefix("2001:db8::/129"), undefined);
    assert.equal(canonicalPrefix("::ffff:192.0.2.1/128"), undefined);
  });
  it("protocolName is a BIRD identifier, stable, and tells similar names apart", () => {
    const a = protocolName("EngineGroup/edge/tor-a");
    assert.match(a, /^[A-Za-z_][A-Za-z0-9_]{0,63}$/);
    assert.equal(protocolName("EngineGroup/edge/tor-a"), a);
    assert.notEqual(protocolName("EngineGroup/edge/tor_a"), a);
  });
});

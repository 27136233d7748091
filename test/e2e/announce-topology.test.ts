// announce-topology.test.ts: the announcement tests' network works on its own, before Portico is
// in it: every node reaches the LAN, the client reaches the LAN through the router, and the router's
// BIRD, given a plain BIRD speaker in each engine namespace announcing one address from lo, puts an
// ECMP route with all three engines as next hops in its kernel table and drops a next hop when that
// speaker dies. Needs root (network namespaces); skips loudly without.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "./harness.ts";
import { netnsSkip } from "./netns.ts";
import {
  buildTopology,
  CLIENT_WAN,
  ENGINE_ASN,
  CLIENT_LAN,
  measured,
  now,
  ROUTER_ASN,
  ROUTER_LAN,
  type Topology,
} from "./announce-topology.ts";

const skip = await netnsSkip();
if (skip) process.stderr.write(`\n*** SKIPPING announcement topology tests: ${skip} ***\n\n`);

const VIP = "192.0.2.99";

/** speakerConfig is a minimal engine-side BIRD: export VIP/32 from lo to the router. */
function speakerConfig(ip: string): string {
  return `router id ${ip};
protocol device {}
protocol direct { ipv4; interface "lo"; }
protocol bgp up {
  local ${ip} as ${ENGINE_ASN};
  neighbor ${ROUTER_LAN} as ${ROUTER_ASN};
  ipv4 { import none; export where net = ${VIP}/32; };
}
`;
}

describe("the announcement topology", { skip }, () => {
  let topo: Topology;
  before(async () => {
    topo = await buildTopology();
  });
  after(async () => {
    await topo?.close();
  });

  test("every node is on the LAN, and the client reaches each", async () => {
    const client = topo.agent(topo.client);
    for (const n of [topo.ctl, ...topo.engines, topo.backend, topo.router]) {
      await topo.agent(n).call("serve", { host: n.lanIp, port: 8000, name: n.role });
      const r = await client.call<{ ok: boolean; body: string }>("get", { url: `http://${n.lanIp}:8000/` });
      assert.equal(r.body, `${n.role} ${CLIENT_LAN}`);
    }
    assert.equal(topo.engines.length, 3);
    assert.notEqual(await topo.engines[0]!.mac(), await topo.engines[1]!.mac());
  });

  test("the router's BIRD merges the engines' routes into one ECMP route and drops a dead speaker's", async () => {
    const ips = topo.engines.map((e) => e.lanIp).sort();
    const procs = [];
    for (const e of topo.engines) {
      await e.ip("addr", "add", `${VIP}/32`, "dev", "lo");
      await topo.agent(e).call("serve", { host: VIP, port: 80, name: e.role });
      const conf = join(topo.dir, `${e.role}.conf`);
      writeFileSync(conf, speakerConfig(e.lanIp));
      procs.push(
        e.spawn("bird", ["-f", "-c", conf, "-s", join(topo.dir, `${e.role}.ctl`)], { stdio: "ignore" }),
      );
    }
    await waitFor(
      "an ECMP route over all three engines",
      async () => (await topo.nextHops(`${VIP}/32`)).join() === ips.join(),
      30_000,
    );
    // Traffic from the client's WAN address through the router: flows spread over the engines.
    const client = topo.agent(topo.client);
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await client.call<{ ok: boolean; body: string }>("get", { url: `http://${VIP}/` });
      assert.ok(r.ok, r.body);
      assert.match(r.body, new RegExp(` ${CLIENT_WAN}$`));
      seen.add(r.body.split(" ")[0]!);
    }
    measured("router ECMP spread of 30 new connections from one client", [...seen].sort().join(", "));
    assert.ok(seen.size >= 2, `flows spread over the engines by ECMP (saw ${[...seen].join(", ")})`);
    // A speaker killed: its session closes, and the router drops that next hop.
    const t = now();
    procs[0]!.kill("SIGKILL");
    await waitFor(
      "the killed speaker's next hop gone",
      async () => !(await topo.nextHops(`${VIP}/32`)).includes(topo.engines[0]!.lanIp),
      10_000,
    );
    measured("plain BIRD speaker SIGKILL → router next hop gone", `${Math.round(now() - t)} ms`);
    assert.equal((await topo.nextHops(`${VIP}/32`)).length, 2);
    assert.match(await topo.birdc("show", "protocols"), /engine2\s+BGP\s+---\s+up/);
    // The router's own BIRD restarted: the route comes back by itself.
    await topo.stopRouterBird();
    assert.deepEqual(await topo.nextHops(`${VIP}/32`), [], "a stopped BIRD removes its kernel routes");
    const r = now();
    await topo.startRouterBird();
    await waitFor(
      "routes back after the router's BIRD restarted",
      async () => (await topo.nextHops(`${VIP}/32`)).length === 2,
      30_000,
    );
    measured("plain BIRD speakers, router BIRD restarted → ECMP route back", `${Math.round(now() - r)} ms`);
  });
});

// announce-l2.test.ts: issue 14's L2 mode end to end. A controller and three `portico engine`
// processes, each in its own namespace on one LAN (announce-topology.ts), serve three
// LoadBalancer Services from a VipPool announced by L2; a client on the LAN reaches every VIP by
// ARP. Faults: the owner killed, frozen (and then thawed: a split brain must not last), its link
// down. Each prints `# measured:` figures: time until the client's requests succeed again, and the
// requests lost. Needs root (network namespaces); skips loudly without.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { waitFor, type StatusEntry } from "./harness.ts";
import { netnsSkip } from "./netns.ts";
import {
  BACKEND,
  buildTopology,
  LAN_IF,
  measured,
  now,
  outage,
  owners,
  recovered,
  startFleet,
  startLoad,
  type Agent,
  type Fleet,
  type Node,
  type Topology,
} from "./announce-topology.ts";

const skip = await netnsSkip();
if (skip) process.stderr.write(`\n*** SKIPPING L2 announcement tests: ${skip} ***\n\n`);

const GROUP = "edge";
const LEASE_S = 3;
const SERVICES = ["web-a", "web-b", "web-c"];
const BACKEND_PORT = 8080;

const base = `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: lan }
spec:
  addresses: ["198.51.100.200-198.51.100.209"]
  engineGroup: ${GROUP}
  announce: { mode: L2, l2: { interfaces: [${LAN_IF}] } }
---
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: ${GROUP} }
spec:
  replicas: 3
  haMode: ActiveActive
  announcement: { leaseSeconds: ${LEASE_S}, withdrawDelaySeconds: 2 }
`;

/** services are LoadBalancer Services to the backend; written once every engine is up, so the VIPs spread. */
const services = SERVICES.map(
  (name) => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec: { type: LoadBalancer, ports: [{ name: http, port: 80, targetPort: ${BACKEND_PORT} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${BACKEND_PORT}, protocol: TCP }]
endpoints: [{ addresses: [${BACKEND}], conditions: { ready: true } }]
`,
).join("---\n");

describe(
  "L2 announcement: VIPs on a LAN, owned by one engine each, failover by gratuitous ARP",
  { skip },
  () => {
    let topo: Topology;
    let fleet: Fleet;
    let client: Agent;
    const vips = new Map<string, string>();

    /** owner waits until exactly one engine namespace holds vip, and returns it. */
    const owner = (vip: string, not?: Node, ms = 20_000) =>
      waitFor(
        `one engine to own ${vip}${not ? ` other than ${not.role}` : ""}`,
        async () => {
          const o = await owners(topo, vip);
          return o.length === 1 && o[0] !== not ? o[0] : undefined;
        },
        ms,
      );
    /** newOwner waits until an engine other than old holds vip (old may still hold it). */
    const newOwner = (vip: string, old: Node, ms = 20_000) =>
      waitFor(
        `an engine other than ${old.role} to own ${vip}`,
        async () => (await owners(topo, vip)).find((e) => e !== old),
        ms,
      );
    /** served waits until the client on the LAN gets the backend's answer through vip. */
    const served = (vip: string, ms = 20_000) =>
      waitFor(
        `the client served through ${vip}`,
        async () => {
          const r = await client.call<{ ok: boolean; body: string }>("get", { url: `http://${vip}/` });
          return r.ok ? r.body : undefined;
        },
        ms,
      );

    before(async () => {
      topo = await buildTopology();
      await topo.agent(topo.backend).call("serve", { host: BACKEND, port: BACKEND_PORT, name: "backend" });
      client = topo.agent(topo.client);
      fleet = await startFleet(topo, GROUP, { "base.yaml": base });
      fleet.write("services.yaml", services);
      for (const s of SERVICES)
        vips.set(s, await waitFor(`a VIP for ${s}`, () => fleet.vip("Service", "default", s), 30_000));
    });

    after(async () => {
      await fleet?.stop();
      await topo?.close();
    });

    test("the client reaches every VIP; its neighbour entry points to the owner; VIPs spread over the engines", async () => {
      const byOwner = new Set<string>();
      for (const [name, vip] of vips) {
        const o = await owner(vip);
        byOwner.add(o.role);
        const body = await served(vip);
        assert.match(body, /^backend 198\.51\.100\.1[1-3]$/, `${name} (${vip}) answers through an engine`);
        const n = await topo.neighbour(vip);
        assert.equal(n?.mac, await o.mac(), `the client's neighbour entry for ${vip} is ${o.role}'s MAC`);
        // Only the owner has the address: the others would answer ARP for it too.
        for (const e of topo.engines)
          if (e !== o) assert.ok(!(await e.addresses()).includes(vip), `${e.role} does not hold ${vip}`);
      }
      assert.equal(
        byOwner.size,
        3,
        `three VIPs over three engines, one each (owners: ${[...byOwner].join(", ")})`,
      );
    });

    test("who announces is visible: the Service's Announced condition, portico explain, portico get pools -o wide", async () => {
      const vip = vips.get("web-a")!;
      const o = await owner(vip);
      const cond = await waitFor(
        "web-a's portico.dev/Announced condition True",
        async () => {
          const all = await fleet.ctl.api<StatusEntry[]>("/api/v1/status");
          const s = all.find((x) => x.kind === "Service" && x.name === "web-a");
          const c = s?.status.conditions?.find((x) => x.type === "portico.dev/Announced");
          return c?.status === "True" ? c : undefined;
        },
        20_000,
      );
      assert.match(
        cond.message ?? "",
        new RegExp(
          `${vip.replaceAll(".", "\\.")} announced by engine ${o.role} on node node-${o.role} via L2 since`,
        ),
      );
      const explain = await fleet.ctl.cli("explain", "service/default/web-a");
      assert.match(explain, new RegExp(`engine ${o.role}`), explain);
      assert.match(explain, /L2/, explain);
      const pools = await fleet.ctl.cli("get", "pools", "-o", "wide");
      assert.match(pools, /L2/, pools);
      assert.match(pools, new RegExp(o.role), pools);
      measured("L2 visibility", `condition: ${cond.message}`);
    });

    test("owner killed (SIGKILL): another engine owns the VIP, the client follows its gratuitous ARP", async () => {
      const vip = vips.get("web-a")!;
      const old = await owner(vip);
      const fresh = await startLoad(client, `http://${vip}/`, "fresh", 2);
      const kept = await startLoad(client, `http://${vip}/`, "keepalive", 2);
      await waitFor("the loads running", async () => (await fresh.since(0)).some((r) => r[2] === 1));
      const t = now();
      fleet.engines.get(old.role)!.proc.kill("SIGKILL");
      // The killed engine's address outlives it for one lease (its kernel answers with resets): the
      // new owner's gratuitous ARP is what moves the client.
      const next = await newOwner(vip, old);
      await recovered(fresh, t, 20_000);
      await recovered(kept, t, 20_000);
      const f = outage(await fresh.stop(), t);
      const k = outage(await kept.stop(), t);
      measured(`L2 owner SIGKILL, new connection per request (${old.role} → ${next.role})`, f);
      measured(`L2 owner SIGKILL, keep-alive connections`, k);
      if (f.recoveredMs > 300) {
        // Diagnostics for the slow failover seen only in full-suite runs (~1 s, cause unknown): what
        // the controller and the new owner did, with their own timestamps, next to the kill time.
        const tail = (l: string[]) => l.slice(-40).join("\n");
        console.log(`# slow L2 failover: killed at ${new Date(t).toISOString()}`);
        console.log(`# controller:\n${tail(fleet.ctl.logs)}`);
        console.log(`# ${next.role}:\n${tail(fleet.engines.get(next.role)!.logs)}`);
      }
      assert.equal(
        (await topo.neighbour(vip))?.mac,
        await next.mac(),
        "the client's entry follows the new owner",
      );
      // The dead engine's address ends with its lease: nothing cleans up after a SIGKILL but the kernel.
      const gone = await waitFor(
        `${old.role}'s leased address to expire`,
        async () => !(await old.addresses()).includes(vip) && now(),
        (LEASE_S + 5) * 1000,
      );
      measured(
        "L2 SIGKILL: the dead owner's address expired after",
        `${Math.round(gone - t)} ms (lease ${LEASE_S} s)`,
      );
      assert.ok(f.recoveredMs < 5000, `traffic flows again within 5 s (target 1 s): ${f.recoveredMs} ms`);
      fleet.start(old.role);
      await fleet.acked();
    });

    test("owner frozen (SIGSTOP) until the VIP moved, then thawed: its address is gone and it does not announce again", async () => {
      const vip = vips.get("web-b")!;
      const old = await owner(vip);
      const oldMac = await old.mac();
      const engine = fleet.engines.get(old.role)!;
      const fresh = await startLoad(client, `http://${vip}/`, "fresh", 2);
      await waitFor("the load running", async () => (await fresh.since(0)).some((r) => r[2] === 1));
      const t = now();
      engine.proc.kill("SIGSTOP");
      try {
        // The frozen engine cannot renew: its address expires after one lease, on its own.
        const expired = await waitFor(
          `${old.role}'s address to expire while frozen`,
          async () => !(await old.addresses()).includes(vip) && now(),
          (LEASE_S + 5) * 1000,
        );
        measured(
          "L2 owner SIGSTOP: its address expired after",
          `${Math.round(expired - t)} ms (lease ${LEASE_S} s)`,
        );
        // The controller hears nothing for its peer timeout, then moves the VIP.
        const next = await owner(vip, old, 30_000);
        await recovered(fresh, t, 30_000);
        const f = outage(await fresh.stop(), t);
        measured(`L2 owner SIGSTOP, new connection per request (${old.role} → ${next.role})`, f);
        assert.equal((await topo.neighbour(vip))?.mac, await next.mac());
      } finally {
        engine.proc.kill("SIGCONT");
      }
      // Thawed: its timers ran late by more than a lease, so it must withdraw, not renew. Watch for
      // two leases that its namespace never holds the VIP again and the client's entry stays put.
      const thawed = now();
      const newMac = (await topo.neighbour(vip))?.mac;
      assert.notEqual(newMac, oldMac);
      let checks = 0;
      while (now() - thawed < 2 * LEASE_S * 1000) {
        assert.ok(
          !(await old.addresses()).includes(vip),
          `${old.role} re-added ${vip} after SIGCONT (split brain)`,
        );
        assert.equal(
          (await topo.neighbour(vip))?.mac,
          newMac,
          "the client's entry moved back to the thawed engine",
        );
        checks++;
      }
      measured(
        "L2 split brain (thawed owner)",
        `never re-announced: ${checks} checks over ${2 * LEASE_S} s after SIGCONT`,
      );
      await served(vip);
      await fleet.acked();
    });

    test("owner frozen briefly (under the controller's peer timeout): it withdraws on waking, then announces again", async () => {
      const vip = vips.get("web-a")!;
      const o = await owner(vip);
      const engine = fleet.engines.get(o.role)!;
      const fresh = await startLoad(client, `http://${vip}/`, "fresh", 2);
      await waitFor("the load running", async () => (await fresh.since(0)).some((r) => r[2] === 1));
      const t = now();
      engine.proc.kill("SIGSTOP");
      try {
        await waitFor(
          `${o.role}'s address to expire while frozen`,
          async () => !(await o.addresses()).includes(vip),
          (LEASE_S + 5) * 1000,
        );
      } finally {
        engine.proc.kill("SIGCONT");
      }
      await recovered(fresh, t, 20_000);
      const f = outage(await fresh.stop(), t);
      measured(
        `L2 owner frozen until its lease ran out (~${LEASE_S} s), then thawed; new connection per request`,
        f,
      );
      assert.equal(
        (await owner(vip)).role,
        o.role,
        "the controller never moved the VIP: the same owner announces it again",
      );
      assert.equal((await topo.neighbour(vip))?.mac, await o.mac());
    });

    test("owner's link down: the VIP moves after the controller's peer timeout; link back up: one owner again", async () => {
      const vip = vips.get("web-c")!;
      const old = await owner(vip);
      const fresh = await startLoad(client, `http://${vip}/`, "fresh", 2);
      await waitFor("the load running", async () => (await fresh.since(0)).some((r) => r[2] === 1));
      const t = now();
      await old.ip("link", "set", LAN_IF, "down");
      let next: Node;
      try {
        next = await newOwner(vip, old, 30_000);
        await recovered(fresh, t, 30_000);
      } finally {
        const up = now();
        await old.ip("link", "set", LAN_IF, "up");
        // Back on the LAN, the old owner still holds the address until the controller tells it
        // otherwise (its link reconnects): how long two engines hold the VIP is reported.
        await waitFor(
          `${old.role} to give ${vip} up`,
          async () => !(await old.addresses()).includes(vip),
          30_000,
        );
        measured("L2 link restored: the old owner dropped the VIP after", `${Math.round(now() - up)} ms`);
      }
      const f = outage(await fresh.stop(), t);
      measured(`L2 owner link down, new connection per request (${old.role} → ${next.role})`, f);
      assert.equal((await owners(topo, vip)).length, 1);
      await served(vip);
      await fleet.acked();
    });
  },
);

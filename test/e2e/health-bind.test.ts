// health-bind.test.ts: health that tells the truth, through the real bin/portico. A port held by
// another process before start makes every object it serves not programmed (Service, Ingress,
// Gateway listener), shows in /api/v1/errors, /metrics, the start banner and /readyz (503) while
// /healthz stays 200; when the holder lets go, the listener binds, one line says so, /readyz is 200.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import {
  tempDir,
  writeManifest,
  startPortico,
  removeDir,
  waitFor,
  run,
  logLines,
  type Portico,
} from "./harness.ts";
import { backendService, httpBackend, ingressClass, pool } from "./fixtures.ts";
import { gatewayClass } from "./gateway-helpers.ts";

const root = join(import.meta.dirname, "..", "..");
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const VIPS = ["127.0.51.1", "127.0.51.2", "127.0.51.3"];

/** hold binds addr:port with a plain server (no SO_REUSEPORT), as another program would. */
async function hold(address: string, port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.listen({ host: address, port, exclusive: true }, resolve);
  });
  return s;
}

/** holdPorts holds `count` ports on every VIP; port numbers come from the kernel for the first. */
async function holdPorts(count: number): Promise<{ ports: number[]; servers: Server[] }> {
  const ports: number[] = [];
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) {
    const first = await hold(VIPS[0]!, 0);
    const port = (first.address() as { port: number }).port;
    servers.push(first);
    for (const vip of VIPS.slice(1)) servers.push(await hold(vip, port));
    ports.push(port);
  }
  return { ports, servers };
}

function manifests(appPort: number, svcPort: number, gwPort: number): string {
  return [
    pool("hb", [`${VIPS[0]}-${VIPS[2]}`]),
    ingressClass,
    gatewayClass,
    backendService("default", "app", appPort),
    `apiVersion: v1
kind: Service
metadata: { name: lb, namespace: default }
spec:
  type: LoadBalancer
  ports: [{ name: tcp, port: ${svcPort}, protocol: TCP, targetPort: ${appPort} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: lb-1, namespace: default, labels: { kubernetes.io/service-name: lb } }
addressType: IPv4
ports: [{ name: tcp, port: ${appPort}, protocol: TCP }]
endpoints: [{ addresses: [127.0.0.1] }]
`,
    `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: default }
spec:
  rules:
    - host: web.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: portico
  listeners: [{ name: web, port: ${gwPort}, protocol: HTTP }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules: [{ backendRefs: [{ name: app, port: 80 }] }]
`,
  ].join("---\n");
}

type Cond = { type: string; status: string; reason?: string; message?: string };

async function conditionsOf(p: Portico, kind: string, name: string) {
  const s = (await p.status()).find((x) => x.kind === kind && x.name === name);
  assert.ok(s, `no status for ${kind} ${name}`);
  return s.status as { conditions?: Cond[]; listeners?: { name: string; conditions: Cond[] }[] };
}

function find(list: Cond[] | undefined, type: string): Cond {
  const c = list?.find((x) => x.type === type);
  assert.ok(c, `no ${type} in ${JSON.stringify(list)}`);
  return c;
}

for (const workers of [1, 2]) {
  test(`a port held before start: not programmed, reported, not ready; bound once released (workers ${workers})`, async () => {
    const dir = tempDir();
    const state = tempDir();
    const app = await httpBackend("app");
    cleanups.push(
      () => removeDir(dir),
      () => removeDir(state),
      app.close,
    );
    const held = await holdPorts(3);
    const [svcPort, httpPort, gwPort] = held.ports as [number, number, number];
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await Promise.all(held.servers.map((s) => new Promise((r) => s.close(r))));
    };
    cleanups.push(release);
    writeManifest(dir, "all.yaml", manifests(app.port, svcPort, gwPort));

    const p = await startPortico(
      [dir],
      ["--state-dir", state, "--http-port", String(httpPort), "--workers", String(workers)],
      { command: ["sh", join(root, "bin/portico")], waitHealthy: false },
    );
    cleanups.push(() => p.stop());

    // Not ready, with the detail in the body; alive all the same.
    const readyz = await waitFor("readyz names the listeners that cannot bind", async () => {
      const r = await fetch(`${p.adminUrl}/readyz`);
      const body = await r.text();
      return r.status === 503 && /\[\+\] snapshot/.test(body) && /cannot bind/.test(body) ? body : undefined;
    });
    assert.match(readyz, /^not ready\n/);
    assert.match(readyz, /\[-\] listeners: .*EADDRINUSE/);
    const healthz = await fetch(`${p.adminUrl}/healthz`);
    assert.equal(healthz.status, 200);
    // Liveness is the engine thread's (it reports its loop to the controller thread serving this).
    assert.match(
      await healthz.text(),
      /^ok\nengine event loop: longest stall \d+ ms .*; last heard \d+ ms ago\ncontroller event loop: /,
    );

    // Every object the held ports serve is not programmed, naming its address and the error.
    const svc = find((await conditionsOf(p, "Service", "lb")).conditions, "portico.dev/Programmed");
    assert.equal(svc.status, "False");
    assert.equal(svc.reason, "AddressInUse");
    assert.match(svc.message!, new RegExp(`cannot bind TCP/127\\.0\\.51\\.\\d:${svcPort}: EADDRINUSE`));
    const ing = find((await conditionsOf(p, "Ingress", "web")).conditions, "portico.dev/Programmed");
    assert.deepEqual([ing.status, ing.reason], ["False", "AddressInUse"]);
    assert.match(ing.message!, new RegExp(`:${httpPort}: EADDRINUSE`));
    const gw = await conditionsOf(p, "Gateway", "gw");
    assert.deepEqual(
      [find(gw.conditions, "Programmed").status, find(gw.conditions, "Programmed").reason],
      ["False", "AddressInUse"],
    );
    const gwl = find(gw.listeners!.find((l) => l.name === "web")!.conditions, "Programmed");
    assert.equal(gwl.status, "False");
    assert.match(gwl.message!, new RegExp(`:${gwPort}: EADDRINUSE`));

    // portico get shows it too.
    const get = await run(process.execPath, [
      "--disable-warning=ExperimentalWarning",
      join(root, "src/cli/main.ts"),
      "get",
      "services",
      "--admin",
      p.adminUrl.replace("http://", ""),
    ]);
    assert.match(get.stdout, /\slb\s.*False\(AddressInUse\)/);

    // /api/v1/errors has an entry per listener; /metrics a 0 per listener.
    type Errors = {
      listeners: { key: string; name: string; code: string; error: string; attempts: number }[];
    };
    const errors = (await (await fetch(`${p.adminUrl}/api/v1/errors`)).json()) as Errors;
    assert.deepEqual(errors.listeners.map((l) => l.code).sort(), ["EADDRINUSE", "EADDRINUSE", "EADDRINUSE"]);
    assert.ok(errors.listeners.some((l) => l.name === "Service/default/lb:" + svcPort + "/TCP"));
    const metrics = await (await fetch(`${p.adminUrl}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `portico_listener_bound\\{listener="Service/default/lb:${svcPort}/TCP",address="127\\.0\\.51\\.\\d:${svcPort}",protocol="TCP"\\} 0`,
      ),
    );

    // The start banner says NOT SERVING instead of a command line.
    const banner = await waitFor("banner", () =>
      /Portico is serving:/.test(p.stdout()) ? p.stdout() : undefined,
    );
    assert.match(banner, /NOT SERVING: cannot bind: EADDRINUSE/);
    assert.match(banner, /3 listener\(s\) cannot bind/);
    assert.doesNotMatch(banner, new RegExp(`nc -q1 127\\.0\\.51\\.\\d ${svcPort}`));

    // The holder lets go: the listeners bind on a retry, logged once each, and the instance is ready.
    await waitFor(
      "three failed attempts per listener",
      async () => {
        const e = (await (await fetch(`${p.adminUrl}/api/v1/errors`)).json()) as Errors;
        return e.listeners.length === 3 && e.listeners.every((l) => l.attempts >= 3);
      },
      15_000,
    );
    const failedLines = logLines(p, "listener bind failed; retrying").length;
    await release();
    await waitFor("readyz 200", async () => (await fetch(`${p.adminUrl}/readyz`)).status === 200, 15_000);
    const after = await (await fetch(`${p.adminUrl}/readyz`)).text();
    assert.match(after, /^ready\n\[\+\] snapshot: version \d+ applied\n\[\+\] listeners: 3 bound/);
    await waitFor(
      "bound after retry lines",
      () => logLines(p, "listener bound after retry").length >= 3 * workers,
    );
    const boundLines = logLines(p, "listener bound after retry");
    // One line per listener (per engine worker), and the failure was logged once, not per retry.
    assert.equal(boundLines.length, 3 * workers, JSON.stringify(boundLines));
    assert.equal(new Set(boundLines.map((l) => `${l.key} ${l.worker ?? ""}`)).size, 3 * workers);
    assert.equal(failedLines, 3 * workers);
    assert.equal(logLines(p, "listener bind failed; retrying").length, 3 * workers);
    const svcAfter = find((await conditionsOf(p, "Service", "lb")).conditions, "portico.dev/Programmed");
    assert.equal(svcAfter.status, "True");
    assert.equal(find((await conditionsOf(p, "Gateway", "gw")).conditions, "Programmed").status, "True");
    const vip = (await p.vip("Ingress", "default", "web"))!;
    const r = await run("curl", ["-s", "-H", "host: web.test", `http://${vip}:${httpPort}/`]);
    assert.match(r.stdout, /^app GET \//);
    await p.stop();
  });
}

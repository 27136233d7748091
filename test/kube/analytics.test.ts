// analytics.test.ts: per-VIP analytics of `portico controller` (issue 15) against a real
// kube-apiserver. A LoadBalancer Service (L4), an Ingress and a Gateway with an HTTPRoute of two
// rules (L7) get VIPs on loopback; their backend runs in a network namespace and is registered by
// EndpointSlice (the API server refuses loopback endpoint addresses); it answers /fail with a 500.
// Known traffic goes through, counted here, and the controller's admin API must report exactly
// those counts per virtual service and route, with latency figures, the 5xx in the
// significant-request log and a health score; the console's root page answers 200. Then the
// controller runs as users run a fleet (--engine-listen --no-local-engine) with two `portico
// engine` processes sharing the VIPs by SO_REUSEPORT: each engine's batches reach the leader, whose
// figures are the sum of both, and a full-log switch reaches both. A standby replica holds no
// figures and says so, naming the leader; once it leads, the engines report to it. Needs root for
// `ip netns`; skips loudly without it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { createNetns, netnsSkip, type Netns } from "../e2e/netns.ts";
import type { FleetView } from "../../src/controller/fleet/view.ts";
import { parseSecretData } from "../../src/link/credentials.ts";
import type { LogRecord, Series, ServiceSummary } from "../../src/analytics/types.ts";
import type { HealthAnswer } from "../../src/api/analytics-health-routes.ts";
import {
  accepts,
  apply,
  gatewayAddress,
  getJson,
  ipOf,
  kubeSkip,
  lbService,
  readySlice,
  spawnController,
  waitFor,
} from "./helper.ts";

const NS = "ana";
const SYS = "portico-system";
const main = resolve(import.meta.dirname, "../../src/cli/main.ts");
// VIPs unique to this process, so parallel runs cannot collide.
const octet = 100 + ((process.pid + 7) % 150);
const L4_PORT = 18191;
const HOST = "site.example";
const GW_HOST = "gw.example";
const GW_PORT = 8081;

const kube = kubeSkip();
const net = kube ? false : await netnsSkip();
if (net) process.stderr.write(`\n*** SKIPPING analytics kube test: ${net} ***\n\n`);
const skip = kube || net;

/** get sends one request on a connection of its own (so SO_REUSEPORT spreads them) and returns its status. */
function get(ip: string, port: number, path: string, host?: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(
      { host: ip, port, path, agent: false, headers: { connection: "close", ...(host ? { host } : {}) } },
      (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode ?? 0));
      },
    );
    req.on("error", fail);
    req.end();
  });
}

/** Sent is the traffic this test sent and what came back, counted here. */
interface Sent {
  l4: number;
  ok: number;
  fail: number;
  /** gwA and gwB go to the Gateway's host, to its HTTPRoute's two rules (two routes). */
  gwA: number;
  gwB: number;
}

/** Vips are the addresses the controller gave the Service, the Ingress and the Gateway. */
interface Vips {
  l4: string;
  l7: string;
  gw: string;
}

/** send drives n's requests through the Service's, the Ingress's and the Gateway's VIPs; checks every status. */
async function send(v: Vips, n: Sent): Promise<void> {
  for (let i = 0; i < n.l4; i++) assert.equal(await get(v.l4, L4_PORT, `/l4/${i}`), 200);
  for (let i = 0; i < n.ok; i++) assert.equal(await get(v.l7, 80, `/ok/${i}`, HOST), 200);
  for (let i = 0; i < n.fail; i++) assert.equal(await get(v.l7, 80, `/fail/${i}`, HOST), 500);
  for (let i = 0; i < n.gwA; i++) assert.equal(await get(v.gw, GW_PORT, `/a/${i}`, GW_HOST), 200);
  for (let i = 0; i < n.gwB; i++) assert.equal(await get(v.gw, GW_PORT, `/b/${i}`, GW_HOST), 200);
}

async function json<T>(admin: string, path: string): Promise<T> {
  const r = await fetch(`${admin}${path}`);
  if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** Figures are the virtual services this test's traffic lands on, as the admin API reports them. */
interface Figures {
  l4: ServiceSummary;
  l7: ServiceSummary;
  gw: ServiceSummary;
}

/**
 * settled polls /api/v1/analytics/services until the L4 Service's and the Ingress host's counts
 * reach what was sent (batches come once per interval), then reads once more so that a late batch
 * overshooting the count would be seen.
 */
async function settled(admin: string, n: Sent): Promise<Figures> {
  let list: ServiceSummary[] = [];
  const read = async (): Promise<Partial<Figures>> => {
    list = await json<ServiceSummary[]>(admin, "/api/v1/analytics/services?window=5m");
    return {
      l4: list.find((s) => s.kind === "l4" && s.listener.endsWith(`:${L4_PORT}/TCP`)),
      l7: list.find((s) => s.vhost === HOST),
      gw: list.find((s) => s.vhost === GW_HOST),
    };
  };
  let last: Partial<Figures> = {};
  await waitFor(
    "analytics counts",
    async () => {
      last = await read();
      return (
        (last.l4?.requests ?? 0) >= n.l4 &&
        (last.l7?.requests ?? 0) >= n.ok + n.fail &&
        (last.gw?.requests ?? 0) >= n.gwA + n.gwB
      );
    },
    60_000,
    250,
  ).catch((e: Error) => {
    const seen = list.map((s) => `${s.vs} (${s.kind}): ${s.requests}`).join("; ");
    throw new Error(`${e.message}; last seen l4=${last.l4?.requests} l7=${last.l7?.requests}; ${seen}`);
  });
  const f = await read();
  return { l4: f.l4!, l7: f.l7!, gw: f.gw! };
}

/** sumSeries adds a series' requests and response classes over its points. */
function sumSeries(s: Series): { requests: number; classes: Record<string, number> } {
  const out = { requests: 0, classes: {} as Record<string, number> };
  for (const p of s.points) {
    out.requests += p.requests;
    for (const [k, v] of Object.entries(p.classes)) if (v) out.classes[k] = (out.classes[k] ?? 0) + v;
  }
  return out;
}

/** checkFigures asserts the admin API's figures equal what was sent, per service and per route. */
async function checkFigures(admin: string, n: Sent): Promise<Figures> {
  const f = await settled(admin, n);
  assert.equal(f.l4.requests, n.l4, "one L4 'request' per TCP connection");
  assert.equal(f.l7.requests, n.ok + n.fail);
  assert.equal(f.l7.errorRate, n.fail / (n.ok + n.fail));
  // The L4 bytes in are the whole requests; an HTTP service's are bodies (none here).
  assert.ok(f.l4.bytesIn > 0, "the L4 service counted the bytes received");
  assert.equal(f.gw.requests, n.gwA + n.gwB);
  assert.equal(f.gw.errorRate, 0);
  for (const s of [f.l4, f.l7, f.gw]) {
    const total = s.latency.total!;
    assert.ok(total, `${s.vs} has an end-to-end latency`);
    assert.ok(total.p50 > 0 && total.p99 >= total.p50 && total.max >= total.p99, JSON.stringify(total));
    assert.ok(s.bytesOut > 0, `${s.vs} counted the bytes sent back`);
  }
  const q = (o: Record<string, string>) => new URLSearchParams({ window: "5m", ...o }).toString();
  const vsSeries = await json<Series>(admin, `/api/v1/analytics/series?${q({ vs: f.l7.vs })}`);
  assert.deepEqual(sumSeries(vsSeries), { requests: n.ok + n.fail, classes: { "2xx": n.ok, "5xx": n.fail } });
  const l4Series = await json<Series>(admin, `/api/v1/analytics/series?${q({ vs: f.l4.vs })}`);
  assert.equal(sumSeries(l4Series).requests, n.l4);
  // The Ingress's one rule is one route: its series holds every request of the host.
  const top = await json<{ routes: Record<string, number>; codes: Record<string, number> }>(
    admin,
    `/api/v1/analytics/top?${q({ vs: f.l7.vs })}`,
  );
  assert.deepEqual(top.codes, { "200": n.ok, "500": n.fail });
  const routes = Object.keys(top.routes);
  assert.equal(routes.length, 1, JSON.stringify(top.routes));
  const routeSeries = await json<Series>(
    admin,
    `/api/v1/analytics/series?${q({ vs: f.l7.vs, route: routes[0]! })}`,
  );
  assert.equal(sumSeries(routeSeries).requests, n.ok + n.fail);
  // The HTTPRoute's two rules are two routes, each with its own count.
  const gwTop = await json<{ routes: Record<string, number> }>(
    admin,
    `/api/v1/analytics/top?${q({ vs: f.gw.vs })}`,
  );
  const perRoute: number[] = [];
  for (const route of Object.keys(gwTop.routes))
    perRoute.push(
      sumSeries(await json<Series>(admin, `/api/v1/analytics/series?${q({ vs: f.gw.vs, route })}`)).requests,
    );
  assert.deepEqual(
    perRoute.sort((a, b) => a - b),
    [n.gwA, n.gwB].sort((a, b) => a - b),
    JSON.stringify(gwTop.routes),
  );
  return f;
}

/** checkLogsAndHealth: every 500 is in the significant-request log, and the host has a health score. */
async function checkLogsAndHealth(admin: string, vs: string, fails: number, engines?: number): Promise<void> {
  const logs = await waitFor(
    "the 5xx in the request log",
    async () => {
      const l = await json<LogRecord[]>(
        admin,
        `/api/v1/analytics/logs?${new URLSearchParams({ vs, status: "500" })}`,
      );
      return l.length >= fails && l;
    },
    20_000,
    250,
  );
  assert.equal(logs.length, fails);
  for (const r of logs) {
    assert.match(r.path, /^\/fail\/\d+$/);
    assert.equal(r.status, 500);
  }
  const health = await json<HealthAnswer>(admin, "/api/v1/analytics/health?window=5m");
  const h = health.services.find((s) => s.vs === vs);
  assert.ok(h, `health lists ${vs}: ${JSON.stringify(health.services.map((s) => s.vs))}`);
  assert.ok(h.health.score >= 0 && h.health.score < 100, `5xx lower the score: ${JSON.stringify(h.health)}`);
  assert.ok(h.health.reasons.length > 0);
  // The pool lends its three addresses (the Service's, the IngressClass's, the Gateway's).
  const pool = health.pools.find((p) => p.pool === "ana-pool");
  assert.deepEqual(pool && { used: pool.used, free: pool.free, pending: pool.pending }, {
    used: 3,
    free: 0,
    pending: 0,
  });
  // With engines apart, the default group's score counts them (absent for the in-process engine).
  const group = health.groups.find((g) => g.group === "default");
  assert.ok(group, JSON.stringify(health.groups));
  if (engines !== undefined)
    assert.deepEqual({ engines: group.engines, ready: group.ready }, { engines, ready: engines });
}

describe("per-VIP analytics in Kubernetes mode", { skip }, () => {
  let env: KubeEnv;
  let ns: Netns | undefined;
  let backend: ChildProcess | undefined;
  let backendIp = "";
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "analytics-kube-"));
  const vips: Vips = { l4: "", l7: "", gw: "" };

  /** controller runs `portico controller` on admin port; resolves with its admin URL once it leads and serves. */
  const controller = (name: string, admin: number, args: string[] = []) => {
    const c = spawnController(env, name, [`--admin=127.0.0.1:${admin}`, ...args], { POD_NAMESPACE: SYS });
    children.push(c);
    return c;
  };
  const stop = async (c: ChildProcess) => {
    if (c.exitCode !== null) return;
    c.kill("SIGTERM");
    await new Promise((r) => c.once("exit", r));
  };

  before(async () => {
    ns = await createNetns(0);
    backendIp = ns.nsIp;
    const server = `require("node:http").createServer((q, r) => { r.statusCode = q.url.startsWith("/fail") ? 500 : 200; r.end("path " + q.url); }).listen(8080, "${backendIp}")`;
    backend = ns.spawn(process.execPath, ["-e", server], { stdio: ["ignore", "ignore", "inherit"] });
    await waitFor("backend in the namespace", () => accepts(backendIp, 8080));
    env = await startKube();
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${SYS}}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: ana-pool}
spec:
  addresses: ["127.34.${octet}.1-127.34.${octet}.3"]
---
${lbService(NS, "web", L4_PORT)}${readySlice(NS, "web", backendIp, 8080)}---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site, namespace: ${NS}}
spec:
  ingressClassName: portico
  rules:
    - host: ${HOST}
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: ${L4_PORT}}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${NS}}
spec:
  gatewayClassName: portico
  listeners: [{name: http, port: ${GW_PORT}, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: ${NS}}
spec:
  parentRefs: [{name: gw}]
  hostnames: [${GW_HOST}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /a}}]
      backendRefs: [{name: web, port: ${L4_PORT}}]
    - matches: [{path: {type: PathPrefix, value: /b}}]
      backendRefs: [{name: web, port: ${L4_PORT}}]
`,
    );
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await env?.stop();
    backend?.kill("SIGKILL");
    await ns?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the controller's in-process engine: exact counts per virtual service and route, logs, health, the console", async () => {
    const port = await freePort();
    const admin = `http://127.0.0.1:${port}`;
    const c = controller("ana-local", port);
    try {
      vips.l4 = await waitFor("VIP of the Service", () => ipOf(env, NS, "web"), 20_000, 200);
      vips.l7 = await waitFor(
        "VIP of the Ingress",
        async () => (await getJson(env, "ingress", "-n", NS, "site"))?.status?.loadBalancer?.ingress?.[0]?.ip,
        20_000,
        200,
      );
      await waitFor(
        "the VIPs answer",
        async () => (await get(vips.l4, L4_PORT, "/probe").catch(() => 0)) === 200,
        20_000,
      );
      vips.gw = await gatewayAddress(env, NS, "gw");
      // The probe is one more L4 connection: counted with the rest.
      const n: Sent = { l4: 11, ok: 17, fail: 4, gwA: 6, gwB: 9 };
      await send(vips, { ...n, l4: n.l4 - 1 });
      const f = await checkFigures(admin, n);
      assert.deepEqual(f.l7.engines, ["local"]);
      await checkLogsAndHealth(admin, f.l7.vs, n.fail);
      const page = await fetch(`${admin}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(await page.text(), /<html/i);
    } finally {
      await stop(c);
    }
  });

  test("two engines serving the VIPs: the leader merges their batches, counts add up; full logs through the fleet; a standby says who leads, and reports once it leads", async () => {
    const [adminA, adminB, link] = [await freePort(), await freePort(), await freePort()];
    const admin = `http://127.0.0.1:${adminA}`;
    const fleetArgs = [`--engine-listen=127.0.0.1:${link}`, "--no-local-engine", `--engine-namespace=${SYS}`];
    const leader = controller("ana-fleet", adminA, fleetArgs);
    await waitFor(
      "the fleet controller leads with its engine port open",
      async () => /engine-port: listening/.test(await (await fetch(`${admin}/readyz`)).text()),
      20_000,
      200,
    );
    const secret = await waitFor("the Secret portico-engine-link", () =>
      getJson<{ data: Record<string, string> }>(env, "secret", "-n", SYS, "portico-engine-link"),
    );
    const creds = parseSecretData(secret.data, "test");
    writeFileSync(join(dir, "ca.crt"), creds.caPem);
    writeFileSync(join(dir, "token"), creds.token, { mode: 0o600 });
    const names = ["e1", "e2"];
    for (const name of names)
      children.push(
        spawn(
          process.execPath,
          [
            "--disable-warning=ExperimentalWarning",
            main,
            "engine",
            ...["--controller", `127.0.0.1:${link}`, "--name", name, "--workers", "1"],
            ...[
              "--ca-file",
              join(dir, "ca.crt"),
              "--token-file",
              join(dir, "token"),
              "--admin",
              "127.0.0.1:0",
            ],
          ],
          { stdio: ["ignore", "ignore", process.env.PORTICO_TEST_LOG === "1" ? "inherit" : "ignore"] },
        ),
      );
    await waitFor(
      "both engines acked and ready",
      async () => {
        const f = await json<FleetView>(admin, "/api/v1/engines");
        return names.every((n) => {
          const e = f.engines.find((x) => x.identity.name === n);
          return e?.connected && e.ready && e.pending === undefined && e.acked?.epoch === f.epoch;
        });
      },
      30_000,
      200,
    );
    // A new connection each: the kernel's reuseport hash spreads them over both engines.
    const n: Sent = { l4: 40, ok: 50, fail: 10, gwA: 12, gwB: 20 };
    await send(vips, n);
    const f = await checkFigures(admin, n);
    assert.deepEqual([...f.l7.engines].sort(), names, "both engines served the host");
    assert.deepEqual([...f.l4.engines].sort(), names, "both engines served the Service");
    await checkLogsAndHealth(admin, f.l7.vs, n.fail, names.length);

    // Full logs for the Gateway's host, switched on at the leader: the next snapshot carries the
    // switch to both engines, and every request of that host is kept, 2xx too.
    const seqs = async () => {
      const fl = await json<FleetView>(admin, "/api/v1/engines");
      return names.map((name) => fl.engines.find((e) => e.identity.name === name)?.acked?.seq ?? 0);
    };
    const before = await seqs();
    const on = await fetch(
      `${admin}/api/v1/analytics/full-logs?${new URLSearchParams({ vs: f.gw.vs, minutes: "5" })}`,
      { method: "POST" },
    );
    assert.equal(on.status, 202, await on.text());
    await waitFor(
      "both engines acked the switch",
      async () => (await seqs()).every((s, i) => s > before[i]!),
      20_000,
      200,
    );
    const full = 7;
    for (let i = 0; i < full; i++) assert.equal(await get(vips.gw, GW_PORT, `/a/full/${i}`, GW_HOST), 200);
    const kept = await waitFor(
      "the full log of the Gateway's host",
      async () => {
        const l = await json<LogRecord[]>(
          admin,
          `/api/v1/analytics/logs?${new URLSearchParams({ vs: f.gw.vs })}`,
        );
        return l.length >= full && l;
      },
      30_000,
      250,
    );
    assert.equal(kept.length, full, "only the requests sent after the switch");
    for (const r of kept) {
      assert.match(r.path, /^\/a\/full\/\d+$/);
      assert.deepEqual(r.reasons, ["full"]);
    }

    // A standby holds no figures (the engines report to the leader alone): it says so and who leads.
    const standby = `http://127.0.0.1:${adminB}`;
    controller("ana-standby", adminB, fleetArgs);
    await waitFor(
      "the second replica is a standby",
      async () =>
        /leader: standby; ana-fleet holds the Lease/.test(await (await fetch(`${standby}/readyz`)).text()),
      20_000,
      200,
    );
    for (const path of [
      "/api/v1/analytics/services",
      `/api/v1/analytics/logs?vs=${encodeURIComponent(f.l7.vs)}`,
    ]) {
      const r = await fetch(`${standby}${path}`);
      assert.equal(r.status, 503, path);
      assert.match(await r.text(), /standby.*ana-fleet/);
    }
    assert.equal((await fetch(`${standby}/`)).status, 200, "the console itself loads on a standby");

    // Failover: the engines follow the new leader and report to it. Without --state-dir it starts
    // with empty figures: exactly the traffic sent after it took over (every batch of the earlier
    // traffic reached the old leader: its counts were exact above).
    await stop(leader);
    await waitFor(
      "the engines acked the new leader",
      async () => {
        const fl = await json<FleetView>(standby, "/api/v1/engines");
        return names.every(
          (name) => fl.engines.find((e) => e.identity.name === name)?.acked?.epoch === fl.epoch,
        );
      },
      30_000,
      200,
    );
    const later: Sent = { l4: 8, ok: 9, fail: 3, gwA: 2, gwB: 5 };
    await send(vips, later);
    await checkFigures(standby, later);
  });
});

// ingress-nginx-traffic.test.ts: ingress-nginx's traffic annotations in `portico run`, with real
// backends and clients on 127.0.0.0/8 (the client bound to 127.0.0.2, .3, ... for the address
// checks): canary by header, cookie and weight; a sticky cookie that keeps an endpoint and moves
// when the endpoint goes; CORS preflights; allow/deny source ranges (and with an AccessPolicy);
// limit-rps refusing after the burst; limit-connections.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Agent, request } from "node:http";
import { tempDir, writeManifest, startPortico, removeDir, waitFor, type Portico } from "./harness.ts";
import { backendService, httpBackend, ingressClass, pool, type HttpBackend } from "./fixtures.ts";

const PORT = 18577;
const N = "nginx.ingress.kubernetes.io/";
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** ingress is an Ingress routing host "/" to service svc, with annotations (nginx prefix added). */
function ingress(name: string, host: string, svc: string, annotations: Record<string, string> = {}): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `    ${k.includes("/") ? k : N + k}: ${JSON.stringify(v)}`)
    .join("\n");
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
${ann === "" ? "" : `  annotations:\n${ann}\n`}spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${svc}, port: { number: 80 } } } }] }
`;
}

/** twoEndpoints is a Service with one EndpointSlice per backend (each its own port on 127.0.0.1). */
function twoEndpoints(name: string, ports: number[]): string {
  const slices = ports.map(
    (port, i) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-${i}, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${port}, protocol: TCP }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
`,
  );
  return [
    `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  ports: [{ name: http, port: 80 }]
`,
    ...slices,
  ].join("---\n");
}

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

let vip = "";
const agent = new Agent({ keepAlive: true, maxSockets: 4 });
cleanups.push(() => agent.destroy());

/** get sends one request to host on the VIP; from binds the client's address (no keep-alive then). */
function get(
  host: string,
  opts: { path?: string; from?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: vip,
        port: PORT,
        path: opts.path ?? "/",
        method: opts.method ?? "GET",
        headers: { host, ...(opts.headers ?? {}) },
        ...(opts.from === undefined ? { agent } : { localAddress: opts.from, agent: false }),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

let p: Portico;
let dir: string;
const backends: Record<string, HttpBackend> = {};

before(async () => {
  dir = tempDir();
  cleanups.push(() => removeDir(dir));
  for (const name of ["main", "canary", "s1", "s2", "plain"]) {
    backends[name] = await httpBackend(name);
    cleanups.push(backends[name].close);
  }
  writeManifest(dir, "pool.yaml", pool("traffic", ["127.0.211.1/32"]));
  writeManifest(dir, "class.yaml", ingressClass);
  writeManifest(
    dir,
    "services.yaml",
    [
      backendService("default", "main", backends.main!.port),
      backendService("default", "canary", backends.canary!.port),
      backendService("default", "plain", backends.plain!.port),
    ].join("---\n"),
  );
  writeManifest(dir, "sticky-svc.yaml", twoEndpoints("sticky", [backends.s1!.port, backends.s2!.port]));
  writeManifest(
    dir,
    "ingresses.yaml",
    [
      ingress("main", "canary.test", "main"),
      ingress("main-canary", "canary.test", "canary", {
        canary: "true",
        "canary-by-header": "X-Canary",
        "canary-by-cookie": "cnry",
        "canary-weight": "30",
      }),
      ingress("sticky", "sticky.test", "sticky", {
        affinity: "cookie",
        "session-cookie-name": "route",
        "session-cookie-max-age": "600",
      }),
      ingress("cors", "cors.test", "plain", {
        "enable-cors": "true",
        "cors-allow-origin": "https://a.example",
      }),
      ingress("acl", "acl.test", "plain", {
        "whitelist-source-range": "127.0.0.2, 127.0.0.3/32",
        "denylist-source-range": "127.0.0.3",
      }),
      ingress("acl-bad", "bad.test", "plain", { "whitelist-source-range": "127.0.0.2, 127.0.0.300" }),
      ingress("acl-both", "both.test", "plain", {
        "whitelist-source-range": "127.0.0.0/8",
        "portico.dev/access-policy": "no-five",
      }),
      ingress("rps", "rps.test", "plain", { "limit-rps": "2", "limit-whitelist": "127.0.0.7" }),
      ingress("conns", "conns.test", "plain", { "limit-connections": "2" }),
    ].join("---\n"),
  );
  writeManifest(
    dir,
    "access-policy.yaml",
    `apiVersion: portico.dev/v1alpha1
kind: AccessPolicy
metadata: { name: no-five, namespace: default }
spec:
  clientAddresses: { deny: [127.0.0.5/32] }
`,
  );
  p = await startPortico([dir], ["--http-port", String(PORT)]);
  cleanups.push(() => p.stop());
  vip = "127.0.211.1";
  await waitFor(
    "the Ingresses served",
    async () => (await get("canary.test").catch(() => undefined))?.status === 200,
  );
});

test("canary: header always/never, cookie always/never, in ingress-nginx's precedence", async () => {
  const who = async (headers: Record<string, string>) =>
    (await get("canary.test", { headers })).body.split(" ")[0];
  assert.equal(await who({ "x-canary": "always" }), "canary");
  assert.equal(await who({ "x-canary": "never", cookie: "cnry=always" }), "main", "header beats cookie");
  assert.equal(await who({ "x-canary": "always", cookie: "cnry=never" }), "canary");
  assert.equal(await who({ cookie: "a=1; cnry=always" }), "canary");
  assert.equal(
    await who({ "x-canary": "maybe", cookie: "cnry=always" }),
    "canary",
    "other header values fall through",
  );
  for (let i = 0; i < 10; i++) assert.equal(await who({ cookie: "cnry=never" }), "main");
  for (let i = 0; i < 10; i++) assert.equal(await who({ "x-canary": "never" }), "main");
  const status = (await p.status()).find((s) => s.kind === "Ingress" && s.name === "main-canary")!;
  const accepted = status.status.conditions!.find((c) => c.type === "portico.dev/Accepted")!;
  assert.equal(accepted.status, "True");
  assert.notEqual(accepted.reason, "RouteConflict");
});

test("canary: canary-weight 30 sends a binomial share within 5 standard deviations", async (t) => {
  const n = 400;
  let canary = 0;
  for (let i = 0; i < n; i++) if ((await get("canary.test")).body.startsWith("canary ")) canary++;
  // Binomial(400, 0.3): mean 120, sd √(400·0.3·0.7) ≈ 9.17; ±5 sd = [74, 166] fails a correct
  // split with probability about 6e-7.
  const sd = Math.sqrt(n * 0.3 * 0.7);
  t.diagnostic(`canary share: ${canary} of ${n}`);
  assert.ok(Math.abs(canary - n * 0.3) <= 5 * sd, `canary got ${canary} of ${n}`);
});

test("affinity: the first response sets the cookie; it keeps the endpoint, and moves with a new cookie when it goes", async () => {
  const first = await get("sticky.test");
  assert.equal(first.status, 200);
  const setCookie = String(first.headers["set-cookie"]);
  assert.match(setCookie, /^route=[0-9a-f]{16}; Path=\/; Max-Age=600; HttpOnly$/);
  const cookie = setCookie.split(";")[0]!;
  const home = first.body.split(" ")[0]!;
  for (let i = 0; i < 20; i++) {
    const r = await get("sticky.test", { headers: { cookie } });
    assert.equal(r.body.split(" ")[0], home, `request ${i} stayed`);
    assert.equal(r.headers["set-cookie"], undefined, "a standing cookie is not set again");
  }
  // Without the cookie, round robin reaches the other endpoint too.
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await get("sticky.test")).body.split(" ")[0]!);
  assert.deepEqual([...seen].sort(), ["s1", "s2"]);
  // The cookie's endpoint goes away: the same cookie now lands on the other one, with a new cookie.
  const other = home === "s1" ? "s2" : "s1";
  writeManifest(dir, "sticky-svc.yaml", twoEndpoints("sticky", [backends[other]!.port]));
  const moved = await waitFor("the sticky endpoint gone", async () => {
    const r = await get("sticky.test", { headers: { cookie } });
    return r.body.startsWith(`${other} `) ? r : undefined;
  });
  const fresh = String(moved.headers["set-cookie"]).split(";")[0]!;
  assert.match(fresh, /^route=[0-9a-f]{16}$/);
  assert.notEqual(fresh, cookie);
  const again = await get("sticky.test", { headers: { cookie: fresh } });
  assert.equal(again.body.split(" ")[0], other);
  assert.equal(again.headers["set-cookie"], undefined);
  // HTTP/2 (prior knowledge, curl): the same cookie is honoured; without one a cookie is set.
  // curl runs asynchronously: the backends live in this process and must keep answering.
  const h2 = async (extra: string[]) =>
    (
      await promisify(execFile)(
        "curl",
        [
          "-s",
          "--http2-prior-knowledge",
          "-D",
          "-",
          "-H",
          "host: sticky.test",
          ...extra,
          `http://${vip}:${PORT}/`,
        ],
        { encoding: "utf8" },
      )
    ).stdout;
  const kept = await h2(["-H", `cookie: ${fresh}`]);
  assert.match(kept, /^HTTP\/2 200/);
  assert.match(kept, new RegExp(`\\r\\n${other} GET /`));
  assert.doesNotMatch(kept, /set-cookie/i);
  assert.match(await h2([]), /\r\nset-cookie: route=[0-9a-f]{16}; Path=\/; Max-Age=600; HttpOnly\r\n/);
});

test("CORS: the proxy answers a preflight with ingress-nginx's defaults; a foreign Origin gets no grant", async () => {
  const pre = await get("cors.test", {
    method: "OPTIONS",
    headers: { origin: "https://a.example", "access-control-request-method": "PUT" },
  });
  assert.equal(pre.status, 200);
  assert.equal(pre.headers["access-control-allow-origin"], "https://a.example");
  assert.equal(pre.headers["access-control-allow-methods"], "GET, PUT, POST, DELETE, PATCH, OPTIONS");
  assert.equal(pre.headers["access-control-allow-credentials"], "true");
  assert.equal(pre.headers["access-control-max-age"], "1728000");
  assert.equal(
    backends.plain!.seen.filter((s) => s.method === "OPTIONS").length,
    0,
    "the backend saw no preflight",
  );
  const simple = await get("cors.test", { headers: { origin: "https://a.example" } });
  assert.equal(simple.headers["access-control-allow-origin"], "https://a.example");
  const foreign = await get("cors.test", {
    method: "OPTIONS",
    headers: { origin: "https://evil.example", "access-control-request-method": "PUT" },
  });
  assert.equal(foreign.headers["access-control-allow-origin"], undefined);
});

test("source ranges: allow and deny by client address; a bad CIDR refuses everyone; with an AccessPolicy both must allow", async () => {
  assert.equal((await get("acl.test", { from: "127.0.0.2" })).status, 200);
  assert.equal((await get("acl.test", { from: "127.0.0.3" })).status, 403, "deny wins over allow");
  assert.equal((await get("acl.test", { from: "127.0.0.4" })).status, 403, "not in the allow list");
  assert.equal((await get("bad.test", { from: "127.0.0.2" })).status, 403, "fails closed");
  const bad = (await p.status()).find((s) => s.kind === "Ingress" && s.name === "acl-bad")!;
  assert.match(
    bad.status.conditions!.find((c) => c.type === "portico.dev/Accepted")!.message!,
    /whitelist-source-range: "127\.0\.0\.300" is not a CIDR/,
  );
  assert.equal((await get("both.test", { from: "127.0.0.4" })).status, 200);
  assert.equal((await get("both.test", { from: "127.0.0.5" })).status, 403, "the AccessPolicy denies .5");
});

test("limit-rps: the burst (rps × 5 + 1) passes, then 429 with Retry-After; limit-whitelist is exempt", async () => {
  const start = performance.now();
  const statuses: number[] = [];
  let retryAfter: string | undefined;
  for (let i = 0; i < 40; i++) {
    const r = await get("rps.test", { from: "127.0.0.6" });
    statuses.push(r.status);
    if (r.status === 429) retryAfter ??= r.headers["retry-after"] as string;
  }
  const seconds = (performance.now() - start) / 1000;
  assert.deepEqual(statuses.slice(0, 11), Array(11).fill(200), "the burst of 2 × 5 + 1");
  const ok = statuses.filter((s) => s === 200).length;
  assert.ok(statuses.includes(429), `no refusal in ${statuses}`);
  assert.ok(ok <= 11 + Math.ceil(2 * seconds) + 1, `${ok} passed in ${seconds.toFixed(1)} s`);
  assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
  for (let i = 0; i < 30; i++)
    assert.equal((await get("rps.test", { from: "127.0.0.7" })).status, 200, "exempt");
});

test("limit-connections: a third request in flight from one address gets 503; slots come back", async () => {
  const before = backends.plain!.seen.length;
  const slow = [1, 2].map(() => get("conns.test", { from: "127.0.0.8", path: "/slow?ms=4000" }));
  await waitFor("two slow requests at the backend", () => backends.plain!.seen.length >= before + 2);
  assert.equal((await get("conns.test", { from: "127.0.0.8" })).status, 503);
  assert.equal((await get("conns.test", { from: "127.0.0.9" })).status, 200, "another client is not limited");
  assert.deepEqual(
    (await Promise.all(slow)).map((r) => r.status),
    [200, 200],
  );
  assert.equal((await get("conns.test", { from: "127.0.0.8" })).status, 200, "the slots came back");
});

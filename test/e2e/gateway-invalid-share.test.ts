// gateway-invalid-share.test.ts: `portico run` with HTTPRoute/GRPCRoute rules that mix valid and
// invalid backendRefs. The Gateway API asks that the share of requests an invalid ref would have
// carried get a 500 (gRPC: UNAVAILABLE) while the rest reach the valid backend.
// VIP 127.0.42.1 (from a VipPool), listener port 18420.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, type Portico } from "./harness.ts";
import { httpBackend, pool, backendService, type HttpBackend } from "./fixtures.ts";
import { cond, gatewayClass, reason, statusOf } from "./gateway-helpers.ts";

const PORT = 18420;
const VIP = "127.0.42.1";
let dir: string, state: string;
let web: HttpBackend;
let p: Portico;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

const manifests = `${gatewayClass}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: app }
spec:
  gatewayClassName: portico
  listeners:
    - { name: http, port: ${PORT}, protocol: HTTP }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: split, namespace: app }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [app.test]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /half } }]
      backendRefs: [{ name: web, port: 80, weight: 1 }, { name: missing, port: 80, weight: 1 }]
    - matches: [{ path: { type: PathPrefix, value: /quarter } }]
      backendRefs: [{ name: web, port: 80, weight: 3 }, { name: web, port: 81, weight: 1 }]
    - matches: [{ path: { type: PathPrefix, value: /zero } }]
      backendRefs: [{ name: web, port: 80, weight: 1 }, { name: missing, port: 80, weight: 0 }]
    - matches: [{ path: { type: PathPrefix, value: /none } }]
      backendRefs: [{ name: missing, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: rpc, namespace: app }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [grpc.test]
  rules:
    - backendRefs: [{ name: missing, port: 80 }]
`;

/** accessErrors are the `error` fields of the access-log lines for path. */
function accessErrors(path: string): string[] {
  return readFileSync(join(state, "access.log"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { path?: string; error?: string })
    .filter((l) => l.path === path && typeof l.error === "string")
    .map((l) => l.error!);
}

/** get sends GET path with Host app.test to the VIP and resolves with the status and body. */
function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: VIP, port: PORT, path, agent, headers: { host: "app.test" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
  });
}

/** tally sends n requests, 20 at a time, and counts answers by status; it keeps one body of each. */
async function tally(
  path: string,
  n: number,
): Promise<{ counts: Map<number, number>; bodies: Map<number, string> }> {
  const counts = new Map<number, number>();
  const bodies = new Map<number, string>();
  for (let sent = 0; sent < n; sent += 20) {
    const batch = await Promise.all(Array.from({ length: Math.min(20, n - sent) }, () => get(path)));
    for (const r of batch) {
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      bodies.set(r.status, r.body);
    }
  }
  return { counts, bodies };
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  web = await httpBackend("web");
  writeManifest(dir, "pool.yaml", pool("gw-invalid-share", [`${VIP}-${VIP}`]));
  writeManifest(dir, "gateway.yaml", manifests);
  writeManifest(dir, "backends.yaml", backendService("app", "web", web.port));
  p = await startPortico([dir], ["--state-dir", state, "--access-log", join(state, "access.log")]);
  await waitFor("the HTTP listener to route", async () => (await get("/zero")).body === "web GET /zero\n");
});

after(async () => {
  agent.destroy();
  await p?.stop();
  web?.close();
  for (const d of [dir, state]) if (d) removeDir(d);
});

test("status: ResolvedRefs False with the reason, the route still Accepted", async () => {
  const parent = (await statusOf(p, "HTTPRoute", "split")).parents[0]!;
  assert.equal(cond(parent.conditions, "Accepted"), "True");
  assert.equal(cond(parent.conditions, "ResolvedRefs"), "False");
  assert.equal(reason(parent.conditions, "ResolvedRefs"), "BackendNotFound");
});

test("weights 1:1 with one invalid ref: about half the requests get 500, the rest reach the backend", async () => {
  const before = web.seen.filter((s) => s.url === "/half").length;
  const { counts, bodies } = await tally("/half", 200);
  const errors = counts.get(500) ?? 0;
  assert.equal(errors + (counts.get(200) ?? 0), 200, `only 200 and 500: ${[...counts]}`);
  // Binomial(200, 1/2): mean 100, sd ≈ 7.1; ±40 is more than 5 sd.
  assert.ok(errors >= 60 && errors <= 140, `${errors} of 200 got 500, expected about 100`);
  assert.equal(web.seen.filter((s) => s.url === "/half").length - before, 200 - errors);
  assert.equal(bodies.get(200), "web GET /half\n");
  // The client learns only that the request cannot be served; the reason is in the access log.
  assert.equal(bodies.get(500), "internal server error: the request cannot be served\n");
  await waitFor("the access log's reason for the 500s", () =>
    accessErrors("/half").some((e) =>
      /backend reference Service app\/missing:80 of route HTTPRoute\/app\/split#0\.0 is invalid/.test(e),
    ),
  );
});

test("weights 3:1 with a ref to a missing port: about a quarter get 500", async () => {
  const { counts, bodies } = await tally("/quarter", 200);
  const errors = counts.get(500) ?? 0;
  // Binomial(200, 1/4): mean 50, sd ≈ 6.1; ±28 is more than 4.5 sd.
  assert.ok(errors >= 22 && errors <= 78, `${errors} of 200 got 500, expected about 50`);
  assert.equal(counts.get(200), 200 - errors);
  assert.doesNotMatch(bodies.get(500)!, /app\/web|81/);
  await waitFor("the access log's reason for the 500s", () =>
    accessErrors("/quarter").some((e) => /Service app\/web:81/.test(e)),
  );
});

test("an invalid ref of weight 0 takes nothing; a rule with no valid ref answers every request 500", async () => {
  const zero = await tally("/zero", 40);
  assert.deepEqual([...zero.counts], [[200, 40]]);
  const none = await tally("/none", 20);
  assert.deepEqual([...none.counts], [[500, 20]]);
});

test("HTTP/2: the invalid share is answered 500; a gRPC request of an invalid share gets UNAVAILABLE", async () => {
  const session = http2.connect(`http://${VIP}:${PORT}`);
  try {
    const request = (headers: http2.OutgoingHttpHeaders, body?: Buffer) =>
      new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const s = session.request(headers, { endStream: body === undefined });
        let text = "";
        let got: http2.IncomingHttpHeaders = {};
        s.setEncoding("utf8");
        s.on("response", (h) => (got = h));
        s.on("data", (d: string) => (text += d));
        s.on("end", () => resolve({ headers: got, body: text }));
        s.on("error", reject);
        if (body !== undefined) s.end(body);
      });
    const statuses = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const r = await request({ ":path": "/half", ":authority": "app.test" });
      const st = Number(r.headers[":status"]);
      statuses.set(st, (statuses.get(st) ?? 0) + 1);
      if (st === 500) assert.equal(r.body, "internal server error: the request cannot be served\n");
    }
    // 40 requests at 1/2: each side appears unless a 1-in-2^39 run.
    assert.ok((statuses.get(500) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0, `statuses ${[...statuses]}`);
    // A gRPC call (5-byte empty message frame) to a GRPCRoute whose only ref is invalid.
    const r = await request(
      {
        ":method": "POST",
        ":path": "/echo.v1.Echo/Say",
        ":authority": "grpc.test",
        "content-type": "application/grpc",
        te: "trailers",
      },
      Buffer.alloc(5),
    );
    assert.equal(r.headers[":status"], 200);
    assert.equal(r.headers["grpc-status"], "14");
    assert.equal(
      decodeURIComponent(String(r.headers["grpc-message"])),
      "service unavailable: no server is available to answer",
    );
    await waitFor("the access log's reason for the gRPC call", () =>
      accessErrors("/echo.v1.Echo/Say").some((e) => /Service app\/missing:80/.test(e)),
    );
  } finally {
    session.close();
  }
});

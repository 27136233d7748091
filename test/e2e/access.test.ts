// access.test.ts: AccessPolicy in the engine (Route.access, HttpListener.maxConnections) over real
// sockets, from an IR snapshot: clients bound to 127.0.0.2 and 127.0.0.3 are two client
// addresses. Allow/deny lists (403), rate limits (429 + Retry-After) on HTTP/1.1 and HTTP/2
// (cleartext prior knowledge with curl, TLS with ALPN h2), buckets kept across a snapshot that
// keeps the policy, and the listener connection cap for HTTP/1.1, h2c and HTTPS/HTTP/2 — with the
// access-log event's error and portico_access_denied_total as evidence.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import { connect, type Socket } from "node:net";
import tls from "node:tls";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import { HTTP_RESPONSE_CHANNEL, type HttpResponseEvent } from "../../src/engine/l7/events.ts";
import { Metrics } from "../../src/engine/metrics.ts";
import type { AccessConfig, EngineSnapshot, HttpListener, Route } from "../../src/model/ir.ts";
import { selfSigned } from "../support/certs.ts";
import { endpoint, freePort, pool, readUntil, until } from "./l4-helpers.ts";

const run = promisify(execFile);
const VIP = "127.0.0.91";
const BACKEND = "127.0.0.92";
const CLIENT_A = "127.0.0.2";
const CLIENT_B = "127.0.0.3";
const POOL = "ns/app:80";

let backendPort = 0;
let backend: http.Server;
const engines: Engine[] = [];
const closers: (() => void)[] = [];

before(async () => {
  backend = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  backend.keepAliveTimeout = 30_000;
  backend.listen(0, BACKEND);
  await once(backend, "listening");
  backendPort = (backend.address() as { port: number }).port;
});

after(async () => {
  for (const c of closers) c();
  for (const e of engines) await e.close();
  backend.close();
  backend.closeAllConnections();
});

function route(access?: AccessConfig): Route {
  return {
    name: "HTTPRoute/ns/app#0",
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "Forward", backends: [{ pool: POOL, weight: 1 }] },
    ...(access ? { access } : {}),
  };
}

function snap(
  version: number,
  port: number,
  routes: Route[],
  over: Partial<HttpListener> = {},
): EngineSnapshot {
  return {
    version,
    l4: [],
    http: [
      {
        name: "web",
        address: VIP,
        port,
        requestTimeoutMs: 10_000,
        idleTimeoutMs: 30_000,
        virtualHosts: [{ hostname: "*", routes }],
        ...over,
      },
    ],
    pools: { [POOL]: pool(POOL, [endpoint(BACKEND, backendPort)]) },
    certificates: over.tls ? { "ns/cert": selfSigned(["app.test"]) } : {},
  };
}

// start runs an engine serving one listener on a fresh port of VIP.
async function start(routes: Route[], over: Partial<HttpListener> = {}) {
  const engine = new Engine({});
  engines.push(engine);
  const port = await freePort(VIP);
  assert.deepEqual(engine.apply(snap(1, port, routes, over)), { ok: true });
  await engine.settled();
  return { engine, port };
}

// evidence records access-log events and metrics while a test runs.
function evidence(): { events: HttpResponseEvent[]; metrics: Metrics } {
  const events: HttpResponseEvent[] = [];
  const on = (m: unknown) => events.push(m as HttpResponseEvent);
  subscribe(HTTP_RESPONSE_CHANNEL, on);
  const metrics = new Metrics().subscribe();
  closers.push(() => {
    unsubscribe(HTTP_RESPONSE_CHANNEL, on);
    metrics.close();
  });
  return { events, metrics };
}

// get1 sends one HTTP/1.1 GET from localAddress on a fresh connection: status and headers.
function get1(port: number, localAddress: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = http.get({ host: VIP, port, path: "/", localAddress, headers, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on("error", reject);
    },
  );
}

// get2 sends one GET on an HTTP/2 session: status and headers.
function get2(session: http2.ClientHttp2Session) {
  return new Promise<{ status: number; headers: http2.IncomingHttpHeaders }>((resolve, reject) => {
    const s = session.request({ ":path": "/" });
    s.on("response", (h) => {
      s.resume();
      s.on("end", () => resolve({ status: Number(h[":status"]), headers: h }));
    });
    s.on("error", reject);
    s.end();
  });
}

const TLS_OVER: Partial<HttpListener> = { tls: { sni: [{ hostname: "app.test", certificate: "ns/cert" }] } };

// tlsFrom opens a TLS connection to the VIP from localAddress (a client address of its own).
function tlsFrom(port: number, localAddress: string, ALPNProtocols?: string[]): tls.TLSSocket {
  const socket = connect({ host: VIP, port, localAddress });
  return tls.connect({
    socket,
    servername: "app.test",
    rejectUnauthorized: false,
    ...(ALPNProtocols ? { ALPNProtocols } : {}),
  });
}

// h2tls opens an HTTP/2 session over TLS (ALPN h2) from localAddress.
async function h2tls(port: number, localAddress: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`https://app.test:${port}`, {
    createConnection: () => tlsFrom(port, localAddress, ["h2"]),
  });
  closers.push(() => session.destroy());
  session.on("error", () => {});
  await once(session, "connect");
  return session;
}

test("allow and deny lists: 403 by client address on HTTP/1.1 and HTTP/2, with the reason logged and counted", async () => {
  const access: AccessConfig = {
    policy: "AccessPolicy/ns/lists",
    allow: ["127.0.0.0/30"],
    deny: ["127.0.0.3/32"],
  };
  const { port } = await start([route(access)]);
  const { events, metrics } = evidence();
  assert.equal((await get1(port, CLIENT_A)).status, 200, "127.0.0.2 is allowed");
  const denied = await get1(port, CLIENT_B);
  assert.equal(denied.status, 403, "127.0.0.3 is in both lists: deny wins");
  assert.doesNotMatch(denied.body, /127\.0\.0|AccessPolicy/, "the client reads no detail");
  const outside = await get1(port, "127.0.0.4");
  assert.equal(outside.status, 403, "127.0.0.4 is not in the allow list");
  // A refused POST's body is read past: the keep-alive connection answers the next request too.
  const raw = connect({ host: VIP, port, localAddress: CLIENT_B });
  closers.push(() => raw.destroy());
  await once(raw, "connect");
  raw.write(
    "POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: app.test\r\n\r\n",
  );
  const both = await readUntil(
    raw,
    (d) => (d.match(/HTTP\/1\.1 403 /g) ?? []).length === 2 && d.endsWith("service\n"),
  );
  assert.equal((both.match(/HTTP\/1\.1 403 /g) ?? []).length, 2);
  raw.destroy();
  // HTTP/2 (cleartext prior knowledge, curl): the same step, the same answers.
  const curl = async (iface: string) =>
    (
      await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{http_version}",
        "--http2-prior-knowledge",
        "--interface",
        iface,
        `http://${VIP}:${port}/`,
      ])
    ).stdout;
  assert.equal(await curl(CLIENT_A), "200 2");
  assert.equal(await curl(CLIENT_B), "403 2");
  await until(() => events.length >= 7, "seven access-log events");
  const errors = events.map((e) => `${e.client} ${e.status} ${e.protocol} ${e.error ?? ""}`);
  assert.deepEqual(errors, [
    "127.0.0.2 200 HTTP/1.1 ",
    "127.0.0.3 403 HTTP/1.1 denied by AccessPolicy/ns/lists: client 127.0.0.3 is in the deny list",
    "127.0.0.4 403 HTTP/1.1 denied by AccessPolicy/ns/lists: client 127.0.0.4 not allowed",
    "127.0.0.3 403 HTTP/1.1 denied by AccessPolicy/ns/lists: client 127.0.0.3 is in the deny list",
    "127.0.0.3 403 HTTP/1.1 denied by AccessPolicy/ns/lists: client 127.0.0.3 is in the deny list",
    "127.0.0.2 200 HTTP/2 ",
    "127.0.0.3 403 HTTP/2 denied by AccessPolicy/ns/lists: client 127.0.0.3 is in the deny list",
  ]);
  const text = metrics.render();
  assert.match(
    text,
    /portico_access_denied_total\{listener="web",policy="AccessPolicy\/ns\/lists",reason="deny"\} 4/,
  );
  assert.match(
    text,
    /portico_access_denied_total\{listener="web",policy="AccessPolicy\/ns\/lists",reason="not_allowed"\} 1/,
  );
});

test("rate limit per client address: 429 with Retry-After on HTTP/1.1 and HTTP/2, another address unaffected", async () => {
  const access: AccessConfig = {
    policy: "AccessPolicy/ns/rate",
    rateLimit: { requests: 3, periodMs: 60_000, burst: 3, key: { type: "ClientAddress" } },
  };
  const { port } = await start([route(access)], TLS_OVER);
  const { events, metrics } = evidence();
  // HTTP/2 over TLS from 127.0.0.2: three pass, the fourth is limited.
  const a = await h2tls(port, CLIENT_A);
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await get2(a)).status);
  assert.deepEqual(statuses, [200, 200, 200]);
  const limited = await get2(a);
  assert.equal(limited.status, 429);
  // One token per 20 s, refilling since the first request: retry in 20 s less the time the three
  // took (seconds on a loaded machine: TLS handshakes), rounded up.
  assertRetryAfter(limited.headers["retry-after"], 20);
  // The same client over HTTPS/1.1 shares the bucket: the policy limits the client, not the protocol.
  const h1 = await new Promise<http.IncomingMessage>((resolve, reject) =>
    https1(port, CLIENT_A, resolve, reject),
  );
  h1.resume();
  assert.equal(h1.statusCode, 429);
  assertRetryAfter(h1.headers["retry-after"], 20);
  // 127.0.0.3 has its own bucket.
  const b = await h2tls(port, CLIENT_B);
  assert.equal((await get2(b)).status, 200);
  await until(() => events.filter((e) => e.status === 429).length === 2, "two 429 events");
  for (const e of events.filter((e) => e.status === 429))
    assert.equal(
      e.error,
      "rate limited by AccessPolicy/ns/rate: over 3 requests per 60000 ms (burst 3) for client 127.0.0.2",
    );
  assert.match(
    metrics.render(),
    /portico_access_denied_total\{listener="web",policy="AccessPolicy\/ns\/rate",reason="rate_limited"\} 2/,
  );
});

// assertRetryAfter checks a Retry-After of whole seconds, at most full and not far below it.
function assertRetryAfter(value: unknown, full: number): void {
  assert.match(String(value), /^\d+$/);
  const n = Number(value);
  assert.ok(n <= full && n >= full - 10, `Retry-After ${n}, expected about ${full}`);
}

// https1 sends one HTTPS/1.1 GET from localAddress.
function https1(
  port: number,
  localAddress: string,
  resolve: (r: http.IncomingMessage) => void,
  reject: (e: Error) => void,
): void {
  const socket = tlsFrom(port, localAddress);
  const req = http.request(
    { createConnection: () => socket, path: "/", headers: { host: "app.test" } },
    resolve,
  );
  req.on("error", reject);
  req.end();
  closers.push(() => socket.destroy());
}

test("rate limit per header, and buckets that survive a snapshot keeping the policy", async () => {
  const rl = {
    requests: 2,
    periodMs: 3_600_000,
    burst: 2,
    key: { type: "Header" as const, name: "x-api-key" },
  };
  const access: AccessConfig = { policy: "AccessPolicy/ns/keys", rateLimit: rl };
  const { engine, port } = await start([route(access)]);
  const key = (k?: string) => get1(port, CLIENT_A, k === undefined ? {} : { "x-api-key": k });
  assert.deepEqual(
    [(await key("a")).status, (await key("a")).status, (await key("a")).status],
    [200, 200, 429],
  );
  assert.equal((await key("b")).status, 200, "another key value has its own bucket");
  // Requests without the header share one bucket.
  assert.deepEqual([(await key()).status, (await key()).status, (await key()).status], [200, 200, 429]);
  const limited = await key("a");
  assertRetryAfter(limited.headers["retry-after"], 1800);
  // A new snapshot (the route renamed, a timeout changed) keeping the policy keeps the buckets.
  const renamed = { ...route(access), name: "HTTPRoute/ns/app#1", timeoutMs: 5000 };
  assert.deepEqual(engine.apply(snap(2, port, [renamed])), { ok: true });
  assert.equal((await key("a")).status, 429, "key a is still out of tokens");
  // A snapshot that changes the limit starts afresh.
  const changed: AccessConfig = { ...access, rateLimit: { ...rl, burst: 3 } };
  assert.deepEqual(engine.apply(snap(3, port, [route(changed)])), { ok: true });
  assert.equal((await key("a")).status, 200, "a changed limit is a new bucket");
  // A bad policy is refused, and the last good one keeps serving.
  const bad = engine.apply(snap(4, port, [route({ ...access, deny: ["10.0.0.0/40"] })]));
  assert.equal(bad.ok, false);
  assert.match(
    "error" in bad ? bad.error : "",
    /HTTPRoute\/ns\/app#0: access AccessPolicy\/ns\/keys: "10.0.0.0\/40" is not a CIDR/,
  );
  assert.equal((await key("c")).status, 200);
});

// holdH1 opens a keep-alive HTTP/1.1 connection from localAddress and has one request served on it.
async function holdH1(port: number): Promise<Socket> {
  const s = connect({ host: VIP, port, localAddress: CLIENT_A });
  closers.push(() => s.destroy());
  s.on("error", () => {});
  await once(s, "connect");
  s.write("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
  await readUntil(s, (d) => d.endsWith("\r\n\r\nok"));
  return s;
}

// refused says whether a fresh TCP connection is closed by the engine before any answer.
async function refused(port: number): Promise<boolean> {
  const s = connect({ host: VIP, port, localAddress: CLIENT_B });
  closers.push(() => s.destroy());
  s.on("error", () => {});
  await once(s, "connect");
  s.write("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
  try {
    await readUntil(s, (d) => d.includes("\r\n\r\n"));
    return false;
  } catch {
    return true;
  }
}

test("maxConnections on HTTP/1.1 and h2c: N keep-alive connections served, the next closed at once, counted", async () => {
  const cap = 4;
  const { port } = await start([route()], { maxConnections: cap });
  const { metrics } = evidence();
  const held: Socket[] = [];
  for (let i = 0; i < cap - 1; i++) held.push(await holdH1(port));
  // The fourth is an h2c session (prior knowledge): it counts like any connection.
  const h2c = http2.connect(`http://${VIP}:${port}`, {
    localAddress: CLIENT_A,
  } as http2.SecureClientSessionOptions);
  closers.push(() => h2c.destroy());
  h2c.on("error", () => {});
  assert.equal((await get2(h2c)).status, 200);
  assert.equal(await refused(port), true, "the fifth connection is closed without an answer");
  const late = http2.connect(`http://${VIP}:${port}`, {
    localAddress: CLIENT_B,
  } as http2.SecureClientSessionOptions);
  closers.push(() => late.destroy());
  const [err] = (await Promise.race([once(late, "error"), once(late, "close")])) as [Error | undefined];
  assert.ok(late.destroyed || err !== undefined, "an h2c session past the cap is closed too");
  assert.match(
    metrics.render(),
    /portico_access_denied_total\{listener="web",policy="",reason="connection_limit"\} 2/,
  );
  // The held connections still serve.
  for (const s of held) {
    s.write("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    await readUntil(s, (d) => d.endsWith("\r\n\r\nok"));
  }
  assert.equal((await get2(h2c)).status, 200);
  // A slot freed is a slot for the next client (the close reaches the engine asynchronously).
  held.pop()!.destroy();
  let admitted = false;
  for (let i = 0; i < 100 && !admitted; i++) admitted = !(await refused(port));
  assert.ok(admitted);
});

test("maxConnections on HTTPS with HTTP/2: the connection past the cap is closed before the handshake", async () => {
  const cap = 2;
  const { port } = await start([route()], { ...TLS_OVER, maxConnections: cap });
  const { metrics } = evidence();
  const a = await h2tls(port, CLIENT_A);
  assert.equal((await get2(a)).status, 200);
  const b = await h2tls(port, CLIENT_A);
  assert.equal((await get2(b)).status, 200);
  // The third: no ServerHello, the TCP connection is closed (openssl says so without a certificate).
  const out = await run(
    "openssl",
    [
      "s_client",
      "-connect",
      `${VIP}:${port}`,
      "-bind",
      `${CLIENT_B}:0`,
      "-servername",
      "app.test",
      "-alpn",
      "h2",
    ],
    { timeout: 10_000 },
  ).then(
    (r) => r.stdout + r.stderr,
    (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ""}${e.stderr ?? ""}`,
  );
  assert.doesNotMatch(out, /BEGIN CERTIFICATE|Server certificate/, "no handshake happened");
  assert.match(out, /errno|unexpected eof|Connection reset|write:errno|no peer certificate available/i);
  assert.match(
    metrics.render(),
    /portico_access_denied_total\{listener="web",policy="",reason="connection_limit"\} 1/,
  );
  assert.equal((await get2(a)).status, 200, "admitted sessions are untouched");
});

test("a listener with an invalid maxConnections is refused with a clear error", async () => {
  const engine = new Engine({});
  engines.push(engine);
  const port = await freePort(VIP);
  const r = engine.apply(snap(1, port, [route()], { maxConnections: 0 }));
  assert.equal(r.ok, false);
  assert.match("error" in r ? r.error : "", /^web: maxConnections 0 is not a positive integer/);
});

// limits.test.ts: the engine's resource limits over real sockets — connection caps per engine and
// per client rate (refused cleanly, counted, logged once; admitted connections unaffected),
// request bodies buffered before a backend connection is taken, the body timeout's 408, and what
// a client may read: proxy errors in words only, a default certificate for unknown names, a 400
// for plain HTTP on a TLS port. Real Engine, node:http backends, raw sockets, curl and openssl.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import type { CompileDeps } from "../../src/engine/contracts.ts";
import { Engine } from "../../src/engine/engine.ts";
import type { EngineLimits } from "../../src/engine/limits.ts";
import { Metrics } from "../../src/engine/metrics.ts";
import { LIMIT_CHANNEL, type LimitEvent } from "../../src/engine/net/limit-reached.ts";
import { TLS_FAILURE_CHANNEL, type TlsFailureEvent } from "../../src/engine/tls/handshake-failures.ts";
import { INTERNALS, proxyErrors } from "../../src/engine/l7/testing.ts";
import type { EngineSnapshot, HttpListener, Pool, Route } from "../../src/model/ir.ts";
import { selfSigned } from "../support/certs.ts";
import { endpoint, freePort, pool, readUntil, until } from "./l4-helpers.ts";

const run = promisify(execFile);
const VIP = "127.0.0.81";
const BACKEND = "127.0.0.82";

// The backend answers "ok <bytes of body>" and counts the connections the proxy opened to it and
// the requests it saw begin (their heads).
let backendPort = 0;
let backendConnections = 0;
let backendRequests = 0;
let backend: Server;
const engines: Engine[] = [];
const sockets: Socket[] = [];

before(async () => {
  backend = createServer((req, res) => {
    let n = 0;
    req.on("data", (d: Buffer) => (n += d.length));
    // /slow answers after 5.5 s: a request that holds its connection's turn.
    if (req.url === "/slow") req.on("end", () => setTimeout(() => res.end(`ok ${n}`), 5500));
    else req.on("end", () => res.end(`ok ${n}`));
  });
  backend.on("connection", () => backendConnections++);
  backend.on("request", () => backendRequests++);
  backend.keepAliveTimeout = 30_000;
  backend.listen(0, BACKEND);
  await once(backend, "listening");
  backendPort = (backend.address() as { port: number }).port;
});

after(async () => {
  for (const s of sockets) s.destroy();
  for (const e of engines) await e.close();
  backend.close();
  backend.closeAllConnections();
});

function route(extra: Partial<Route> = {}, path = "/"): Route {
  return {
    name: `Ingress/ns/app#${path}`,
    match: { path: { type: "Prefix", value: path } },
    action: { type: "Forward", backends: [{ pool: "ns/app:80", weight: 1 }] },
    ...extra,
  };
}

function snap(port: number, routes: Route[], over: Partial<HttpListener> = {}): EngineSnapshot {
  return {
    version: 1,
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
    pools: { "ns/app:80": pool("ns/app:80", [endpoint(BACKEND, backendPort)]) },
    certificates: {},
  };
}

// start runs an engine with limits on a fresh port and records its log lines.
async function start(
  limits: Partial<EngineLimits>,
  routes: Route[] = [route()],
  over: Partial<HttpListener> = {},
  pools: Pool[] = [],
) {
  const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
  const log: CompileDeps["log"] = (_level, msg, fields) => lines.push({ msg, fields });
  const engine = new Engine({ log, limits });
  engines.push(engine);
  const port = await freePort(VIP);
  const s = snap(port, routes, over);
  for (const p of pools) s.pools[p.name] = p;
  if (over.tls !== undefined) s.certificates = { "ns/known": selfSigned(["known.example"]) };
  assert.deepEqual(engine.apply(s), { ok: true });
  await engine.settled();
  return { engine, port, lines };
}

// limitEvents records the limit events of one test.
function limitEvents(): { events: LimitEvent[]; stop(): void } {
  const events: LimitEvent[] = [];
  const on = (m: unknown) => events.push(m as LimitEvent);
  subscribe(LIMIT_CHANNEL, on);
  return { events, stop: () => unsubscribe(LIMIT_CHANNEL, on) };
}

async function open(port: number, localAddress?: string): Promise<Socket> {
  const s = connect({ host: VIP, port, ...(localAddress ? { localAddress } : {}) });
  sockets.push(s);
  s.on("error", () => {});
  await once(s, "connect");
  return s;
}

const GET = "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n";

// ask sends a keep-alive GET and resolves with its status, or 0 when the proxy closed instead.
async function ask(s: Socket): Promise<number> {
  // A refused connection may be closed already (readUntil would wait for a close that came).
  await new Promise((r) => setImmediate(r));
  if (s.destroyed) return 0;
  s.write(GET);
  try {
    const r = await readUntil(s, (d) => /\r\n\r\nok \d+$/.test(d) || /^HTTP\/1\.1 [^2]/.test(d));
    return Number(r.slice(9, 12));
  } catch {
    return 0;
  }
}

test("engine connection cap: up to the cap served; past it closed at once, counted, logged once", async () => {
  const cap = 20;
  const { engine, port, lines } = await start({ maxConnections: cap });
  const rec = limitEvents();
  const metrics = new Metrics().subscribe();
  after(() => {
    rec.stop();
    metrics.close();
  });
  const held: Socket[] = [];
  for (let i = 0; i < cap; i++) held.push(await open(port));
  assert.deepEqual(await Promise.all(held.map(ask)), Array(cap).fill(200), "all within the cap are served");
  // Past the cap: the proxy closes the connection before reading anything.
  const refused: number[] = [];
  for (let i = 0; i < 6; i++) refused.push(await ask(await open(port)));
  assert.deepEqual(refused, Array(6).fill(0), "the 21st and later connections are closed without an answer");
  assert.equal(rec.events.filter((e) => e.limit === "max_connections").length, 6);
  const logged = lines.filter((l) => l.msg.startsWith("connection limit of the engine reached"));
  assert.equal(logged.length, 1, "one log line per interval, not one per refusal");
  assert.equal(logged[0]!.fields?.setting, cap);
  assert.match(metrics.render(), /portico_limits_reached_total\{listener="web",limit="max_connections"\} 6/);
  // Requests on the connections already admitted are untouched.
  assert.deepEqual(await Promise.all(held.map(ask)), Array(cap).fill(200));
  // A slot freed is a slot for the next client.
  held.pop()!.destroy();
  // The close reaches the engine asynchronously: try until a connection is admitted (bounded).
  let again = 0;
  for (let i = 0; i < 100 && again !== 200; i++) again = await ask(await open(port));
  assert.equal(again, 200);
  assert.equal(engine.limits.maxConnections, cap);
});

test("per-client connection rate: a burst past the rate is closed; another address is not", async () => {
  const { port } = await start({ connectionRatePerClient: 5 });
  const rec = limitEvents();
  after(rec.stop);
  const burst: Socket[] = [];
  for (let i = 0; i < 15; i++) burst.push(await open(port));
  const statuses = await Promise.all(burst.map(ask));
  const served = statuses.filter((s) => s === 200).length;
  // 5 tokens, plus what refills while the burst is opened (5 a second).
  assert.ok(served >= 5 && served <= 8, `served ${served} of 15: ${statuses.join(",")}`);
  assert.equal(statuses.filter((s) => s === 0).length, 15 - served);
  assert.equal(rec.events.filter((e) => e.limit === "connection_rate_per_client").length, 15 - served);
  assert.equal(await ask(await open(port, "127.0.0.83")), 200, "another client address has its own budget");
});

// post writes a request head with Content-Length and the first part of its body.
async function slowPost(port: number, length: number, first: number): Promise<Socket> {
  const s = await open(port);
  s.write(`POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: ${length}\r\n\r\n` + "x".repeat(first));
  return s;
}

test("slow request bodies are buffered: no backend connection until a body completes", async () => {
  const { port } = await start({});
  const n = 200;
  const slow: Socket[] = [];
  for (let i = 0; i < n; i++) slow.push(await slowPost(port, 100, 10));
  // A request on another connection is served: the proxy has read every head before it.
  const [connections, requests] = [backendConnections, backendRequests];
  assert.equal(await ask(await open(port)), 200);
  assert.equal(backendRequests - requests, 1, "the backend saw the GET and none of the POSTs");
  assert.ok(backendConnections - connections <= 1, "no backend connection for a POST");
  const answers = slow.map((s) => readUntil(s, (d) => d.endsWith("ok 100")));
  for (const s of slow) s.write("y".repeat(90));
  const got = await Promise.all(answers);
  assert.ok(got.every((r) => r.startsWith("HTTP/1.1 200 ")));
});

test("a body larger than the route's buffer streams once the buffer is full", async () => {
  const { port } = await start({}, [route({ requestBodyBufferBytes: 1024 })]);
  const s = await slowPost(port, 4096, 512);
  const requests = backendRequests;
  assert.equal(await ask(await open(port)), 200);
  assert.equal(backendRequests - requests, 1, "512 of 1024 bytes: still buffered");
  s.write("y".repeat(600));
  // Past 1024 bytes the request goes to the backend, body still incomplete.
  await until(() => backendRequests > requests + 1, "the backend sees the request once the buffer is full");
  const answer = readUntil(s, (d) => d.endsWith("ok 4096"));
  s.write("z".repeat(4096 - 1112));
  assert.match(await answer, /^HTTP\/1\.1 200 /);
});

test("a body that does not arrive within the body timeout gets 408 and the connection closes", async () => {
  const { port, lines } = await start({}, [route({ requestBodyTimeoutMs: 300 })]);
  const rec = limitEvents();
  after(rec.stop);
  const before = backendConnections;
  const s = await slowPost(port, 10, 3);
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  await once(s, "close");
  const text = Buffer.concat(chunks).toString();
  assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n[^]*Connection: close/);
  assert.doesNotMatch(text.slice(text.indexOf("\r\n\r\n")), INTERNALS);
  assert.equal(backendConnections, before, "the backend never saw it");
  assert.deepEqual(
    rec.events.map((e) => e.limit),
    ["request_body_timeout"],
  );
  assert.ok(lines.some((l) => l.msg.startsWith("request body did not arrive in time")));
});

test("a pipelined body's timeout starts when its turn comes, not when its head arrived", async () => {
  const { port } = await start({}, [route({ requestBodyTimeoutMs: 5000 })]);
  const s = await open(port);
  const got: Buffer[] = [];
  s.on("data", (d: Buffer) => got.push(d));
  const text = () => Buffer.concat(got).toString();
  // The first request holds the connection's turn for 5.5 s, past the second's 5 s body timeout.
  s.write(
    "GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n" +
      "POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\n\r\nyy",
  );
  await until(() => /ok 0/.test(text()), "the first answer", 15_000);
  // A slow client: the rest of the second body comes 1 s into its turn (the wait is the scenario).
  await new Promise((r) => setTimeout(r, 1000));
  s.write("yy");
  await until(() => /ok 4$/.test(text()) || /408/.test(text()), "the second answer");
  assert.doesNotMatch(text(), /408/);
  assert.match(text(), /ok 4$/);
});

test("Expect: 100-continue while buffering: one 100 from the proxy, the body, then the backend's answer", async () => {
  const { port } = await start({});
  const body = "b".repeat(3000);
  const r = await run("curl", [
    "-sv",
    "--expect100-timeout",
    "20",
    "-H",
    "Expect: 100-continue",
    "-H",
    "Host: app.test",
    "--data-binary",
    body,
    "-w",
    "\n%{time_total}",
    `http://${VIP}:${port}/up`,
  ]);
  assert.match(r.stdout, /^ok 3000\n/);
  assert.equal(r.stderr.match(/< HTTP\/1\.1 100 Continue/g)?.length, 1, r.stderr);
  assert.ok(Number(r.stdout.split("\n")[1]) < 10, "curl did not wait out its 100-continue timeout");
});

test("error bodies name no backend, route or error code; the access log event keeps them", async () => {
  const deadPort = await freePort(BACKEND);
  const forwardTo = (name: string, path: string, p: string): Route => ({
    name,
    match: { path: { type: "Prefix", value: path } },
    action: { type: "Forward", backends: [{ pool: p, weight: 1 }] },
  });
  const { port } = await start(
    {},
    [
      {
        name: "HTTPRoute/ns/split#0",
        match: { path: { type: "Prefix", value: "/invalid" } },
        action: { type: "Forward", backends: [], invalid: [{ ref: "Service ns/missing:80", weight: 1 }] },
      },
      forwardTo("Ingress/ns/dead#0", "/dead", "ns/dead:80"),
      forwardTo("Ingress/ns/none#0", "/none", "ns/none:80"),
    ],
    {},
    [pool("ns/dead:80", [endpoint(BACKEND, deadPort)]), pool("ns/none:80", [])],
  );
  const errs = proxyErrors();
  after(errs.stop);
  for (const [path, status] of [
    ["/invalid", 500],
    ["/dead", 502],
    ["/none", 503],
  ] as const) {
    const r = await run("curl", ["-s", "-d", "x", "-w", "\n%{http_code}", `http://${VIP}:${port}${path}`]);
    const cut = r.stdout.lastIndexOf("\n");
    assert.equal(Number(r.stdout.slice(cut + 1)), status, path);
    const text = r.stdout.slice(0, cut);
    assert.doesNotMatch(text, INTERNALS, `${path}: ${text}`);
    assert.doesNotMatch(text, /missing|dead|none|ECONNREFUSED/, `${path}: ${text}`);
  }
  // The detail is kept where operators look: the response event (access log, debug log).
  assert.match(errs.errors[0]!, /Service ns\/missing:80 of route HTTPRoute\/ns\/split#0/);
  assert.match(
    errs.errors[1]!,
    new RegExp(`cannot connect to backend ${BACKEND}:${deadPort} .*ECONNREFUSED`),
  );
  assert.match(errs.errors[2]!, /no healthy backend for route Ingress\/ns\/none#0/);
});

test("unknown SNI: the handshake completes with the generated default certificate, then 404", async () => {
  const metrics = new Metrics().subscribe();
  after(() => metrics.close());
  const { port } = await start({}, [route()], {
    name: "tls",
    tls: { sni: [{ hostname: "known.example", certificate: "ns/known" }] },
    virtualHosts: [{ hostname: "known.example", routes: [route()] }],
  });
  const child = spawn("openssl", [
    "s_client",
    "-connect",
    `${VIP}:${port}`,
    "-servername",
    "unknown.example",
    "-ign_eof",
    "-quiet",
    "-verify_quiet",
  ]);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  child.stdin.end("GET / HTTP/1.1\r\nHost: unknown.example\r\nConnection: close\r\n\r\n");
  await once(child, "close");
  assert.match(out, /^HTTP\/1\.1 404 Not Found\r\n/, err);
  const cert = await run("sh", [
    "-c",
    `openssl s_client -connect ${VIP}:${port} -servername unknown.example </dev/null 2>/dev/null | openssl x509 -noout -subject`,
  ]);
  assert.match(cert.stdout, /CN ?= ?Portico Default Certificate/);
  // Plain HTTP to the TLS port: a 400 that says to use https, counted as a handshake failure.
  const plain = await run("curl", ["-s", "-w", "\n%{http_code}", `http://${VIP}:${port}/`]);
  assert.match(plain.stdout, /Use https:\/\/[^]*\n400$/);
  await until(() => /reason="plain_http"\} 1/.test(metrics.render()), "the plain_http failure counted");
  assert.match(
    metrics.render(),
    /portico_tls_handshake_failures_total\{listener="tls",reason="plain_http"\} 1/,
  );
});

// startTls runs an engine with a TLS listener named name for known.example, and records the
// handshake failures from then on.
async function startTls(name: string) {
  const { engine, port } = await start({}, [route()], {
    name,
    tls: { sni: [{ hostname: "known.example", certificate: "ns/known" }] },
    virtualHosts: [{ hostname: "known.example", routes: [route()] }],
  });
  const events: TlsFailureEvent[] = [];
  const on = (m: unknown) => events.push(m as TlsFailureEvent);
  subscribe(TLS_FAILURE_CHANNEL, on);
  after(() => unsubscribe(TLS_FAILURE_CHANNEL, on));
  return { engine, port, events };
}

test("a TLS port probed without a byte is no handshake failure; a client gone mid-hello is", async () => {
  const { engine, port, events } = await startTls("tls-probe");
  // Three TCP probes (a load balancer's health check, a port scan) connect and close.
  for (let i = 0; i < 3; i++) (await open(port)).resetAndDestroy();
  await until(() => engine.connections().active === 0, "the probes closed");
  // A client that sent the start of a ClientHello and went away: a failed handshake.
  const s = await open(port);
  s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01]), () => s.resetAndDestroy());
  await until(() => events.length > 0 && engine.connections().active === 0, "the hello counted");
  assert.deepEqual(
    events.map((e) => [e.listener, e.reason]),
    [["tls-probe", "connection_closed"]],
  );
});

test("a handshake stalled mid-hello is closed at the handshake deadline (~10 s), counted as timeout; a completed one is not", async () => {
  const { engine, port, events } = await startTls("tls-stall");
  // A connection whose handshake completed first, then idle past the deadline after a request
  // (under the listener's 30 s idle timeout; a silent one would meet the 10 s header timeout):
  // the deadline is its handshake's only, it must not end the connection.
  const done = tlsConnect({ host: VIP, port, servername: "known.example", rejectUnauthorized: false });
  sockets.push(done);
  done.on("error", () => {});
  await once(done, "secureConnect");
  const served = async () => {
    done.write("GET / HTTP/1.1\r\nHost: known.example\r\n\r\n");
    return readUntil(done, (d) => /\r\n\r\nok \d+$/.test(d) || /^HTTP\/1\.1 [^2]/.test(d));
  };
  assert.match(await served(), /^HTTP\/1\.1 200 /);
  // The start of a ClientHello, then nothing: the engine, not the client, must end it.
  const s = await open(port);
  const t0 = Date.now();
  s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01]));
  const closed = once(s, "close");
  await until(() => s.destroyed, "the engine closed the stalled handshake", 60_000);
  await closed;
  const waited = Date.now() - t0;
  // Not before the deadline (less a sweep's lateness of the deadline's clock), and by then the
  // failure was counted as a timeout, nothing else; the upper bound is the poll's generous deadline.
  assert.ok(waited >= 9_000, `closed after ${waited} ms, before the 10 s handshake deadline`);
  await until(() => events.length > 0 && engine.connections().active === 1, "the timeout counted");
  assert.deepEqual(
    events.map((e) => [e.listener, e.reason]),
    [["tls-stall", "timeout"]],
  );
  assert.match(await served(), /^HTTP\/1\.1 200 /, "the completed handshake's connection still serves");
});

// End-to-end HTTP/1.1 proxying through compileHttp over real sockets: real backends (node:http
// and raw TCP), real clients (curl and raw sockets).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import diagnostics from "node:diagnostics_channel";
import net, { type AddressInfo } from "node:net";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HttpListener, Pool, Route } from "../../src/model/ir.ts";
import { compileHttp } from "../../src/engine/l7/compile.ts";
import {
  INTERNALS,
  RoundRobinUpstreams,
  listen,
  poolOf,
  proxyErrors,
  rawExchange,
  snapshotOf,
} from "../../src/engine/l7/testing.ts";
import type { ConnectionHandler } from "../../src/engine/contracts.ts";

const run = promisify(execFile);
const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  socketId: number;
}

async function backend(
  handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void,
) {
  const seen: Seen[] = [];
  let sockets = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("latin1");
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const s = req.socket as unknown as { _id?: number };
      s._id ??= ++sockets;
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, socketId: s._id });
      if (handler) handler(req, res, body);
      else res.end(`hello from ${req.url}`);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => server.close());
  return { server, seen, port: (server.address() as AddressInfo).port };
}

function forward(name: string, path: string, pool: string, extra: Partial<Route> = {}): Route {
  return {
    name,
    match: { path: { type: "Prefix", value: path } },
    action: { type: "Forward", backends: [{ pool, weight: 1 }] },
    ...extra,
  };
}

async function proxy(routes: Route[], pools: Record<string, Pool>, opts: Partial<HttpListener> = {}) {
  const listener: HttpListener = {
    name: "test:80",
    address: "127.0.0.1",
    port: 0,
    virtualHosts: [{ hostname: "*", routes }],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    ...opts,
  };
  const upstreams = new RoundRobinUpstreams(pools);
  const handler: { current: ConnectionHandler } = {
    current: compileHttp(listener, { snapshot: snapshotOf(listener, pools), upstreams, log: () => {} }),
  };
  const { server, port } = await listen(handler);
  closers.push(() => server.close());
  return { port, upstreams };
}

let curlN = 0;
/** curl runs the real curl; headers holds every head curl saw (and trailers), status the last status. */
async function curl(args: string[]): Promise<{ status: number; body: string; headers: string }> {
  const file = join(tmpdir(), `l7-curl-${process.pid}-${++curlN}`);
  const { stdout } = await run("curl", ["-sS", "-D", file, ...args], { encoding: "latin1" });
  const headers = readFileSync(file, "latin1");
  rmSync(file);
  const statuses = [...headers.matchAll(/HTTP\/[\d.]+ (\d+)/g)];
  return { status: Number(statuses.at(-1)![1]), body: stdout, headers };
}

test("forwards GET with X-Forwarded-*, drops hop-by-hop headers, reuses backend connections", async () => {
  const b = await backend();
  const { port, upstreams } = await proxy([forward("Ingress/shop/web#0", "/", "web")], {
    web: poolOf("web", [b.port]),
  });
  const url = `http://127.0.0.1:${port}/a?x=1`;
  const r = await curl([
    "-H",
    "Host: shop.example.com",
    "-H",
    "Connection: keep-alive, X-Secret",
    "-H",
    "X-Secret: 1",
    "-H",
    "Keep-Alive: timeout=5",
    "-H",
    "X-Forwarded-For: 10.0.0.1",
    url,
    "--next",
    "-H",
    "Host: shop.example.com",
    url,
  ]);
  assert.equal(r.status, 200);
  assert.equal(r.body, "hello from /a?x=1".repeat(2));
  assert.equal(b.seen.length, 2);
  const h = b.seen[0]!.headers;
  assert.equal(h.host, "shop.example.com");
  assert.equal(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
  assert.equal(h["x-forwarded-proto"], "http");
  assert.equal(h["x-forwarded-host"], "shop.example.com");
  assert.equal(h.forwarded, 'for=127.0.0.1;host="shop.example.com";proto=http');
  assert.equal(h["x-secret"], undefined, "headers named in Connection are dropped");
  assert.equal(h["keep-alive"], undefined);
  assert.equal(b.seen[0]!.socketId, b.seen[1]!.socketId, "one pooled backend connection");
  assert.deepEqual(upstreams.log.slice(0, 2), [
    `begin web 127.0.0.1:${b.port}`,
    `end web 127.0.0.1:${b.port} true`,
  ]);
});

test("request bodies: Content-Length verbatim, chunked re-chunked; chunked responses keep trailers", async () => {
  const b = await backend((req, res, body) => {
    res.writeHead(200, { "Content-Type": "text/plain", Trailer: "X-Sum" });
    res.write(`${req.headers["transfer-encoding"] ?? "len:" + req.headers["content-length"]}:`);
    res.addTrailers({ "X-Sum": String(body.length) });
    res.end(body);
  });
  const { port } = await proxy([forward("r", "/", "p")], { p: poolOf("p", [b.port]) });
  const fixed = await curl(["--data-binary", "hello world", `http://127.0.0.1:${port}/`]);
  assert.equal(fixed.body, "len:11:hello world");
  assert.match(fixed.headers, /X-Sum: 11/, "trailers reach curl");
  const chunked = await curl([
    "-H",
    "Transfer-Encoding: chunked",
    "--data-binary",
    "abc",
    `http://127.0.0.1:${port}/`,
  ]);
  assert.equal(chunked.body, "chunked:abc");
  const raw = await rawExchange(
    port,
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n3\r\nxyz\r\n0\r\n\r\n",
    (t) => t.endsWith("\r\n\r\n") && t.includes("X-Sum"),
  );
  assert.match(raw, /Transfer-Encoding: chunked\r\n/);
  assert.match(raw, /0\r\nX-Sum: 3\r\n\r\n$/);
});

test("request trailers reach the backend without the fields a trailer must not carry", async () => {
  let seen: Record<string, string | undefined> = {};
  const b = await backend((req, res) => {
    seen = { ...req.trailers };
    res.end("ok");
  });
  const { port } = await proxy([forward("r", "/", "p")], { p: poolOf("p", [b.port]) });
  const out = await rawExchange(
    port,
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nxyz\r\n0\r\n" +
      "X-Checksum: 42\r\nHost: evil.example\r\nAuthorization: Bearer x\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
  );
  assert.match(out, /^HTTP\/1\.1 200 /);
  // RFC 9110 §6.5.1: routing, authentication and forwarding fields are not trailers; a backend
  // merging trailers into the head would otherwise take them as checked by the proxy.
  assert.deepEqual(seen, { "x-checksum": "42" });
});

test("pipelined requests are answered in order; Connection: close closes after the response", async () => {
  const b = await backend((req, res) => {
    // Answer /slow late so an out-of-order proxy would show.
    setTimeout(() => res.end(req.url), req.url === "/slow" ? 50 : 0);
  });
  const { port } = await proxy([forward("r", "/", "p")], { p: poolOf("p", [b.port]) });
  const out = await rawExchange(
    port,
    "GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /fast HTTP/1.1\r\nHost: h\r\n\r\nGET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
  );
  const bodies = out
    .split("\r\n\r\n")
    .slice(1)
    .map((s) => s.split("HTTP/1.1")[0]);
  assert.deepEqual(bodies, ["/slow", "/fast", "/last"]);
  assert.match(out, /Connection: close\r\n\r\n\/last$/);
});

test("errors: no backend 503, failover for GET, 502 for POST, 504 on timeout", async () => {
  const b = await backend((req, res) => {
    if (req.url === "/hang") return; // never answers
    res.end("ok");
  });
  const dead = await backend();
  dead.server.close();
  const { port } = await proxy(
    [
      forward("Ingress/shop/empty#0", "/empty", "empty"),
      forward("Ingress/shop/hang#0", "/hang", "live", { backendTimeoutMs: 200 }),
      forward("Ingress/shop/web#0", "/", "mixed"),
    ],
    {
      empty: poolOf("empty", []),
      live: poolOf("live", [b.port]),
      mixed: poolOf("mixed", [dead.port, b.port]),
    },
  );
  // The client reads the status in words; backend, route and error code go to the logs only.
  const errs = proxyErrors();
  closers.push(errs.stop);
  const none = await curl([`http://127.0.0.1:${port}/empty`]);
  assert.equal(none.status, 503);
  assert.doesNotMatch(none.body, INTERNALS);
  assert.match(errs.errors.at(-1)!, /no healthy backend for route Ingress\/shop\/empty#0/);
  for (let i = 0; i < 4; i++) {
    const ok = await curl([`http://127.0.0.1:${port}/x`]);
    assert.equal(ok.status, 200, "GET fails over to the live backend");
  }
  let saw502 = false;
  for (let i = 0; i < 4; i++) {
    const post = await curl(["--data-binary", "x", `http://127.0.0.1:${port}/x`]);
    if (post.status === 502) {
      saw502 = true;
      assert.equal(post.body.trim(), "bad gateway: the service behind this address failed to answer");
      assert.match(
        errs.errors.at(-1)!,
        /cannot connect to backend 127\.0\.0\.1:\d+ of route Ingress\/shop\/web#0: ECONNREFUSED/,
      );
    } else assert.equal(post.status, 200);
  }
  assert.ok(saw502, "a POST is not retried");
  const slow = await curl([`http://127.0.0.1:${port}/hang`]);
  assert.equal(slow.status, 504);
  assert.match(slow.body, /timed out|did not answer in time/);
  assert.doesNotMatch(slow.body, INTERNALS);
});

test("filters: redirect, direct response, header modifier, URL rewrite; events published", async () => {
  const b = await backend();
  const events: unknown[] = [];
  const onEvent = (m: unknown) => events.push(m);
  diagnostics.subscribe("portico:http.response", onEvent);
  closers.push(() => diagnostics.unsubscribe("portico:http.response", onEvent));
  const conns: unknown[] = [];
  const onConn = (m: unknown) => conns.push(m);
  diagnostics.subscribe("portico:connection", onConn);
  closers.push(() => diagnostics.unsubscribe("portico:connection", onConn));
  const { port } = await proxy(
    [
      forward("redir", "/old", "p", {
        filters: [
          {
            type: "RequestRedirect",
            scheme: "https",
            statusCode: 301,
            path: { type: "ReplacePrefixMatch", value: "/new" },
          },
        ],
      }),
      {
        name: "direct",
        match: { path: { type: "Exact", value: "/teapot" } },
        action: { type: "DirectResponse", status: 418, body: "short and stout" },
      },
      forward("api", "/api/v1", "p", {
        filters: [
          { type: "URLRewrite", hostname: "internal", path: { type: "ReplacePrefixMatch", value: "/v2" } },
          {
            type: "RequestHeaderModifier",
            set: [{ name: "X-Env", value: "prod" }],
            add: [{ name: "X-Added", value: "1" }],
            remove: ["X-Drop"],
          },
          { type: "ResponseHeaderModifier", set: [{ name: "X-Served-By", value: "portico" }] },
        ],
      }),
    ],
    { p: poolOf("p", [b.port]) },
  );
  const redir = await curl(["-H", "Host: shop.example.com:8080", `http://127.0.0.1:${port}/old/page?q=1`]);
  assert.equal(redir.status, 301);
  assert.match(redir.headers, /Location: https:\/\/shop\.example\.com\/new\/page\?q=1\r\n/);
  const direct = await curl([`http://127.0.0.1:${port}/teapot`]);
  assert.equal(direct.status, 418);
  assert.equal(direct.body, "short and stout\n");
  const api = await curl(["-H", "X-Env: dev", "-H", "X-Drop: 1", `http://127.0.0.1:${port}/api/v1/users`]);
  assert.equal(api.body, "hello from /v2/users");
  assert.match(api.headers, /X-Served-By: portico/);
  const h = b.seen.at(-1)!.headers;
  assert.equal(h.host, "internal");
  assert.equal(h["x-env"], "prod");
  assert.equal(h["x-added"], "1");
  assert.equal(h["x-drop"], undefined);
  const last = events.at(-1) as Record<string, unknown>;
  assert.equal(last.route, "api");
  assert.equal(last.status, 200);
  assert.equal(last.backend, `127.0.0.1:${b.port}`);
  assert.equal(last.listener, "test:80");
  assert.equal(last.bytesOut, "hello from /v2/users".length);
  // curl closed each of its three connections; wait for the last close to be published.
  const deadline = performance.now() + 2000;
  while (conns.filter((c) => (c as { event: string }).event === "close").length < 3) {
    assert.ok(performance.now() < deadline, `connection events: ${JSON.stringify(conns)}`);
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(conns[0], { listener: "test:80", event: "open" });
});

test("retire(): idle keep-alive connections close, busy ones finish with Connection: close", async () => {
  let release: (() => void) | undefined;
  const b = await backend((req, res) => {
    if (req.url === "/hold") release = () => res.end("held");
    else res.end("v1");
  });
  const pools = { p: poolOf("p", [b.port]) };
  const listener: HttpListener = {
    name: "swap:80",
    address: "127.0.0.1",
    port: 0,
    virtualHosts: [{ hostname: "*", routes: [forward("r", "/", "p")] }],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
  };
  const deps = {
    snapshot: snapshotOf(listener, pools),
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  };
  const old = compileHttp(listener, deps);
  const handler = { current: old };
  const { server, port } = await listen(handler);
  closers.push(() => server.close());
  const idle = net.connect(port, "127.0.0.1");
  const busy = net.connect(port, "127.0.0.1");
  let idleGot = "";
  let busyGot = "";
  idle.on("data", (d) => (idleGot += d));
  busy.on("data", (d) => (busyGot += d));
  idle.write("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  busy.write("GET /hold HTTP/1.1\r\nHost: h\r\n\r\n");
  while (!idleGot.endsWith("v1") || release === undefined) await new Promise((r) => setImmediate(r));
  handler.current = compileHttp(
    {
      ...listener,
      virtualHosts: [
        {
          hostname: "*",
          routes: [
            {
              name: "v2",
              match: { path: { type: "Prefix", value: "/" } },
              action: { type: "DirectResponse", status: 200, body: "v2" },
            },
          ],
        },
      ],
    },
    deps,
  );
  old.retire!();
  await once(idle, "close");
  release();
  await once(busy, "close");
  assert.match(busyGot, /Connection: close\r\n\r\nheld$/);
  const fresh = await rawExchange(port, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  assert.match(fresh, /\r\n\r\nv2\n$/);
});

test("HEAD: Portico's own answers (404, redirect, direct response) send the head alone; keep-alive goes on", async () => {
  const b = await backend();
  const { port } = await proxy(
    [
      forward("redir", "/old", "p", {
        filters: [
          { type: "RequestRedirect", statusCode: 302, path: { type: "ReplaceFullPath", value: "/new" } },
        ],
      }),
      {
        name: "direct",
        match: { path: { type: "Exact", value: "/teapot" } },
        action: { type: "DirectResponse", status: 418, body: "short and stout" },
      },
    ],
    { p: poolOf("p", [b.port]) },
  );
  // Three HEADs and a GET pipelined on one connection: a body after any HEAD answer would be
  // read as the start of the next response.
  const out = await rawExchange(
    port,
    "HEAD /nothing HTTP/1.1\r\nHost: h\r\n\r\nHEAD /old HTTP/1.1\r\nHost: h\r\n\r\nHEAD /teapot HTTP/1.1\r\nHost: h\r\n\r\nGET /teapot HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
  );
  const parts = out.split("\r\n\r\n");
  assert.match(parts[0]!, /^HTTP\/1\.1 404 /);
  assert.match(parts[0]!, /Content-Length: \d+/);
  assert.match(parts[1]!, /^HTTP\/1\.1 302 /);
  assert.match(parts[1]!, /Location: .*\/new/);
  assert.match(parts[2]!, /^HTTP\/1\.1 418 /);
  assert.match(parts[3]!, /^HTTP\/1\.1 418 /);
  assert.equal(parts[4], "short and stout\n");
});

import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { execFile } from "node:child_process";
import net from "node:net";
import { once } from "node:events";
import type { HttpListener, Pool, Route } from "../../model/ir.ts";
import { compileHttp } from "./compile.ts";
import { Mirrors } from "./mirror.ts";
import { listen, poolOf, RoundRobinUpstreams } from "./testing.ts";

interface Seen {
  method: string;
  url: string;
  host: string;
  body: string;
}

async function backend(name: string, answer = true) {
  const seen: Seen[] = [];
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, host: req.headers.host!, body });
      waiters.splice(0).forEach((w) => w());
      if (answer) res.end(`${name}\n`);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  return {
    seen,
    port,
    server,
    /** next resolves when the backend saw n requests in total. */
    until: (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (seen.length >= n ? resolve() : waiters.push(check));
        check();
      }),
  };
}

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

function route(name: string, path: string, filters: Route["filters"]): Route {
  return {
    name,
    match: { path: { type: "Prefix", value: path } },
    filters,
    action: { type: "Forward", backends: [{ pool: "main", weight: 1 }] },
  };
}

function request(
  port: number,
  method: string,
  path: string,
  body?: string,
  chunked = false,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path, agent: false, headers: { host: "app.test" } },
      (res) => {
        let got = "";
        res.on("data", (d: Buffer) => (got += d.toString()));
        res.on("end", () => resolve(`${res.statusCode} ${got}`));
      },
    );
    req.on("error", reject);
    // Two writes without a Content-Length make node send the body chunked.
    if (body !== undefined && chunked) {
      req.write(body.slice(0, 3));
      req.end(body.slice(3));
    } else req.end(body);
  });
}

test("RequestMirror: the mirror gets the same request and body; sampling, dead and silent mirrors never touch the response", async () => {
  const main = await backend("main");
  const mirror = await backend("mirror");
  const silent = await backend("silent", false);
  closers.push(() =>
    [main, mirror, silent].forEach((b) => {
      b.server.close();
      b.server.closeAllConnections();
    }),
  );
  const dead = net.createServer();
  dead.listen(0, "127.0.0.1");
  await once(dead, "listening");
  const deadPort = (dead.address() as net.AddressInfo).port;
  dead.close();
  const pools: Record<string, Pool> = {
    main: poolOf("main", [main.port]),
    mirror: poolOf("mirror", [mirror.port]),
    silent: poolOf("silent", [silent.port]),
    dead: poolOf("dead", [deadPort]),
  };
  const listener: HttpListener = {
    name: "l",
    address: "127.0.0.1",
    port: 0,
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    virtualHosts: [
      {
        hostname: "app.test",
        routes: [
          route("all", "/all", [
            { type: "URLRewrite", path: { type: "ReplacePrefixMatch", value: "/v2" } },
            { type: "RequestMirror", pool: "mirror", percent: 100 },
          ]),
          route("never", "/never", [{ type: "RequestMirror", pool: "mirror", percent: 0 }]),
          route("broken", "/broken", [
            { type: "RequestMirror", pool: "dead", percent: 100 },
            { type: "RequestMirror", pool: "silent", percent: 100 },
          ]),
        ],
      },
    ],
  };
  const snapshot = { version: 1, l4: [], http: [listener], pools, certificates: {} };
  const upstreams = new RoundRobinUpstreams(pools);
  const handler = compileHttp(listener, { snapshot, upstreams, log: () => {} });
  const { server, port } = await listen({ current: handler });
  closers.push(() => server.close());

  assert.equal(await request(port, "GET", "/all/x?q=1"), "200 main\n");
  await mirror.until(1);
  assert.deepEqual(mirror.seen[0], { method: "GET", url: "/v2/x?q=1", host: "app.test", body: "" });

  assert.equal(await request(port, "POST", "/all/len", "hello body"), "200 main\n");
  assert.equal(await request(port, "POST", "/all/chunked", "chunked body", true), "200 main\n");
  await mirror.until(3);
  assert.deepEqual(
    mirror.seen.slice(1).map((s) => `${s.method} ${s.url} ${s.body}`),
    ["POST /v2/len hello body", "POST /v2/chunked chunked body"],
  );

  for (let i = 0; i < 5; i++) assert.equal(await request(port, "GET", "/never"), "200 main\n");
  assert.equal(
    await request(port, "POST", "/broken", "x"),
    "200 main\n",
    "a dead or silent mirror changes nothing",
  );
  await silent.until(1);
  assert.equal(main.seen.length, 9);
  assert.equal(mirror.seen.length, 3, "percent 0 never mirrors");
  assert.ok(
    upstreams.log.includes(`end dead 127.0.0.1:${deadPort} false`),
    "the dead mirror failed on its own",
  );

  // HTTP/2 clients are mirrored too, body included.
  const h2 = await new Promise<string>((resolve) =>
    execFile(
      "curl",
      [
        "-sS",
        "--http2-prior-knowledge",
        "-X",
        "PUT",
        "-H",
        "Host: app.test",
        "--data-binary",
        "over h2",
        `http://127.0.0.1:${port}/all/h2`,
      ],
      (_err, stdout) => resolve(stdout),
    ),
  );
  assert.equal(h2, "main\n");
  await mirror.until(4);
  assert.deepEqual(mirror.seen[3], { method: "PUT", url: "/v2/h2", host: "app.test", body: "over h2" });
});

test("Mirrors.start samples each mirror by its percentage", () => {
  const picked: string[] = [];
  const deps = {
    upstreams: {
      pick: (pool: string) => {
        picked.push(pool);
        return undefined;
      },
      begin: () => {},
      end: () => {},
    },
    acquire: () => {
      throw new Error("no backend was picked");
    },
    timeoutMs: 1000,
    log: () => {},
  };
  const r = route("r", "/", [
    { type: "RequestMirror", pool: "half", percent: 50 },
    { type: "RequestMirror", pool: "all", percent: 100 },
    { type: "RequestMirror", pool: "tiny", percent: 0.5 },
  ]);
  const req = { route: r, method: "GET", head: "", framing: "none" as const, sourceIp: "127.0.0.1" };
  for (const x of [0.4, 0.6, 0.001, 0.01]) Mirrors.start(req, deps, () => x);
  assert.deepEqual(picked, ["half", "all", "all", "half", "all", "tiny", "half", "all"]);
});

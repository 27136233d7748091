// Cookie affinity over real sockets: the pick's Set-Cookie reaches the client whichever front
// (HTTP/1.1, HTTP/2) and backend protocol (HTTP/1.1, h2c) the route's exchange takes.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { once } from "node:events";
import type net from "node:net";
import type { Pool, Route } from "../../model/ir.ts";
import { stickyToken } from "../lb/sticky.ts";
import { poolOf, proxyRoute, rawExchange } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

// proxyTo listens with one route with cookie affinity "route" to pool, whose backend also sets a cookie.
async function proxyTo(pool: Pool): Promise<number> {
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    affinity: { cookie: "route", path: "/", changeOnFailure: false },
    action: { type: "Forward", backends: [{ pool: pool.name, weight: 1 }] },
  };
  const { server, port } = await proxyRoute(route, { [pool.name]: pool });
  closers.push(() => server.close());
  return port;
}

async function backend(h2c: boolean): Promise<Pool> {
  const serve = (_req: unknown, res: http.ServerResponse | http2.Http2ServerResponse) => {
    res.setHeader("set-cookie", "app=1");
    res.end("ok");
  };
  const s = h2c ? http2.createServer(serve) : http.createServer(serve);
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  closers.push(() => s.close());
  return poolOf(h2c ? "g" : "p", [(s.address() as net.AddressInfo).port], h2c ? "h2c" : undefined);
}

for (const h2c of [false, true]) {
  test(`affinity Set-Cookie, ${h2c ? "h2c" : "HTTP/1.1"} pool: sent to HTTP/1.1 and HTTP/2 clients, beside the backend's own`, async () => {
    const pool = await backend(h2c);
    const port = await proxyTo(pool);
    const want = `route=${stickyToken(`127.0.0.1:${pool.endpoints[0]!.port}`)}; Path=/; HttpOnly`;
    const h1 = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert.match(h1, /^HTTP\/1\.1 200 /);
    assert.ok(h1.includes(`\r\nSet-Cookie: ${want}\r\n`), h1);
    assert.match(h1, /\r\nset-cookie: app=1\r\n/i);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    closers.push(() => session.close());
    const req = session.request({ ":path": "/" });
    req.resume();
    const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(headers[":status"], 200);
    assert.deepEqual([...(headers["set-cookie"] ?? [])].sort(), ["app=1", want]);
  });
}

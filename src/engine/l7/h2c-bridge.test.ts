import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import type net from "node:net";
import { once } from "node:events";
import type { HttpListener, Pool } from "../../model/ir.ts";
import { compileHttp } from "./compile.ts";
import { listen, poolOf, rawExchange, RoundRobinUpstreams } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

test("HTTP/1.1 client to an h2c pool: request (rewritten, body) goes as HTTP/2, trailers come back chunked", async () => {
  const seen: { headers: http2.IncomingHttpHeaders; body: string }[] = [];
  const backend = http2.createServer();
  backend.on("stream", (stream, headers) => {
    let body = "";
    stream.on("error", () => {});
    stream.on("data", (d: Buffer) => (body += d.toString()));
    stream.on("end", () => {
      seen.push({ headers, body });
      if (headers[":path"] === "/reset") return stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "ok" }));
      stream.end(`echo:${body}`);
    });
  });
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  closers.push(() => backend.close());
  const pools: Record<string, Pool> = {
    grpc: poolOf("grpc", [(backend.address() as net.AddressInfo).port], "h2c"),
  };
  const listener: HttpListener = {
    name: "l",
    address: "127.0.0.1",
    port: 0,
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            name: "r",
            match: { path: { type: "Prefix", value: "/" } },
            filters: [{ type: "RequestHeaderModifier", set: [{ name: "x-added", value: "1" }] }],
            action: { type: "Forward", backends: [{ pool: "grpc", weight: 1 }] },
          },
        ],
      },
    ],
  };
  const snapshot = { version: 1, l4: [], http: [listener], pools, certificates: {} };
  const handler = compileHttp(listener, {
    snapshot,
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  });
  const { server, port } = await listen({ current: handler });
  closers.push(() => server.close());

  const res = await rawExchange(
    port,
    "POST /pkg.Svc/Call HTTP/1.1\r\nHost: grpc.test\r\nTE: trailers\r\nContent-Type: application/grpc\r\n" +
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
  );
  assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(res, /content-type: application\/grpc\r\n/i);
  assert.match(res, /Transfer-Encoding: chunked\r\n/);
  assert.match(res, /\r\na\r\necho:abcde\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n$/);
  const h = seen[0]!.headers;
  assert.equal(seen[0]!.body, "abcde");
  assert.equal(h[":authority"], "grpc.test");
  assert.equal(h[":path"], "/pkg.Svc/Call");
  assert.equal(h[":method"], "POST");
  assert.equal(h["x-added"], "1");
  assert.equal(h["te"], "trailers", "gRPC requests announce trailers");
  assert.equal(h["transfer-encoding"], undefined);
  assert.match(String(h["x-forwarded-for"]), /127\.0\.0\.1/);

  const reset = await rawExchange(
    port,
    "GET /reset HTTP/1.1\r\nHost: grpc.test\r\nConnection: close\r\n\r\n",
  );
  assert.match(reset, /^HTTP\/1\.1 502 /, "a reset stream is a 502, not a hang");
});

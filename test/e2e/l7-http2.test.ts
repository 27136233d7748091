// HTTP/2 front end to end: curl --http2-prior-knowledge (cleartext) and --http2 over TLS (ALPN h2)
// to an HTTP/1.1 backend, and a node:http2 client through to an h2c backend with trailers (gRPC-style).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { once } from "node:events";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import type { HttpListener } from "../../src/model/ir.ts";
import { compileHttp } from "../../src/engine/l7/compile.ts";
import {
  INTERNALS,
  RoundRobinUpstreams,
  listen,
  poolOf,
  proxyErrors,
  snapshotOf,
} from "../../src/engine/l7/testing.ts";
import { selfSigned } from "../support/certs.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "l7-h2-"));
const cert = selfSigned(["*.example.com"]);
writeFileSync(join(dir, "ca.pem"), cert.certPem);

const h1 = http.createServer((req, res) => {
  if (req.url === "/hang") return; // never answers
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () =>
    res.end(
      `h1 ${req.method} ${req.url} host=${req.headers.host} xfp=${req.headers["x-forwarded-proto"]} body=${body}`,
    ),
  );
});
h1.listen(0, "127.0.0.1");
await once(h1, "listening");
const h2c = http2.createServer();
h2c.on("stream", (stream, headers) => {
  let body = "";
  stream.on("data", (d) => (body += d));
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "ok" }));
    stream.end(`h2c ${headers[":path"]} te=${headers.te} body=${body}`);
  });
});
h2c.listen(0, "127.0.0.1");
await once(h2c, "listening");

const pools = {
  h1: poolOf("h1", [(h1.address() as AddressInfo).port]),
  grpc: poolOf("grpc", [(h2c.address() as AddressInfo).port], "h2c"),
};
const routes = [
  {
    name: "hang",
    match: { path: { type: "Exact" as const, value: "/hang" } },
    action: { type: "Forward" as const, backends: [{ pool: "h1", weight: 1 }] },
    timeoutMs: 200,
  },
  {
    name: "grpc",
    match: { path: { type: "Prefix" as const, value: "/pkg.Svc" } },
    action: { type: "Forward" as const, backends: [{ pool: "grpc", weight: 1 }] },
  },
  {
    name: "teapot",
    match: { path: { type: "Exact" as const, value: "/teapot" } },
    action: { type: "DirectResponse" as const, status: 418, body: "short and stout" },
  },
  {
    name: "web",
    match: { path: { type: "Prefix" as const, value: "/" } },
    action: { type: "Forward" as const, backends: [{ pool: "h1", weight: 1 }] },
  },
];
function listenerOf(name: string, tls: boolean): HttpListener {
  return {
    name,
    address: "127.0.0.1",
    port: 0,
    ...(tls ? { tls: { sni: [], defaultCertificate: "ns/cert" } } : {}),
    virtualHosts: [{ hostname: "*", routes }],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
  };
}
async function start(l: HttpListener) {
  const handler = {
    current: compileHttp(l, {
      snapshot: snapshotOf(l, pools, { "ns/cert": cert }),
      upstreams: new RoundRobinUpstreams(pools),
      log: () => {},
    }),
  };
  return listen(handler);
}
const plain = await start(listenerOf("h2c:80", false));
const secure = await start(listenerOf("h2:443", true));
after(() => {
  for (const s of [plain.server, secure.server, h1, h2c]) s.close();
  rmSync(dir, { recursive: true, force: true });
});

test("cleartext prior knowledge (curl --http2-prior-knowledge) to an HTTP/1.1 backend", async () => {
  const { stdout } = await run("curl", [
    "-sS",
    "-i",
    "--http2-prior-knowledge",
    "-H",
    "Host: shop.example.com",
    "--data-binary",
    "abc",
    `http://127.0.0.1:${plain.port}/p?q=1`,
  ]);
  assert.match(stdout, /^HTTP\/2 200/);
  assert.match(stdout, /h1 POST \/p\?q=1 host=shop\.example\.com xfp=http body=abc$/);
});

test("HTTP/1.1 still works on the same cleartext listener", async () => {
  const { stdout } = await run("curl", ["-sS", "-i", "--http1.1", `http://127.0.0.1:${plain.port}/x`]);
  assert.match(stdout, /^HTTP\/1\.1 200/);
});

test("TLS with ALPN h2 (curl --http2) to an HTTP/1.1 backend", async () => {
  const { stdout } = await run("curl", [
    "-sS",
    "-i",
    "--http2",
    "--cacert",
    join(dir, "ca.pem"),
    "--resolve",
    `a.example.com:${secure.port}:127.0.0.1`,
    `https://a.example.com:${secure.port}/y`,
  ]);
  assert.match(stdout, /^HTTP\/2 200/);
  assert.match(stdout, /h1 GET \/y host=a\.example\.com:\d+ xfp=https body=$/);
});

test("h2c pool: gRPC-style request with trailers passes through", async () => {
  const client = http2.connect(`http://127.0.0.1:${plain.port}`);
  after(() => client.close());
  const req = client.request({
    ":method": "POST",
    ":path": "/pkg.Svc/Call",
    te: "trailers",
    "content-type": "application/grpc",
  });
  req.end("ping");
  let body = "";
  let status = 0;
  let trailers: http2.IncomingHttpHeaders = {};
  req.on("response", (h) => (status = Number(h[":status"])));
  req.on("trailers", (t) => (trailers = t));
  req.on("data", (d) => (body += d));
  await once(req, "end");
  assert.equal(status, 200);
  assert.equal(body, "h2c /pkg.Svc/Call te=trailers body=ping");
  assert.equal(trailers["grpc-status"], "0");
  assert.equal(trailers["grpc-message"], "ok");
});

test("HTTP/2 to an HTTP/1.1 backend keeps chunked trailers", async () => {
  const tb = http.createServer((_req, res) => {
    res.writeHead(200, { Trailer: "X-Check" });
    res.addTrailers({ "X-Check": "yes" });
    res.end("t");
  });
  tb.listen(0, "127.0.0.1");
  await once(tb, "listening");
  after(() => tb.close());
  const p = { t: poolOf("t", [(tb.address() as AddressInfo).port]) };
  const l: HttpListener = {
    ...listenerOf("t:80", false),
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            ...routes.find((r) => r.name === "web")!,
            action: { type: "Forward", backends: [{ pool: "t", weight: 1 }] },
          },
        ],
      },
    ],
  };
  const handler = {
    current: compileHttp(l, {
      snapshot: snapshotOf(l, p),
      upstreams: new RoundRobinUpstreams(p),
      log: () => {},
    }),
  };
  const { server, port } = await listen(handler);
  after(() => server.close());
  const client = http2.connect(`http://127.0.0.1:${port}`);
  after(() => client.close());
  const req = client.request({ ":path": "/" });
  let trailers: http2.IncomingHttpHeaders = {};
  req.on("trailers", (t) => (trailers = t));
  req.resume();
  await once(req, "end");
  assert.equal(trailers["x-check"], "yes");
});

test("HTTP/2 requests get 504 when the route timeout expires", async () => {
  const client = http2.connect(`http://127.0.0.1:${plain.port}`);
  after(() => client.close());
  const errs = proxyErrors();
  after(errs.stop);
  const req = client.request({ ":path": "/hang" });
  let status = 0;
  let body = "";
  req.on("response", (h) => (status = Number(h[":status"])));
  req.on("data", (d) => (body += d));
  await once(req, "end");
  assert.equal(status, 504);
  assert.doesNotMatch(body, INTERNALS);
  assert.match(errs.errors.join("\n"), /request timed out after 200 ms on route hang/);
});

test("HEAD over HTTP/2: a direct response sends headers alone, with the length a GET gets", async () => {
  const client = http2.connect(`http://127.0.0.1:${plain.port}`);
  try {
    const ask = (method: string) =>
      new Promise<{ status: number; length: string | undefined; body: string }>((resolve, reject) => {
        const req = client.request({ ":method": method, ":path": "/teapot" });
        let status = 0;
        let length: string | undefined;
        let body = "";
        req.on("response", (h) => {
          status = Number(h[":status"]);
          length = h["content-length"] as string | undefined;
        });
        req.setEncoding("utf8");
        req.on("data", (d: string) => (body += d));
        req.on("end", () => resolve({ status, length, body }));
        req.on("error", reject);
        req.end();
      });
    assert.deepEqual(await ask("HEAD"), { status: 418, length: "16", body: "" });
    assert.deepEqual((await ask("GET")).body, "short and stout\n");
  } finally {
    client.close();
  }
});

test("a direct answer to a request whose body is still coming: the client sends it all and the stream closes", async () => {
  // Nobody reads the body of a route that answers itself: its flow-control window must still go
  // back to the client, or the client stalls at the window with the stream open (own codec).
  const client = http2.connect(`http://127.0.0.1:${plain.port}`);
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = client.request({ ":method": "POST", ":path": "/teapot" });
      let got = 0;
      req.on("response", (h) => (got = Number(h[":status"])));
      req.resume();
      req.on("close", () =>
        req.rstCode === 0 ? resolve(got) : reject(new Error(`RST_STREAM ${req.rstCode}`)),
      );
      req.on("error", reject);
      const deadline = setTimeout(() => reject(new Error("stream still open: the upload stalled")), 5000);
      req.on("close", () => clearTimeout(deadline));
      req.end(Buffer.alloc(1 << 20, 0x61));
    });
    assert.equal(status, 418);
  } finally {
    client.close();
  }
});

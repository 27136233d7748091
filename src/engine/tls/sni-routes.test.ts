import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { once } from "node:events";
import type { HttpListener, Pool } from "../../model/ir.ts";
import { compileHttp } from "../l7/compile.ts";
import { listen, poolOf, RoundRobinUpstreams } from "../l7/testing.ts";
import { parseClientHello } from "./client-hello.ts";
import { selfSigned } from "../../../test/support/certs.ts";

// captureHello records the first flight a real TLS client sends for servername (undefined: no SNI).
async function captureHello(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) =>
    server.once("connection", (s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (parseClientHello(buf).type !== "more") {
          resolve(buf);
          s.destroy();
        }
      });
    }),
  );
  const c = tls.connect({ host: "127.0.0.1", port, ...(servername ? { servername } : {}) });
  c.on("error", () => {});
  const hello = await got;
  c.destroy();
  server.close();
  return hello;
}

test("parseClientHello: SNI of a real ClientHello, byte by byte; none; not TLS", async () => {
  const hello = await captureHello("Db.Example.test");
  assert.deepEqual(parseClientHello(hello), { type: "done", servername: "db.example.test", ecdsa: true });
  for (let n = 0; n < hello.length; n++)
    assert.equal(parseClientHello(hello.subarray(0, n)).type, "more", `prefix of ${n} bytes`);
  assert.deepEqual(parseClientHello(await captureHello(undefined)), {
    type: "done",
    servername: undefined,
    ecdsa: true,
  });
  assert.equal(parseClientHello(Buffer.from("GET / HTTP/1.1\r\n")).type, "invalid");
  // The same hello split over two handshake records still parses.
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const rec = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 3, 1, b.length >> 8, b.length & 255]), b]);
  const split = Buffer.concat([rec(body.subarray(0, 40)), rec(body.subarray(40))]);
  assert.deepEqual(parseClientHello(split), { type: "done", servername: "db.example.test", ecdsa: true });
  // An oversized handshake length is refused instead of buffered.
  const huge = Buffer.from([0x16, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff]);
  assert.equal(parseClientHello(huge).type, "invalid");
});

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

// tlsBackend is a TLS server with its own certificate that answers "backend:<line>".
async function tlsBackend(cert: { certPem: string; keyPem: string }): Promise<number> {
  const s = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (c) => {
    c.on("error", () => {});
    c.on("data", (d: Buffer) => c.end(`backend:${d.toString()}`));
  });
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  closers.push(() => s.close());
  return (s.address() as net.AddressInfo).port;
}

async function tcpUpper(): Promise<number> {
  const s = net.createServer((c) => {
    c.on("error", () => {});
    c.on("data", (d: Buffer) => c.end(`plain:${d.toString().toUpperCase()}`));
  });
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  closers.push(() => s.close());
  return (s.address() as net.AddressInfo).port;
}

function talk(port: number, servername: string | undefined, alpn?: string[]) {
  return new Promise<{ cn: string; reply: string; alpn: string | false }>((resolve, reject) => {
    const c = tls.connect({
      host: "127.0.0.1",
      port,
      ...(servername ? { servername } : {}),
      rejectUnauthorized: false,
      ...(alpn ? { ALPNProtocols: alpn } : {}),
    });
    let reply = "";
    let cn = "";
    c.on("secureConnect", () => {
      cn = String(c.getPeerCertificate()?.subject?.CN ?? "");
      c.write("hello");
    });
    c.on("data", (d: Buffer) => (reply += d.toString()));
    c.on("error", reject);
    c.on("close", () => resolve({ cn, reply, alpn: c.alpnProtocol ?? false }));
    c.on("end", () => c.end());
  });
}

test("SNI routes: passthrough keeps the backend's certificate, terminate relays plaintext, other names get HTTPS", async () => {
  const backendCert = selfSigned(["db.example.test"]);
  const listenerCert = selfSigned(["gateway.example.test", "*.example.test"]);
  const dbPort = await tlsBackend(backendCert);
  const upperPort = await tcpUpper();
  const pools: Record<string, Pool> = {
    db: poolOf("db", [dbPort], "tcp"),
    upper: poolOf("upper", [upperPort], "tcp"),
  };
  const listener: HttpListener = {
    name: "Gateway/infra/gw:8443",
    address: "127.0.0.1",
    port: 0,
    tls: { sni: [{ hostname: "*.example.test", certificate: "infra/gw" }] },
    virtualHosts: [
      {
        hostname: "*.example.test",
        routes: [
          {
            name: "r",
            match: { path: { type: "Prefix", value: "/" } },
            action: { type: "DirectResponse", status: 200, body: "https" },
          },
        ],
      },
    ],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    sniRoutes: [
      {
        name: "TLSRoute/ns/db#0",
        hostname: "db.example.test",
        mode: "Passthrough",
        backends: [{ pool: "db", weight: 1 }],
      },
      {
        name: "TLSRoute/ns/up#0",
        hostname: "up.example.test",
        mode: "Terminate",
        backends: [{ pool: "upper", weight: 1 }],
      },
    ],
  };
  const snapshot = {
    version: 1,
    l4: [],
    http: [listener],
    pools,
    certificates: { "infra/gw": listenerCert },
  };
  const handler = compileHttp(listener, {
    snapshot,
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  });
  const { server, port } = await listen({ current: handler });
  closers.push(() => server.close());

  const pass = await talk(port, "db.example.test");
  assert.equal(pass.cn, "db.example.test", "the backend's own certificate");
  assert.equal(pass.reply, "backend:hello");

  const term = await talk(port, "up.example.test", ["h2", "http/1.1"]);
  assert.equal(term.cn, "gateway.example.test", "terminated with the listener's certificate");
  assert.equal(term.reply, "plain:HELLO");
  assert.equal(term.alpn, false, "no ALPN for an opaque byte stream");

  // Any other name of the wildcard is HTTPS, served by the router.
  const https = await new Promise<string>((resolve, reject) => {
    const c = tls.connect({
      host: "127.0.0.1",
      port,
      servername: "shop.example.test",
      rejectUnauthorized: false,
    });
    let got = "";
    c.on("secureConnect", () =>
      c.write("GET / HTTP/1.1\r\nHost: shop.example.test\r\nConnection: close\r\n\r\n"),
    );
    c.on("data", (d: Buffer) => (got += d.toString()));
    c.on("close", () => resolve(got));
    c.on("error", reject);
  });
  assert.match(https, /^HTTP\/1\.1 200[^]*https/);

  // No SNI and no default certificate configured: the generated one answers, then HTTP does.
  const none = await new Promise<{ cn: string; reply: string }>((resolve, reject) => {
    const c = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
    let reply = "";
    let cn = "";
    c.on("secureConnect", () => {
      cn = String(c.getPeerCertificate()?.subject?.CN ?? "");
      c.write("GET / HTTP/1.1\r\nHost: nothing.test\r\nConnection: close\r\n\r\n");
    });
    c.on("data", (d: Buffer) => (reply += d.toString()));
    c.on("close", () => resolve({ cn, reply }));
    c.on("error", reject);
  });
  assert.equal(none.cn, "Portico Default Certificate");
  assert.match(none.reply, /^HTTP\/1\.1 404 /, "the handshake completes and the router answers");
});

test("SNI routes on a listener without certificates: passthrough only; other names and no SNI are closed, plain HTTP gets 400", async () => {
  const backendCert = selfSigned(["only.example.test"]);
  const port0 = await tlsBackend(backendCert);
  const pools: Record<string, Pool> = { only: poolOf("only", [port0], "tcp") };
  const listener: HttpListener = {
    name: "Gateway/infra/gw:9443",
    address: "127.0.0.1",
    port: 0,
    virtualHosts: [],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    sniRoutes: [
      {
        name: "TLSRoute/ns/only#0",
        hostname: "*.example.test",
        mode: "Passthrough",
        backends: [{ pool: "only", weight: 1 }],
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
  const ok = await talk(port, "a.example.test");
  assert.equal(ok.cn, "only.example.test");
  assert.equal(ok.reply, "backend:hello");
  for (const name of ["other.test", undefined]) {
    const r = await talk(port, name).catch(() => ({ cn: "", reply: "" }));
    assert.equal(r.reply, "", `nothing answers ${name ?? "a client without SNI"}`);
  }
  const plain = await new Promise<string>((resolve) => {
    const c = net.connect(port, "127.0.0.1", () => c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    let got = "";
    c.on("data", (d: Buffer) => (got += d.toString()));
    c.on("close", () => resolve(got));
    c.on("error", () => {});
  });
  assert.match(
    plain,
    /^HTTP\/1\.1 400 Bad Request\r\n[^]*Use https:\/\//,
    "plain HTTP on a TLS port gets a 400",
  );
});

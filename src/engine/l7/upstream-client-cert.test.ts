// upstream-client-cert.test.ts: a TLS pool naming a client certificate (Gateway
// spec.tls.backend.clientCertificateRef) presents it to backends that ask, over HTTP/1.1 and
// HTTP/2 (h2 pools); a backend that requires one refuses the same pool without it. Real sockets:
// TLS backends that verify clients against the certificate, and the compiled listener.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type net from "node:net";
import type tls from "node:tls";
import { once } from "node:events";
import { selfSigned } from "../../../test/support/certs.ts";
import type { Certificate, Pool, Route, UpstreamTls } from "../../model/ir.ts";
import { EngineConfigError } from "../contracts.ts";
import { compileHttp } from "./compile.ts";
import { catchAllListener, poolOf, proxyRoute, RoundRobinUpstreams, snapshotOf } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

const serverCert = selfSigned(["backend.example.com"]);
const clientCert = selfSigned(["gateway-client.example.com"]);

/** subjectOf names the client certificate a backend request came with ("none" without one). */
function subjectOf(socket: tls.TLSSocket): string {
  const peer = socket.getPeerCertificate();
  return peer?.subjectaltname ?? "none";
}

/** backendPort starts a TLS backend that requires a client certificate it trusts and answers with its SANs. */
async function backendPort(h2: boolean): Promise<number> {
  const opts = {
    cert: serverCert.certPem,
    key: serverCert.keyPem,
    ca: clientCert.certPem,
    requestCert: true,
    rejectUnauthorized: true,
  };
  const server = h2
    ? http2.createSecureServer(opts, (req, res) => res.end(subjectOf(req.socket as tls.TLSSocket)))
    : https.createServer(opts, (req, res) => res.end(subjectOf(req.socket as tls.TLSSocket)));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

const upTls = (client: boolean): UpstreamTls => ({
  sni: "backend.example.com",
  caPem: serverCert.certPem,
  ...(client ? { clientCertificate: "ns/client" } : {}),
});

async function proxyTo(pool: Pool, certificates: Record<string, Certificate>): Promise<number> {
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
  };
  const { server, port } = await proxyRoute(route, { p: { ...pool, name: "p" } }, certificates);
  closers.push(() => server.close());
  return port;
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
    });
    req.on("error", reject);
    req.end();
  });
}

for (const h2 of [false, true]) {
  const proto = h2 ? "HTTP/2 (h2 pool)" : "HTTP/1.1";
  test(`${proto}: the pool's client certificate is presented; without it the backend refuses`, async () => {
    const port = await backendPort(h2);
    const base = poolOf("p", [port], h2 ? "h2c" : undefined);
    const withCert = await proxyTo({ ...base, tls: upTls(true) }, { "ns/client": clientCert });
    assert.equal(await get(withCert), "200 DNS:gateway-client.example.com");
    const without = await proxyTo({ ...base, tls: upTls(false) }, {});
    assert.match(
      await get(without),
      /^50[23] /,
      "a backend that requires a client certificate refuses the pool without one",
    );
  });
}

test("a pool naming a client certificate the snapshot lacks is refused when the listener compiles", () => {
  const listener = catchAllListener("l");
  const pools = { p: { ...poolOf("p", [1]), tls: upTls(true) } };
  assert.throws(
    () =>
      compileHttp(listener, {
        snapshot: snapshotOf(listener, pools, {}),
        upstreams: new RoundRobinUpstreams(pools),
        log: () => {},
      }),
    (e: unknown) => e instanceof EngineConfigError && /client certificate "ns\/client"/.test(e.message),
  );
});

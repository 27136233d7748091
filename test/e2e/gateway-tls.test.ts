// gateway-tls.test.ts: `portico run` on a Gateway whose port 18200 carries HTTPS (*.tls.test),
// TLS passthrough (db.tls.test) and TLS terminate (raw.tls.test) side by side, plus a cleartext
// HTTP listener on 18201. Real clients: openssl s_client, curl, node:http2. Covers TLSRoute both
// modes, GRPCRoute to an h2c backend (HTTP/2 over TLS, h2c and HTTP/1.1 clients), and
// BackendTLSPolicy re-encryption to a backend whose certificate a private CA signed.
// VIP 127.0.30.2, a static Gateway address.
import { writeSelfSigned } from "../support/certs.ts";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import https from "node:https";
import tls from "node:tls";
import type { AddressInfo, Server } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, writeManifest, startPortico, run, waitFor, removeDir, type Portico } from "./harness.ts";
import { pool, backendService, tcpEcho } from "./fixtures.ts";
import { cond, gatewayClass, statusOf } from "./gateway-helpers.ts";

const VIP = "127.0.30.2";
const TLS_PORT = 18200;
const HTTP_PORT = 18201;
let dir: string, state: string, certs: string;
let p: Portico;
const servers: { close(): unknown }[] = [];
let gatewayCa: string;

async function openssl(args: string[]): Promise<void> {
  const r = await run("openssl", args);
  assert.equal(r.code, 0, r.stderr);
}

// signedBy writes a certificate for name signed by the CA in certs/<ca>.{crt,key}.
async function signedBy(ca: string, file: string, name: string): Promise<{ crt: string; key: string }> {
  const crt = join(certs, `${file}.crt`);
  const key = join(certs, `${file}.key`);
  const csr = join(certs, `${file}.csr`);
  const ext = join(certs, `${file}.ext`);
  writeFileSync(ext, `subjectAltName=DNS:${name}\n`);
  await openssl([
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    key,
    "-out",
    csr,
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    join(certs, `${ca}.crt`),
    "-CAkey",
    join(certs, `${ca}.key`),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    crt,
  ]);
  return { crt, key };
}

function b64(file: string): string {
  return readFileSync(file).toString("base64");
}

function indent(pem: string, n: number): string {
  return pem
    .trim()
    .split("\n")
    .map((l) => " ".repeat(n) + l)
    .join("\n");
}

async function listening<T extends Server | https.Server | http2.Http2Server>(s: T): Promise<number> {
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  servers.push(s);
  return (s.address() as AddressInfo).port;
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  certs = tempDir();
  const gw = writeSelfSigned(certs, "gateway", ["*.tls.test"]);
  gatewayCa = gw.crt;
  const db = writeSelfSigned(certs, "db", ["db.tls.test"]);
  writeSelfSigned(certs, "backend-ca", ["backend-ca"]);
  const secure = await signedBy("backend-ca", "secure", "secure.app.svc");

  // Passthrough backend: terminates TLS itself with its own certificate.
  const dbServer = tls.createServer({ cert: readFileSync(db.crt), key: readFileSync(db.key) }, (c) => {
    c.on("error", () => {});
    c.on("data", (d: Buffer) => c.end(`db got ${d.toString().trim()}\n`));
  });
  const dbPort = await listening(dbServer);
  // Terminate backend: plain TCP echo behind the gateway's TLS.
  const echo = await tcpEcho();
  servers.push(echo.server);
  // gRPC-style backend: h2c, answers with trailers.
  const grpc = http2.createServer();
  grpc.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    let body = "";
    stream.on("data", (d: Buffer) => (body += d.toString()));
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "served" }));
      stream.end(`grpc ${headers[":path"]} ${body}`);
    });
  });
  const grpcPort = await listening(grpc);
  // Re-encryption backend: HTTPS with a certificate the private CA signed for secure.app.svc.
  const secureServer = https.createServer(
    { cert: readFileSync(secure.crt), key: readFileSync(secure.key) },
    (req, res) => res.end(`secure ${req.url} sni=${(req.socket as tls.TLSSocket).servername}\n`),
  );
  const securePort = await listening(secureServer);

  writeManifest(dir, "pool.yaml", pool("gw-tls", [`${VIP}-${VIP}`]));
  writeManifest(
    dir,
    "gateway.yaml",
    `${gatewayClass}---
apiVersion: v1
kind: Secret
metadata: { name: gw-tls, namespace: infra }
type: kubernetes.io/tls
data: { tls.crt: ${b64(gw.crt)}, tls.key: ${b64(gw.key)} }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge, namespace: infra }
spec:
  gatewayClassName: portico
  addresses: [{ type: IPAddress, value: ${VIP} }]
  listeners:
    - name: https
      port: ${TLS_PORT}
      protocol: HTTPS
      hostname: "*.tls.test"
      tls: { mode: Terminate, certificateRefs: [{ name: gw-tls }] }
      allowedRoutes: { namespaces: { from: All } }
    - name: passthrough
      port: ${TLS_PORT}
      protocol: TLS
      hostname: db.tls.test
      tls: { mode: Passthrough }
      allowedRoutes: { namespaces: { from: All } }
    - name: terminate
      port: ${TLS_PORT}
      protocol: TLS
      hostname: raw.tls.test
      tls: { mode: Terminate, certificateRefs: [{ name: gw-tls }] }
      allowedRoutes: { namespaces: { from: All } }
    - name: http
      port: ${HTTP_PORT}
      protocol: HTTP
      allowedRoutes: { namespaces: { from: All } }
`,
  );
  writeManifest(
    dir,
    "routes.yaml",
    `apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: { name: db, namespace: app }
spec:
  parentRefs: [{ name: edge, namespace: infra, sectionName: passthrough }]
  hostnames: [db.tls.test]
  rules: [{ backendRefs: [{ name: db, port: 443 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: { name: raw, namespace: app }
spec:
  parentRefs: [{ name: edge, namespace: infra, sectionName: terminate }]
  hostnames: [raw.tls.test]
  rules: [{ backendRefs: [{ name: echo, port: 80 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: grpc, namespace: app }
spec:
  parentRefs: [{ name: edge, namespace: infra, sectionName: https }, { name: edge, namespace: infra, sectionName: http }]
  hostnames: [grpc.tls.test]
  rules:
    - matches: [{ method: { service: pkg.Echo, method: Say } }]
      backendRefs: [{ name: grpc, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: secure, namespace: app }
spec:
  parentRefs: [{ name: edge, namespace: infra, sectionName: https }]
  hostnames: [secure.tls.test]
  rules: [{ backendRefs: [{ name: secure, port: 443 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: { name: secure, namespace: app }
spec:
  targetRefs: [{ group: "", kind: Service, name: secure }]
  validation:
    caCertificateRefs: [{ group: "", kind: ConfigMap, name: backend-ca }]
    hostname: secure.app.svc
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: misnamed, namespace: app }
spec:
  parentRefs: [{ name: edge, namespace: infra, sectionName: https }]
  hostnames: [misnamed.tls.test]
  rules: [{ backendRefs: [{ name: misnamed, port: 443 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: { name: misnamed, namespace: app }
spec:
  targetRefs: [{ group: "", kind: Service, name: misnamed }]
  validation:
    caCertificateRefs: [{ group: "", kind: ConfigMap, name: backend-ca }]
    hostname: someone-else.app.svc
---
apiVersion: v1
kind: ConfigMap
metadata: { name: backend-ca, namespace: app }
data:
  ca.crt: |
${indent(readFileSync(join(certs, "backend-ca.crt"), "utf8"), 4)}
`,
  );
  const svc = (name: string, port: number, svcPort: number) =>
    backendService("app", name, port).replace("port: 80, targetPort", `port: ${svcPort}, targetPort`);
  writeManifest(
    dir,
    "backends.yaml",
    [
      svc("db", dbPort, 443),
      backendService("app", "echo", echo.port),
      backendService("app", "grpc", grpcPort),
      svc("secure", securePort, 443),
      svc("misnamed", securePort, 443),
    ].join("---\n"),
  );
  p = await startPortico([dir], ["--state-dir", state]);
  await waitFor("the TLS listener", async () => (await sClient("db.tls.test", "hi")).includes("db got hi"));
});

after(async () => {
  await p?.stop();
  for (const s of servers) s.close();
  for (const d of [dir, state, certs]) if (d) removeDir(d);
});

// sClient runs openssl s_client against the VIP with SNI name, sends input, returns its output.
async function sClient(name: string, input: string): Promise<string> {
  const r = await run(
    "openssl",
    ["s_client", "-connect", `${VIP}:${TLS_PORT}`, "-servername", name, "-ign_eof"],
    input + "\n",
  );
  return r.stdout;
}

function curl(url: string, extra: string[] = []) {
  const u = new URL(url);
  return run("curl", [
    "-sS",
    "--max-time",
    "5",
    "--resolve",
    `${u.hostname}:${u.port}:${VIP}`,
    ...extra,
    url,
  ]);
}

test("Gateway status: static address, every listener programmed, routes attached", async () => {
  const gw = await statusOf(p, "Gateway", "edge");
  assert.equal(cond(gw.conditions, "Programmed"), "True");
  assert.deepEqual(gw.addresses, [{ type: "IPAddress", value: VIP }]);
  const attached = Object.fromEntries(gw.listeners.map((l) => [l.name, l.attachedRoutes]));
  assert.deepEqual(attached, { https: 3, passthrough: 1, terminate: 1, http: 1 });
  for (const l of gw.listeners) assert.equal(cond(l.conditions, "Programmed"), "True", l.name);
  for (const name of ["db", "raw"]) {
    const parent = (await statusOf(p, "TLSRoute", name)).parents[0]!;
    assert.equal(cond(parent.conditions, "Accepted"), "True", name);
  }
  const policy = await statusOf(p, "BackendTLSPolicy", "secure");
  assert.equal(cond(policy.ancestors[0]?.conditions, "Accepted"), "True");
});

test("TLSRoute passthrough: the client sees the backend's own certificate and talks to it", async () => {
  const out = await sClient("db.tls.test", "hello");
  assert.match(out, /subject=\s*CN\s*=\s*db\.tls\.test/);
  assert.match(out, /db got hello/);
});

test("TLSRoute terminate: the gateway's certificate, plaintext relayed to a TCP backend", async () => {
  // No -ign_eof: the echo backend never closes, so s_client leaves after the handshake.
  const out = await run(
    "openssl",
    ["s_client", "-connect", `${VIP}:${TLS_PORT}`, "-servername", "raw.tls.test"],
    "",
  );
  assert.match(out.stdout, /subject=\s*CN\s*=\s*\*\.tls\.test/);
  const echoed = await new Promise<string>((resolve, reject) => {
    const c = tls.connect({
      host: VIP,
      port: TLS_PORT,
      servername: "raw.tls.test",
      ca: readFileSync(gatewayCa),
    });
    let got = "";
    c.on("secureConnect", () => c.write("ping"));
    c.on("data", (d: Buffer) => {
      got += d.toString();
      if (got === "ping") c.end();
    });
    c.on("close", () => resolve(got));
    c.on("error", reject);
  });
  assert.equal(echoed, "ping");
});

test("HTTPS beside them on the same port; unknown names get the default certificate, then 404", async () => {
  const r = await curl(`https://secure.tls.test:${TLS_PORT}/x`, ["--cacert", gatewayCa]);
  assert.equal(r.stdout, "secure /x sni=secure.app.svc\n", r.stderr);
  const none = await run(
    "openssl",
    ["s_client", "-connect", `${VIP}:${TLS_PORT}`, "-servername", "nope.example"],
    "",
  );
  assert.match(
    none.stdout,
    /subject=CN ?= ?Portico Default Certificate/,
    "the generated default certificate",
  );
  const notFound = await curl(`https://nope.example:${TLS_PORT}/`, [
    "-k",
    "-w",
    "%{http_code}",
    "-o",
    "/dev/null",
  ]);
  assert.equal(notFound.stdout, "404");
});

test("BackendTLSPolicy: re-encrypts with SNI and checks the chain against the CA", async () => {
  const r = await curl(`https://secure.tls.test:${TLS_PORT}/deep/path`, ["--cacert", gatewayCa, "--http2"]);
  assert.equal(r.stdout, "secure /deep/path sni=secure.app.svc\n", r.stderr);
  const wrong = await curl(`https://misnamed.tls.test:${TLS_PORT}/`, [
    "--cacert",
    gatewayCa,
    "-w",
    " %{http_code}",
  ]);
  assert.match(wrong.stdout, / 502$/, "a certificate that does not name the policy's hostname is refused");
});

function grpcCall(session: http2.ClientHttp2Session, path: string) {
  return new Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders }>(
    (resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": path,
        ":authority": "grpc.tls.test",
        "content-type": "application/grpc",
        te: "trailers",
      });
      let status = 0;
      let body = "";
      let trailers: http2.IncomingHttpHeaders = {};
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("trailers", (t) => (trailers = t));
      req.on("end", () => resolve({ status, body, trailers }));
      req.on("error", reject);
      req.end("msg");
    },
  );
}

test("GRPCRoute: HTTP/2 over TLS and h2c to an h2c backend, trailers kept; unknown methods 404", async () => {
  const secure = http2.connect(`https://${VIP}:${TLS_PORT}`, {
    servername: "grpc.tls.test",
    ca: readFileSync(gatewayCa),
  });
  const clear = http2.connect(`http://${VIP}:${HTTP_PORT}`);
  try {
    for (const session of [secure, clear]) {
      const r = await grpcCall(session, "/pkg.Echo/Say");
      assert.equal(r.status, 200);
      assert.equal(r.body, "grpc /pkg.Echo/Say msg");
      assert.equal(r.trailers["grpc-status"], "0");
      assert.equal(r.trailers["grpc-message"], "served");
      assert.equal((await grpcCall(session, "/pkg.Echo/Other")).status, 404);
    }
  } finally {
    secure.close();
    clear.close();
  }
});

test("GRPCRoute: an HTTP/1.1 client reaches the h2c backend through the bridge", async () => {
  const r = await curl(`http://grpc.tls.test:${HTTP_PORT}/pkg.Echo/Say`, [
    "--http1.1",
    "-i",
    "-H",
    "content-type: application/grpc",
    "--data-binary",
    "one",
  ]);
  assert.match(r.stdout, /^HTTP\/1\.1 200/);
  assert.match(r.stdout, /grpc \/pkg\.Echo\/Say one/);
});

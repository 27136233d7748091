// gateway-conformance-tls.test.ts: Gateway API conformance tests over TLS and gRPC, run end to end.
// `portico run` serves src/translate/testdata/gw-conf-tls-e2e.yaml (the upstream manifests with
// static Gateway addresses 127.0.43.1-9) once this file has filled in certificates made with the
// openssl CLI. Backends answer like the suite's: HTTP echo (127.0.43.11-13), a real gRPC unary echo
// over h2c written with node:http2 (127.0.43.21-23), the TCP/TLS echo tcp-backend (127.0.43.31) and
// an HTTPS echo behind BackendTLSPolicy (127.0.43.41). Expectations come from the tests' .go files.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, startPortico, run, waitFor, removeDir, type Portico } from "./harness.ts";
import { cond, reason, statusOf } from "./gateway-helpers.ts";

const testdata = join(import.meta.dirname, "../../src/translate/testdata");
const GW = { http: "127.0.43.1", https: "127.0.43.2", grpcHosts: "127.0.43.3", pass: "127.0.43.4" };
const TERMINATE = "127.0.43.5";
const GRPC_SERVICE = "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho";
let dir: string, state: string, certs: string;
let p: Portico;
const servers: { close(): unknown }[] = [];
/** pem holds the PEM text of each generated file, by name (validity.crt, ca.crt, ...). */
const pem = new Map<string, string>();
const noNameCheck = { checkServerIdentity: () => undefined };

async function openssl(args: string[]): Promise<void> {
  const r = await run("openssl", args);
  assert.equal(r.code, 0, r.stderr);
}

const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** selfSigned makes certs/<file>.{crt,key}; a CA when ca is set. */
async function selfSigned(file: string, names: string[], ca = false): Promise<void> {
  const ext = ca
    ? ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign,cRLSign"]
    : ["-addext", `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`];
  const [crt, key] = [join(certs, `${file}.crt`), join(certs, `${file}.key`)];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    key,
    "-out",
    crt,
    "-days",
    "2",
    "-subj",
    `/CN=${names[0]}`,
    ...ext,
  ]);
}

/** signed makes certs/<file>.{crt,key} for name, signed by certs/<ca>. */
async function signed(ca: string, file: string, name: string): Promise<void> {
  const at = (x: string) => join(certs, x);
  writeFileSync(at(`${file}.ext`), `subjectAltName=DNS:${name}\n`);
  await openssl([
    "req",
    "-new",
    ...ec,
    "-subj",
    `/CN=${name}`,
    "-keyout",
    at(`${file}.key`),
    "-out",
    at(`${file}.csr`),
  ]);
  await openssl(
    ["x509", "-req", "-in", at(`${file}.csr`), "-CA", at(`${ca}.crt`), "-CAkey", at(`${ca}.key`)].concat([
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      at(`${file}.ext`),
      "-out",
      at(`${file}.crt`),
    ]),
  );
}

/** listen resolves once s listens on host:port. */
function listen<S extends net.Server>(s: S, host: string, port: number): Promise<S> {
  servers.push(s);
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.listen(port, host, () => resolve(s));
  });
}

/** httpEcho answers like echo-basic: pod, host, path and the SNI it was reached with, as JSON. */
function httpEcho(pod: string) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const sni = (req.socket as tls.TLSSocket).servername ?? "";
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ pod, host: req.headers.host, path: req.url, sni }));
  };
}

/** grpcEcho is a unary gRPC echo over h2c: the reply message is JSON of what it saw; the pod and the
 * called method also ride in response headers, grpc-status in the trailers. */
function grpcEcho(pod: string): http2.Http2Server {
  const s = http2.createServer();
  s.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("end", () => {
      const path = String(headers[":path"]);
      const known = ["Echo", "EchoTwo", "EchoThree"].map((m) => `${GRPC_SERVICE}/${m}`);
      const meta = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith(":")));
      const msg = Buffer.from(JSON.stringify({ pod, method: path, authority: headers[":authority"], meta }));
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), msg]);
      frame.writeUInt32BE(msg.length, 1);
      const ok = known.includes(path) && Buffer.concat(chunks).length >= 5;
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "x-echo-pod": pod, "x-echo-method": path },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": ok ? "0" : "12" }));
      stream.end(ok ? frame : undefined);
    });
  });
  return s;
}

/** tcpEcho answers each first read with JSON naming the backend and whether TLS (and which SNI) was used. */
function tcpEcho(sock: net.Socket) {
  sock.once("data", () => {
    const t = sock as tls.TLSSocket;
    sock.end(JSON.stringify({ pod: "tcp-backend", tls: t.encrypted === true, sni: t.servername || "" }));
  });
  sock.on("error", () => undefined);
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  certs = tempDir("portico-certs-");
  await selfSigned("validity", ["tls-validity-checks", "*", "*.org", "*.wildcard.org", "*.example.com"]);
  await selfSigned("ca", ["tls-checks-ca"], true);
  await selfSigned("mismatch-ca", ["mismatch-ca"], true);
  await signed("ca", "backend", "abc.example.com");
  await signed("ca", "terminate", "tls.example.com");
  for (const f of ["validity", "ca", "mismatch-ca", "backend", "terminate"])
    for (const x of ["crt", "key"]) pem.set(`${f}.${x}`, readFileSync(join(certs, `${f}.${x}`), "utf8"));
  const b64 = (f: string) => Buffer.from(pem.get(f)!).toString("base64");
  const manifest = readFileSync(join(testdata, "gw-conf-tls-e2e.yaml"), "utf8")
    .replace("__VALIDITY_CRT__", b64("validity.crt"))
    .replace("__VALIDITY_KEY__", b64("validity.key"))
    .replace("__TERMINATE_CRT__", b64("terminate.crt"))
    .replace("__TERMINATE_KEY__", b64("terminate.key"))
    .replace("__CA_PEM__", JSON.stringify(pem.get("ca.crt")))
    .replace("__MISMATCH_CA_PEM__", JSON.stringify(pem.get("mismatch-ca.crt")));
  writeFileSync(join(dir, "conformance-tls.yaml"), manifest);

  for (const [i, v] of ["v1", "v2", "v3"].entries()) {
    await listen(http.createServer(httpEcho(`infra-backend-${v}`)), `127.0.43.${11 + i}`, 3000);
    await listen(grpcEcho(`grpc-infra-backend-${v}`), `127.0.43.${21 + i}`, 3000);
  }
  await listen(net.createServer(tcpEcho), "127.0.43.31", 3000);
  const backendCert = { cert: pem.get("backend.crt"), key: pem.get("backend.key") };
  await listen(tls.createServer(backendCert, tcpEcho), "127.0.43.31", 8443);
  await listen(https.createServer(backendCert, httpEcho("tls-backend")), "127.0.43.41", 8443);

  p = await startPortico([dir], ["--state-dir", state]);
  await waitFor(
    "the HTTPS Gateway to route",
    async () => (await get1("example.org", "example.org", "/")).status === 200,
  );
  await waitFor(
    "the gRPC routes",
    async () => (await grpc(GW.http, "grpcroute-weight.conformance.test", "Echo")).code === 0,
  );
});

after(async () => {
  await p?.stop();
  for (const s of servers) s.close();
  for (const d of [dir, state, certs]) if (d) removeDir(d);
});

/** Reply is a status and the echo backend's JSON, when it answered. */
interface Reply {
  status: number;
  echo?: { pod: string; host: string; path: string; sni: string };
}

function parse(status: number, body: string): Reply {
  try {
    return { status, echo: JSON.parse(body) as Reply["echo"] };
  } catch {
    return { status };
  }
}

/** get1 sends GET over HTTPS/1.1 to the HTTPS Gateway with SNI sni and Host host, trusting the listener's certificate. */
function get1(sni: string, host: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: GW.https,
        port: 443,
        servername: sni,
        path,
        headers: { host },
        ca: pem.get("validity.crt"),
        agent: false,
        ...noNameCheck,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve(parse(res.statusCode!, body)));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** get2 sends GET over HTTP/2 with TLS (roundtripper.H2Protocol): SNI sni, :authority host. */
function get2(sni: string, host: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://${GW.https}:443`, {
      servername: sni,
      ca: pem.get("validity.crt"),
      ...noNameCheck,
    });
    session.once("error", reject);
    const req = session.request({ ":path": path, ":authority": host });
    let status = 0;
    let body = "";
    req.on("response", (h) => (status = Number(h[":status"])));
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      session.close();
      resolve(parse(status, body));
    });
    req.on("error", reject);
    req.end();
  });
}

/** httpStatusToGrpc maps an HTTP status without grpc-status the way gRPC clients do (http-grpc-status-mapping.md). */
function httpStatusToGrpc(status: number): number {
  const map: Record<number, number> = {
    400: 13,
    401: 16,
    403: 7,
    404: 12,
    429: 14,
    502: 14,
    503: 14,
    504: 14,
  };
  return map[status] ?? 2;
}

/** Rpc is the outcome of one unary call: the gRPC code and, when it got there, the backend's echo. */
interface Rpc {
  code: number;
  pod?: string;
  method?: string;
}

/** grpc makes one unary gRPC call over h2c to addr:80 with a framed empty EchoRequest. */
function grpc(
  addr: string,
  authority: string,
  method: string,
  meta: Record<string, string> = {},
): Promise<Rpc> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${addr}:80`);
    session.once("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": `${GRPC_SERVICE}/${method}`,
      ":authority": authority,
      "content-type": "application/grpc",
      te: "trailers",
      ...Object.fromEntries(Object.entries(meta).map(([k, v]) => [k.toLowerCase(), v])),
    });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => (head = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      session.close();
      const status = head["grpc-status"] ?? trailers["grpc-status"];
      const code = status !== undefined ? Number(status) : httpStatusToGrpc(Number(head[":status"]));
      const body = Buffer.concat(chunks);
      const grpcBody = head["content-type"] === "application/grpc" && body.length > 5;
      const echo = grpcBody ? (JSON.parse(body.subarray(5).toString()) as Rpc) : undefined;
      resolve({ code, pod: echo?.pod, method: echo?.method });
    });
    req.on("error", reject);
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

test("conformance e2e: httproute-https-listener", async () => {
  const got = [];
  for (const [host, want, pod] of [
    ["example.org", 200, "infra-backend-v1"],
    ["unknown-example.org", 404, undefined],
    ["second-example.org", 200, "infra-backend-v2"],
  ] as const) {
    const r = await get1(host, host, "/");
    got.push(`${host} ${r.status} ${r.echo?.pod}`);
    assert.equal(r.status, want, host);
    assert.equal(r.echo?.pod, pod, host);
  }
});

test("conformance e2e: httproute-https-listener-detect-misdirected-requests (HTTP/2)", async () => {
  const cases: [string, string, number, string?][] = [
    ["example.org", "example.org", 200, "infra-backend-v1"],
    ["example.org", "second-example.org", 421],
    ["example.org", "unknown-example.org", 404],
    ["second-example.org", "second-example.org", 200, "infra-backend-v2"],
    ["second-example.org", "example.org", 421],
    ["second-example.org", "unknown-example.org", 421],
    ["third-example.wildcard.org", "third-example.wildcard.org", 200, "infra-backend-v3"],
    ["third-example.wildcard.org", "fith-example.wildcard.org", 200, "infra-backend-v3"],
    ["third-example.wildcard.org", "fourth-example.wildcard.org", 421],
    ["third-example.wildcard.org", "second-example.org", 421],
    ["third-example.wildcard.org", "unknown-example.org", 421],
    ["fourth-example.wildcard.org", "fourth-example.wildcard.org", 200, "infra-backend-v1"],
    ["fourth-example.wildcard.org", "fith-example.wildcard.org", 421],
    ["unknown-example.org", "example.org", 200, "infra-backend-v1"],
    ["unknown-example.org", "unknown-example.org", 404],
  ];
  const failures: string[] = [];
  for (const [sni, host, want, pod] of cases) {
    const r = await get2(sni, host, "/detect-misdirected-requests");
    if (r.status !== want || r.echo?.pod !== pod)
      failures.push(`SNI ${sni} Host ${host}: ${r.status} ${r.echo?.pod}, want ${want} ${pod}`);
  }
  assert.deepEqual(failures, []);
});

test("misdirected requests over HTTP/1.1 too (Host of another listener's hostname: 421)", async () => {
  assert.equal((await get1("example.org", "second-example.org", "/detect-misdirected-requests")).status, 421);
  assert.equal((await get1("second-example.org", "example.org", "/detect-misdirected-requests")).status, 421);
  assert.equal((await get1("second-example.org", "second-example.org", "/")).status, 200);
});

test("misdirected requests: one coalesced HTTP/2 connection gets 421 per stream of another listener", async () => {
  const session = http2.connect(`https://${GW.https}:443`, {
    servername: "third-example.wildcard.org",
    ca: pem.get("validity.crt"),
    ...noNameCheck,
  });
  const status = (authority: string) =>
    new Promise<number>((resolve, reject) => {
      const req = session.request({ ":path": "/detect-misdirected-requests", ":authority": authority });
      let code = 0;
      req.on("response", (h) => (code = Number(h[":status"])));
      req.on("end", () => resolve(code));
      req.on("error", reject);
      req.resume();
      req.end();
    });
  try {
    // Same listener, another name: served; another listener's names: 421, and the session lives on.
    assert.deepEqual(
      [
        await status("fith-example.wildcard.org"),
        await status("fourth-example.wildcard.org"),
        await status("second-example.org"),
        await status("third-example.wildcard.org"),
      ],
      [200, 421, 421, 200],
    );
  } finally {
    session.close();
  }
});

/** tlsExchange opens TLS to addr:port with SNI sni trusting ca, sends a line and resolves with the reply. */
function tlsExchange(addr: string, port: number, sni: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: addr, port, servername: sni, ca }, () => s.write("hello\n"));
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => (out += d));
    s.on("end", () => resolve(out));
    s.on("error", reject);
    s.setTimeout(3000, () => s.destroy(new Error(`no reply within 3 s (got ${JSON.stringify(out)})`)));
  });
}

test("conformance e2e: tlsroute-simple-same-namespace (passthrough to the TLS backend, SNI kept)", async () => {
  const r = JSON.parse(await tlsExchange(GW.pass, 443, "abc.example.com", pem.get("ca.crt")!)) as Record<
    string,
    unknown
  >;
  assert.deepEqual(r, { pod: "tcp-backend", tls: true, sni: "abc.example.com" });
});

test("conformance e2e: tlsroute-terminate-simple-same-namespace (terminated, plain text to the backend)", async () => {
  // Twenty fresh connections: a client that speaks right after the handshake must always get its reply.
  for (let i = 0; i < 20; i++) {
    const r = JSON.parse(await tlsExchange(TERMINATE, 8443, "tls.example.com", pem.get("ca.crt")!)) as Record<
      string,
      unknown
    >;
    assert.deepEqual(r, { pod: "tcp-backend", tls: false, sni: "" }, `connection ${i}`);
  }
});

test("conformance e2e: gateway-invalid-tls-configuration (ResolvedRefs False, nothing served)", async () => {
  const names = ["nonexistent-secret", "unsupported-group", "unsupported-kind", "malformed-secret"];
  for (const [i, n] of names.entries()) {
    const st = await statusOf(p, "Gateway", `gateway-certificate-${n}`);
    const l = st.listeners.find((x) => x.name === "https");
    assert.equal(cond(l?.conditions, "ResolvedRefs"), "False", n);
    assert.equal(reason(l?.conditions, "ResolvedRefs"), "InvalidCertificateRef", n);
    assert.equal(l?.attachedRoutes, 0, n);
    // A listener without a usable certificate must not complete a handshake with some other one.
    const handshake = await new Promise<string>((resolve) => {
      const s = tls.connect(
        { host: `127.0.43.${6 + i}`, port: 443, servername: "example.org", rejectUnauthorized: false },
        () => {
          resolve(`handshake with ${s.getPeerCertificate().subject?.CN}`);
          s.destroy();
        },
      );
      s.on("error", (e) => resolve(`refused: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      s.on("close", () => resolve("closed"));
    });
    assert.doesNotMatch(handshake, /^handshake/, n);
  }
});

/** plain sends GET http://abc.example.com<path> to the same-namespace Gateway (port 80). */
function plain(path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { host: "abc.example.com" };
    const req = http.request({ host: GW.http, port: 80, path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(parse(res.statusCode!, body)));
    });
    req.on("error", reject);
    req.end();
  });
}

// Runs before any request reaches the TLS backend through a valid policy: see the todo test below.
test("conformance e2e: backendtlspolicy (mismatched hostname or CA: an HTTP error, not the backend)", async () => {
  assert.notEqual(
    (await plain("/backendtlspolicy-cert-mismatch")).status,
    200,
    "another CA signed the backend",
  );
  assert.notEqual(
    (await plain("/backendtlspolicy-host-mismatch")).status,
    200,
    "SAN does not name mismatch.example.com",
  );
});

test("conformance e2e: backendtlspolicy (re-encryption from HTTPS and HTTP listeners; SNI is the policy's hostname)", async () => {
  const ok = await get1("https-listener.org", "https-listener.org", "/backendtlspolicy");
  assert.equal(ok.status, 200);
  assert.equal(ok.echo?.sni, "abc.example.com");
  assert.equal(ok.echo?.path, "/backendtlspolicy");
  const good = await plain("/backendtlspolicy");
  assert.equal(good.status, 200);
  assert.equal(good.echo?.sni, "abc.example.com");
});

test(
  "backendtlspolicy: a policy with another CA stays refused after a valid policy reached the same endpoint",
  // Idle upstream connections and TLS sessions are keyed by the whole verification policy (SNI,
  // CA, names): one verified against the first CA is never reused for a policy naming another.
  async () => {
    assert.equal((await plain("/backendtlspolicy")).status, 200);
    assert.notEqual(
      (await plain("/backendtlspolicy-cert-mismatch")).status,
      200,
      "another CA signed the backend",
    );
  },
);

test("conformance e2e: grpcroute-exact-method-matching", async () => {
  const host = "grpcroute-exact-method-matching.conformance.test";
  const one = await grpc(GW.http, host, "Echo");
  assert.deepEqual(one, { code: 0, pod: "grpc-infra-backend-v1", method: `${GRPC_SERVICE}/Echo` });
  const two = await grpc(GW.http, host, "EchoTwo");
  assert.deepEqual(two, { code: 0, pod: "grpc-infra-backend-v2", method: `${GRPC_SERVICE}/EchoTwo` });
  assert.equal((await grpc(GW.http, host, "EchoThree")).code, 12, "Unimplemented");
});

test("conformance e2e: grpcroute-header-matching", async () => {
  const host = "grpcroute-header-matching.conformance.test";
  const cases: [Record<string, string>, string | undefined][] = [
    [{ Version: "one" }, "v1"],
    [{ Version: "two" }, "v2"],
    [{ Version: "two", Color: "orange" }, "v1"],
    [{ Version: "two", Color: "blue" }, "v2"],
    [{ Color: "orange" }, undefined],
    [{ "Some-Other-Header": "one" }, undefined],
    [{ Color: "blue" }, "v1"],
    [{ Color: "green" }, "v1"],
    [{ Color: "red" }, "v2"],
    [{ Color: "yellow" }, "v2"],
    [{ Color: "purple" }, undefined],
  ];
  const failures: string[] = [];
  for (const [meta, v] of cases) {
    const r = await grpc(GW.http, host, "Echo", meta);
    const want = v ? { code: 0, pod: `grpc-infra-backend-${v}` } : { code: 12, pod: undefined };
    if (r.code !== want.code || r.pod !== want.pod)
      failures.push(`${JSON.stringify(meta)}: ${r.code} ${r.pod}`);
  }
  assert.deepEqual(failures, []);
});

test("conformance e2e: grpcroute-listener-hostname-matching", async () => {
  const cases: [string, string | undefined][] = [
    ["bar.com", "v1"],
    ["foo.bar.com", "v2"],
    ["baz.bar.com", "v3"],
    ["boo.bar.com", "v3"],
    ["multiple.prefixes.bar.com", "v3"],
    ["multiple.prefixes.foo.com", "v3"],
    ["foo.com", undefined],
    ["no.matching.host", undefined],
  ];
  const failures: string[] = [];
  for (const [authority, v] of cases) {
    const r = await grpc(GW.grpcHosts, authority, "Echo");
    const want = v ? { code: 0, pod: `grpc-infra-backend-${v}` } : { code: 12, pod: undefined };
    if (r.code !== want.code || r.pod !== want.pod) failures.push(`${authority}: ${r.code} ${r.pod}`);
  }
  assert.deepEqual(failures, []);
});

test("conformance e2e: grpcroute-weight (70/30/0 over 300 calls)", async () => {
  const count = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const r = await grpc(GW.http, "grpcroute-weight.conformance.test", "Echo");
    assert.equal(r.code, 0);
    count.set(r.pod!, (count.get(r.pod!) ?? 0) + 1);
  }
  const share = (b: string) => (count.get(b) ?? 0) / 300;
  assert.ok(Math.abs(share("grpc-infra-backend-v1") - 0.7) < 0.1, JSON.stringify([...count]));
  assert.ok(Math.abs(share("grpc-infra-backend-v2") - 0.3) < 0.1, JSON.stringify([...count]));
  assert.equal(count.get("grpc-infra-backend-v3"), undefined, "weight 0 gets no traffic");
});

// ingress-nginx-routing.test.ts: ingress-nginx's path, redirect, protocol, timeout and host
// annotations in `portico run`, checked with curl and openssl against real backends on 127.0.0.1:
// rewrite-target with capture groups (an echo backend says the path it got), use-regex across
// Ingresses of a host, permanent/temporal redirects and codes, app-root, force-ssl-redirect,
// proxy-read-timeout (504 from a slow backend), proxy-body-size (413, with and without
// Content-Length), upstream-vhost and x-forwarded-prefix, server-alias, backend-protocol HTTPS
// (self-signed backend) and GRPC (an h2c backend), and ssl-passthrough (openssl s_client sees
// the backend's own certificate).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttps } from "node:https";
import { connect as connectH2, createSecureServer as createH2s, createServer as createH2c } from "node:http2";
import type { AddressInfo } from "node:net";
import { tempDir, writeManifest, startPortico, removeDir, run, waitFor, type Portico } from "./harness.ts";
import { backendService, httpBackend, ingressClass, pool, type HttpBackend } from "./fixtures.ts";
import { selfSigned } from "../support/certs.ts";

const HTTP = 18591;
const HTTPS = 18592;
const VIP = "127.0.179.1";
const N = "nginx.ingress.kubernetes.io";

let dir: string;
let state: string;
let p: Portico;
let echo: HttpBackend;
const closers: (() => void)[] = [];

/** curl requests http(s)://host:port/path through the VIP; -w prints the status and Location last. */
async function curl(host: string, path: string, extra: string[] = [], port = HTTP) {
  const scheme = port === HTTPS ? "https" : "http";
  const r = await run("curl", [
    "-sS",
    "--max-time",
    "15",
    "--resolve",
    `${host}:${port}:${VIP}`,
    "-w",
    "\n%{http_code} %{redirect_url}",
    ...extra,
    `${scheme}://${host}:${port}${path}`,
  ]);
  const lines = r.stdout.split("\n");
  const [status, location] = lines.pop()!.split(" ");
  return { status: Number(status), location: location ?? "", body: lines.join("\n"), stderr: r.stderr };
}

/** ing is an Ingress of one host with paths to Service svc. */
function ing(
  name: string,
  host: string,
  paths: string[],
  annotations: Record<string, string>,
  svc = "echo",
  extra = "",
) {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join("\n");
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  annotations:
${ann || '    portico.dev/none: ""'}
spec:
${extra}  rules:
    - host: ${host}
      http:
        paths:
${paths.map((x) => `          - { path: ${JSON.stringify(x)}, pathType: ImplementationSpecific, backend: { service: { name: ${svc}, port: { number: 80 } } } }`).join("\n")}
`;
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  echo = await httpBackend("echo");
  closers.push(echo.close);
  // An HTTPS backend with a self-signed certificate (backend-protocol HTTPS does not verify it).
  const tlsCert = selfSigned(["backend.internal"]);
  const https = createHttps({ cert: tlsCert.certPem, key: tlsCert.keyPem }, (req, res) => {
    res.end(`tls-backend ${req.url} ${req.socket.constructor.name}\n`);
  });
  // An h2c backend (gRPC's transport without TLS): it answers which protocol it was spoken to in.
  const h2c = createH2c((req, res) => {
    res.setHeader("content-type", "text/plain");
    res.end(`h2c-backend HTTP/${req.httpVersion} ${req.url}\n`);
  });
  // An HTTP/2-over-TLS backend (GRPCS) with a self-signed certificate, HTTP/2 only (no HTTP/1.1
  // fallback): it answers which protocol and scheme it was spoken to in.
  const h2s = createH2s({ cert: tlsCert.certPem, key: tlsCert.keyPem, allowHTTP1: false }, (req, res) => {
    res.setHeader("content-type", "text/plain");
    res.end(`h2-tls-backend HTTP/${req.httpVersion} ${req.headers[":scheme"]} ${req.url}\n`);
  });
  // The ssl-passthrough backend: a TLS server with its own certificate for the public name.
  const ptCert = selfSigned(["pt.test"]);
  const pt = createHttps({ cert: ptCert.certPem, key: ptCert.keyPem }, (req, res) => {
    res.end(`passthrough-backend ${req.url}\n`);
  });
  for (const s of [https, h2c, h2s, pt]) {
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    closers.push(() => s.close());
  }
  const port = (s: { address(): unknown }) => (s.address() as AddressInfo).port;
  writeManifest(dir, "pool.yaml", pool("e2e", [`${VIP}/32`]) + "---\n" + ingressClass);
  writeManifest(
    dir,
    "services.yaml",
    [
      backendService("default", "echo", echo.port),
      backendService("default", "tlsapp", port(https)),
      backendService("default", "grpc", port(h2c)),
      backendService("default", "grpcs", port(h2s)),
      backendService("default", "pt", port(pt)),
    ].join("---\n"),
  );
  writeManifest(
    dir,
    "ingresses.yaml",
    [
      ing("rewrite", "rw.test", ["/something(/|$)(.*)"], {
        [`${N}/rewrite-target`]: "/$2",
        [`${N}/use-regex`]: "true",
        [`${N}/x-forwarded-prefix`]: "/something",
      }),
      // A plain Ingress on the same host: its path turns into a ~* ^ regex too (host-wide regex mode).
      ing("plain", "rw.test", ["/Plain"], {}),
      ing("moved", "moved.test", ["/"], { [`${N}/permanent-redirect`]: "https://new.example/landing" }),
      ing("moved308", "moved308.test", ["/"], {
        [`${N}/permanent-redirect`]: "https://new.example/",
        [`${N}/permanent-redirect-code`]: "308",
      }),
      ing("temp", "temp.test", ["/"], { [`${N}/temporal-redirect`]: "/elsewhere" }),
      ing("approot", "approot.test", ["/"], { [`${N}/app-root`]: "/app1" }),
      ing("force", "force.test", ["/"], { [`${N}/force-ssl-redirect`]: "true" }),
      ing("slow", "slow.test", ["/"], { [`${N}/proxy-read-timeout`]: "1" }),
      ing("body", "body.test", ["/"], { [`${N}/proxy-body-size`]: "1k" }),
      ing("vhost", "vhost.test", ["/"], { [`${N}/upstream-vhost`]: "internal.example" }),
      ing("alias", "main.test", ["/"], { [`${N}/server-alias`]: "alias.test, other-alias.test" }),
      ing("tls", "tls.test", ["/"], { [`${N}/backend-protocol`]: "HTTPS" }, "tlsapp"),
      ing("grpc", "grpc.test", ["/"], { [`${N}/backend-protocol`]: "GRPC" }, "grpc"),
      ing("grpcs", "grpcs.test", ["/"], { [`${N}/backend-protocol`]: "GRPCS" }, "grpcs"),
      ing("pt", "pt.test", ["/"], { [`${N}/ssl-passthrough`]: "true" }, "pt"),
    ].join("---\n"),
  );
  p = await startPortico(
    [dir],
    ["--state-dir", state, "--http-port", String(HTTP), "--https-port", String(HTTPS)],
  );
  await waitFor("rw.test served", async () => (await curl("rw.test", "/something/x")).status === 200, 30_000);
});

after(async () => {
  await p?.stop();
  for (const c of closers) c();
  if (dir) removeDir(dir);
  if (state) removeDir(state);
});

test("rewrite-target with capture groups: the backend gets /$2, query kept, case-insensitive; X-Forwarded-Prefix sent", async () => {
  assert.equal((await curl("rw.test", "/something/new?a=1")).body, "echo GET /new?a=1\n");
  assert.equal((await curl("rw.test", "/something")).body, "echo GET /\n");
  assert.equal((await curl("rw.test", "/SOMETHING/Deep/Path")).body, "echo GET /Deep/Path\n");
  const seen = echo.seen.find((s) => s.url === "/Deep/Path");
  assert.equal(seen?.headers["x-forwarded-prefix"], "/something");
  // The other Ingress of the host is in regex mode too: "~* ^/Plain" matches /plain and /plainer, unrewritten.
  assert.equal((await curl("rw.test", "/plain")).body, "echo GET /plain\n");
  assert.equal((await curl("rw.test", "/PLAINER/x")).body, "echo GET /PLAINER/x\n");
  assert.equal((await curl("rw.test", "/nothing")).status, 404);
});

test("permanent-redirect (301, and 308 by -code), temporal-redirect (302 to a path), app-root (302 for / only)", async () => {
  const moved = await curl("moved.test", "/any/path?q=1");
  assert.deepEqual([moved.status, moved.location], [301, "https://new.example/landing"]);
  const m308 = await curl("moved308.test", "/");
  assert.deepEqual([m308.status, m308.location], [308, "https://new.example/"]);
  const temp = await curl("temp.test", "/x");
  assert.deepEqual([temp.status, temp.location], [302, `http://temp.test:${HTTP}/elsewhere`]);
  const root = await curl("approot.test", "/");
  assert.deepEqual([root.status, root.location], [302, `http://approot.test:${HTTP}/app1`]);
  assert.equal((await curl("approot.test", "/app1")).body, "echo GET /app1\n");
});

test("force-ssl-redirect: 308 to https even though the host has no certificate in Portico", async () => {
  const r = await curl("force.test", "/p?x=1");
  assert.deepEqual([r.status, r.location], [308, `https://force.test:${HTTPS}/p?x=1`]);
});

test("proxy-read-timeout 1: a backend silent for 3 s gets the client a 504 in about a second", async (t) => {
  const t0 = performance.now();
  const r = await curl("slow.test", "/slow?ms=3000");
  const ms = performance.now() - t0;
  assert.equal(r.status, 504);
  t.diagnostic(`504 after ${Math.round(ms)} ms`);
  // Generous bounds on a shared machine: the timeout is 1 s, the backend would answer at 3 s.
  assert.ok(ms >= 900 && ms < 2900, `took ${Math.round(ms)} ms`);
  assert.equal((await curl("slow.test", "/slow?ms=10")).status, 200);
});

test("proxy-body-size 1k: 413 for a larger body, by Content-Length and chunked; a small body passes", async () => {
  const big = "x".repeat(4096);
  assert.equal((await curl("body.test", "/up", ["--data-binary", big])).status, 413);
  const chunked = await curl("body.test", "/up", ["-H", "Transfer-Encoding: chunked", "--data-binary", big]);
  assert.equal(chunked.status, 413);
  assert.equal((await curl("body.test", "/up", ["--data-binary", "x".repeat(512)])).status, 200);
});

test("upstream-vhost: the backend gets Host internal.example", async () => {
  assert.equal((await curl("vhost.test", "/vh")).status, 200);
  assert.equal(echo.seen.find((s) => s.url === "/vh")?.headers.host, "internal.example");
});

test("server-alias: alias.test and other-alias.test are served by main.test's rules; unknown hosts are not", async () => {
  assert.equal((await curl("alias.test", "/a1")).body, "echo GET /a1\n");
  assert.equal((await curl("other-alias.test", "/a2")).body, "echo GET /a2\n");
  assert.equal((await curl("nobody.test", "/a3")).status, 404);
});

test("backend-protocol HTTPS re-encrypts to a self-signed backend; GRPC speaks h2c; GRPCS speaks HTTP/2 over TLS", async () => {
  assert.match((await curl("tls.test", "/t")).body, /^tls-backend \/t TLSSocket/);
  assert.equal((await curl("grpc.test", "/pkg.Svc/Method")).body, "h2c-backend HTTP/2.0 /pkg.Svc/Method\n");
  // From an HTTP/1.1 client (the bridge) and an HTTP/2 client (h2c.ts): the backend refuses
  // anything but HTTP/2 over TLS, so a 200 with its body shows the protocol.
  assert.equal((await curl("grpcs.test", "/pkg.Svc/M")).body, "h2-tls-backend HTTP/2.0 https /pkg.Svc/M\n");
  assert.equal(
    (await curl("grpcs.test", "/pkg.Svc/N", ["--http2-prior-knowledge"])).body,
    "h2-tls-backend HTTP/2.0 https /pkg.Svc/N\n",
  );
});

test("ssl-passthrough: openssl s_client with SNI pt.test gets the backend's certificate; HTTPS reaches the backend", async () => {
  const r = await run(
    "openssl",
    ["s_client", "-connect", `${VIP}:${HTTPS}`, "-servername", "pt.test", "-brief"],
    "",
  );
  assert.match(r.stderr + r.stdout, /CN\s?=\s?pt\.test/);
  const got = await curl("pt.test", "/inside", ["-k"], HTTPS);
  assert.equal(got.body, "passthrough-backend /inside\n");
});

/** h2Post sends a body over HTTP/2 (prior knowledge) to host on the VIP, with or without content-length. */
async function h2Post(host: string, body: string, withLength: boolean): Promise<number> {
  const session = connectH2(`http://${VIP}:${HTTP}`);
  try {
    return await new Promise<number>((resolve, reject) => {
      const headers: Record<string, string | number> = {
        ":method": "POST",
        ":path": "/up",
        ":authority": host,
      };
      if (withLength) headers["content-length"] = Buffer.byteLength(body);
      const req = session.request(headers);
      req.on("response", (h) => resolve(Number(h[":status"])));
      // A reset after the answer (the rest of the body refused) is expected, not a failure.
      req.on("error", reject);
      req.end(body);
    });
  } finally {
    session.destroy();
  }
}

test("over HTTP/2 (prior knowledge): the rewrite, the body limit (with and without content-length) and the h2c backend", async () => {
  const h2 = ["--http2-prior-knowledge"];
  assert.equal((await curl("rw.test", "/something/h2?x=1", h2)).body, "echo GET /h2?x=1\n");
  const big = "y".repeat(4096);
  assert.equal(await h2Post("body.test", big, true), 413);
  assert.equal(await h2Post("body.test", big, false), 413);
  assert.equal(await h2Post("body.test", "small", false), 200);
  assert.equal((await curl("grpc.test", "/pkg.Svc/Other", h2)).body, "h2c-backend HTTP/2.0 /pkg.Svc/Other\n");
});

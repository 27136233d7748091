// gateway-frontend-mtls.test.ts: `portico run` on a Gateway with spec.tls.frontend client
// certificate validation (GatewayFrontendClientCertificateValidation). Port 18450 asks for a
// certificate the client CA signed (default, AllowValidOnly); port 18451 overrides it per port with
// AllowInsecureFallback; port 18452 names a CA that does not exist, so its listener is refused and
// nothing listens; the HTTP port 18453 is untouched. Real clients: curl with --cert, over HTTP/1.1
// and HTTP/2. Certificates come from the openssl CLI. VIP 127.0.45.1, a static Gateway address.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, writeManifest, startPortico, run, waitFor, removeDir, type Portico } from "./harness.ts";
import { pool, backendService, httpBackend, type HttpBackend } from "./fixtures.ts";
import { cond, gatewayClass, reason, statusOf } from "./gateway-helpers.ts";

const VIP = "127.0.45.1";
const [STRICT, FALLBACK, BROKEN, PLAIN] = [18450, 18451, 18452, 18453];
let dir: string, state: string, certs: string;
let p: Portico;
let web: HttpBackend;
const at = (f: string) => join(certs, f);

async function openssl(args: string[]): Promise<void> {
  const r = await run("openssl", args);
  assert.equal(r.code, 0, r.stderr);
}

const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** selfSigned writes certs/<file>.{crt,key}: a CA when ca is set, else a leaf for name. */
async function selfSigned(file: string, name: string, ca: boolean): Promise<void> {
  const ext = ca
    ? ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign,cRLSign"]
    : ["-addext", `subjectAltName=DNS:${name}`];
  await openssl(
    ["req", "-x509", ...ec, "-keyout", at(`${file}.key`), "-out", at(`${file}.crt`)].concat([
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      ...ext,
    ]),
  );
}

/** signed writes certs/<file>.{crt,key}, a client certificate for name signed by certs/<ca>. */
async function signed(ca: string, file: string, name: string): Promise<void> {
  writeFileSync(at(`${file}.ext`), "extendedKeyUsage=clientAuth\n");
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

const b64 = (f: string) => readFileSync(at(f)).toString("base64");
const indented = (f: string) =>
  readFileSync(at(f), "utf8")
    .trim()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");

before(async () => {
  dir = tempDir();
  state = tempDir();
  certs = tempDir();
  await selfSigned("gateway", "*.mtls.test", false);
  await selfSigned("client-ca", "client-ca", true);
  await signed("client-ca", "alice", "alice");
  await selfSigned("mallory", "mallory", false);
  web = await httpBackend("web");
  writeManifest(dir, "pool.yaml", pool("mtls", [`${VIP}-${VIP}`]));
  const listener = (name: string, port: number) => `    - name: ${name}
      port: ${port}
      protocol: HTTPS
      tls: { certificateRefs: [{ name: gw-tls }] }
`;
  writeManifest(
    dir,
    "gateway.yaml",
    `${gatewayClass}---
apiVersion: v1
kind: Secret
metadata: { name: gw-tls, namespace: infra }
type: kubernetes.io/tls
data: { tls.crt: ${b64("gateway.crt")}, tls.key: ${b64("gateway.key")} }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: client-ca, namespace: infra }
data:
  ca.crt: |
${indented("client-ca.crt")}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: mtls, namespace: infra }
spec:
  gatewayClassName: portico
  addresses: [{ type: IPAddress, value: ${VIP} }]
  tls:
    frontend:
      default:
        validation: { caCertificateRefs: [{ group: "", kind: ConfigMap, name: client-ca }] }
      perPort:
        - port: ${FALLBACK}
          tls:
            validation:
              mode: AllowInsecureFallback
              caCertificateRefs: [{ group: "", kind: ConfigMap, name: client-ca }]
        - port: ${BROKEN}
          tls:
            validation: { caCertificateRefs: [{ group: "", kind: ConfigMap, name: does-not-exist }] }
  listeners:
${listener("strict", STRICT)}${listener("fallback", FALLBACK)}${listener("broken", BROKEN)}    - name: plain
      port: ${PLAIN}
      protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: infra }
spec:
  parentRefs: [{ name: mtls }]
  rules: [{ backendRefs: [{ name: web, port: 80 }] }]
`,
  );
  writeManifest(dir, "backends.yaml", backendService("infra", "web", web.port));
  p = await startPortico([dir], ["--state-dir", state]);
  await waitFor("the plain listener", async () =>
    (await curl(PLAIN, [], "http")).stdout.startsWith("web GET"),
  );
});

after(async () => {
  await p?.stop();
  web?.close();
  for (const d of [dir, state, certs]) if (d) removeDir(d);
});

/** curl GETs /who on port as a.mtls.test, presenting client certificate who (or none). */
function curl(port: number, extra: string[] = [], scheme = "https", who?: string) {
  const cert = who === undefined ? [] : ["--cert", at(`${who}.crt`), "--key", at(`${who}.key`)];
  return run("curl", [
    "-sS",
    "--max-time",
    "5",
    "--cacert",
    at("gateway.crt"),
    "--resolve",
    `a.mtls.test:${port}:${VIP}`,
    ...cert,
    ...extra,
    `${scheme}://a.mtls.test:${port}/who`,
  ]);
}

test("AllowValidOnly: a certificate the client CA signed is served, over HTTP/1.1 and HTTP/2", async () => {
  for (const v of ["--http1.1", "--http2"]) {
    const r = await curl(STRICT, [v, "-w", " %{http_version}"], "https", "alice");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `web GET /who\n ${v === "--http2" ? "2" : "1.1"}`);
  }
});

test("AllowValidOnly: no certificate, or one another CA signed, gets no answer", async () => {
  const before = web.seen.length;
  for (const who of [undefined, "mallory"]) {
    const r = await curl(STRICT, [], "https", who);
    assert.notEqual(r.code, 0, `client ${who ?? "without certificate"}: ${r.stdout}`);
    assert.equal(r.stdout, "");
  }
  assert.equal(web.seen.length, before, "nothing reached the backend");
});

test("AllowInsecureFallback (perPort): every client is served, with or without a valid certificate", async () => {
  for (const who of ["alice", "mallory", undefined]) {
    const r = await curl(FALLBACK, [], "https", who);
    assert.equal(r.code, 0, `${who}: ${r.stderr}`);
    assert.equal(r.stdout, "web GET /who\n");
  }
});

test("status: the broken CA refuses its listener (NoValidCACertificate); the others are programmed", async () => {
  const gw = await statusOf(p, "Gateway", "mtls");
  const by = Object.fromEntries(gw.listeners.map((l) => [l.name, l.conditions]));
  assert.equal(reason(by.broken, "Accepted"), "NoValidCACertificate");
  assert.equal(reason(by.broken, "ResolvedRefs"), "InvalidCACertificateRef");
  assert.equal(cond(by.broken, "Programmed"), "False");
  for (const name of ["strict", "fallback", "plain"])
    assert.equal(cond(by[name], "Programmed"), "True", name);
  const r = await curl(BROKEN, [], "https", "alice");
  assert.notEqual(r.code, 0, "nothing listens on the refused listener's port");
  // The HTTP listener never asks for a certificate.
  assert.equal((await curl(PLAIN, [], "http")).stdout, "web GET /who\n");
});

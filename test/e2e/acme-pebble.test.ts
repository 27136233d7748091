// acme-pebble.test.ts: the built-in ACME issuer against Pebble (Debian's pebble and
// pebble-challtestsrv, installed by scripts/peers.sh). `portico run` serves two Ingresses that ask
// CertificateIssuers for their certificates, one by HTTP-01 and one by TLS-ALPN-01; Pebble's VA
// resolves every name to the Ingress VIP through challtestsrv's DNS and validates on the VIP's
// ports. Pebble issues 20-second certificates, so renewal (at two thirds) happens during the test,
// under a handshake loop that must see no failure.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type ChildProcess } from "node:child_process";
import {
  tempDir,
  writeManifest,
  startPortico,
  waitFor,
  removeDir,
  logLines,
  portico,
  type Portico,
} from "./harness.ts";
import { httpBackend, pool, backendService, ingressClass, type HttpBackend } from "./fixtures.ts";
import { child, issuerYaml, peerCert, startPebble } from "./pebble.ts";

const VIP = "127.0.41.1";
const HTTP = 18780;
const HTTPS = 18781;
const PEBBLE = 18701;
const DNS = 18703;
const VALIDITY_S = 20;
const have = spawnSync("sh", ["-c", "command -v pebble && command -v pebble-challtestsrv"]).status === 0;
const skip = have ? false : "pebble is not installed: run scripts/peers.sh (Debian package pebble)";

let dir: string, state: string, work: string;
let web: HttpBackend;
let p: Portico;
const children: ChildProcess[] = [];
let started = 0;

// peer is the certificate a handshake for name gets.
const peer = (name: string) => peerCert(VIP, HTTPS, name);

const ingress = (name: string, host: string, iss: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  annotations: { portico.dev/certificate-issuer: ${iss} }
spec:
  tls: [{ hosts: [${host}], secretName: ${name}-tls }]
  rules:
    - host: ${host}
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }]
`;

before(async () => {
  if (!have) return;
  dir = tempDir();
  state = tempDir();
  work = tempDir();
  web = await httpBackend("web");
  // challtestsrv is only Pebble's DNS here: every name resolves to the Ingress VIP.
  child(children, "pebble-challtestsrv", [
    "-dns01",
    `127.0.0.1:${DNS}`,
    "-http01",
    "",
    "-https01",
    "",
    "-tlsalpn01",
    "",
    "-management",
    `127.0.0.1:${DNS + 1}`,
    "-defaultIPv4",
    VIP,
    "-defaultIPv6",
    "",
  ]);
  const caPem = await startPebble(children, {
    work,
    port: PEBBLE,
    managementPort: PEBBLE + 1,
    httpPort: HTTP,
    tlsPort: HTTPS,
    dnsServer: `127.0.0.1:${DNS}`,
    validitySeconds: VALIDITY_S,
  });
  writeManifest(dir, "pool.yaml", pool("acme", [`${VIP}/32`]) + "---\n" + ingressClass);
  writeManifest(dir, "web.yaml", backendService("default", "web", web.port));
  writeManifest(
    dir,
    "issuers.yaml",
    issuerYaml("pebble-http", "HTTP01", PEBBLE, caPem) +
      "---\n" +
      issuerYaml("pebble-alpn", "TLSALPN01", PEBBLE, caPem),
  );
  writeManifest(
    dir,
    "ingress.yaml",
    ingress("shop", "shop.acme.test", "pebble-http") +
      "---\n" +
      ingress("blog", "blog.acme.test", "pebble-alpn"),
  );
  started = Date.now();
  p = await startPortico(
    [dir],
    ["--state-dir", state, "--http-port", String(HTTP), "--https-port", String(HTTPS)],
  );
});

after(async () => {
  await p?.stop();
  for (const c of children) c.kill("SIGTERM");
  web?.close();
  for (const d of [dir, state, work]) if (d) removeDir(d);
});

test("HTTP-01 and TLS-ALPN-01: each Ingress is served a certificate Pebble issued", { skip }, async () => {
  for (const host of ["shop.acme.test", "blog.acme.test"]) {
    const cert = await waitFor(
      `a Pebble certificate for ${host}`,
      async () => {
        const c = await peer(host);
        return /Pebble/.test(String(c.issuer?.CN ?? "")) ? c : undefined;
      },
      30_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${p.logs.filter((l) => /acme|error|warn/.test(l)).join("\n")}`);
    });
    assert.equal(cert.subject.CN, host);
    assert.match(cert.subjectaltname ?? "", new RegExp(`DNS:${host.replace(/\./g, "\\.")}`));
  }
  const issued = logLines(p, "acme: certificate issued");
  const took = Date.now() - started;
  console.log(
    `two certificates (HTTP-01, TLS-ALPN-01) served ${took} ms after start; orders took`,
    issued.map((l) => l.ms),
  );
  assert.ok(
    issued.every((l) => (l.ms as number) < 10_000),
    "each order completes within 10 s",
  );
  // openssl s_client names Pebble as the issuer.
  const r = spawnSync(
    "openssl",
    ["s_client", "-connect", `${VIP}:${HTTPS}`, "-servername", "shop.acme.test"],
    { input: "", encoding: "utf8", timeout: 10_000 },
  );
  assert.match(r.stdout, /issuer=.*Pebble/);
  const status = (await p.status()).find((s) => s.kind === "CertificateIssuer" && s.name === "pebble-http");
  assert.equal(status?.status.conditions?.find((c) => c.type === "Ready")?.status, "True");
  // Keys and tokens never reach the log.
  assert.doesNotMatch(p.logs.join("\n"), /PRIVATE KEY|keyAuthorization/);
});

test("portico certificates renew orders a certificate now, through the admin API", { skip }, async () => {
  const first = await peer("blog.acme.test");
  const admin = p.adminUrl.replace("http://", "");
  const asked = Date.now();
  const r = await portico(["certificates", "renew", "default/blog-tls", "--admin", admin]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /renewal of default\/blog-tls ordered/);
  await waitFor("the renewal logged", async () =>
    logLines(p, "acme: renewal requested").some((l) => l.secret === "default/blog-tls"),
  );
  const renewed = await waitFor(
    "the renewed certificate served",
    async () => {
      const c = await peer("blog.acme.test");
      return c.serialNumber !== first.serialNumber ? c : undefined;
    },
    20_000,
  );
  console.log(`forced renewal (TLS-ALPN-01) served ${Date.now() - asked} ms after the command`);
  assert.match(String(renewed.issuer?.CN ?? ""), /Pebble/);
  const none = await portico(["certificates", "renew", "default/nothing", "--admin", admin]);
  assert.equal(none.code, 1);
  assert.match(
    none.stderr,
    /no certificate is requested from a CertificateIssuer under Secret default\/nothing/,
  );
});

test(
  "renewal at two thirds of the lifetime: new certificate served, no failed handshake under load",
  { skip },
  async () => {
    const first = await peer("shop.acme.test");
    let ok = 0;
    const failures: string[] = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        try {
          const c = await peer("shop.acme.test");
          if (/Pebble/.test(String(c.issuer?.CN ?? ""))) ok++;
          else failures.push(`served ${c.issuer?.CN}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    })();
    const renewed = await waitFor(
      "a renewed certificate",
      async () => {
        const c = await peer("shop.acme.test");
        return c.serialNumber !== first.serialNumber ? c : undefined;
      },
      VALIDITY_S * 1000 * 2,
    );
    stop = true;
    await load;
    console.log(
      `renewed: serial ${first.serialNumber} → ${renewed.serialNumber}; ${ok} handshakes, ${failures.length} failed`,
    );
    assert.deepEqual(failures, []);
    assert.ok(ok > 10, `handshakes ran during the renewal (${ok})`);
  },
);

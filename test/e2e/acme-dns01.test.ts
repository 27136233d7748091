// acme-dns01.test.ts: DNS-01 through Portico's own DNS, against Pebble (Debian's pebble, installed
// by scripts/peers.sh). `portico run` serves a DnsZone on 127.0.42.53 and an Ingress asking a DNS01
// CertificateIssuer for `dns01.test` and `*.dns01.test` (one order, two authorizations, two TXT
// values on one name). Pebble's resolver is a relay owned by the test in front of Portico's DNS:
// it holds Pebble's first `_acme-challenge` TXT query until the test has asked Portico itself with
// dig, so the record is seen during the order deterministically; then Pebble validates through
// Portico's answer, the certificate is served, and the record is gone. A second Ingress asks for a
// name in no zone Portico serves: its order fails with that reason and Pebble is never asked.
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
  type Portico,
} from "./harness.ts";
import { httpBackend, pool, backendService, ingressClass, type HttpBackend } from "./fixtures.ts";
import { freePort } from "./l4-helpers.ts";
import { dig } from "./dns-helpers.ts";
import { issuerYaml, peerCert, startDnsRelay, startPebble, type DnsRelay } from "./pebble.ts";

const VIP = "127.0.42.1";
const DNS_VIP = "127.0.42.53";
const ZONE = "dns01.test";
const NAME = `_acme-challenge.${ZONE}`;
const have =
  spawnSync("sh", ["-c", "command -v pebble && command -v dig && command -v openssl"]).status === 0;
const skip = have
  ? false
  : "pebble or dig is not installed: run scripts/peers.sh (Debian packages pebble, dnsutils)";

let dir: string, state: string, work: string;
let web: HttpBackend;
let p: Portico;
let dnsPort: number, httpsPort: number;
const children: ChildProcess[] = [];
let started = 0;
let relay: DnsRelay | undefined;

const peer = (name: string) => peerCert(VIP, httpsPort, name);

const txt = async () => (await dig(DNS_VIP, dnsPort, NAME, "TXT")).answer;

before(async () => {
  if (!have) return;
  dir = tempDir();
  state = tempDir();
  work = tempDir();
  web = await httpBackend("web");
  dnsPort = await freePort(DNS_VIP, "UDP");
  httpsPort = await freePort(VIP);
  const pebblePort = await freePort("127.0.0.1");
  relay = await startDnsRelay(DNS_VIP, dnsPort);
  // DNS-01 only: nothing listens on Pebble's HTTP-01 and TLS-ALPN-01 ports.
  const caPem = await startPebble(children, {
    work,
    port: pebblePort,
    managementPort: await freePort("127.0.0.1"),
    httpPort: await freePort(VIP),
    tlsPort: await freePort(VIP),
    dnsServer: `127.0.0.1:${relay.port}`,
  });
  writeManifest(dir, "pool.yaml", pool("acme", [`${VIP}/32`, `${DNS_VIP}/32`]) + "---\n" + ingressClass);
  writeManifest(dir, "web.yaml", backendService("default", "web", web.port));
  writeManifest(
    dir,
    "zone.yaml",
    `apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: { name: dns01 }
spec:
  zone: ${ZONE}
  ttl: 300
  soa: { minimum: 3600 }
  listen: { address: ${DNS_VIP}, port: ${dnsPort} }
`,
  );
  writeManifest(dir, "issuer.yaml", issuerYaml("pebble-dns", "DNS01", pebblePort, caPem));
  const ingress = (name: string, hosts: string[]) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  annotations: { portico.dev/certificate-issuer: pebble-dns }
spec:
  tls: [{ hosts: [${hosts.map((h) => `"${h}"`).join(", ")}], secretName: ${name}-tls }]
  rules:
${hosts
  .map(
    (h) => `    - host: "${h}"
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }]`,
  )
  .join("\n")}
`;
  writeManifest(
    dir,
    "ingress.yaml",
    ingress("wild", [ZONE, `*.${ZONE}`]) + "---\n" + ingress("outside", ["shop.elsewhere.test"]),
  );
  started = Date.now();
  p = await startPortico([dir], ["--state-dir", state, "--https-port", String(httpsPort)]);
});

after(async () => {
  relay?.release();
  await p?.stop();
  for (const c of children) c.kill("SIGTERM");
  relay?.close();
  web?.close();
  for (const d of [dir, state, work]) if (d) removeDir(d);
});

test(
  "DNS-01 for a name and its wildcard: Portico's DNS answers both values, Pebble issues, record removed",
  { skip },
  async () => {
    // Pebble asks the relay for the TXT record only after Portico told it to validate.
    await waitFor("Pebble's _acme-challenge query", () => relay!.held() > 0, 20_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${p.logs.filter((l) => /acme|error|warn/.test(l)).join("\n")}`);
    });
    const during = await txt();
    relay!.release();
    // One order, two authorizations (dns01.test and *.dns01.test): both values at once, low TTL.
    assert.equal(during.length, 2, `two TXT values during the order: ${during.join(" | ")}`);
    for (const r of during) assert.match(r, /^_acme-challenge\.dns01\.test\. 10 TXT "[A-Za-z0-9_-]{43}"$/);
    assert.notEqual(during[0], during[1]);

    const cert = await waitFor(
      "a Pebble certificate for dns01.test and *.dns01.test",
      async () => {
        const c = await peer(`shop.${ZONE}`);
        return /Pebble/.test(String(c.issuer?.CN ?? "")) ? c : undefined;
      },
      30_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${p.logs.filter((l) => /acme|error|warn/.test(l)).join("\n")}`);
    });
    const served = Date.now() - started;
    assert.match(cert.subjectaltname ?? "", /DNS:\*\.dns01\.test/);
    assert.match(cert.subjectaltname ?? "", /DNS:dns01\.test(,|$)/);
    const issued = logLines(p, "acme: certificate issued");
    console.log(
      `DNS-01 wildcard certificate served ${served} ms after start; order took`,
      issued.map((l) => l.ms),
    );
    assert.ok(issued.length === 1 && (issued[0]!.ms as number) < 10_000, "the order completes within 10 s");
    assert.ok(relay!.asked.includes(NAME), "Pebble validated through Portico's DNS");

    // openssl names Pebble as the issuer for a name only the wildcard covers.
    const r = spawnSync(
      "openssl",
      ["s_client", "-connect", `${VIP}:${httpsPort}`, "-servername", `www.${ZONE}`],
      { input: "", encoding: "utf8", timeout: 10_000 },
    );
    assert.match(r.stdout, /issuer=.*Pebble/);

    // The records are withdrawn once the authorizations are valid (the *.dns01.test A record now
    // covers the name: NODATA for TXT).
    await waitFor("the TXT records withdrawn", async () => (await txt()).length === 0);
    assert.doesNotMatch(p.logs.join("\n"), /PRIVATE KEY|keyAuthorization/);
  },
);

test(
  "a name in no zone Portico serves: the order fails with that reason, the CA is not asked",
  { skip },
  async () => {
    const status = await waitFor("the outside certificate's failure", async () => {
      const s = (await p.status()).find((x) => x.kind === "CertificateIssuer" && x.name === "pebble-dns");
      const certs = (s?.status.certificates ?? []) as { secret: string; state: string; message: string }[];
      const c = certs.find((x) => x.secret === "default/outside-tls");
      return c?.state === "Failed" ? c : undefined;
    });
    assert.match(
      status.message,
      /DNS-01 for shop\.elsewhere\.test: _acme-challenge\.shop\.elsewhere\.test is in no DnsZone Portico serves/,
    );
    assert.ok(!relay!.asked.some((n) => n.endsWith("elsewhere.test")), "Pebble never looked it up");
    // The log names the asking object with the same reason.
    assert.ok(
      logLines(p, "acme: order failed").some(
        (l) => l.owner === "Ingress/default/outside" && /in no DnsZone Portico serves/.test(String(l.error)),
      ),
    );
  },
);

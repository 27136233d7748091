// dns-zone.test.ts: DNS end to end — `portico run` on a directory with a DnsZone on 127.0.x:PORT,
// an Ingress and an HTTPRoute in the zone; `dig` gets their A records; a manifest change shows in
// the answers, a removal disappears, and a backend failing its health check withdraws its record
// (and it comes back when healthy). Times are measured and printed, bounds are generous.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, portico } from "./harness.ts";
import { backendService, pool } from "./fixtures.ts";
import { freePort } from "./l4-helpers.ts";
import { dig, toolSkip } from "./dns-helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const DNS_VIP = "127.0.53.53";

/** app answers 200, and /healthz with 200 or 503 as `healthy` says. */
async function app() {
  const state = { healthy: true };
  const server = createServer((req, res) => {
    if (req.url === "/healthz") res.statusCode = state.healthy ? 200 : 503;
    res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => void server.close());
  return { state, port: (server.address() as AddressInfo).port };
}

function ingress(name: string, host: string, service: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: default }
spec:
  ingressClassName: portico
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${service}, port: { number: 80 } } } }] }
`;
}

/** timed polls check every few ms and returns how long it took to hold. */
async function timed(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<number> {
  const t0 = performance.now();
  await waitFor(what, check, ms);
  return Math.round(performance.now() - t0);
}

test(
  "dig answers for an Ingress and an HTTPRoute in a DnsZone; changes, removals and health follow",
  { skip: toolSkip("dig") },
  async () => {
    const dir = tempDir();
    const state = tempDir();
    cleanups.push(
      () => removeDir(dir),
      () => removeDir(state),
    );
    const web = await app();
    const api = await app();
    const dnsPort = await freePort(DNS_VIP, "UDP");
    const httpPort = await freePort("127.0.53.1");
    const gwPort = await freePort("127.0.53.2");
    writeManifest(
      dir,
      "base.yaml",
      [
        pool("dns-e2e", ["127.0.53.1-127.0.53.9", `${DNS_VIP}/32`]),
        `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico }
spec: { controller: portico.dev/ingress-controller }
`,
        `apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: { name: e2e }
spec:
  zone: e2e.test
  ttl: 5
  listen: { address: ${DNS_VIP}, port: ${dnsPort} }
  records:
    - { name: www.e2e.test, type: CNAME, value: web.e2e.test }
`,
        backendService("default", "web", web.port, `  selector: {}`).replace(
          "metadata: { name: web, namespace: default }",
          `metadata:
  name: web
  namespace: default
  annotations: { portico.dev/health-check: "http:/healthz", portico.dev/health-check-interval: 1s }`,
        ),
        backendService("default", "api", api.port),
        `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico }
spec: { controllerName: portico.dev/gateway-controller }
`,
        `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: portico
  listeners: [{ name: http, port: ${gwPort}, protocol: HTTP, hostname: "*.apps.e2e.test" }]
`,
        `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: api, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [api.apps.e2e.test]
  rules: [{ backendRefs: [{ name: api, port: 80 }] }]
`,
        ingress("web", "web.e2e.test", "web"),
      ].join("---\n"),
    );
    const p = await startPortico([dir], ["--state-dir", state, "--http-port", String(httpPort)]);
    cleanups.push(() => p.stop());
    const a = async (name: string) => (await dig(DNS_VIP, dnsPort, name, "A")).answer;
    const ingressVip = await waitFor("Ingress VIP", () => p.vip("Ingress", "default", "web"));

    // The Ingress's and the HTTPRoute's names, over UDP and TCP; SOA and NS at the apex.
    await waitFor("web.e2e.test answered", async () => (await a("web.e2e.test")).length > 0, 15_000);
    assert.deepEqual(await a("web.e2e.test"), [`web.e2e.test. 5 A ${ingressVip}`]);
    const route = await dig(DNS_VIP, dnsPort, "api.apps.e2e.test", "A", { tcp: true });
    assert.equal(route.rcode, "NOERROR");
    assert.match(route.answer[0] ?? "", /^api\.apps\.e2e\.test\. 5 A 127\.0\.53\.\d$/);
    assert.ok(route.flags.includes("aa"));
    const soa = await dig(DNS_VIP, dnsPort, "e2e.test", "SOA");
    assert.match(soa.answer[0] ?? "", /^e2e\.test\. 5 SOA ns\.e2e\.test\. hostmaster\.e2e\.test\. \d+ /);
    assert.deepEqual((await dig(DNS_VIP, dnsPort, "ns.e2e.test", "A")).answer, [
      `ns.e2e.test. 5 A ${DNS_VIP}`,
    ]);
    // The wildcard of the Gateway listener answers names no route claims.
    assert.match((await a("other.apps.e2e.test"))[0] ?? "", /^other\.apps\.e2e\.test\. 5 A 127\.0\.53\.\d$/);
    const serial1 = Number(soa.answer[0]!.split(" ")[5]);

    // A new Ingress in the zone: its name answers within a second or so of the write.
    const t0 = performance.now();
    writeManifest(dir, "new.yaml", ingress("new", "new.e2e.test", "api"));
    await waitFor("new.e2e.test answered", async () => (await a("new.e2e.test")).length > 0, 10_000);
    const appear = Math.round(performance.now() - t0);
    const serial2 = Number((await dig(DNS_VIP, dnsPort, "e2e.test", "SOA")).answer[0]!.split(" ")[5]);
    assert.ok(serial2 > serial1, `serial ${serial1} → ${serial2}`);

    // Editing its host: the old name goes, the new one comes (a change, applied at once).
    const tEdit = performance.now();
    writeManifest(dir, "new.yaml", ingress("new", "renamed.e2e.test", "api"));
    await waitFor(
      "new.e2e.test gone after the edit",
      async () => (await dig(DNS_VIP, dnsPort, "new.e2e.test", "A")).rcode === "NXDOMAIN",
      10_000,
    );
    const edited = Math.round(performance.now() - tEdit);
    assert.equal((await a("renamed.e2e.test")).length, 1);

    // Removing the file: NXDOMAIN again, once the file source has confirmed the removal
    // (--removal-confirm, 2 s by default: docs/reloads.md).
    const t1 = performance.now();
    rmSync(join(dir, "new.yaml"));
    await waitFor(
      "renamed.e2e.test gone",
      async () => (await dig(DNS_VIP, dnsPort, "renamed.e2e.test", "A")).rcode === "NXDOMAIN",
      10_000,
    );
    const disappear = Math.round(performance.now() - t1);

    // web's backend fails its health check: the record is withdrawn; healthy again, it returns.
    web.state.healthy = false;
    const down = await timed(
      "web.e2e.test withdrawn",
      async () => (await a("web.e2e.test")).length === 0,
      20_000,
    );
    assert.equal((await a("api.apps.e2e.test")).length, 1, "the other name stays");
    web.state.healthy = true;
    const up = await timed("web.e2e.test back", async () => (await a("web.e2e.test")).length > 0, 20_000);

    // Status and CLI: the zone is Programmed with its records; the Ingress has DNSRecordReady.
    const st = await p.status();
    const zone = st.find((s) => s.kind === "DnsZone" && s.name === "e2e")!;
    assert.equal(zone.status.conditions?.find((c) => c.type === "Programmed")?.status, "True");
    assert.deepEqual(zone.status.addresses, [DNS_VIP]);
    const ing = st.find((s) => s.kind === "Ingress" && s.name === "web")!;
    assert.match(
      ing.status.conditions?.find((c) => c.type === "portico.dev/DNSRecordReady")?.message ?? "",
      /web\.e2e\.test/,
    );
    const get = await portico(["get", "dns", "--admin", p.adminUrl.replace(/^https?:\/\//, "")]);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /^e2e\.test +web\.e2e\.test +A +5 +127\.0\.53\.\d +pools default\/web:80$/m);
    process.stderr.write(
      `dns-zone e2e: new name answered ${appear} ms after the write, edited-away name NXDOMAIN after ${edited} ms, ` +
        `removed file's name NXDOMAIN after ${disappear} ms (removal confirmation 2 s); ` +
        `unhealthy backend withdrawn after ${down} ms (checks every 1 s, 3 failures), back after ${up} ms\n`,
    );
  },
);

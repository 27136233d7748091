// dns.test.ts: DNS and clean status on a real kube-apiserver — a DnsZone (CRD of record) gets its
// status (Programmed, addresses, records, serial) and `kubectl get dnszones` columns; dig answers
// an Ingress and an annotated Service in the zone from the in-process engine; the Service gets
// DNSRecordReady. Then objects leave Portico (issue 17 item 5): an Ingress whose class moves
// away, a Service turned ClusterIP, a Gateway whose class moves away, and its HTTPRoute: what
// Portico wrote in their status is removed. One API server and one controller; a story.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { dig, toolSkip } from "../e2e/dns-helpers.ts";
import { freePort } from "../e2e/l4-helpers.ts";
import { apply, getJson, kubeSkip, startController, waitFor, type RunningController } from "./helper.ts";

const skip = kubeSkip() || toolSkip("dig");
const NS = "dns";
const DNS_VIP = "127.32.0.53";

describe("DnsZone and clean status on a real API server", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;
  let port = 0;

  before(async () => {
    env = await startKube();
    port = await freePort(DNS_VIP, "UDP");
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: dns-pool}
spec:
  addresses: ["127.32.0.1-127.32.0.9", "${DNS_VIP}/32"]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: {name: kube}
spec:
  zone: kube.test
  listen: {address: ${DNS_VIP}, port: ${port}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: ${NS}}
spec:
  ingressClassName: portico
  rules:
    - host: web.kube.test
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: ${NS}
  annotations: {portico.dev/hostname: db.kube.test}
spec:
  type: LoadBalancer
  loadBalancerClass: portico.dev/lb
  ports: [{port: 15432, targetPort: 5432, protocol: TCP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${NS}}
spec:
  gatewayClassName: portico
  listeners: [{name: http, port: 18081, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: ${NS}}
spec:
  parentRefs: [{name: gw}]
  hostnames: [api.kube.test]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`,
    );
    ctl = await startController(env);
  });

  after(async () => {
    await ctl?.stop();
    await env?.stop();
  });

  const get = (kind: string, name: string, ns = NS) => getJson(env, kind, "-n", ns, name);

  test("the DnsZone's status, kubectl columns, and dig answers from the engine", async () => {
    const zone = await waitFor(
      "DnsZone Programmed",
      async () => {
        const z = await getJson(env, "dnszone", "kube");
        const c = z?.status?.conditions?.find((x: { type: string }) => x.type === "Programmed");
        return c?.status === "True" && z!.status.records >= 4 ? z : undefined;
      },
      30_000,
    );
    assert.deepEqual(zone.status.addresses, [DNS_VIP]);
    assert.ok(zone.status.serial > 1_700_000_000, `serial ${zone.status.serial}`);
    const table = await env.kubectl(["get", "dnszones"]);
    assert.match(table, /^NAME +ZONE +ADDRESSES +RECORDS +PROGRAMMED +AGE$/m);
    assert.match(table, /^kube +kube\.test +\["127\.32\.0\.53"\] +\d+ +True /m);
    const ingressIp = await waitFor(
      "Ingress address",
      async () => (await get("ingress", "web"))?.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined,
    );
    const answer = await waitFor("web.kube.test answered", async () => {
      const a = await dig(DNS_VIP, port, "web.kube.test", "A");
      return a.answer.length > 0 ? a.answer : undefined;
    });
    assert.deepEqual(answer, [`web.kube.test. 30 A ${ingressIp}`]);
    const dbIp = (await get("service", "db"))?.status?.loadBalancer?.ingress?.[0]?.ip;
    // db has no endpoint yet: its health-aware record is withdrawn; one ready endpoint brings it
    // (never contacted: no health check asks for it).
    assert.deepEqual((await dig(DNS_VIP, port, "db.kube.test", "A", { tcp: true })).answer, []);
    await apply(
      env,
      `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, namespace: ${NS}, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{port: 5432, protocol: TCP}]
endpoints: [{addresses: [192.0.2.10], conditions: {ready: true}}]
`,
    );
    await waitFor("db.kube.test answered", async () => {
      const a = await dig(DNS_VIP, port, "db.kube.test", "A", { tcp: true });
      return a.answer.join() === `db.kube.test. 30 A ${dbIp}`;
    });
    assert.equal((await dig(DNS_VIP, port, "api.kube.test", "A")).answer.length, 1);
    const ready = await waitFor("DNSRecordReady on the Service", async () =>
      (await get("service", "db"))?.status?.conditions?.find(
        (c: { type: string }) => c.type === "portico.dev/DNSRecordReady",
      ),
    );
    assert.equal(ready.status, "True");
    assert.equal(ready.message, `db.kube.test ${dbIp}`);
    const route = await get("httproute", "api");
    const parent = route?.status?.parents?.find(
      (p: { controllerName: string }) => p.controllerName === "portico.dev/gateway-controller",
    );
    assert.ok(
      parent?.conditions?.some(
        (c: { type: string; status: string }) =>
          c.type === "portico.dev/DNSRecordReady" && c.status === "True",
      ),
    );
  });

  test("deploy/examples/dnszone.yaml passes the CRD's schema; without its pool it waits for an address", async () => {
    await env.kubectl(["apply", "-f", resolve(import.meta.dirname, "../../deploy/examples/dnszone.yaml")]);
    const programmed = await waitFor("the example's status", async () => {
      const z = await getJson(env, "dnszone", "example-com");
      return z?.status?.conditions?.find((c: { type: string }) => c.type === "Programmed");
    });
    assert.equal(programmed.status, "False");
    assert.equal(programmed.reason, "AddressPending");
  });

  test("objects that leave Portico keep nothing Portico wrote; their names leave the zone", async () => {
    // The Ingress moves to another controller's class.
    const t0 = performance.now();
    await env.kubectl([
      "patch",
      "ingress",
      "-n",
      NS,
      "web",
      "--type=merge",
      "-p",
      '{"spec":{"ingressClassName":"other"}}',
    ]);
    await waitFor(
      "Ingress address cleared",
      async () => {
        const lb = (await get("ingress", "web"))?.status?.loadBalancer;
        return lb !== undefined && (lb.ingress ?? []).length === 0;
      },
      15_000,
    );
    await waitFor(
      "web.kube.test gone",
      async () => (await dig(DNS_VIP, port, "web.kube.test", "A")).rcode === "NXDOMAIN",
    );
    const gone = Math.round(performance.now() - t0);
    process.stderr.write(
      `dns kube: web.kube.test NXDOMAIN ${gone} ms after its Ingress left Portico's class\n`,
    );
    // The Service stops being a LoadBalancer.
    await env.kubectl([
      "patch",
      "service",
      "-n",
      NS,
      "db",
      "--type=merge",
      "-p",
      '{"spec":{"type":"ClusterIP","loadBalancerClass":null}}',
    ]);
    await waitFor(
      "Service status cleared",
      async () => {
        const st = (await get("service", "db"))?.status;
        const ours = (st?.conditions ?? []).filter((c: { type: string }) =>
          c.type.startsWith("portico.dev/"),
        );
        return (st?.loadBalancer?.ingress ?? []).length === 0 && ours.length === 0;
      },
      15_000,
    );
    // The Gateway moves to another class: its addresses go, and the route's Portico parent entry.
    await apply(
      env,
      `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: someone-else}
spec: {controllerName: example.com/other}
`,
    );
    await env.kubectl([
      "patch",
      "gateway",
      "-n",
      NS,
      "gw",
      "--type=merge",
      "-p",
      '{"spec":{"gatewayClassName":"someone-else"}}',
    ]);
    await waitFor(
      "Gateway addresses cleared",
      async () => ((await get("gateway", "gw"))?.status?.addresses ?? []).length === 0,
      15_000,
    );
    await waitFor(
      "HTTPRoute's Portico parent removed",
      async () => {
        const parents = (await get("httproute", "api"))?.status?.parents ?? [];
        return !parents.some(
          (p: { controllerName: string }) => p.controllerName === "portico.dev/gateway-controller",
        );
      },
      15_000,
    );
    const zone = await waitFor("zone without the names", async () => {
      const z = await getJson(env, "dnszone", "kube");
      return z?.status?.records === 1 ? z : undefined; // only ns.kube.test's glue remains
    });
    assert.equal(zone.status.addresses[0], DNS_VIP);
  });
});

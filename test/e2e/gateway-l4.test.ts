// gateway-l4.test.ts: `portico run` on a Gateway with TCP and UDP listeners: TCPRoute and
// UDPRoute to echo backends, weights across two TCP backends, a route whose cross-namespace
// backend no ReferenceGrant allows, and the listeners' attachedRoutes.
// VIP 127.0.30.3 (from a VipPool), ports 18300 (TCP), 18301 (UDP), 18302 (TCP, refused backend).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { createSocket } from "node:dgram";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, type Portico } from "./harness.ts";
import { pool, tcpEcho, udpEcho } from "./fixtures.ts";
import { cond, gatewayClass, reason, statusOf } from "./gateway-helpers.ts";

const VIP = "127.0.30.3";
const TCP = 18300;
const UDP = 18301;
const REFUSED = 18302;
let dir: string, state: string;
let p: Portico;
let echoTcp: Awaited<ReturnType<typeof tcpEcho>>, echoUdp: Awaited<ReturnType<typeof udpEcho>>;
let named: Server, other: Server;
let otherConnections = 0;

// service is a Service and EndpointSlice for one local port (TCP or UDP).
function service(ns: string, name: string, port: number, protocol: "TCP" | "UDP"): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec: { ports: [{ name: p, port: 7000, targetPort: ${port}, protocol: ${protocol} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: ${ns}, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: p, port: ${port}, protocol: ${protocol} }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
`;
}

// tcpSay connects to port, sends text, half-closes and returns everything read until close.
function tcpSay(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: VIP, port, allowHalfOpen: true });
    let got = "";
    s.on("connect", () => s.end(text));
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.on("close", () => resolve(got));
    s.on("error", reject);
    s.setTimeout(5000, () => s.destroy(new Error("timeout")));
  });
}

function udpSay(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error("no UDP answer"));
    }, 1000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m.toString());
    });
    s.send(text, UDP, VIP);
  });
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  [echoTcp, echoUdp] = await Promise.all([tcpEcho(), udpEcho()]);
  // named says which backend answered, so the weighted split is visible.
  named = createServer((s) => s.end("named\n"));
  other = createServer((s) => {
    otherConnections++;
    s.end("other\n");
  });
  await Promise.all([named, other].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r))));
  const port = (s: Server) => (s.address() as AddressInfo).port;
  writeManifest(dir, "pool.yaml", pool("gw-l4", [`${VIP}-${VIP}`]));
  writeManifest(
    dir,
    "gateway.yaml",
    `${gatewayClass}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: l4, namespace: infra }
spec:
  gatewayClassName: portico
  listeners:
    - { name: tcp, port: ${TCP}, protocol: TCP, allowedRoutes: { namespaces: { from: All } } }
    - { name: udp, port: ${UDP}, protocol: UDP, allowedRoutes: { namespaces: { from: All } } }
    - { name: refused, port: ${REFUSED}, protocol: TCP, allowedRoutes: { namespaces: { from: All } } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: { name: echo, namespace: app }
spec:
  parentRefs: [{ name: l4, namespace: infra, sectionName: tcp }]
  rules:
    - backendRefs: [{ name: echo-tcp, port: 7000, weight: 1 }, { name: named, port: 7000, weight: 1 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: UDPRoute
metadata: { name: echo, namespace: app }
spec:
  parentRefs: [{ name: l4, namespace: infra, sectionName: udp }]
  rules: [{ backendRefs: [{ name: echo-udp, port: 7000 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: { name: sneaky, namespace: app }
spec:
  parentRefs: [{ name: l4, namespace: infra, sectionName: refused }]
  rules: [{ backendRefs: [{ name: other, namespace: locked, port: 7000 }] }]
`,
  );
  writeManifest(
    dir,
    "backends.yaml",
    [
      service("app", "echo-tcp", echoTcp.port, "TCP"),
      service("app", "named", port(named), "TCP"),
      service("app", "echo-udp", echoUdp.port, "UDP"),
      service("locked", "other", port(other), "TCP"),
    ].join("---\n"),
  );
  p = await startPortico([dir], ["--state-dir", state]);
  await waitFor("the TCP listener", async () => (await tcpSay(TCP, "x")).length > 0);
});

after(async () => {
  await p?.stop();
  echoTcp?.server.close();
  echoUdp?.socket.close();
  named?.close();
  other?.close();
  for (const d of [dir, state]) if (d) removeDir(d);
});

test("Gateway status: the pool's address, TCP and UDP listeners with their routes", async () => {
  const gw = await statusOf(p, "Gateway", "l4");
  assert.equal(cond(gw.conditions, "Programmed"), "True");
  assert.deepEqual(gw.addresses, [{ type: "IPAddress", value: VIP }]);
  const attached = Object.fromEntries(gw.listeners.map((l) => [l.name, l.attachedRoutes]));
  assert.deepEqual(attached, { tcp: 1, udp: 1, refused: 1 });
});

test("TCPRoute: bytes both ways with half-close, split across weighted backends", async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    const got = await tcpSay(TCP, `ping ${i}`);
    seen.add(got === `ping ${i}` ? "echo" : got);
  }
  assert.deepEqual([...seen].sort(), ["echo", "named\n"]);
});

test("UDPRoute: datagrams reach the backend and answers come back", async () => {
  assert.equal(await udpSay("dns?"), "dns?");
});

test("TCPRoute to a namespace without a ReferenceGrant: refused in status, no connection reaches it", async () => {
  const parent = (await statusOf(p, "TCPRoute", "sneaky")).parents[0]!;
  assert.equal(cond(parent.conditions, "ResolvedRefs"), "False");
  assert.equal(reason(parent.conditions, "ResolvedRefs"), "RefNotPermitted");
  const got = await tcpSay(REFUSED, "let me in").catch(() => "");
  assert.equal(got, "");
  assert.equal(otherConnections, 0);
});

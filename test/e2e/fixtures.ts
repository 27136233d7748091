// fixtures.ts: small real backends and manifest text for end-to-end tests.
import { createServer, type Server } from "node:http";
import { createServer as createTcp, type Server as TcpServer, type AddressInfo } from "node:net";
import { createSocket, type Socket as UdpSocket } from "node:dgram";

/** HttpBackend is a real HTTP server that says who it is and remembers what it saw. */
export interface HttpBackend {
  name: string;
  port: number;
  seen: { method: string; url: string; headers: Record<string, string | string[] | undefined> }[];
  close(): void;
}

/** httpBackend listens on 127.0.0.1:0; `/slow?ms=N` answers after N ms (long requests for hitless tests). */
export async function httpBackend(name: string): Promise<HttpBackend> {
  const seen: HttpBackend["seen"] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    const slow = /[?&]ms=(\d+)/.exec(req.url ?? "");
    const answer = () => {
      res.setHeader("content-type", "text/plain");
      res.end(`${name} ${req.method} ${req.url}\n`);
    };
    req.resume();
    req.on("end", () => (slow ? setTimeout(answer, Number(slow[1])) : answer()));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { name, port: (server.address() as AddressInfo).port, seen, close: () => server.close() };
}

/** tcpEcho is a TCP echo server on 127.0.0.1:0. */
export async function tcpEcho(): Promise<{ port: number; server: TcpServer }> {
  const server = createTcp((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, server };
}

/** udpEcho is a UDP echo socket on 127.0.0.1:0. */
export async function udpEcho(): Promise<{ port: number; socket: UdpSocket }> {
  const socket = createSocket("udp4");
  socket.on("message", (m, r) => socket.send(m, r.port, r.address));
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  return { port: socket.address().port, socket };
}

/** pool is a VipPool manifest. */
export function pool(name: string, addresses: string[], extra = ""): string {
  return `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: ${name} }
spec:
  addresses: [${addresses.map((a) => JSON.stringify(a)).join(", ")}]
${extra}`;
}

/** backendService is a ClusterIP Service plus an EndpointSlice pointing at 127.0.0.1:port. */
export function backendService(ns: string, name: string, port: number, extraSpec = ""): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec:
  ports: [{ name: http, port: 80, targetPort: ${port} }]
${extraSpec}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-1
  namespace: ${ns}
  labels: { kubernetes.io/service-name: ${name} }
addressType: IPv4
ports: [{ name: http, port: ${port}, protocol: TCP }]
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: true }
`;
}

/** tlsSecret is a kubernetes.io/tls Secret manifest in namespace default holding cert. */
export function tlsSecret(name: string, cert: { certPem: string; keyPem: string }): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: default }
type: kubernetes.io/tls
data:
  tls.crt: ${Buffer.from(cert.certPem).toString("base64")}
  tls.key: ${Buffer.from(cert.keyPem).toString("base64")}
`;
}

/** ingressClass is Portico's default IngressClass. */
export const ingressClass = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: portico
  annotations: { ingressclass.kubernetes.io/is-default-class: "true" }
spec:
  controller: portico.dev/ingress-controller
`;

/** wsEchoBackend accepts WebSocket upgrades (real handshake) and then echoes raw bytes back. */
export async function wsEchoBackend(): Promise<{ port: number; close(): void }> {
  const { createHash } = await import("node:crypto");
  const server = createServer((_req, res) => res.end("not a websocket\n"));
  server.on("upgrade", (req, socket) => {
    const accept = createHash("sha1")
      .update(String(req.headers["sec-websocket-key"]) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/**
 * ingressAppManifest is one app behind Portico's Ingress class: a VipPool of the single address
 * vip, the class, Service default/app on 127.0.0.1:port, and Ingress default/app routing host.
 */
export function ingressAppManifest(poolName: string, vip: string, port: number, host = "app.test"): string {
  const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app, namespace: default }
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`;
  return [pool(poolName, [`${vip}/32`]), ingressClass, backendService("default", "app", port), ingress].join(
    "---\n",
  );
}

// grpc-configs.ts: what `npm run bench:grpc` (issue 21, item 1) runs: the gRPC backend's address,
// HAProxy's configuration for gRPC, Portico's manifests (a Gateway with a GRPCRoute, as a user
// writes them) and the ghz command lines. Pure, so the configurations are read in one place.
import type { Topology } from "./topology.ts";

/**
 * The run's addresses, its own: other benches (127.0.0.2-59) may run at the same time, and
 * HAProxy binds with SO_REUSEPORT, so a second HAProxy on a shared address would take half the
 * connections unseen. GRPC_BACKEND is bench/grpc-echo's.
 */
export const GRPC_BACKEND = { address: "127.0.0.140", port: 50051 };
export const HAPROXY_VIP = "127.0.0.142";
export const PORTICO_VIP = "127.0.0.143";
/** METHOD is the one call: bench.Echo/Echo of bench/grpc-echo/echo.proto. */
export const METHOD = "bench.Echo/Echo";
/** PAYLOAD is the request, 13 bytes as the HTTP tests' answer ("hello, world\n"), base64 for ghz's JSON. */
export const PAYLOAD = JSON.stringify({ data: Buffer.from("hello, world\n").toString("base64") });

/** GrpcCase is one load shape: cleartext HTTP/2 (prior knowledge) or HTTP/2 over TLS. */
export interface GrpcCase {
  id: "grpc-h2c" | "grpc-tls";
  title: string;
  tls: boolean;
}

export const GRPC_CASES: readonly GrpcCase[] = [
  { id: "grpc-h2c", title: "gRPC unary, HTTP/2 cleartext (prior knowledge)", tls: false },
  { id: "grpc-tls", title: "gRPC unary, HTTP/2 over TLS (ALPN h2)", tls: true },
];

/** Load is ghz's shape: calls in flight, spread over connections (streams per connection = calls ÷ connections). */
export interface Load {
  connections: number;
  concurrency: number;
}

/** DEFAULT_LOAD: 16 connections × 8 calls in flight each, a client fleet of channels with a few streams each. */
export const DEFAULT_LOAD: Load = { connections: 16, concurrency: 128 };

/**
 * ghzArgv calls METHOD on host:port for seconds. ghz is a grpc-go client: it checks every call's
 * grpc-status (in the trailers), which h2load cannot, and reports latency percentiles. --skipTLS
 * skips certificate verification only (the bench's certificate is self-signed); TLS is spoken.
 */
export function ghzArgv(o: {
  ghz: string;
  proto: string;
  host: string;
  port: number;
  tls: boolean;
  seconds: number;
  load: Load;
}): string[] {
  return [
    o.ghz,
    ...["--proto", o.proto, "--call", METHOD, "-d", PAYLOAD],
    ...(o.tls ? ["--skipTLS"] : ["--insecure"]),
    ...["--connections", String(o.load.connections), "-c", String(o.load.concurrency)],
    // The summary (ghz's default output) is what is read; -O json would list every call.
    ...["-z", `${o.seconds}s`, "--timeout", "20s"],
    `${o.host}:${o.port}`,
  ];
}

/**
 * grpcBody is the request as it travels in an HTTP/2 DATA frame, for h2load's -d: gRPC's 5-byte
 * prefix (uncompressed, length) and the protobuf of Msg { data = PAYLOAD's bytes } (field 1,
 * length-delimited).
 */
export function grpcBody(): Buffer {
  const data = Buffer.from((JSON.parse(PAYLOAD) as { data: string }).data, "base64");
  const msg = Buffer.concat([Buffer.from([0x0a, data.length]), data]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(msg.length, 1);
  return Buffer.concat([prefix, msg]);
}

/**
 * h2loadArgv posts grpcBody to METHOD's path as a gRPC client frames it. h2load reads HTTP
 * statuses only, not grpc-status in the trailers, so bench/grpc.ts checks its count against the
 * calls the backend answered OK; it has the headroom ghz lacks (far less CPU per call) but reports
 * only a mean latency.
 */
export function h2loadArgv(o: {
  body: string;
  host: string;
  port: number;
  tls: boolean;
  seconds: number;
  load: Load;
}): string[] {
  return [
    "h2load",
    ...["-d", o.body, "-H", "content-type: application/grpc", "-H", "te: trailers"],
    ...["-c", String(o.load.connections), "-m", String(Math.ceil(o.load.concurrency / o.load.connections))],
    ...["-t", "1", "-D", String(o.seconds)],
    `${o.tls ? "https" : "http"}://${o.host}:${o.port}/${METHOD}`,
  ];
}

/**
 * grpcHaproxyConfig is HAProxy's equivalent: one thread, mode http, HTTP/2 to the backend
 * (`proto h2`, connections reused for many streams as Portico's one session per backend is),
 * an h2c bind (`proto h2`: prior knowledge) and a TLS bind with ALPN h2, no logs. gRPC needs no
 * more: HAProxy passes trailers through in HTX.
 */
export function grpcHaproxyConfig(t: Topology): string {
  const a = HAPROXY_VIP;
  return `global
  nbthread 1
  maxconn ${t.haproxyMaxconn}
  pidfile ${t.dir}/haproxy-grpc.pid

defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  maxconn ${t.haproxyMaxconn}

frontend fe_grpc
  bind ${a}:${t.httpPort} proto h2
  bind ${a}:${t.httpsPort} ssl crt ${t.comboFile} alpn h2
  option forwardfor
  default_backend be_grpc

backend be_grpc
  http-reuse always
  server s1 ${GRPC_BACKEND.address}:${GRPC_BACKEND.port} proto h2
`;
}

/**
 * grpcManifest is what `portico run` serves: a Gateway on PORTICO_VIP with an HTTP listener (h2c
 * by prior knowledge) and an HTTPS one, and a GRPCRoute for bench.Echo on both, to a Service whose
 * endpoint is grpc-echo. GRPCRoute backends are spoken to as cleartext HTTP/2 (src/translate/grpcroute.ts).
 */
export function grpcManifest(o: { t: Topology; certPem: string; keyPem: string }): string {
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  const [service, method] = METHOD.split("/");
  return `# Written by bench/grpc.ts.
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: bench }
spec: { addresses: ["${PORTICO_VIP}/32"] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico }
spec: { controllerName: portico.dev/gateway-controller }
---
apiVersion: v1
kind: Secret
metadata: { name: bench-tls, namespace: bench }
type: kubernetes.io/tls
data: { tls.crt: ${b64(o.certPem)}, tls.key: ${b64(o.keyPem)} }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: bench, namespace: bench }
spec:
  gatewayClassName: portico
  addresses: [{ type: IPAddress, value: ${PORTICO_VIP} }]
  listeners:
    - { name: h2c, port: ${o.t.httpPort}, protocol: HTTP }
    - name: tls
      port: ${o.t.httpsPort}
      protocol: HTTPS
      tls: { mode: Terminate, certificateRefs: [{ name: bench-tls }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: echo, namespace: bench }
spec:
  parentRefs: [{ name: bench }]
  rules:
    - matches: [{ method: { service: ${service}, method: ${method} } }]
      backendRefs: [{ name: grpc-echo, port: ${GRPC_BACKEND.port} }]
---
apiVersion: v1
kind: Service
metadata: { name: grpc-echo, namespace: bench }
spec: { ports: [{ name: grpc, port: ${GRPC_BACKEND.port} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: grpc-echo-1, namespace: bench, labels: { kubernetes.io/service-name: grpc-echo } }
addressType: IPv4
ports: [{ name: grpc, port: ${GRPC_BACKEND.port}, protocol: TCP }]
endpoints: [{ addresses: ["${GRPC_BACKEND.address}"], conditions: { ready: true } }]
`;
}

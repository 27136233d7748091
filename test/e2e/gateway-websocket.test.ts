// gateway-websocket.test.ts: HTTPRouteBackendProtocolWebSocket through `portico run` — an
// HTTPRoute to a Service port with appProtocol kubernetes.io/ws, a real WebSocket client (Node's
// WebSocket) sending the conformance test's text and binary messages to a frame-echo backend.
// VIP 127.0.44.2, listener port 18441.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, type Portico } from "./harness.ts";
import { pool } from "./fixtures.ts";
import { cond, gatewayClass, statusOf } from "./gateway-helpers.ts";

const PORT = 18441;
const VIP = "127.0.44.2";
let dir: string, state: string;
let backend: Server;
let p: Portico;

/** frameEcho answers the handshake, then echoes each (masked) client frame unmasked, as a server must. */
function frameEcho(): Server {
  return createServer((s) => {
    let buf = Buffer.alloc(0);
    let open = false;
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!open) {
        const end = buf.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buf.subarray(0, end).toString("latin1");
        buf = buf.subarray(end + 4);
        const key = /sec-websocket-key: *(.*)/i.exec(head)?.[1]?.trim();
        if (!/upgrade: *websocket/i.test(head) || key === undefined) {
          s.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nno\n");
          return;
        }
        const accept = createHash("sha1")
          .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
          .digest("base64");
        s.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        open = true;
      }
      // Short frames only (payload < 126 bytes), which is all this test sends.
      while (buf.length >= 6) {
        const len = buf[1]! & 0x7f;
        if (buf.length < 6 + len) return;
        const mask = buf.subarray(2, 6);
        const payload = Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!));
        s.write(Buffer.concat([Buffer.from([buf[0]!, len]), payload]));
        buf = buf.subarray(6 + len);
      }
    });
    s.on("error", () => {});
  });
}

const manifests = (backendPort: number) => `${gatewayClass}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: infra }
spec:
  gatewayClassName: portico
  listeners: [{ name: http, port: ${PORT}, protocol: HTTP }]
---
apiVersion: v1
kind: Service
metadata: { name: ws, namespace: infra }
spec:
  ports: [{ name: ws, port: 8082, targetPort: ${backendPort}, appProtocol: kubernetes.io/ws }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ws-1
  namespace: infra
  labels: { kubernetes.io/service-name: ws }
addressType: IPv4
ports: [{ name: ws, port: ${backendPort}, protocol: TCP, appProtocol: kubernetes.io/ws }]
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: true }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: backend-protocol-ws, namespace: infra }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /ws } }]
      backendRefs: [{ name: ws, port: 8082 }]
`;

/** echoOnce opens a WebSocket through the Gateway and returns the replies to a text and a binary message. */
async function echoOnce(): Promise<[string, Uint8Array]> {
  const ws = new WebSocket(`ws://${VIP}:${PORT}/ws`);
  ws.binaryType = "arraybuffer";
  const replies: (string | Uint8Array)[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ws.onerror = () => reject(new Error("websocket error"));
    ws.onclose = () => reject(new Error("websocket closed early"));
    ws.onmessage = (e: MessageEvent) => {
      replies.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
      if (replies.length === 1) ws.send(new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
      else resolve();
    };
  });
  ws.onopen = () => ws.send("Websocket Support!");
  try {
    await done;
  } finally {
    ws.onclose = null;
    ws.close();
  }
  return [replies[0] as string, replies[1] as Uint8Array];
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  backend = frameEcho();
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
  writeManifest(dir, "pool.yaml", pool("gw-ws", [`${VIP}-${VIP}`]));
  writeManifest(dir, "gateway.yaml", manifests((backend.address() as AddressInfo).port));
  p = await startPortico([dir], ["--state-dir", state]);
  await waitFor("the ws route to serve", async () => {
    try {
      return (await echoOnce())[0] === "Websocket Support!";
    } catch {
      return false;
    }
  });
});

after(async () => {
  await p?.stop();
  backend?.close();
  for (const d of [dir, state]) if (d) removeDir(d);
});

test("a WebSocket to a kubernetes.io/ws backend port echoes text and binary messages", async () => {
  const [text, binary] = await echoOnce();
  assert.equal(text, "Websocket Support!");
  assert.deepEqual([...binary], [1, 2, 3, 4, 5, 6, 7]);
});

test("the route resolves and the class claims HTTPRouteBackendProtocolWebSocket", async () => {
  const parent = (await statusOf(p, "HTTPRoute", "backend-protocol-ws")).parents[0]!;
  assert.equal(cond(parent.conditions, "Accepted"), "True");
  assert.equal(cond(parent.conditions, "ResolvedRefs"), "True");
  const features = (await statusOf(p, "GatewayClass", "portico")).supportedFeatures.map((f) => f.name);
  assert.ok(features.includes("HTTPRouteBackendProtocolWebSocket"));
  assert.ok(features.includes("HTTPRouteCORS"));
});

// hitless.test.ts: a manifest edited while 100 long requests and 20 WebSockets are in flight —
// zero failed requests, zero dropped sockets, and the new route served within one second.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { request, Agent } from "node:http";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, run, type Portico } from "./harness.ts";
import { httpBackend, wsEchoBackend, pool, backendService, ingressClass } from "./fixtures.ts";
import { withinTarget } from "../support/machine.ts";

const PORT = 18180;
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function ingress(name: string, host: string, service: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: default }
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${service}, port: { number: 80 } } } }] }
`;
}

function get(
  vip: string,
  host: string,
  path: string,
  agent: Agent,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: vip, port: PORT, path, agent, headers: { host } }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** openWebSocket performs a real client handshake through Portico and resolves with the tunnel. */
function openWebSocket(vip: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(PORT, vip, () => {
      s.write(
        "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
    });
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.off("data", onData);
      if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(`no upgrade: ${head.split("\r\n")[0]}`));
      assert.match(head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
      resolve(s);
    };
    s.on("data", onData);
    s.on("error", reject);
  });
}

function echo(s: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (d: Buffer) => {
      got += d;
      if (got.length >= text.length) {
        s.off("data", onData);
        resolve(got);
      }
    };
    s.on("data", onData);
    s.once("error", reject);
    s.write(text);
  });
}

test("100 long requests and 20 WebSockets survive a configuration change", async () => {
  const dir = tempDir();
  const state = tempDir();
  const slow = await httpBackend("slow");
  const other = await httpBackend("other");
  const ws = await wsEchoBackend();
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    slow.close,
    other.close,
    ws.close,
  );
  writeManifest(
    dir,
    "base.yaml",
    [
      pool("hitless", ["127.0.22.1-127.0.22.2"]),
      ingressClass,
      backendService("default", "slow", slow.port),
      backendService("default", "other", other.port),
      backendService("default", "ws", ws.port),
      ingress("slow", "slow.test", "slow"),
      ingress("ws", "ws.test", "ws"),
    ].join("---\n"),
  );
  const p: Portico = await startPortico(
    [dir],
    ["--state-dir", state, "--http-port", String(PORT), "--https-port", "18543"],
  );
  cleanups.push(() => p.stop());
  const vip = (await p.vip("Ingress", "default", "slow"))!;

  const agent = new Agent({ keepAlive: true, maxSockets: 100 });
  cleanups.push(() => agent.destroy());
  const inflight = Array.from({ length: 100 }, (_, i) =>
    get(vip, "slow.test", `/slow?ms=1500&i=${i}`, agent),
  );
  const sockets = await Promise.all(Array.from({ length: 20 }, () => openWebSocket(vip)));
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  await waitFor("100 requests at the backend", () => slow.seen.length >= 100);

  const changed = Date.now();
  writeManifest(dir, "added.yaml", ingress("added", "added.test", "other"));
  await waitFor(
    "new route served",
    async () =>
      (await run("curl", ["-s", "-H", "host: added.test", `http://${vip}:${PORT}/x`])).stdout ===
      "other GET /x\n",
    5000,
  );
  const took = Date.now() - changed;

  const results = await Promise.all(inflight);
  assert.deepEqual(
    results.filter((r) => r.status !== 200),
    [],
    "every in-flight request succeeded",
  );
  assert.equal(results.length, 100);
  for (const [i, s] of sockets.entries()) assert.equal(await echo(s, `message ${i}`), `message ${i}`);
  withinTarget("new route served after", took, 1000);
});

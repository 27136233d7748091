// engine-http.test.ts: HTTP and L4 listeners of one snapshot through the engine, with l7's
// compileHttp, real HTTP backends and a real client on 127.0.0.x; a swap moves new requests.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import { after, before, test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import type { EngineSnapshot, HttpListener } from "../../src/model/ir.ts";
import { endpoint, freePort, l4, pool, readUntil, snapshot } from "./l4-helpers.ts";
import { connect } from "node:net";

const VIP = "127.0.0.51";
const servers: Server[] = [];
const backendPorts: Record<string, number> = {};

before(async () => {
  for (const tag of ["A", "B"]) {
    const s = createServer((req, res) => res.end(`${tag} ${req.headers.host} ${req.url}`));
    s.listen(0, "127.0.0.52");
    await once(s, "listening");
    servers.push(s);
    backendPorts[tag] = (s.address() as { port: number }).port;
  }
});

after(() => {
  for (const s of servers) s.close();
});

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: VIP, port, path, agent: false, headers: { host: "app.example" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function snap(version: number, httpPort: number, tcpPort: number, tag: string): EngineSnapshot {
  const web: HttpListener = {
    name: "web",
    address: VIP,
    port: httpPort,
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            name: "all",
            match: { path: { type: "Prefix", value: "/" } },
            action: { type: "Forward", backends: [{ pool: "web", weight: 1 }] },
          },
        ],
      },
    ],
  };
  const s = snapshot(
    version,
    [l4("raw", VIP, tcpPort, "web")],
    [pool("web", [endpoint("127.0.0.52", backendPorts[tag]!)])],
  );
  s.http.push(web);
  return s;
}

test("engine: HTTP and TCP listeners serve one snapshot, and a swap moves new requests", async () => {
  const engine = new Engine();
  const httpPort = await freePort(VIP);
  const tcpPort = await freePort(VIP);
  try {
    assert.deepEqual(engine.apply(snap(1, httpPort, tcpPort, "A")), { ok: true });
    await engine.settled();
    assert.deepEqual(await get(httpPort, "/x"), { status: 200, body: "A app.example /x" });
    // The L4 listener passes raw bytes to the same pool.
    const raw = connect({ host: VIP, port: tcpPort });
    const reply = readUntil(raw, (d) => d.includes("A raw /y"));
    raw.write("GET /y HTTP/1.1\r\nhost: raw\r\nconnection: close\r\n\r\n");
    await reply;
    raw.destroy();
    assert.deepEqual(engine.apply(snap(2, httpPort, tcpPort, "B")), { ok: true });
    assert.deepEqual(await get(httpPort, "/z"), { status: 200, body: "B app.example /z" });
    assert.equal(engine.status().version, 2);
  } finally {
    await engine.close();
  }
});

test("engine: a snapshot whose HTTP routes don't compile is rejected, the last good one serves", async () => {
  const engine = new Engine();
  const httpPort = await freePort(VIP);
  const tcpPort = await freePort(VIP);
  try {
    engine.apply(snap(1, httpPort, tcpPort, "A"));
    await engine.settled();
    const bad = snap(2, httpPort, tcpPort, "B");
    bad.http[0]!.virtualHosts[0]!.routes[0]!.match.path = { type: "RegularExpression", value: "([" };
    const res = engine.apply(bad);
    assert.equal(res.ok, false);
    assert.match((res as { code: string }).code, /InvalidSnapshot|InvalidRoute/);
    assert.equal(engine.status().version, 1);
    assert.deepEqual(await get(httpPort, "/still"), { status: 200, body: "A app.example /still" });
  } finally {
    await engine.close();
  }
});

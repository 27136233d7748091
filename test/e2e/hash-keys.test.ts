// hash-keys.test.ts: a ConsistentHash pool keyed by a header or a cookie sends equal keys to one
// backend and spreads different keys, for HTTP/1.1 and HTTP/2 clients alike. Every request comes
// from 127.0.0.1, so a balancer that fell back to the source address would send all to one backend
// (the fault this catches: cookies were never read, and HTTP/2 read neither).
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import http2 from "node:http2";
import { after, before, test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import type { Algorithm, HttpListener } from "../../src/model/ir.ts";
import { endpoint, freePort, pool } from "./l4-helpers.ts";

const VIP = "127.0.0.53";
const servers: Server[] = [];
const ports: number[] = [];
const engine = new Engine();
const listeners: Record<string, number> = {};

function listener(name: string, port: number): HttpListener {
  return {
    name,
    address: VIP,
    port,
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            name: "all",
            match: { path: { type: "Prefix", value: "/" } },
            action: { type: "Forward", backends: [{ pool: name, weight: 1 }] },
          },
        ],
      },
    ],
  };
}

before(async () => {
  for (const tag of ["A", "B", "C", "D"]) {
    const s = createServer((_req, res) => res.end(tag));
    s.listen(0, "127.0.0.54");
    await once(s, "listening");
    servers.push(s);
    ports.push((s.address() as { port: number }).port);
  }
  const algorithms: Record<string, Algorithm> = {
    header: { type: "ConsistentHash", on: "Header", name: "X-User" },
    cookie: { type: "ConsistentHash", on: "Cookie", name: "session" },
  };
  const http = [];
  const pools: Record<string, ReturnType<typeof pool>> = {};
  for (const [name, algorithm] of Object.entries(algorithms)) {
    listeners[name] = await freePort(VIP);
    http.push(listener(name, listeners[name]!));
    pools[name] = pool(
      name,
      ports.map((p) => endpoint("127.0.0.54", p)),
      { algorithm },
    );
  }
  assert.deepEqual(engine.apply({ version: 1, l4: [], http, pools, certificates: {} }), { ok: true });
  await engine.settled();
});

after(async () => {
  await engine.close();
  for (const s of servers) s.close();
});

function get1(port: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: VIP, port, path: "/", agent: false, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

async function get2(session: http2.ClientHttp2Session, headers: Record<string, string>): Promise<string> {
  const s = session.request({ ":path": "/", ...headers });
  let body = "";
  s.setEncoding("utf8");
  s.on("data", (d) => (body += d));
  await once(s, "end");
  return body;
}

const keyed: Record<string, (v: string) => Record<string, string>> = {
  header: (v) => ({ "x-user": v }),
  cookie: (v) => ({ cookie: `theme=dark; session=${v}; lang=en` }),
};

for (const protocol of ["HTTP/1.1", "HTTP/2"] as const) {
  for (const key of ["header", "cookie"] as const) {
    test(`${protocol}: ConsistentHash on a ${key} — one key, one backend; many keys, several`, async () => {
      const port = listeners[key]!;
      const session = protocol === "HTTP/2" ? http2.connect(`http://${VIP}:${port}`) : undefined;
      try {
        const send = (v: string) => (session ? get2(session, keyed[key]!(v)) : get1(port, keyed[key]!(v)));
        const same = new Set<string>();
        for (let i = 0; i < 8; i++) same.add(await send("alice"));
        assert.equal(same.size, 1, `one key went to ${[...same].join(", ")}`);
        const spread = new Set<string>();
        for (let i = 0; i < 40; i++) spread.add(await send(`user-${i}`));
        assert.ok(spread.size >= 2, `40 keys all went to ${[...spread].join(", ")}`);
      } finally {
        session?.close();
      }
    });
  }
}

// backend-filters.test.ts: a Forward action's per-backend RequestHeaderModifier (Gateway API
// backendRef filters) edits only the requests sent to that backend, on HTTP/1.1 and HTTP/2 fronts,
// after the route's own filters. Real sockets: two HTTP backends and the compiled listener.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import { once } from "node:events";
import type { Pool, Route } from "../../model/ir.ts";
import { poolOf, proxyRoute } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

/** backend answers with its name and the request headers it received, as JSON. */
async function backend(name: string): Promise<number> {
  const server = http.createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ name, headers: req.headers }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

interface Seen {
  name: string;
  headers: Record<string, string | string[] | undefined>;
}

async function proxy(): Promise<number> {
  const pools: Record<string, Pool> = {
    a: poolOf("a", [await backend("a")]),
    b: poolOf("b", [await backend("b")]),
  };
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    // The rule sets Backend too: each backend's own value must replace it, not join it.
    filters: [
      {
        type: "RequestHeaderModifier",
        set: [
          { name: "X-Rule", value: "rule" },
          { name: "backend", value: "rule" },
        ],
      },
    ],
    action: {
      type: "Forward",
      backends: [
        {
          pool: "a",
          weight: 1,
          filters: [
            {
              type: "RequestHeaderModifier",
              set: [{ name: "Backend", value: "a" }],
              add: [{ name: "X-Add", value: "from-a" }],
              remove: ["X-Drop"],
            },
          ],
        },
        {
          pool: "b",
          weight: 3,
          filters: [{ type: "RequestHeaderModifier", set: [{ name: "Backend", value: "b" }] }],
        },
      ],
    },
  };
  const { server, port } = await proxyRoute(route, pools);
  closers.push(() => server.close());
  return port;
}

function get1(port: number): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/",
        agent: false,
        headers: { host: "app.test", "x-drop": "1", "x-add": "client" },
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve(JSON.parse(body) as Seen));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function get2(session: http2.ClientHttp2Session): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ":path": "/", ":authority": "app.test", "x-drop": "1", "x-add": "client" });
    let body = "";
    s.on("data", (d: Buffer) => (body += d.toString()));
    s.on("end", () => resolve(JSON.parse(body) as Seen));
    s.on("error", reject);
    s.end();
  });
}

/** check asserts every answer carries its own backend's edits and none of the other's. */
function check(seen: Seen[], proto: string): void {
  const names = new Set(seen.map((s) => s.name));
  assert.deepEqual([...names].sort(), ["a", "b"], `${proto}: both backends get requests`);
  for (const s of seen) {
    assert.equal(s.headers["backend"], s.name, `${proto}: the Backend header names the backend that got it`);
    assert.equal(s.headers["x-rule"], "rule", `${proto}: the rule's filter still applies`);
    if (s.name === "a") {
      assert.equal(s.headers["x-drop"], undefined, `${proto}: a's filter removes X-Drop`);
      assert.equal(s.headers["x-add"], "client, from-a", `${proto}: a's filter appends to X-Add`);
    } else {
      assert.equal(s.headers["x-drop"], "1", `${proto}: b's requests keep X-Drop`);
      assert.equal(s.headers["x-add"], "client", `${proto}: b's requests get nothing of a's filter`);
    }
  }
}

test("per-backend RequestHeaderModifier applies only to requests sent to that backend (HTTP/1.1 and HTTP/2)", async () => {
  const port = await proxy();
  const seen1: Seen[] = [];
  for (let i = 0; i < 40; i++) seen1.push(await get1(port));
  check(seen1, "HTTP/1.1");

  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  const seen2: Seen[] = [];
  for (let i = 0; i < 40; i++) seen2.push(await get2(session));
  check(seen2, "HTTP/2");
});

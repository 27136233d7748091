import { test } from "node:test";
import assert from "node:assert/strict";
import { vipTable } from "./vip-table.ts";
import { fixtureZone } from "../controller/fleet/testing.ts";
import type { EngineSnapshot, Route } from "../model/ir.ts";

const route = (value: string): Route => ({
  name: `Ingress/default/shop#${value}`,
  match: { path: { type: "Prefix", value } },
  action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
});

test("vipTable prints a curl line per host and path, and an nc line per L4 port", () => {
  const s: EngineSnapshot = {
    version: 1,
    http: [
      {
        name: "IngressClass/portico:8080",
        address: "127.0.10.1",
        port: 8080,
        requestTimeoutMs: 1,
        idleTimeoutMs: 1,
        virtualHosts: [
          { hostname: "shop.test", routes: [route("/api"), route("/")] },
          { hostname: "*.blog.test", routes: [] },
        ],
      },
    ],
    l4: [
      {
        name: "Service/default/echo:53/UDP",
        address: "127.0.10.2",
        port: 53,
        protocol: "UDP",
        pool: "q",
        idleTimeoutMs: 1,
        connectTimeoutMs: 1,
      },
    ],
    pools: {},
    certificates: {},
  };
  const out = vipTable(s, "http://127.0.0.1:9901");
  assert.match(out, /curl --resolve shop\.test:8080:127\.0\.10\.1 http:\/\/shop\.test:8080\/api\n/);
  assert.match(out, /curl --resolve shop\.test:8080:127\.0\.10\.1 http:\/\/shop\.test:8080\/\n/);
  assert.match(out, /curl --resolve www\.blog\.test:8080:127\.0\.10\.1 http:\/\/www\.blog\.test:8080\/\n/);
  assert.match(out, /nc -u -w1 127\.0\.10\.2 53/);
});

test("vipTable says when nothing is served", () => {
  const out = vipTable({ version: 1, http: [], l4: [], pools: {}, certificates: {} }, "http://x");
  assert.match(out, /nothing yet/);
});

test("vipTable prints NOT SERVING with the bind error instead of the nc line of a listener that cannot bind", () => {
  const s: EngineSnapshot = {
    version: 1,
    http: [],
    l4: [
      {
        name: "Service/default/db:5432/TCP",
        address: "127.0.10.3",
        port: 5432,
        protocol: "TCP",
        pool: "p",
        idleTimeoutMs: 1,
        connectTimeoutMs: 1,
      },
      {
        name: "Service/default/dns:53/UDP",
        address: "127.0.10.3",
        port: 53,
        protocol: "UDP",
        pool: "q",
        idleTimeoutMs: 1,
        connectTimeoutMs: 1,
      },
    ],
    pools: {},
    certificates: {},
  };
  const out = vipTable(s, "http://x", [
    {
      key: "TCP/127.0.10.3:5432",
      name: "Service/default/db:5432/TCP",
      protocol: "TCP",
      address: "127.0.10.3",
      port: 5432,
      state: "error",
      code: "EADDRINUSE",
      error: "EADDRINUSE: listen EADDRINUSE: address already in use 127.0.10.3:5432",
    },
  ]);
  assert.match(
    out,
    /NOT SERVING: cannot bind: EADDRINUSE: listen EADDRINUSE: address already in use 127\.0\.10\.3:5432/,
  );
  assert.doesNotMatch(out, /nc -q1 127\.0\.10\.3 5432/);
  assert.match(out, /nc -u -w1 127\.0\.10\.3 53/);
  assert.match(out, /1 listener\(s\) cannot bind/);
});

test("vipTable prints a dig line per DNS zone: a published name, or the apex's SOA", () => {
  const out = vipTable(
    {
      version: 1,
      http: [],
      l4: [],
      pools: {},
      certificates: {},
      dns: [
        {
          name: "DnsZone/a",
          address: "127.0.10.30",
          port: 5353,
          zones: [
            fixtureZone("a.test", [["shop.a.test", "A", "127.0.10.1"]]),
            fixtureZone("b.test", [["b.test", "TXT", "x"]]),
          ],
        },
      ],
    },
    "http://x",
  );
  assert.match(out, /^ {2}DNS +127\.0\.10\.30:5353 +DnsZone\/a \(UDP and TCP\)$/m);
  assert.match(out, /^ {8}dig @127\.0\.10\.30 -p 5353 shop\.a\.test A$/m);
  assert.match(out, /^ {8}dig @127\.0\.10\.30 -p 5353 b\.test SOA$/m);
  assert.doesNotMatch(out, /nothing yet/);
});

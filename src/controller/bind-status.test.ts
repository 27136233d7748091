import assert from "node:assert/strict";
import { test } from "node:test";
import type { ListenerStatus } from "../engine/listeners.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { applyBindState, objectListeners, PROGRAMMED } from "./bind-status.ts";

const ok = (type: string) => ({ type, status: "True", reason: type, message: "", observedGeneration: 2 });
const route = (name: string) => ({
  name,
  match: { path: { type: "Prefix" as const, value: "/" } },
  action: { type: "Forward" as const, backends: [] },
});
const http = (name: string, address: string, port: number, routes: string[]) => ({
  name,
  address,
  port,
  virtualHosts: [{ hostname: "*", routes: routes.map(route) }],
  requestTimeoutMs: 1000,
  idleTimeoutMs: 1000,
});
const snapshot: EngineSnapshot = {
  version: 3,
  l4: [
    { name: "Service/default/db:5432/TCP", address: "127.0.0.5", port: 5432, protocol: "TCP", pool: "p" },
    { name: "Gateway/apps/gw:53/UDP", address: "127.0.0.6", port: 53, protocol: "UDP", pool: "q" },
  ],
  http: [
    http("IngressClass/portico:8080", "127.0.0.7", 8080, ["Ingress/default/a#0.0", "Ingress/default/b#0.0"]),
    http("Gateway/apps/gw:80", "127.0.0.6", 80, ["HTTPRoute/apps/r#0.0"]),
  ],
  pools: {},
  certificates: {},
} as unknown as EngineSnapshot;

const statuses: ObjectStatus[] = [
  { kind: "Service", namespace: "default", name: "db", status: { conditions: [ok("portico.dev/Accepted")] } },
  { kind: "Ingress", namespace: "default", name: "a", status: { conditions: [ok("portico.dev/Accepted")] } },
  { kind: "Ingress", namespace: "default", name: "b", status: { conditions: [ok("portico.dev/Accepted")] } },
  {
    kind: "Gateway",
    namespace: "apps",
    name: "gw",
    status: {
      conditions: [ok("Accepted"), ok("Programmed")],
      listeners: [
        { name: "web", conditions: [ok("Accepted"), ok("Programmed")] },
        { name: "dns", conditions: [ok("Accepted"), ok("Programmed")] },
      ],
    },
  },
  { kind: "HTTPRoute", namespace: "apps", name: "r", status: { parents: [] } },
];
const gatewaySpecs = new Map([
  [
    "Gateway/apps/gw",
    [
      { name: "web", port: 80, protocol: "HTTP" },
      { name: "dns", port: 53, protocol: "UDP" },
    ],
  ],
]);

function bound(key: string, name: string): ListenerStatus {
  const [protocol, rest] = key.split("/") as ["TCP" | "UDP", string];
  const [address, port] = rest.split(":");
  return { key, name, protocol, address: address!, port: Number(port), state: "bound" };
}
const all: ListenerStatus[] = [
  bound("TCP/127.0.0.5:5432", "Service/default/db:5432/TCP"),
  bound("UDP/127.0.0.6:53", "Gateway/apps/gw:53/UDP"),
  bound("TCP/127.0.0.7:8080", "IngressClass/portico:8080"),
  bound("TCP/127.0.0.6:80", "Gateway/apps/gw:80"),
];
const inUse = (key: string): ListenerStatus => ({
  ...all.find((l) => l.key === key)!,
  state: "error",
  code: "EADDRINUSE",
  error: `EADDRINUSE: listen EADDRINUSE: address already in use ${key.slice(4)}`,
});
const cond = (s: ObjectStatus | undefined, type: string) =>
  s?.status.conditions?.find((c) => c.type === type);

test("objectListeners: owned listeners by name, a shared IngressClass listener by its routes", () => {
  const m = objectListeners(snapshot);
  assert.deepEqual([...m.keys()].sort(), [
    "Gateway/apps/gw",
    "Ingress/default/a",
    "Ingress/default/b",
    "IngressClass/portico",
    "Service/default/db",
  ]);
  assert.deepEqual(
    m.get("Gateway/apps/gw")!.map((r) => r.key),
    ["UDP/127.0.0.6:53", "TCP/127.0.0.6:80"],
  );
});

test("applyBindState: all bound — Service and Ingress Programmed=True, Gateway untouched", () => {
  const out = applyBindState(statuses, snapshot, all, gatewaySpecs);
  assert.deepEqual(cond(out[0], PROGRAMMED), {
    type: PROGRAMMED,
    status: "True",
    reason: "Programmed",
    message: "bound TCP/127.0.0.5:5432",
    observedGeneration: 2,
  });
  assert.equal(cond(out[1], PROGRAMMED)?.status, "True");
  assert.equal(out[3], statuses[3]);
  assert.equal(out[4], statuses[4]);
});

test("applyBindState: an address in use makes every object it serves not programmed, naming address and error", () => {
  const listeners = all.map((l) =>
    l.key === "TCP/127.0.0.7:8080" || l.key === "UDP/127.0.0.6:53" ? inUse(l.key) : l,
  );
  const out = applyBindState(statuses, snapshot, listeners, gatewaySpecs);
  assert.equal(cond(out[0], PROGRAMMED)?.status, "True");
  for (const ing of [out[1], out[2]]) {
    const c = cond(ing, PROGRAMMED)!;
    assert.equal(c.status, "False");
    assert.equal(c.reason, "AddressInUse");
    assert.match(c.message, /cannot bind TCP\/127\.0\.0\.7:8080: EADDRINUSE/);
  }
  const gw = out[3]!;
  assert.deepEqual(
    [cond(gw, "Programmed")?.status, cond(gw, "Programmed")?.reason],
    ["False", "AddressInUse"],
  );
  const gl = gw.status.listeners as {
    name: string;
    conditions: { type: string; status: string; message: string }[];
  }[];
  const programmed = (n: string) =>
    gl.find((l) => l.name === n)!.conditions.find((c) => c.type === "Programmed")!;
  assert.equal(programmed("web").status, "True");
  assert.equal(programmed("dns").status, "False");
  assert.match(programmed("dns").message, /UDP\/127\.0\.0\.6:53/);
  // The input is not mutated.
  assert.equal(cond(statuses[3], "Programmed")?.status, "True");
});

test("applyBindState: a listener still binding is Pending; an unknown error is BindFailed", () => {
  const listeners = all.map((l): ListenerStatus =>
    l.key === "TCP/127.0.0.5:5432"
      ? { ...l, state: "binding" }
      : l.key === "TCP/127.0.0.7:8080"
        ? { ...l, state: "error", code: "EWHAT", error: "EWHAT: odd" }
        : l,
  );
  const out = applyBindState(statuses, snapshot, listeners, gatewaySpecs);
  assert.equal(cond(out[0], PROGRAMMED)?.reason, "Pending");
  assert.equal(cond(out[1], PROGRAMMED)?.reason, "BindFailed");
});

test("applyBindState: a DnsZone whose DNS port cannot bind is not Programmed; bound, it keeps its message", () => {
  const dns = {
    ...snapshot,
    dns: [{ name: "DnsZone/z", address: "127.0.0.9", port: 5353, zones: [] }],
  } as EngineSnapshot;
  const zone: ObjectStatus = {
    kind: "DnsZone",
    name: "z",
    status: {
      conditions: [{ type: "Programmed", status: "True", reason: "Programmed", message: "serving" }],
    },
  };
  assert.deepEqual(
    objectListeners(dns)
      .get("DnsZone/z")
      ?.map((r) => r.key),
    ["UDP/127.0.0.9:5353", "TCP/127.0.0.9:5353"],
  );

  const l = (protocol: "UDP" | "TCP", state: ListenerStatus["state"], error?: string) =>
    ({
      key: `${protocol}/127.0.0.9:5353`,
      name: "DnsZone/z",
      state,
      ...(error ? { error, code: "EADDRINUSE" } : {}),
    }) as ListenerStatus;
  const bound = applyBindState([zone], dns, [l("UDP", "bound"), l("TCP", "bound")]);
  assert.equal(bound[0], zone);
  const [failed] = applyBindState([zone], dns, [l("UDP", "error", "address in use"), l("TCP", "bound")]);
  const c = failed!.status.conditions![0]!;
  assert.equal(c.status, "False");
  assert.equal(c.reason, "AddressInUse");
  assert.match(c.message ?? "", /127\.0\.0\.9:5353/);
});

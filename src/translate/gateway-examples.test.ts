// gateway-examples.test.ts: examples/gateway-api/ must run as it is. Its manifests go through the
// file source and the pipeline; every Gateway API object they hold must come out accepted, with
// resolved references and a programmed Gateway, and the snapshot must pass validation.
/* eslint-disable no-restricted-imports -- reads the example files and runs the whole pipeline,
   like golden.test.ts; the rule keeps these imports out of the translator, not its tests. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import { validateSnapshot } from "../model/validate.ts";
import type { Condition } from "../k8s/types.ts";

const dir = join(import.meta.dirname, "..", "..", "examples", "gateway-api");

test("examples/gateway-api: every object accepted, every reference resolved, snapshot valid", () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  const states = new Map(
    files.map((f) => [
      f,
      nextState(undefined, "example", parseManifests(f, readFileSync(join(dir, f), "utf8"))),
    ]),
  );
  const set = assemble(states, []);
  assert.deepEqual(set.errors, []);
  const out = buildSnapshot(
    set,
    { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 },
    {},
    1,
  );
  assert.deepEqual(validateSnapshot(out.snapshot), []);
  const check = (where: string, conds: Condition[] | undefined) => {
    for (const c of conds ?? []) {
      const want = c.type === "Conflicted" ? "False" : "True";
      assert.equal(c.status, want, `${where}: ${c.type} ${c.reason} ${c.message}`);
    }
  };
  const kinds = new Set<string>();
  for (const s of out.statuses) {
    kinds.add(s.kind);
    const where = `${s.kind}/${s.namespace ?? ""}/${s.name}`;
    check(where, s.status.conditions);
    for (const p of (s.status.parents ?? []) as { conditions: Condition[] }[]) check(where, p.conditions);
    for (const a of (s.status.ancestors ?? []) as { conditions: Condition[] }[]) check(where, a.conditions);
    for (const l of (s.status.listeners ?? []) as { name: string; conditions: Condition[] }[])
      check(`${where} ${l.name}`, l.conditions);
  }
  for (const k of [
    "GatewayClass",
    "Gateway",
    "HTTPRoute",
    "GRPCRoute",
    "TLSRoute",
    "TCPRoute",
    "UDPRoute",
    "BackendTLSPolicy",
    "ListenerSet",
  ]) {
    assert.ok(kinds.has(k), `the examples show ${k}`);
  }
  const gw = out.statuses.find((s) => s.kind === "Gateway" && s.name === "demo");
  assert.deepEqual(gw?.status.addresses, [{ type: "IPAddress", value: "127.0.20.10" }]);
  // One VIP, one listener per port: 8080 and 8081 (ListenerSet) HTTP, 8443 HTTPS + passthrough, 9000 TCP, 9053 UDP.
  assert.deepEqual(out.snapshot.http.map((l) => l.port).sort(), [8080, 8081, 8443]);
  assert.deepEqual(out.snapshot.l4.map((l) => `${l.port}/${l.protocol}`).sort(), ["9000/TCP", "9053/UDP"]);
  assert.equal(out.snapshot.http.find((l) => l.port === 8443)?.sniRoutes?.[0]?.hostname, "db.example.test");
});

// engine-group.test.ts: `portico explain enginegroup/NAME` and `portico get enginegroups`, offline
// and with a live fleet view: spec with defaults, HA mode in words, what the group serves and why,
// the problems, and each engine when a running Portico knows them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { serveCliRoute } from "../../api/cli-routes.ts";
import { loadDirs } from "../../sources/file/source.ts";
import type { FleetView } from "../fleet/view.ts";
import { buildSnapshot } from "../pipeline.ts";
import { narrow, renderTable, tableRows } from "../tables.ts";
import { explain, renderExplanation } from "./index.ts";

const testdata = join(import.meta.dirname, "..", "..", "translate", "testdata");

async function pipeline(...cases: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "portico-eg-"));
  try {
    for (const c of cases) copyFileSync(join(testdata, `${c}.in.yaml`), join(dir, `${c}.yaml`));
    writeFileSync(
      join(dir, "standby.yaml"),
      "apiVersion: portico.dev/v1alpha1\nkind: EngineGroup\nmetadata: {name: pair}\nspec: {haMode: ActiveStandby, replicas: 2, resources: {cpu: 500m, memory: 512Mi}}\n",
    );
    const set = await loadDirs([dir]);
    const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };
    return { set, out: buildSnapshot(set, opts, {}, 1) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const eg = (name: string) => ({ kind: "EngineGroup" as const, namespace: "", name });

test("explain enginegroup: spec with defaults, the mode in words, what it serves and by which rule", async () => {
  const { set, out } = await pipeline("group-ingressclass");
  const text = renderExplanation(explain(set, out, eg("web")));
  assert.match(text, /^EngineGroup web$/m);
  assert.match(text, /defined at .*group-ingressclass\.yaml:\d+/);
  assert.match(text, /^ {2}2 engine\(s\), fixed, run as a Deployment, 1 worker\(s\) each$/m);
  assert.match(text, /^HA mode: ActiveActive — every ready engine serves every VIP/m);
  assert.match(text, /^Serves 1 VIP\(s\) for 2 object\(s\):$/m);
  assert.match(text, /^ {2}192\.0\.2\.0 Ingress\/default\/old: IngressClass spec\.parameters$/m);
  assert.match(text, /Ingress\/default\/newer: asked for batch .* shares the VIP with Ingress\/default\/old/);
  assert.match(text, /^Problems:$/m);

  const pair = renderExplanation(explain(set, out, eg("pair")));
  assert.match(pair, /size per engine: cpu 500m, memory 512Mi/);
  assert.match(pair, /HA mode: ActiveStandby — each VIP is served by one engine, with one standby/);
  assert.match(pair, /nothing: no object, class or VipPool picks this group/);

  const builtin = renderExplanation(explain(set, out, eg("default")));
  assert.match(builtin, /built in: no manifest defines it/);
});

test("explain enginegroup: a missing group names the objects it leaves unserved; an invalid one says why", async () => {
  const { set, out } = await pipeline("group-not-found", "group-invalid");
  const missing = explain(set, out, eg("wbe"));
  assert.equal(missing.found, false);
  const text = renderExplanation(missing);
  assert.match(text, /EngineGroup wbe is not in the manifests/);
  assert.match(text, /Service\/default\/typo: annotation portico\.dev\/engine-group/);
  assert.match(text, /Create it: apiVersion: portico\.dev\/v1alpha1, kind: EngineGroup, metadata\.name: wbe/);
  const bad = renderExplanation(explain(set, out, eg("min-above-max")));
  assert.match(bad, /not accepted: its spec has never been valid/);
  assert.match(bad, /spec: MinAboveMax: spec\.autoscaling\.minReplicas 3 is above maxReplicas 2/);
  assert.equal(explain(set, out, eg("nobody")).found, false);

  const svc = renderExplanation(explain(set, out, { kind: "Service", namespace: "default", name: "typo" }));
  assert.match(svc, /^Engine group: wbe \(annotation portico\.dev\/engine-group\) — it does not exist/m);
});

const fleet: FleetView = {
  epoch: 3,
  seq: 9,
  engines: [
    {
      identity: {
        name: "web-1",
        group: "web",
        node: "n1",
        zone: "z1",
        version: "0.1.0",
        pid: 1,
        vcpu: 1,
        memoryBytes: 1 << 30,
        limits: { maxConnections: 0, maxConnectionRate: 0 },
      },
      local: false,
      connected: true,
      lastHeardMsAgo: 100,
      acked: { epoch: 3, seq: 9, version: 12 },
      ready: true,
      listeners: [],
      load: {
        at: 0,
        intervalMs: 1000,
        cpuCores: 0.25,
        eventLoopUtilization: 0.2,
        lagP99Ms: 3,
        connectionsOpen: 42,
        connectionsPerSecond: 5,
        requestsPerSecond: 120.4,
        tlsHandshakesPerSecond: 1,
        bytesInPerSecond: 0,
        bytesOutPerSecond: 0,
        rssBytes: 0,
      },
      history: [],
    },
  ],
};

test("explain enginegroup with a fleet view lists each engine: node, acked version, ready, load", async () => {
  const { set, out } = await pipeline("group-ingressclass");
  const text = renderExplanation(explain(set, out, eg("web"), "manifests", fleet));
  assert.match(text, /^Engines \(1, live\):$/m);
  assert.match(
    text,
    /^ {2}web-1 on node n1 \(z1\): ready, acked version 12 \(seq 9\), 120 req\/s, 42 connections, 0\.25 cores$/m,
  );
  const none = renderExplanation(explain(set, out, eg("batch"), "manifests", fleet));
  assert.match(none, /none connected: nothing serves this group's VIPs/);

  // The admin route passes the controller's fleet view through.
  const inspection = { set, out, ports: { http: 80, https: 443 } };
  let body = "";
  serveCliRoute(
    { inspect: () => inspection, engines: () => fleet },
    "/api/v1/explain/enginegroup/web",
    (_s, _t, b) => {
      body = b;
    },
  );
  assert.match(JSON.parse(body).lines.join("\n"), /web-1 on node n1/);
});

test("get enginegroups: one row per group, the built-in default included", async () => {
  const { set, out } = await pipeline("group-annotation");
  const rows = tableRows("enginegroups", set, out, { http: 80, https: 443 });
  const table = renderTable(narrow("enginegroups", rows));
  assert.match(table, /^NAME +HA MODE +REPLICAS +VIPS +OBJECTS +ACCEPTED$/m);
  assert.match(table, /^default +ActiveActive +1 +0 +0 +True\(builtin\)$/m);
  assert.match(table, /^edge +NPlusM +4 +1 +1 +True$/m);
  assert.match(table, /^web +ActiveStandby +3 +1 +1 +True$/m);
  assert.equal(rows.find((r) => r.NAME === "edge")?.SPARES, "1");
});

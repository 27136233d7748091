// agent.test.ts: the engine's link client against a real TLS controller (test/support/
// link-controller.ts, certificates from the openssl CLI) with a real in-process engine serving
// real HTTP on 127.0.0.1: apply + ack, NACK with reason while the old snapshot serves, stale
// epochs refused, serving through a controller outage and resync with `have`, a wrong CA refused
// before any Hello, refusals logged once, pings answered, a silent controller dropped.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { get } from "node:http";
import { caAndLeaf, selfSigned } from "../../test/support/certs.ts";
import { LinkController } from "../../test/support/link-controller.ts";
import { httpBackend } from "../../test/e2e/fixtures.ts";
import { waitFor } from "../../test/e2e/harness.ts";
import { freePort } from "../../test/e2e/l4-helpers.ts";
import { createEnginePort } from "../controller/engine-port.ts";
import type { Logger } from "../controller/log.ts";
import { catchAllListener, poolOf } from "../engine/l7/testing.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import type { EngineIdentity } from "../link/protocol.ts";
import { EngineAgent, type AgentOptions } from "./agent.ts";
import { RecordingAnnouncer } from "../announce/testing.ts";

const TOKEN = "s3cret-token-abcdef";
const pki = caAndLeaf(["portico-controller"]);
const backend = await httpBackend("b1");
after(() => backend.close());

const identity: EngineIdentity = {
  name: "e1",
  group: "default",
  node: "n1",
  version: "test",
  pid: process.pid,
  vcpu: 1,
  memoryBytes: 1 << 30,
  limits: { maxConnections: 0, maxConnectionRate: 0 },
};

function snapshotFor(port: number, version: number, extra: Partial<EngineSnapshot> = {}): EngineSnapshot {
  return {
    version,
    l4: [],
    http: [catchAllListener("web", { port })],
    pools: { p: poolOf("p", [backend.port]) },
    certificates: {},
    ...extra,
  };
}

function fetchText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path: "/hello", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
    });
    req.on("error", reject);
  });
}

/** setup starts a controller and an agent with an in-process engine; cleanup is registered. */
async function setup(
  o: Partial<AgentOptions> & {
    epoch?: number;
    refuse?: string;
    caPem?: string;
    announcer?: RecordingAnnouncer;
  } = {},
) {
  const controller = new LinkController(pki.leaf, { token: TOKEN, epoch: o.epoch ?? 1, refuse: o.refuse });
  await controller.listen();
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = (level, msg, fields) => lines.push({ level, msg, fields });
  const announcer = o.announcer;
  const engine = await createEnginePort(() => {}, announcer ? { announcer: () => announcer } : {});
  const agent = new EngineAgent({
    host: "127.0.0.1",
    port: controller.port,
    ca: o.caPem ?? pki.caPem,
    token: TOKEN,
    identity,
    engine,
    log,
    backoff: { firstMs: 20, maxMs: 200 },
    ...o,
  });
  agent.start();
  const cleanup = async () => {
    agent.stop();
    await controller.close().catch(() => {});
    await engine.close();
  };
  return { controller, agent, engine, lines, cleanup };
}

test("agent: applies a snapshot, serves it, acks with epoch and seq, reports listener status", async (t) => {
  const s = await setup({ epoch: 7 });
  t.after(s.cleanup);
  await waitFor("hello", () => s.controller.of("hello").length === 1);
  const hello = s.controller.of("hello")[0]!;
  assert.equal(hello.token, TOKEN);
  assert.equal(hello.engine.name, "e1");
  assert.equal(hello.have, undefined, "a fresh engine serves nothing");
  const port = await freePort("127.0.0.1");
  s.controller.snapshot(7, 1, snapshotFor(port, 11));
  const ack = await waitFor("ack", () => s.controller.of("ack")[0]);
  assert.deepEqual(ack, { type: "ack", epoch: 7, seq: 1, version: 11 });
  assert.match(await fetchText(port), /^200 b1 GET \/hello/);
  const status = await waitFor("status with the listener", () =>
    s.controller.of("status").find((m) => m.listeners.length === 1),
  );
  assert.equal(status.listeners[0]!.state, "bound");
  assert.deepEqual(s.agent.applied(), { epoch: 7, seq: 1, version: 11 });
  // The token never reaches a log line.
  assert.ok(!JSON.stringify(s.lines).includes(TOKEN));
});

test("agent: a bad certificate is NACKed with its reason and listener; the old snapshot keeps serving", async (t) => {
  const s = await setup();
  t.after(s.cleanup);
  await waitFor("hello", () => s.controller.of("hello").length === 1);
  const port = await freePort("127.0.0.1");
  s.controller.snapshot(1, 1, snapshotFor(port, 1));
  await waitFor("ack", () => s.controller.of("ack").length === 1);
  const good = selfSigned(["a.example"]);
  const bad = snapshotFor(port, 2, {
    http: [
      catchAllListener("web", {
        port,
        tls: { sni: [{ hostname: "a.example", certificate: "ns/broken" }] },
      }),
    ],
    certificates: {
      "ns/broken": { certPem: "-----BEGIN CERTIFICATE-----\nnot base64\n", keyPem: good.keyPem },
    },
  });
  s.controller.snapshot(1, 2, bad);
  const nack = await waitFor("nack", () => s.controller.of("nack")[0]);
  assert.equal(nack.epoch, 1);
  assert.equal(nack.seq, 2);
  assert.equal(nack.version, 2);
  assert.equal(nack.stale, undefined);
  assert.match(nack.error, /ns\/broken/);
  assert.equal(nack.code, "InvalidCertificate");
  assert.equal(nack.listener, "web");
  // Still plain HTTP from snapshot 1.
  assert.match(await fetchText(port), /^200 b1/);
  assert.deepEqual(s.agent.applied(), { epoch: 1, seq: 1, version: 1 });
  // A status follows the nack too.
  const i = s.controller.received.findIndex((r) => r.msg.type === "nack");
  await waitFor("status after the nack", () =>
    s.controller.received.slice(i).some((r) => r.msg.type === "status"),
  );
});

test("agent: an older epoch is NACKed stale and not applied; the same seq is re-acked", async (t) => {
  const s = await setup({ epoch: 5 });
  t.after(s.cleanup);
  await waitFor("hello", () => s.controller.of("hello").length === 1);
  const port = await freePort("127.0.0.1");
  const other = await freePort("127.0.0.1");
  s.controller.snapshot(5, 3, snapshotFor(port, 30));
  await waitFor("ack", () => s.controller.of("ack").length === 1);
  // An old leader's push, on another port: refused, never bound.
  s.controller.snapshot(4, 9, snapshotFor(other, 31));
  const nack = await waitFor("stale nack", () => s.controller.of("nack")[0]);
  assert.equal(nack.stale, true);
  assert.equal(nack.code, "Stale");
  assert.match(nack.error, /epoch 4 is older than epoch 5/);
  await assert.rejects(fetchText(other), /ECONNREFUSED/);
  // The same push again: acked without applying it twice.
  s.controller.snapshot(5, 3, snapshotFor(port, 30));
  await waitFor("re-ack", () => s.controller.of("ack").length === 2);
  assert.deepEqual(s.controller.of("ack")[1], { type: "ack", epoch: 5, seq: 3, version: 30 });
  assert.equal(s.lines.filter((l) => l.msg === "snapshot applied").length, 1);
});

test("agent: serves through a controller outage, reconnects and resyncs with have", async (t) => {
  const s = await setup({ epoch: 2 });
  t.after(s.cleanup);
  await waitFor("hello", () => s.controller.of("hello").length === 1);
  const port = await freePort("127.0.0.1");
  s.controller.snapshot(2, 1, snapshotFor(port, 4));
  await waitFor("ack", () => s.controller.of("ack").length === 1);
  const controllerPort = s.controller.port;
  await s.controller.close();
  await waitFor("link down", () => !s.agent.link().connected);
  assert.match(await fetchText(port), /^200 b1/, "the last good snapshot serves with no controller");
  // A controller (a new leader) comes back on the same address.
  const back = new LinkController(pki.leaf, { token: TOKEN, epoch: 3 });
  await back.listen(controllerPort);
  t.after(() => back.close());
  const hello = await waitFor("hello again", () => back.of("hello")[0], 15_000);
  assert.deepEqual(hello.have, { epoch: 2, seq: 1, version: 4 });
  back.snapshot(3, 1, snapshotFor(port, 5));
  assert.deepEqual(await waitFor("ack", () => back.of("ack")[0]), {
    type: "ack",
    epoch: 3,
    seq: 1,
    version: 5,
  });
  assert.ok(s.lines.some((l) => l.msg === "controller link closed; serving the last good snapshot"));
});

test("agent: a controller whose certificate the pinned CA did not sign gets no Hello", async (t) => {
  const stranger = caAndLeaf(["portico-controller"]);
  const s = await setup({ caPem: stranger.caPem });
  t.after(s.cleanup);
  await waitFor("a TLS failure logged", () =>
    s.lines.find((l) => l.msg.startsWith("controller link failed")),
  );
  // Several attempts later, still nothing from the engine reached the controller.
  await waitFor("three dials", () => s.controller.dials >= 3, 15_000);
  const failure = s.lines.find((l) => l.msg.startsWith("controller link failed"))!;
  assert.match(String(failure.fields?.code), /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
  assert.equal(s.controller.received.length, 0);
  assert.equal(s.controller.of("hello").length, 0);
});

test("agent: the wrong name on the controller's certificate gets no Hello", async (t) => {
  const wrongName = caAndLeaf(["not-the-controller"]);
  const controller = new LinkController(wrongName.leaf, { token: TOKEN, epoch: 1 });
  await controller.listen();
  const lines: string[] = [];
  const engine = await createEnginePort(() => {});
  const agent = new EngineAgent({
    host: "127.0.0.1",
    port: controller.port,
    ca: wrongName.caPem,
    token: TOKEN,
    identity,
    engine,
    log: (_l, msg, f) => lines.push(`${msg} ${JSON.stringify(f)}`),
    backoff: { firstMs: 20, maxMs: 100 },
  });
  agent.start();
  t.after(async () => {
    agent.stop();
    await controller.close();
    await engine.close();
  });
  await waitFor("name mismatch logged", () => lines.find((l) => l.includes("ERR_TLS_CERT_ALTNAME_INVALID")));
  assert.equal(controller.received.length, 0);
});

test("agent: a refusal is logged once per reason and the engine keeps trying", async (t) => {
  const s = await setup({ refuse: "unknown group default" });
  t.after(s.cleanup);
  await waitFor("three hellos", () => s.controller.of("hello").length >= 3, 15_000);
  const refusals = s.lines.filter((l) => l.msg.startsWith("the controller refused"));
  assert.equal(refusals.length, 1);
  assert.equal(refusals[0]!.fields?.reason, "unknown group default");
  assert.equal(s.agent.link().refused, "unknown group default");
  assert.ok(!JSON.stringify(s.lines).includes(TOKEN));
});

test("agent: answers pings, sends load reports, drops a silent controller and dials again", async (t) => {
  let n = 0;
  const s = await setup({
    peerTimeoutMs: 1_000,
    loadIntervalMs: 50,
    load: () => ({
      at: Date.now(),
      intervalMs: 50,
      cpuCores: 0.1,
      eventLoopUtilization: 0.05,
      lagP99Ms: 1,
      connectionsOpen: ++n,
      connectionsPerSecond: 0,
      requestsPerSecond: 0,
      tlsHandshakesPerSecond: 0,
      bytesInPerSecond: 0,
      bytesOutPerSecond: 0,
      rssBytes: 1,
    }),
  });
  t.after(s.cleanup);
  await waitFor("hello", () => s.controller.of("hello").length === 1);
  s.controller.send({ type: "ping", at: 12345 });
  assert.deepEqual(await waitFor("pong", () => s.controller.of("pong")[0]), { type: "pong", at: 12345 });
  await waitFor("load reports", () => s.controller.of("load").length >= 2);
  // The test controller never pings on its own: after peerTimeoutMs the engine hangs up and redials.
  await waitFor("second connection", () => s.controller.of("hello").length >= 2, 15_000);
  assert.ok(s.lines.some((l) => String(l.fields?.error).includes("silent")));
  assert.equal(
    new Set(s.controller.received.filter((r) => r.msg.type === "hello").map((r) => r.conn)).size,
    2,
  );
});

test("agent: the controller's drain message reaches the owner", async (t) => {
  let asked: number | undefined;
  const s = await setup({ onDrain: (ms) => (asked = ms) });
  t.after(s.cleanup);
  await waitFor("hello", () => s.controller.of("hello").length === 1);
  s.controller.send({ type: "drain", deadlineMs: 1234 });
  assert.equal(await waitFor("drain", () => asked), 1234);
});

test("agent: several controller addresses are tried in turn; a leader change moves the link to the next", async (t) => {
  // Only a cluster's leader listens: here first A (B's port closed), then B (A's closed).
  const a = new LinkController(pki.leaf, { token: TOKEN, epoch: 1 });
  await a.listen();
  const bPort = await freePort("127.0.0.1");
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const engine = await createEnginePort(() => {});
  const agent = new EngineAgent({
    host: "127.0.0.1",
    port: bPort,
    alternates: [{ host: "127.0.0.1", port: a.port }],
    ca: pki.caPem,
    token: TOKEN,
    identity,
    engine,
    log: (level, msg, fields) => lines.push({ level, msg, fields }),
    backoff: { firstMs: 20, maxMs: 200 },
  });
  agent.start();
  const b = new LinkController(pki.leaf, { token: TOKEN, epoch: 2 });
  t.after(async () => {
    agent.stop();
    await a.close().catch(() => {});
    await b.close().catch(() => {});
    await engine.close();
  });
  await waitFor("hello at A, the second address", () => a.of("hello").length === 1);
  const port = await freePort("127.0.0.1");
  a.snapshot(1, 1, snapshotFor(port, 1));
  await waitFor("ack from A", () => a.of("ack").length === 1);
  await a.close();
  await b.listen(bPort);
  const hello = await waitFor("hello at B, the first address", () => b.of("hello")[0], 15_000);
  assert.deepEqual(hello.have, { epoch: 1, seq: 1, version: 1 });
  b.snapshot(2, 1, snapshotFor(port, 2));
  assert.equal((await waitFor("ack from B", () => b.of("ack")[0])).epoch, 2);
  assert.ok(
    lines.some((l) => l.msg === "connected to the controller" && l.fields?.address === `127.0.0.1:${bPort}`),
  );
});

test("agent: sends the engine's announcements on every change, and again to a controller it reconnects to", async (t) => {
  // RecordingAnnouncer is test-only: it reports what the test sets and touches no address.
  const announcer = new RecordingAnnouncer();
  const s = await setup({ announcer });
  t.after(s.cleanup);
  await waitFor("hello", () => s.controller.of("hello").length === 1);
  assert.equal(s.controller.of("announce").length, 0, "nothing to say before a snapshot announces");
  const port = await freePort("127.0.0.1");
  const announce = { leaseMs: 3000, vips: [{ address: "198.51.100.7", pool: "p", mode: "L2" as const }] };
  s.controller.snapshot(1, 1, snapshotFor(port, 1, { announce }));
  await waitFor("ack", () => s.controller.of("ack").length === 1);
  assert.deepEqual(announcer.calls, ["prepare:198.51.100.7", "commit:198.51.100.7"]);
  const vip = {
    address: "198.51.100.7",
    mode: "L2" as const,
    state: "Announced" as const,
    since: "2026-01-01T00:00:00.000Z",
  };
  announcer.report({ vips: [vip], peers: [] });
  const sent = await waitFor("an announce message", () => s.controller.of("announce")[0]);
  assert.deepEqual(sent.status, { vips: [vip], peers: [] });
  // A new link: the controller hears the current announcements without waiting for a change.
  await s.controller.close();
  await s.controller.listen(s.controller.port);
  await waitFor(
    "the status again after reconnecting",
    () => s.controller.of("announce").length === 2,
    15_000,
  );
});

test("agent: sends the engine's analytics batches while linked, only when there is one", async (t) => {
  const batches = [
    undefined,
    { engine: "local", at: 5000, intervalMs: 5000, services: {}, logs: [], dropped: 1 },
  ];
  let calls = 0;
  const s = await setup({ loadIntervalMs: 50, analytics: () => batches[calls++ % 2] });
  t.after(s.cleanup);
  await waitFor("two batches", () => s.controller.of("analytics").length >= 2);
  assert.ok(calls >= 4, "taken at every interval");
  assert.deepEqual(s.controller.of("analytics")[0], { type: "analytics", batch: batches[1] });
});

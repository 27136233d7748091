// The engine side here is TestEngine (testing.ts): our own protocol's peer written from frames.ts,
// not `portico engine` (built elsewhere). Real TLS sockets on 127.0.0.1, the real CA from credentials.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:tls";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCredentials, loadOrCreateCredentials, type LinkCredentials } from "../../link/credentials.ts";
import { LINK_VERSION, MAX_UNAUTHENTICATED_FRAME, TLS_SERVER_NAME } from "../../link/protocol.ts";
import { selfSigned } from "../../engine/tls/default-cert.ts";
import { waitFor } from "../../../test/e2e/harness.ts";
import { Hub, type HubEvent, type HubTiming } from "./hub.ts";
import { TestEngine, fixtureSnapshot, identity } from "./testing.ts";
import type { AnalyticsBatch } from "../../analytics/types.ts";
import { logRecord } from "../../analytics/log-testing.ts";

interface Rig {
  hub: Hub;
  port: number;
  creds: LinkCredentials;
  logs: { level: string; msg: string; fields?: Record<string, unknown> }[];
  events: HubEvent[];
  close: () => Promise<void>;
}

async function rig(timing: Partial<HubTiming> = {}, maxUnauthenticated?: number): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "hub-"));
  const creds = loadOrCreateCredentials(dir);
  const logs: Rig["logs"] = [];
  const hub = new Hub({
    certPem: creds.certPem,
    keyPem: creds.keyPem,
    token: creds.token,
    epoch: 3,
    controller: "test",
    log: (level, msg, fields) => logs.push({ level, msg, ...(fields ? { fields } : {}) }),
    timing,
    ...(maxUnauthenticated !== undefined ? { maxUnauthenticated } : {}),
  });
  const events: HubEvent[] = [];
  hub.onEvent((e) => events.push(e));
  const { port } = await hub.listen("127.0.0.1", 0);
  return {
    hub,
    port,
    creds,
    logs,
    events,
    close: async () => {
      await hub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const refusedAndClosed = async (e: TestEngine, reason: RegExp) => {
  await waitFor("the link to close", () => e.closed);
  const refused = e.of("refused");
  assert.equal(refused.length, 1, JSON.stringify(e.received));
  assert.match(refused[0]!.reason, reason);
  assert.equal(e.of("welcome").length, 0);
};

test("a wrong token is refused with what to fix, the link closed, and the token never logged", async () => {
  const r = await rig();
  try {
    const e = await TestEngine.connect(r.port, r.creds.caPem);
    const wrong = "wrong-token-" + "x".repeat(40);
    e.hello(wrong, identity("a"));
    await refusedAndClosed(e, /wrong token: give the engine the controller's token/);
    const text = JSON.stringify(r.logs);
    assert.match(text, /engine link refused/);
    assert.ok(!text.includes(wrong) && !text.includes(r.creds.token), "no token in the log");
    assert.deepEqual(r.hub.sessions(), []);
  } finally {
    await r.close();
  }
});

test("a wrong link version, or a first message that is not a hello, is refused", async () => {
  const r = await rig();
  try {
    const v = await TestEngine.connect(r.port, r.creds.caPem);
    v.send({ type: "hello", linkVersion: LINK_VERSION + 1, token: r.creds.token, engine: identity("a") });
    await refusedAndClosed(
      v,
      new RegExp(`link version ${LINK_VERSION + 1} is not this controller's ${LINK_VERSION}`),
    );
    const a = await TestEngine.connect(r.port, r.creds.caPem);
    a.send({ type: "ack", epoch: 3, seq: 1, version: 1 });
    await refusedAndClosed(a, /the first message must be a hello/);
    const n = await TestEngine.connect(r.port, r.creds.caPem);
    n.hello(r.creds.token, { ...identity("a"), name: "../etc" });
    await refusedAndClosed(n, /engine\.name "..\/etc" is not a name/);
  } finally {
    await r.close();
  }
});

test("a link that sends no hello within the hello timeout is refused and closed", async () => {
  const r = await rig({ helloTimeoutMs: 300 });
  try {
    const started = performance.now();
    const e = await TestEngine.connect(r.port, r.creds.caPem);
    await refusedAndClosed(e, /no hello within 300 ms/);
    const took = performance.now() - started;
    assert.ok(took >= 250, `closed after ${took} ms`);
  } finally {
    await r.close();
  }
});

test("an oversized frame before the hello is refused before it is buffered", async () => {
  const r = await rig();
  try {
    const e = await TestEngine.connect(r.port, r.creds.caPem);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_UNAUTHENTICATED_FRAME + 1);
    e.socket.write(head);
    await refusedAndClosed(
      e,
      new RegExp(`frame of ${MAX_UNAUTHENTICATED_FRAME + 1} bytes exceeds the limit`),
    );
  } finally {
    await r.close();
  }
});

test("a client that does not trust the controller's CA never gets a snapshot", async () => {
  const r = await rig();
  try {
    const other = selfSigned(new Date());
    const socket = connect({
      host: "127.0.0.1",
      port: r.port,
      ca: other.certPem,
      servername: TLS_SERVER_NAME,
    });
    const [err] = (await once(socket, "error")) as [NodeJS.ErrnoException];
    assert.match(String(err.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    assert.equal(socket.bytesRead > 0 && socket.authorized, false);
    // Nothing was accepted: no session, and a push to anyone finds no one.
    assert.deepEqual(r.hub.sessions(), []);
    assert.deepEqual(await r.hub.send("a", 1, fixtureSnapshot(), 1000), { type: "gone" });
  } finally {
    await r.close();
  }
});

test("an authenticated engine gets a welcome, its acks and nacks are tracked, and a second link with its name replaces the first", async () => {
  const r = await rig();
  try {
    const e = await TestEngine.connect(r.port, r.creds.caPem);
    e.hello(r.creds.token, identity("a"), { epoch: 2, seq: 9, version: 4 });
    await waitFor("welcome", () => e.of("welcome").length === 1);
    assert.deepEqual(e.of("welcome")[0], { type: "welcome", controller: "test", epoch: 3 });
    assert.deepEqual(r.hub.session("a")?.acked, { epoch: 2, seq: 9, version: 4 }, "what it serves");
    const answer = r.hub.send("a", 1, fixtureSnapshot(5), 10_000);
    await waitFor("snapshot", () => e.of("snapshot").length === 1);
    assert.deepEqual(r.hub.session("a")?.pending, { epoch: 3, seq: 1, version: 5 });
    e.answer();
    assert.deepEqual(await answer, { type: "ack" });
    assert.deepEqual(r.hub.session("a")?.acked, { epoch: 3, seq: 1, version: 5 });
    assert.equal(r.hub.session("a")?.pending, undefined);
    await waitFor("status", () => r.hub.session("a")!.listeners.length === 3);
    const nacked = r.hub.send("a", 2, fixtureSnapshot(6), 10_000);
    await waitFor("second snapshot", () => e.of("snapshot").length === 2);
    e.answer({ error: "bad certificate", code: "CompileFailed", listener: "Ingress/default/web:443" });
    const n = await nacked;
    assert.equal(n.type, "nack");
    assert.equal(r.hub.session("a")?.lastNack?.error, "bad certificate");
    // The same engine again (restarted faster than its old link timed out): the new link wins, no "left".
    const again = await TestEngine.connect(r.port, r.creds.caPem);
    again.hello(r.creds.token, identity("a"));
    await waitFor("the old link to close", () => e.closed);
    await waitFor("welcome on the new link", () => again.of("welcome").length === 1);
    assert.equal(r.hub.sessions().length, 1);
    assert.deepEqual(
      r.events.map((x) => x.type),
      ["joined", "acked", "status", "nacked", "joined"],
    );
  } finally {
    await r.close();
  }
});

test("an engine silent for the peer timeout is dropped; one that answers pings stays", async () => {
  const r = await rig({ pingIntervalMs: 100, peerTimeoutMs: 600 });
  try {
    const silent = await TestEngine.connect(r.port, r.creds.caPem);
    const alive = await TestEngine.connect(r.port, r.creds.caPem);
    silent.pong = false;
    silent.hello(r.creds.token, identity("silent"));
    alive.hello(r.creds.token, identity("alive"));
    await waitFor("both joined", () => r.hub.sessions().length === 2);
    const joined = performance.now();
    await waitFor("the silent engine to be dropped", () => silent.closed, 10_000);
    const after = performance.now() - joined;
    assert.ok(after >= 500, `dropped after ${Math.round(after)} ms, not before the 600 ms timeout`);
    assert.deepEqual(
      r.hub.sessions().map((s) => s.identity.name),
      ["alive"],
    );
    const left = r.events.find((x) => x.type === "left");
    assert.equal(left?.type === "left" && left.engine, "silent");
    assert.match(left?.type === "left" ? left.reason : "", /silent for \d+ ms/);
    assert.ok(alive.of("ping").length >= 3);
    assert.equal(alive.closed, false);
  } finally {
    await r.close();
  }
});

test("a reserved name is refused naming who has it", async () => {
  const r = await rig();
  try {
    r.hub.reserve("local", "the controller's in-process engine");
    const e = await TestEngine.connect(r.port, r.creds.caPem);
    e.hello(r.creds.token, identity("local"));
    await refusedAndClosed(e, /engine name local is taken by the controller's in-process engine/);
  } finally {
    await r.close();
  }
});

test("a connection that never starts TLS is closed after the hello timeout", async () => {
  const r = await rig({ helloTimeoutMs: 300 });
  try {
    const { connect: tcp } = await import("node:net");
    const raw = tcp({ host: "127.0.0.1", port: r.port });
    await once(raw, "connect");
    const started = performance.now();
    await once(raw, "close");
    const took = performance.now() - started;
    assert.ok(took >= 250, `closed after ${Math.round(took)} ms`);
    assert.deepEqual(r.hub.sessions(), []);
  } finally {
    await r.close();
  }
});

test("a closed hub listens again with new credentials and epoch (a cluster leader's next term)", async () => {
  const r = await rig();
  try {
    const first = await TestEngine.join(r.port, r.creds.caPem, r.creds.token, identity("a"));
    assert.equal(first.of("welcome")[0]!.epoch, 3);
    assert.throws(() => r.hub.configure({ ...r.creds, epoch: 4 }), /close the hub first/);
    await r.hub.close();
    await waitFor("the engine's link to close", () => first.closed);
    assert.equal(r.hub.listening(), false);
    assert.deepEqual(r.hub.sessions(), []);
    const next = createCredentials();
    r.hub.configure({ ...next, epoch: 4 });
    const { port } = await r.hub.listen("127.0.0.1", 0);
    // The old token and CA no longer get in; the new ones do, welcomed in the new epoch.
    const old = await TestEngine.connect(port, next.caPem);
    old.hello(r.creds.token, identity("b"));
    await refusedAndClosed(old, /wrong token/);
    const again = await TestEngine.join(port, next.caPem, next.token, identity("a"));
    assert.equal(again.of("welcome")[0]!.epoch, 4);
    assert.equal(r.hub.epoch, 4);
    again.close();
  } finally {
    await r.close();
  }
});

test("a hub without a token of at least 16 characters refuses to listen", async () => {
  const hub = new Hub({
    certPem: "",
    keyPem: "",
    token: "",
    epoch: 0,
    controller: "t",
    log: () => undefined,
  });
  await assert.rejects(hub.listen("127.0.0.1", 0), /token is missing or shorter than 16/);
  assert.equal(hub.listening(), false);
});

test("an answer for the same sequence of another epoch does not settle this epoch's push", async () => {
  // An engine that applied an old leader's snapshot while its link moved to this controller
  // sends that ack here: same seq, older epoch. It must not count as the answer to this push.
  const r = await rig();
  try {
    const e = await TestEngine.connect(r.port, r.creds.caPem);
    e.hello(r.creds.token, identity("a"));
    await waitFor("welcome", () => e.of("welcome").length === 1);
    let settled: unknown;
    const answer = r.hub.send("a", 1, fixtureSnapshot(5), 10_000).then((a) => (settled = a));
    await waitFor("snapshot", () => e.of("snapshot").length === 1);
    e.send({ type: "ack", epoch: 2, seq: 1, version: 4 });
    e.send({ type: "nack", epoch: 2, seq: 1, version: 4, error: "old", code: "Stale", stale: true });
    e.send({ type: "pong", at: Date.now() });
    await waitFor(
      "the engine's messages read",
      () => r.events.filter((x) => x.type === "nacked").length === 1,
    );
    assert.equal(settled, undefined, "an answer of epoch 2 settled the push of epoch 3");
    assert.deepEqual(r.hub.session("a")?.pending, { epoch: 3, seq: 1, version: 5 });
    e.answer();
    assert.deepEqual(await answer, { type: "ack" });
  } finally {
    await r.close();
  }
});

test("a second live engine with a name in use (another group, node or process) is refused, not swapped in", async () => {
  // Two `portico engine` on one machine without --name both take the hostname: swapping each for
  // the other made them evict one another forever.
  const r = await rig();
  try {
    const first = await TestEngine.connect(r.port, r.creds.caPem);
    first.hello(r.creds.token, identity("host1", "web"));
    await waitFor("welcome", () => first.of("welcome").length === 1);
    const other = await TestEngine.connect(r.port, r.creds.caPem);
    other.hello(r.creds.token, { ...identity("host1", "edge") });
    await refusedAndClosed(other, /engine name host1 is in use by a connected engine \(group web/);
    const twin = await TestEngine.connect(r.port, r.creds.caPem);
    twin.hello(r.creds.token, { ...identity("host1", "web"), pid: 2 });
    await refusedAndClosed(twin, /give each engine its own --name/);
    assert.equal(first.closed, false, "the engine in place keeps its link");
    assert.deepEqual(
      r.events.map((x) => x.type),
      ["joined"],
    );
  } finally {
    await r.close();
  }
});

test("links without a hello are bounded: past the bound a new one is closed at once, an engine still gets in once one goes", async () => {
  const r = await rig({ helloTimeoutMs: 60_000 }, 2);
  try {
    const idle = [
      await TestEngine.connect(r.port, r.creds.caPem),
      await TestEngine.connect(r.port, r.creds.caPem),
    ];
    const third = await TestEngine.connect(r.port, r.creds.caPem);
    await waitFor("the third link to be closed", () => third.closed);
    assert.equal(third.of("refused").length, 0, "closed without reading anything");
    assert.ok(JSON.stringify(r.logs).includes("too many links without a hello"));
    idle[0]!.close();
    await waitFor("an engine to get in", async () => {
      const e = await TestEngine.connect(r.port, r.creds.caPem);
      e.hello(r.creds.token, identity("a"));
      await waitFor("welcome or close", () => e.closed || e.of("welcome").length === 1);
      return e.of("welcome").length === 1;
    });
    assert.equal(idle[1]!.closed, false);
  } finally {
    await r.close();
  }
});

test("an engine's announce report is kept as its latest; one the controller cannot read is ignored", async () => {
  const r = await rig();
  try {
    const e = await TestEngine.join(r.port, r.creds.caPem, r.creds.token, identity("e1"));
    e.send({ type: "announce", status: { vips: "not a list", peers: [] } });
    const good = {
      vips: [
        {
          address: "192.0.2.10",
          mode: "L2" as const,
          state: "Announced" as const,
          since: "2026-12-06T20:00:00.000Z",
        },
      ],
      peers: [],
    };
    e.send({ type: "announce", status: good });
    await waitFor("the report", () => r.hub.session("e1")?.announce !== undefined);
    assert.deepEqual(r.hub.session("e1")!.announce, good);
    assert.deepEqual(
      r.events.filter((x) => x.type === "announce"),
      [{ type: "announce", engine: "e1" }],
    );
    e.close();
  } finally {
    await r.close();
  }
});

test("an engine's analytics batch reaches onAnalytics stamped with its authenticated name and group; one of another shape is ignored", async () => {
  const r = await rig();
  try {
    const got: AnalyticsBatch[] = [];
    r.hub.onAnalytics((b) => got.push(b));
    const e = await TestEngine.join(r.port, r.creds.caPem, r.creds.token, {
      ...identity("e1"),
      group: "edge",
    });
    e.send({ type: "analytics", batch: { services: "not a map" } });
    // Each of these threw inside the socket handler (the controller exited) or half-applied.
    const base = { engine: "e1", at: 1000, intervalMs: 1000, services: {}, logs: [], dropped: 0 };
    e.send({ type: "analytics", batch: { ...base, logs: [null] } });
    e.send({ type: "analytics", batch: { ...base, services: { x: { kind: "http" } } } });
    const log = logRecord(900, "L", { engine: "someone-else" });
    const batch: AnalyticsBatch = {
      engine: "someone-else",
      at: 1000,
      intervalMs: 1000,
      services: {},
      logs: [log],
      dropped: 0,
    };
    e.send({ type: "analytics", batch });
    await waitFor("the batch", () => got.length > 0);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.engine, "e1");
    assert.equal(got[0]!.group, "edge");
    assert.equal(got[0]!.logs[0]!.engine, "e1");
    assert.equal(got[0]!.at, 1000);
    // The bad batches were dropped whole and logged once for the link, which stays up.
    assert.equal(r.logs.filter((l) => /analytics batch/.test(l.msg)).length, 1);
    assert.ok(r.hub.sessions().some((x) => x.identity.name === "e1"));
    e.close();
  } finally {
    await r.close();
  }
});

// FleetPort and the Controller over real TLS links. The engines are TestEngine (testing.ts): our own
// protocol's peer written from frames.ts, standing in for `portico engine` (built elsewhere); they
// bind nothing, they answer. The Controller is the real one, fed by the real file-source assembly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../../../test/e2e/harness.ts";
import type { Controller } from "../standalone.ts";
import { PROGRAMMED } from "../bind-status.ts";
import { poolYaml, resourceSet, rig, serviceYaml } from "./testing.ts";

const POOL = poolYaml("127.0.20.1-127.0.20.9");
const service = serviceYaml;

const programmed = (c: Controller, name: string) =>
  c
    .statuses()
    .find((s) => s.kind === "Service" && s.name === name)
    ?.status.conditions?.find((x) => x.type === PROGRAMMED);

test("two engines ack: each got the same epoch and seq, the objects are Programmed, the view shows both", async () => {
  const r = await rig({ epoch: 4 });
  try {
    const a = await r.join("a");
    const b = await r.join("b");
    await r.controller.update(resourceSet(POOL + service("web", 8080)));
    const [sa, sb] = [a.of("snapshot").at(-1)!, b.of("snapshot").at(-1)!];
    assert.deepEqual([sa.epoch, sa.seq], [4, 1]);
    assert.deepEqual([sb.epoch, sb.seq], [4, 1]);
    assert.equal(sa.snapshot.l4.length, 1);
    await waitFor("both engines' status", () => programmed(r.controller, "web")?.status === "True");
    const view = r.fleet.view();
    assert.deepEqual(
      view.engines.map((e) => [e.identity.name, e.connected, e.acked?.version, e.ready]),
      [
        ["a", true, 1, true],
        ["b", true, 1, true],
      ],
    );
    assert.deepEqual([view.epoch, view.seq], [4, 1]);
  } finally {
    await r.close();
  }
});

test("a NACK from one of two engines is Programmed=False on the object it names; the push stays in force", async () => {
  const r = await rig();
  try {
    await r.join("a");
    const b = await r.join("b");
    await r.controller.update(resourceSet(POOL + service("web", 8080)));
    await waitFor("programmed", () => programmed(r.controller, "web")?.status === "True");
    // b cannot load what the new version asks of Service api (a certificate, a port...).
    b.auto = (s) =>
      s.l4.some((l) => l.name.startsWith("Service/default/api:"))
        ? {
            error: "cannot load certificate default/api-tls",
            code: "CompileFailed",
            listener: "Service/default/api:9090/TCP",
          }
        : undefined;
    await r.controller.update(resourceSet(POOL + service("web", 8080) + service("api", 9090)));
    assert.equal(r.controller.snapshot()?.version, 2, "a's ack keeps the push in force");
    assert.equal(r.controller.errors().rejected, undefined);
    const api = programmed(r.controller, "api");
    assert.equal(api?.status, "False");
    assert.equal(api?.reason, "Rejected");
    assert.match(api?.message ?? "", /engine b rejected version 2: cannot load certificate default\/api-tls/);
    // web is served by b's previous snapshot, not by version 2: it waits on b, saying why.
    const web = programmed(r.controller, "web");
    assert.equal(web?.status, "False");
    assert.match(
      web?.message ?? "",
      /engine b rejected version 2 because of Service\/default\/api:9090\/TCP/,
    );
    const bView = r.fleet.view().engines.find((e) => e.identity.name === "b")!;
    assert.equal(bView.ready, false);
    assert.equal(bView.lastNack?.error, "cannot load certificate default/api-tls");
    assert.equal(bView.acked?.version, 1);
  } finally {
    await r.close();
  }
});

test("every engine NACKs: the controller keeps the last good snapshot and records the rejection", async () => {
  const r = await rig();
  try {
    const a = await r.join("a");
    const b = await r.join("b");
    await r.controller.update(resourceSet(POOL + service("web", 8080)));
    await waitFor("programmed", () => programmed(r.controller, "web")?.status === "True");
    const refuse = () => ({ error: "bad certificate", code: "CompileFailed" });
    a.auto = refuse;
    b.auto = refuse;
    await r.controller.update(resourceSet(POOL + service("web", 8080) + service("api", 9090)));
    assert.equal(r.controller.snapshot()?.version, 1, "version 1 keeps serving");
    assert.match(
      r.controller.errors().rejected?.error ?? "",
      /engine a rejected version 2: bad certificate; engine b rejected/,
    );
    assert.equal(
      programmed(r.controller, "web")?.status,
      "True",
      "the serving snapshot's objects stay programmed",
    );
    // The next push that the engines take is in force again.
    a.auto = b.auto = () => undefined;
    await r.controller.update(resourceSet(POOL + service("web", 8080)));
    assert.equal(r.controller.errors().rejected, undefined);
    await waitFor("programmed again", () => programmed(r.controller, "web")?.status === "True");
  } finally {
    await r.close();
  }
});

test("an engine that has not answered keeps the object Pending naming it; its ack makes it Programmed; if it leaves instead, the others suffice", async () => {
  const r = await rig({ answerTimeoutMs: 300 });
  try {
    await r.join("a");
    const slow = await r.join("slow", { manual: true });
    await r.controller.update(resourceSet(POOL + service("web", 8080)));
    assert.equal(r.controller.snapshot()?.version, 1, "an unanswered push is in force (a acked)");
    const pending = programmed(r.controller, "web");
    assert.equal(pending?.status, "False");
    assert.equal(pending?.reason, "Pending");
    assert.match(pending?.message ?? "", /waiting for engine slow to ack version 1/);
    assert.deepEqual(r.fleet.view().engines.find((e) => e.identity.name === "slow")?.pending?.version, 1);
    slow.answer();
    await waitFor(
      "slow's ack to advance the status",
      () => programmed(r.controller, "web")?.status === "True",
    );
    // A second push slow does not answer, and then slow goes away: a alone serves, so web is Programmed.
    await r.controller.update(resourceSet(POOL + service("web", 8081)));
    assert.equal(programmed(r.controller, "web")?.status, "False");
    slow.close();
    await waitFor("slow to leave", () => programmed(r.controller, "web")?.status === "True");
    const gone = r.fleet.view().engines.find((e) => e.identity.name === "slow");
    assert.equal(gone?.connected, false, "a departed engine stays in the view for an hour");
    assert.match(await r.fleet.metrics(), /^portico_engine_up\{engine="slow",group="default"\} 0$/m);
  } finally {
    await r.close();
  }
});

test("an engine that connects gets its slice at once, unless its Hello says it already serves it", async () => {
  const r = await rig();
  try {
    await r.controller.update(resourceSet(POOL + service("web", 8080)));
    assert.equal(
      r.controller.snapshot()?.version,
      1,
      "no engine yet: the push is in force for whoever comes",
    );
    const a = await r.join("a");
    await waitFor("a's slice", () => a.of("snapshot").length === 1);
    const s = a.of("snapshot")[0]!;
    assert.equal(s.snapshot.version, 1);
    await waitFor("programmed", () => programmed(r.controller, "web")?.status === "True");
    // a's link drops and it comes back serving exactly that push: nothing is sent again.
    a.close();
    await waitFor("a to leave", () => r.hub.sessions().length === 0);
    const back = await r.join("a", { have: { epoch: s.epoch, seq: s.seq, version: 1 } });
    const other = await r.join("b", { have: { epoch: s.epoch - 1, seq: s.seq, version: 1 } });
    await waitFor("b's slice (an older epoch's have)", () => other.of("snapshot").length === 1);
    await r.controller.update(resourceSet(POOL + service("web", 8080)));
    await waitFor("the next push", () => back.of("snapshot").length === 1);
    assert.equal(back.of("snapshot")[0]!.snapshot.version, 2, "no resend of version 1 before the next push");
  } finally {
    await r.close();
  }
});

test("metrics are valid Prometheus exposition with the fleet's series", async () => {
  const r = await rig();
  try {
    const a = await r.join("a");
    await r.controller.update(resourceSet(POOL + service("web", 8080)));
    a.send({
      type: "load",
      load: {
        at: Date.now(),
        intervalMs: 2000,
        cpuCores: 0.25,
        eventLoopUtilization: 0.5,
        lagP99Ms: 3,
        connectionsOpen: 7,
        connectionsPerSecond: 1.5,
        requestsPerSecond: 120,
        tlsHandshakesPerSecond: 0,
        bytesInPerSecond: 10,
        bytesOutPerSecond: 20,
        rssBytes: 1e8,
      },
    });
    await waitFor("load", () => r.fleet.view().engines[0]?.load?.requestsPerSecond === 120);
    const text = await r.controller.metrics();
    for (const line of text.split("\n")) {
      if (line === "") continue;
      assert.match(
        line,
        /^(# (HELP|TYPE) [a-z_:][a-z0-9_:]* .+|[a-z_:][a-z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+|[a-z_:][a-z0-9_:]*(\{[^}]*\})? (NaN|[+-]Inf))$/i,
        line,
      );
    }
    for (const want of [
      'portico_engine_up{engine="a",group="default"} 1',
      'portico_engine_acked_version{engine="a",group="default"} 1',
      'portico_engine_requests_per_second{engine="a",group="default"} 120',
      'portico_engine_connections_open{engine="a",group="default"} 7',
      'portico_engine_cpu_cores{engine="a",group="default"} 0.25',
      'portico_engine_event_loop_utilization{engine="a",group="default"} 0.5',
      "# TYPE portico_engine_up gauge",
    ])
      assert.ok(text.includes(want + "\n"), want);
  } finally {
    await r.close();
  }
});

test("a VIP no connected engine of its group serves reads Pending saying to start one", async () => {
  const r = await rig();
  try {
    await r.controller.update(resourceSet(POOL + service("web", 8080)));
    const pending = programmed(r.controller, "web");
    assert.equal(pending?.status, "False");
    assert.equal(pending?.reason, "Pending");
    assert.match(pending?.message ?? "", /no engine of group default is connected to serve it: start one/);
    await r.join("a");
    await waitFor("a's ack", () => programmed(r.controller, "web")?.status === "True");
  } finally {
    await r.close();
  }
});

test("an engine that NACKs a push as stale is named on the object with what to do", async () => {
  const r = await rig({ epoch: 2 });
  try {
    const e = await r.join("a", { manual: true });
    const update = r.controller.update(resourceSet(POOL + service("web", 8080)));
    await waitFor("the snapshot", () => e.of("snapshot").length === 1);
    e.answer({ error: "epoch 2 is older than epoch 5 already seen", code: "Stale", stale: true });
    await update;
    const p = programmed(r.controller, "web");
    assert.equal(p?.status, "False");
    assert.match(
      p?.message ?? "",
      /engine a refused version 1 as stale \(epoch 2 is older than epoch 5 already seen\)/,
    );
    assert.match(p?.message ?? "", /restart engine a/);
  } finally {
    await r.close();
  }
});

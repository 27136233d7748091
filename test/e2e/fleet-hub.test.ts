// fleet-hub.test.ts: `portico run --engine-listen` end to end — the real process, its real hub,
// credentials and state database. The engine side is TestEngine (src/controller/fleet/testing.ts):
// our own protocol's peer written from frames.ts, standing in for `portico engine` (built
// elsewhere); it binds nothing, it answers. Real TLS on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  logLines,
  portico,
  removeDir,
  startPortico,
  tempDir,
  waitFor,
  writeManifest,
  type Portico,
} from "./harness.ts";
import { TestEngine, identity, poolYaml, serviceYaml } from "../../src/controller/fleet/testing.ts";
import { PEER_TIMEOUT_MS } from "../../src/link/protocol.ts";

const BASE = 18_000 + Math.floor(Math.random() * 2_000);
const POOL = poolYaml("127.0.77.1-127.0.77.9");
const service = serviceYaml;

/** enginePort reads the start line: where engines dial and the files they need. */
function enginePort(p: Portico): { port: number; ca: string; token: string; run: string; epoch: number } {
  const [line] = logLines(p, "engine port listening");
  assert.ok(line, "the engine port's start line");
  const address = String(line.address);
  return {
    port: Number(address.slice(address.lastIndexOf(":") + 1)),
    ca: readFileSync(String(line.ca), "utf8"),
    token: readFileSync(String(line.token), "utf8").trim(),
    run: String(line.run),
    epoch: Number(line.epoch),
  };
}

async function programmed(p: Portico, name: string) {
  const s = (await p.status()).find((x) => x.kind === "Service" && x.name === name);
  return s?.status.conditions?.find((c) => c.type === "portico.dev/Programmed");
}

test("portico run --engine-listen: an engine joins, acks, NACKs onto the object, is listed, dropped when silent; the epoch grows", async (t) => {
  const dir = tempDir();
  const state = tempDir("portico-state-");
  writeManifest(dir, "m.yaml", POOL + service("web", BASE));
  let p = await startPortico([dir], ["--state-dir", state, "--engine-listen", "127.0.0.1:0"]);
  try {
    const link = enginePort(p);
    assert.equal(link.epoch, 1);
    assert.match(
      link.run,
      new RegExp(
        `^portico engine --controller 127\\.0\\.0\\.1:${link.port} --ca-file ${join(state, "engine-ca.pem")} --token-file ${join(state, "engine-token")}$`,
      ),
    );
    assert.ok(!p.logs.some((l) => l.includes(link.token)), "the token is never logged");

    // An engine that has not acked keeps the object Pending, naming it; its ack makes it Programmed.
    const e = await TestEngine.join(link.port, link.ca, link.token, identity("edge-1"), { manual: true });
    await waitFor("edge-1's slice", () => e.of("snapshot").length === 1);
    assert.equal(e.of("welcome")[0]?.epoch, 1);
    assert.deepEqual(
      e.of("snapshot")[0]!.snapshot.l4.map((l) => l.name),
      [`Service/default/web:${BASE}/TCP`],
    );
    const pending = await waitFor("Pending on web", async () => {
      const c = await programmed(p, "web");
      return c?.status === "False" ? c : undefined;
    });
    assert.match(pending.message ?? "", /waiting for engine edge-1 to ack version 1/);
    e.answer();
    await waitFor(
      "web Programmed once edge-1 acked",
      async () => (await programmed(p, "web"))?.status === "True",
    );

    const listed = await portico(["get", "engines", "--admin", p.adminUrl.replace("http://", "")]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+GROUP\s+NODE\s+ACKED\s+READY\s+REQ\/S\s+CONNS\s+CPU\s+AGE$/m);
    assert.match(listed.stdout, /^edge-1\s+default\s+node-edge-1\s+1\s+True\s/m);
    assert.match(listed.stdout, /^local\s+default\s+\S+\s+1\s+True\s/m);

    // edge-1 cannot take what version 2 adds: the NACK lands on that Service; local's ack keeps v2 in force.
    e.auto = (s) =>
      s.l4.some((l) => l.name.startsWith("Service/default/api:"))
        ? {
            error: "cannot bind 127.0.77.2: not here",
            code: "ListenFailed",
            listener: `Service/default/api:${BASE + 1}/TCP`,
          }
        : undefined;
    writeManifest(dir, "m.yaml", POOL + service("web", BASE) + service("api", BASE + 1));
    const rejected = await waitFor("api Programmed=False", async () => {
      const c = await programmed(p, "api");
      return c?.status === "False" && c.reason === "Rejected" ? c : undefined;
    });
    assert.match(
      rejected.message ?? "",
      /engine edge-1 rejected version 2: cannot bind 127\.0\.77\.2: not here/,
    );
    const errors = (await (await fetch(`${p.adminUrl}/api/v1/errors`)).json()) as { rejected?: unknown };
    assert.equal(errors.rejected, undefined, "the local engine acked: version 2 is in force");
    const metrics = await (await fetch(`${p.adminUrl}/metrics`)).text();
    assert.match(metrics, /^portico_engine_up\{engine="edge-1",group="default"\} 1$/m);
    assert.match(metrics, /^portico_engine_acked_version\{engine="local",group="default"\} 2$/m);
    assert.match(metrics, /^portico_engine_acked_version\{engine="edge-1",group="default"\} 1$/m);

    // An engine that stops answering pings is dropped after PEER_TIMEOUT_MS.
    e.pong = false;
    const silentFrom = performance.now();
    await waitFor("the silent engine to be dropped", () => e.closed, PEER_TIMEOUT_MS + 10_000);
    const droppedAfter = Math.round(performance.now() - silentFrom);
    assert.ok(droppedAfter >= PEER_TIMEOUT_MS - 2_100, `dropped after ${droppedAfter} ms`);
    t.diagnostic(`silent engine dropped after ${droppedAfter} ms (PEER_TIMEOUT_MS ${PEER_TIMEOUT_MS})`);
    const view = (await (await fetch(`${p.adminUrl}/api/v1/engines`)).json()) as {
      engines: { identity: { name: string }; connected: boolean }[];
    };
    assert.deepEqual(
      view.engines.map((x) => [x.identity.name, x.connected]),
      [
        ["local", true],
        ["edge-1", false],
      ],
    );

    // A restart of the same state directory outranks the previous run.
    await p.stop();
    p = await startPortico([dir], ["--state-dir", state, "--engine-listen", "127.0.0.1:0"]);
    const again = enginePort(p);
    assert.equal(again.epoch, 2);
    assert.equal(again.token, link.token, "the credentials are kept");
    const back = await TestEngine.join(again.port, again.ca, again.token, identity("edge-1"), {
      have: { epoch: 1, seq: 2, version: 1 },
    });
    await waitFor("edge-1 resynced under epoch 2", () => back.of("snapshot").at(-1)?.epoch === 2);
    back.close();
  } finally {
    await p.stop();
    removeDir(dir);
    removeDir(state);
  }
});

test("--no-local-engine: a pure controller whose engine gets the whole snapshot; the flag needs --engine-listen", async () => {
  const bad = await portico(["run", "--no-local-engine", tempDir()]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--no-local-engine needs --engine-listen HOST:PORT/);
  const workers = await portico([
    "run",
    "--no-local-engine",
    "--engine-listen",
    "127.0.0.1:0",
    "--workers",
    "2",
    tempDir(),
  ]);
  assert.equal(workers.code, 2);
  assert.match(workers.stderr, /--workers: these configure the in-process engine/);

  const dir = tempDir();
  const state = tempDir("portico-state-");
  writeManifest(dir, "m.yaml", POOL + service("solo", BASE + 2));
  // Not ready while no engine serves solo's VIP: nothing does.
  const p = await startPortico(
    [dir],
    ["--state-dir", state, "--engine-listen", "127.0.0.1:0", "--no-local-engine"],
    { waitHealthy: false },
  );
  try {
    const none = await portico(["get", "engines", "--admin", p.adminUrl.replace("http://", "")]);
    assert.equal(none.stdout, "No resources found.\n");
    await waitFor("readyz to say no engine serves solo", async () => {
      const r = await fetch(`${p.adminUrl}/readyz`);
      return r.status === 503 && /no engine of group default is connected/.test(await r.text());
    });
    const link = enginePort(p);
    const e = await TestEngine.join(link.port, link.ca, link.token, identity("only"));
    await waitFor("only's slice", () => e.of("snapshot").length === 1);
    assert.deepEqual(
      e.of("snapshot")[0]!.snapshot.l4.map((l) => l.address),
      [(await p.vip("Service", "default", "solo"))!],
    );
    await waitFor("solo Programmed", async () => (await programmed(p, "solo"))?.status === "True");
    e.close();
  } finally {
    await p.stop();
    removeDir(dir);
    removeDir(state);
  }
});

// analytics-logs.test.ts: the full-log switch end to end — `portico run --engine-listen` (the real
// process, hub, TLS and state database) and an engine on the real link (TestEngine, our protocol's
// peer): POST /api/v1/analytics/full-logs makes the next snapshot the engine receives carry
// analytics.fullLogsUntil for that virtual service, `portico logs full` lists it, and minutes=0
// makes the next one drop it. The request log itself answers on the same admin API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { logLines, portico, removeDir, startPortico, tempDir, waitFor, writeManifest } from "./harness.ts";
import { TestEngine, identity, poolYaml, serviceYaml } from "../../src/controller/fleet/testing.ts";

const BASE = 21_000 + Math.floor(Math.random() * 2_000);

test("portico run: a full-log switch reaches the engines in the next snapshot and leaves it when turned off", async (t) => {
  const dir = tempDir();
  const state = tempDir("portico-state-");
  writeManifest(dir, "m.yaml", poolYaml("127.0.78.1-127.0.78.9") + serviceYaml("web", BASE));
  const p = await startPortico([dir], ["--state-dir", state, "--engine-listen", "127.0.0.1:0"]);
  t.after(async () => {
    await p.stop();
    removeDir(dir);
    removeDir(state);
  });
  const [line] = logLines(p, "engine port listening");
  assert.ok(line, "the engine port's start line");
  const port = Number(String(line.address).split(":").at(-1));
  const e = await TestEngine.join(
    port,
    readFileSync(String(line.ca), "utf8"),
    readFileSync(String(line.token), "utf8").trim(),
    identity("edge-1"),
  );
  t.after(() => e.socket.destroy());
  const vs = `Service/default/web:${BASE}/TCP`;
  const first = await waitFor("edge-1's first slice", () => e.of("snapshot").at(-1));
  assert.equal(first.snapshot.analytics?.fullLogsUntil, undefined, "no switch: no fullLogsUntil");
  const admin = p.adminUrl.replace("http://", "");

  const before = Date.now();
  const on = await fetch(`${p.adminUrl}/api/v1/analytics/full-logs?vs=${encodeURIComponent(vs)}&minutes=5`, {
    method: "POST",
  });
  assert.equal(on.status, 202);
  const { until } = (await on.json()) as { until: number };
  assert.ok(until >= before + 300_000 && until <= Date.now() + 300_000, `until ${until}`);
  const carried = await waitFor("a snapshot carrying the switch", () =>
    e.of("snapshot").find((m) => m.snapshot.analytics?.fullLogsUntil?.[vs] !== undefined),
  );
  assert.deepEqual(carried.snapshot.analytics?.fullLogsUntil, { [vs]: until });
  assert.ok(carried.seq > first.seq, "a new push");

  const listed = await portico(["logs", "full", "--admin", admin]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(
    listed.stdout,
    new RegExp(`^VS +UNTIL\\n${vs.replace(/\//g, "\\/")} +${new Date(until).toISOString()}\\n$`),
  );

  // An unknown key is refused by name, and no push follows.
  const pushes = e.of("snapshot").length;
  const bad = await portico(["logs", "full", "web", "--for", "10m", "--admin", admin]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /no virtual service "web" serves now; did you mean "Service\/default\/web:\d+\/TCP"\?/,
  );

  const off = await portico(["logs", "full", vs, "--off", "--admin", admin]);
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /full logs off for Service\/default\/web/);
  const cleared = await waitFor("a snapshot without the switch", () => {
    const last = e.of("snapshot").at(-1)!;
    return e.of("snapshot").length > pushes && last.snapshot.analytics?.fullLogsUntil === undefined
      ? last
      : undefined;
  });
  assert.ok(cleared.seq > carried.seq);

  // The request log answers (empty until engines ship batches), and says what a bad filter needs.
  const logs = await fetch(`${p.adminUrl}/api/v1/analytics/logs?status=5xx&since=10m`);
  assert.equal(logs.status, 200);
  assert.deepEqual(await logs.json(), []);
  const badFilter = await portico(["logs", "--status", "5x", "--admin", admin]);
  assert.equal(badFilter.code, 1);
  assert.match(badFilter.stderr, /status="5x": give a code \(503\) or a class/);
});

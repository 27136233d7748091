// analytics-run.test.ts: the analytics pipe end to end through `portico run` — an Ingress on a
// loopback VIP in front of a real backend, real curl requests (quick ones, 5xx, a slow one), and
// the figures read back from the controller's own analytics API, in-process and with workers.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { after, test } from "node:test";
import type { ServiceSummary, TopLists } from "../../src/analytics/types.ts";
import { ingressAppManifest } from "./fixtures.ts";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import {
  logLines,
  removeDir,
  run,
  startPortico,
  tempDir,
  waitFor,
  watchChild,
  writeManifest,
} from "./harness.ts";
import { freePort } from "./l4-helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// backend answers /fail with a 500, /slow after 2.1 s (over 4 × the default 500 ms target), else 200.
async function backend(): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === "/fail") return void res.writeHead(500).end("boom\n");
    setTimeout(() => res.end("ok\n"), req.url === "/slow" ? 2100 : 0);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as { port: number }).port, server };
}

for (const [i, workers] of ["1", "2"].entries()) {
  test(`portico run --workers ${workers}: every request counted once in the controller's analytics, errors and top lists from the real traffic`, async () => {
    const dir = tempDir();
    const app = await backend();
    cleanups.push(
      () => removeDir(dir),
      () => void app.server.close(),
    );
    const vip = `127.0.25.${i + 1}`;
    // A free port, not a fixed one: workers and engines bind with SO_REUSEPORT, and a run of this
    // test in another worktree on the same VIP:port would take a share of the requests.
    const port = await freePort(vip);
    writeManifest(dir, "a.yaml", ingressAppManifest("ana", vip, app.port, "shop.test"));
    const p = await startPortico([dir], ["--http-port", String(port), "--workers", workers]);
    cleanups.push(() => p.stop());
    const curl = async (path: string) =>
      (
        await run("curl", [
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "-A",
          "analytics-e2e/1",
          "-H",
          "host: shop.test",
          `http://${vip}:${port}${path}`,
        ])
      ).stdout;
    const codes: string[] = [];
    for (let k = 0; k < 20; k++) codes.push(await curl(`/item/${k % 2}?n=${k}`));
    codes.push(await curl("/fail"), await curl("/fail"), await curl("/slow"));
    assert.deepEqual(
      codes.filter((c) => c !== "200"),
      ["500", "500"],
    );
    const services = async () =>
      (await (await fetch(`${p.adminUrl}/api/v1/analytics/services?window=5m`)).json()) as ServiceSummary[];
    // Batches are cut every 5 s and shipped at the next report: a generous bound on a shared machine.
    const shop = await waitFor(
      "the traffic in the controller's analytics",
      async () => (await services()).find((s) => s.vhost === "shop.test" && s.requests >= 23),
      30_000,
    );
    assert.equal(shop.requests, 23);
    assert.equal(shop.kind, "http");
    assert.deepEqual(shop.engines, ["local"]);
    assert.ok(Math.abs(shop.errorRate - 2 / 23) < 1e-9, `errorRate ${shop.errorRate}`);
    // The slow exchange is the worst: its 2.1 s is the max of the total latency (within the sketch's 1%).
    assert.ok(shop.latency.total!.max >= 2100, JSON.stringify(shop.latency.total));
    // Connections are at the listener's own service (one per curl).
    const listener = (await services()).find((s) => s.vs === shop.listener);
    assert.ok(listener, "the listener's own service");
    const top = (await (
      await fetch(`${p.adminUrl}/api/v1/analytics/top?vs=${encodeURIComponent(shop.vs)}&window=5m`)
    ).json()) as TopLists;
    assert.deepEqual(top.urls, { "/item/0": 10, "/item/1": 10, "/fail": 2, "/slow": 1 });
    assert.deepEqual(top.codes, { "200": 21, "500": 2 });
    assert.deepEqual(top.clients, { "127.0.0.1": 23 });
  });
}

test("a remote portico engine: its batches cross the link and are stored under its own name", async () => {
  const dir = tempDir();
  const state = tempDir("portico-state-");
  const app = await backend();
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    () => void app.server.close(),
  );
  const vip = "127.0.25.9";
  const port = await freePort(vip);
  writeManifest(dir, "a.yaml", ingressAppManifest("ana", vip, app.port, "shop.test"));
  // A pure controller: only the remote engine serves, so every figure must have crossed the link.
  const p = await startPortico(
    [dir],
    [
      "--state-dir",
      state,
      "--http-port",
      String(port),
      "--engine-listen",
      "127.0.0.1:0",
      "--no-local-engine",
    ],
    { waitHealthy: false },
  );
  cleanups.push(() => p.stop());
  const [line] = logLines(p, "engine port listening");
  const main = resolve(import.meta.dirname, "../../src/cli/main.ts");
  const engine = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      main,
      "engine",
      "--controller",
      String(line!.address),
      "--ca-file",
      String(line!.ca),
      "--token-file",
      String(line!.token),
      "--name",
      "edge-1",
      "--admin",
      "127.0.0.1:0",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const { exited } = watchChild(engine);
  cleanups.push(async () => {
    engine.kill("SIGTERM");
    await exited;
  });
  const curl = async (path: string) =>
    (
      await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "host: shop.test",
        `http://${vip}:${port}${path}`,
      ])
    ).stdout;
  await waitFor("the remote engine to serve", async () => (await curl("/warm")) === "200", 30_000);
  for (let k = 0; k < 9; k++) assert.equal(await curl("/fail"), "500");
  const shop = await waitFor(
    "the remote engine's traffic in the controller's analytics",
    async () =>
      (
        (await (await fetch(`${p.adminUrl}/api/v1/analytics/services?window=5m`)).json()) as ServiceSummary[]
      ).find((s) => s.vhost === "shop.test" && s.requests >= 10),
    30_000,
  );
  assert.equal(shop.requests, 10);
  assert.deepEqual(shop.engines, ["edge-1"]);
  assert.ok(Math.abs(shop.errorRate - 0.9) < 1e-9, `errorRate ${shop.errorRate}`);
});

// analytics-stop.test.ts: a graceful stop of `portico run` keeps the in-process engine's last
// interval. The requests sent just before SIGTERM are still being counted (batches are cut every
// 5 s and shipped at the next heartbeat); the engine cuts them at stop and hands them to the
// controller before it saves its history, so a restart on the same state directory shows them all.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request } from "node:http";
import { after, test } from "node:test";
import type { ServiceSummary } from "../../src/analytics/types.ts";
import { ingressAppManifest } from "./fixtures.ts";
import { removeDir, startPortico, tempDir, waitFor, writeManifest } from "./harness.ts";
import { freePort } from "./l4-helpers.ts";

// Each test its own VIP: the first test's restarted portico still holds its own until the end.
// The port is a free one, not a fixed one: workers bind with SO_REUSEPORT, and a run of this test
// in another worktree on the same VIP:port would take a share of the connections (and the counts).
const VIPS = ["127.0.138.1", "127.0.138.2"];
const REQUESTS = 7;

// get sends one request for stop.test on a new connection and resolves with its status.
function get(vip: string, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: vip, port, path, headers: { host: "stop.test" }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test("portico run: the requests of the interval still being counted at a graceful stop are kept", async () => {
  await keptAtStop(VIPS[0]!, []);
});

test("portico run --workers 2: the workers' last interval is kept at a graceful stop too", async () => {
  // Before, the group had no cut: what the workers counted since their last 5 s cut was lost.
  await keptAtStop(VIPS[1]!, ["--workers", "2"]);
});

// keptAtStop sends REQUESTS requests to `portico run` serving vip, started with extra flags, stops it at once,
// and checks that a restart on the same state directory counts them all.
async function keptAtStop(vip: string, extra: string[]): Promise<void> {
  const server = createServer((_req, res) => res.end("ok\n"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const dir = tempDir();
  const state = tempDir("portico-state-");
  cleanups.push(
    () => void server.close(),
    () => removeDir(dir),
    () => removeDir(state),
  );
  writeManifest(
    dir,
    "a.yaml",
    ingressAppManifest("stop", vip, (server.address() as { port: number }).port, "stop.test"),
  );
  const port = await freePort(vip);
  const args = ["--http-port", String(port), "--state-dir", state, ...extra];
  const first = await startPortico([dir], args);
  cleanups.push(() => first.stop());
  for (let k = 0; k < REQUESTS; k++) assert.equal(await get(vip, port, `/k${k}`), 200);
  // At once: the interval holding (at least) the last requests has not been shipped yet.
  await first.stop();
  const second = await startPortico([dir], args);
  cleanups.push(() => second.stop());
  const services = async () =>
    (await (
      await fetch(`${second.adminUrl}/api/v1/analytics/services?window=5m`)
    ).json()) as ServiceSummary[];
  const stop = await waitFor(
    "the saved history in the restarted controller",
    async () => (await services()).find((s) => s.vhost === "stop.test"),
    30_000,
  ).catch(() => undefined);
  assert.equal(stop?.requests ?? 0, REQUESTS, "every request before the stop is counted");
}

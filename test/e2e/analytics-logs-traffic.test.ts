// analytics-logs-traffic.test.ts: the request log with real traffic — `portico run` (its engine
// thread's collector, the analytics pipe, the controller's LogStore in the state database), a real
// backend on 127.0.0.1 and curl. A 5xx is always kept; an ordinary 200 is not, until full logs are
// switched on for its virtual service — then it is kept with reason "full", its browser and OS
// named from the user agent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { portico, removeDir, run, startPortico, tempDir, waitFor, writeManifest } from "./harness.ts";
import { ingressAppManifest } from "./fixtures.ts";
import type { LogRecord } from "../../src/analytics/types.ts";

const PORT = 23_000 + Math.floor(Math.random() * 2_000);
const VIP = "127.0.79.1";
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

test("portico run: a 5xx is always in the request log; a 200 only while full logs are on, with reason full", async (t) => {
  // The backend answers the status the query asks for (?status=503), else 200.
  const backend = createServer((req, res) => {
    const status = Number(/[?&]status=(\d+)/.exec(req.url ?? "")?.[1] ?? 200);
    res.writeHead(status, { "content-type": "text/plain" }).end(`${status}\n`);
  });
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
  const dir = tempDir();
  const state = tempDir("portico-state-");
  writeManifest(dir, "a.yaml", ingressAppManifest("logs", VIP, (backend.address() as AddressInfo).port));
  const p = await startPortico([dir], ["--state-dir", state, "--http-port", String(PORT)]);
  t.after(async () => {
    await p.stop();
    backend.close();
    removeDir(dir);
    removeDir(state);
  });
  const get = async (path: string, ua = "curl/8") => {
    const r = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-A",
      ua,
      "-H",
      "host: app.test",
      `http://${VIP}:${PORT}${path}`,
    ]);
    return r.stdout;
  };
  const logs = async (q: string) => {
    const res = await fetch(`${p.adminUrl}/api/v1/analytics/logs?${q}`);
    assert.equal(res.status, 200);
    return (await res.json()) as LogRecord[];
  };
  const doc = (await (await fetch(`${p.adminUrl}/api/v1/translate`)).json()) as {
    snapshot: { http: { name: string }[] };
  };
  const vs = `${doc.snapshot.http[0]!.name} app.test`;

  assert.equal(await get("/ok"), "200");
  assert.equal(await get("/boom?status=503&token=secret"), "503");
  const [boom] = await waitFor("the 503 in the request log", async () => {
    const got = await logs("status=5xx");
    return got.length > 0 ? got : undefined;
  });
  // The query's values (tokens, codes) never reach the log store: its names do.
  assert.equal(boom!.path, "/boom?status&token");
  assert.ok(!JSON.stringify(await logs("status=5xx")).includes("secret"));
  assert.deepEqual(boom!.reasons, ["5xx"]);
  assert.equal(boom!.vs, vs);
  assert.equal(boom!.status, 503);
  assert.equal(boom!.engine, "local");
  assert.match(boom!.route, /^Ingress\/default\/app/);
  assert.equal(boom!.client, "127.0.0.1");
  assert.deepEqual([boom!.browser, boom!.os], ["curl", "Other"]);
  assert.equal(typeof boom!.timings.total, "number");
  assert.deepEqual(
    (await logs("q=/ok")).map((r) => r.path),
    [],
    "an ordinary 200 is not kept",
  );

  const on = await fetch(`${p.adminUrl}/api/v1/analytics/full-logs?vs=${encodeURIComponent(vs)}&minutes=5`, {
    method: "POST",
  });
  assert.equal(on.status, 202);
  // The switch applies with the next snapshot; requests sent until then are rightly not kept.
  let n = 0;
  const full = await waitFor("a 200 kept with reason full", async () => {
    assert.equal(await get(`/full/${n++}`, IPHONE), "200");
    return (await logs("reason=full")).find((r) => r.path.startsWith("/full/"));
  });
  assert.deepEqual(full.reasons, ["full"]);
  assert.equal(full.status, 200);
  assert.equal(full.vs, vs);
  assert.deepEqual([full.browser, full.os], ["Safari", "iOS"]);
  assert.equal(full.userAgent, IPHONE);
  // Full logs on, a 5xx is still kept as a 5xx (and as full).
  assert.equal(await get("/boom-again?status=502"), "502");
  const again = await waitFor("the 502 kept", async () => (await logs("status=502"))[0]);
  assert.deepEqual(again.reasons, ["5xx", "full"]);

  const cli = await portico([
    "logs",
    "--reason",
    "full",
    "--limit",
    "1",
    "--admin",
    p.adminUrl.replace("http://", ""),
  ]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /^TIME +STATUS +REASONS +METHOD +HOST +PATH +CLIENT +MS +BROWSER\n/);
  assert.match(
    cli.stdout,
    / 502 +5xx,full +GET +app\.test +\/boom-again\?status +127\.0\.0\.1 +[\d.]+ +curl\/Other\n/,
  );
});

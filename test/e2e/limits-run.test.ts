// limits-run.test.ts: the limits of `portico run` as users meet them — a process whose open-file
// limit is low (the default connection cap derives from it), 1,000 request bodies dribbled by slow
// clients, and the body timeout set by flag. Real `portico run` child, real backend, raw sockets.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePort, readUntil } from "./l4-helpers.ts";
import { ingressAppManifest } from "./fixtures.ts";
import { removeDir, startPortico, tempDir, waitFor, writeManifest, type Portico } from "./harness.ts";

const root = join(import.meta.dirname, "..", "..");
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// backend answers "ok <body bytes>" and counts connections: open now, and at most at once.
async function backend() {
  const counts = { open: 0, peak: 0, total: 0 };
  const server: Server = createServer((req, res) => {
    let n = 0;
    req.on("data", (d: Buffer) => (n += d.length));
    req.on("end", () => res.end(`ok ${n}`));
  });
  server.on("connection", (s) => {
    counts.total++;
    counts.peak = Math.max(counts.peak, ++counts.open);
    s.on("close", () => counts.open--);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => {
    server.close();
    server.closeAllConnections();
  });
  return { counts, port: (server.address() as { port: number }).port };
}

async function run(vip: string, backendPort: number, args: string[], command?: string[]) {
  const dir = tempDir();
  const state = tempDir();
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
  );
  writeManifest(dir, "app.yaml", ingressAppManifest(`limits-${vip.replaceAll(".", "-")}`, vip, backendPort));
  const port = await freePort(vip);
  const p = await startPortico([dir], ["--state-dir", state, "--http-port", String(port), ...args], {
    ...(command ? { command } : {}),
  });
  cleanups.push(() => p.stop());
  return { p, port };
}

const sockets: Socket[] = [];
cleanups.push(() => sockets.forEach((s) => s.destroy()));

async function open(vip: string, port: number): Promise<Socket> {
  const s = connect({ host: vip, port });
  sockets.push(s);
  s.on("error", () => {});
  await once(s, "connect");
  return s;
}

// ask sends a keep-alive GET: its status, or 0 when the connection closed without an answer.
async function ask(s: Socket): Promise<number> {
  await new Promise((r) => setImmediate(r));
  if (s.destroyed) return 0;
  s.write("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
  try {
    return Number((await readUntil(s, (d) => /\r\n\r\nok \d+$/.test(d))).slice(9, 12));
  } catch {
    return 0;
  }
}

function logged(p: Portico, msg: string): number {
  return p.logs.filter((l) => l.includes(`"msg":"${msg}`)).length;
}

test("open-file limit 512: the default cap (192) serves, the rest are closed and logged once; no request fails", async () => {
  const app = await backend();
  const vip = "127.0.0.84";
  // A low open-file limit for the portico process only (soft and hard: Node cannot raise it).
  const main = join(root, "src/cli/main.ts");
  const { p, port } = await run(
    vip,
    app.port,
    [],
    [
      "sh",
      "-c",
      'ulimit -n 512 && exec "$0" "$@"',
      process.execPath,
      "--disable-warning=ExperimentalWarning",
      main,
    ],
  );
  const limits = JSON.parse(p.logs.find((l) => l.includes('"msg":"engine limits"'))!);
  assert.equal(limits.maxConnections, 192, "(512 - 128 reserved) / 2");
  const conns: Socket[] = [];
  for (let i = 0; i < 300; i++) conns.push(await open(vip, port));
  const first = await Promise.all(conns.map(ask));
  const served = conns.filter((_, i) => first[i] === 200);
  const refused = first.filter((s) => s === 0).length;
  console.log(`# open-file limit 512: ${served.length} of 300 served, ${refused} closed at accept`);
  assert.equal(served.length, 192);
  assert.equal(refused, 108);
  // Every request on an admitted connection succeeds, round after round.
  let failed = 0;
  for (let round = 0; round < 5; round++)
    failed += (await Promise.all(served.map(ask))).filter((s) => s !== 200).length;
  assert.equal(failed, 0, "requests on admitted connections");
  assert.equal(logged(p, "connection limit of the engine reached"), 1, "logged once in the interval");
  const metrics = await (await fetch(`${p.adminUrl}/metrics`)).text();
  assert.match(metrics, /portico_limits_reached_total\{listener="[^"]+",limit="max_connections"\} 108/);
  assert.match(metrics, /\nportico_engine_max_connections 192\n/);
  assert.match(metrics, /\nportico_engine_connections 192\n/, "the cap is full");
  // Freed slots serve new clients.
  for (const s of served.splice(0, 50)) s.destroy();
  await waitFor("a connection admitted again", async () => (await ask(await open(vip, port))) === 200);
});

test("1,000 slow request bodies hold no backend connection until they complete", async () => {
  const app = await backend();
  const vip = "127.0.0.85";
  const { port } = await run(vip, app.port, []);
  const n = 1000;
  const slow: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = await open(vip, port);
    s.write("POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100\r\n\r\n" + "x".repeat(10));
    slow.push(s);
  }
  // Dribble: another 10 bytes each, twice, while a GET on another connection is served.
  for (let step = 0; step < 2; step++) for (const s of slow) s.write("y".repeat(10));
  assert.equal(await ask(await open(vip, port)), 200);
  const whileSlow = { ...app.counts };
  console.log(
    `# ${n} slow POSTs in flight: backend connections open ${whileSlow.open}, peak ${whileSlow.peak}`,
  );
  assert.ok(whileSlow.peak <= 1, `backend connections while bodies dribble: ${JSON.stringify(whileSlow)}`);
  const answers = slow.map((s) => readUntil(s, (d) => d.endsWith("ok 100"), 30_000));
  for (const s of slow) s.write("z".repeat(70));
  const got = await Promise.all(answers);
  assert.equal(got.filter((r) => r.startsWith("HTTP/1.1 200 ")).length, n);
  console.log(`# after completion: backend connections peak ${app.counts.peak}, total ${app.counts.total}`);
});

test("--request-body-timeout: a body that stalls gets 408, and the backend never sees it", async () => {
  const app = await backend();
  const vip = "127.0.0.86";
  const { p, port } = await run(vip, app.port, ["--request-body-timeout", "1s"]);
  const s = await open(vip, port);
  const started = performance.now();
  s.write("POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100\r\n\r\nxx");
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  await once(s, "close");
  console.log(`# body timeout 1s: 408 after ${Math.round(performance.now() - started)} ms`);
  const text = Buffer.concat(chunks).toString();
  assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.match(text, /the request body did not arrive in time\n$/);
  assert.equal(app.counts.total, 0);
  await waitFor("the 408 logged", () => logged(p, "request body did not arrive in time") === 1);
});

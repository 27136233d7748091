// invalid-input.test.ts: invalid input never removes what serves, and a hostname stays with its
// oldest claim — on the real bin/portico with a temp state dir, under a steady stream of requests
// (one new connection each, so a closed listener shows as a failure). Each case prints its counts.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { TLSSocket } from "node:tls";
import { X509Certificate } from "node:crypto";
import { tempDir, writeManifest, startPortico, removeDir, run, waitFor, type Portico } from "./harness.ts";
import { backendService, httpBackend, ingressClass, pool } from "./fixtures.ts";
import { selfSigned } from "../support/certs.ts";

const root = join(import.meta.dirname, "..", "..");
const bin = join(root, "bin/portico");
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Load sends one request every intervalMs on a new connection and counts what came back. */
class Load {
  ok = 0;
  failed = 0;
  errors = new Map<string, number>();
  /** answers counts response bodies (which backend answered) or served certificate fingerprints. */
  answers = new Map<string, number>();
  #timer: NodeJS.Timeout;
  #inflight = new Set<Promise<void>>();

  constructor(send: () => Promise<string>, intervalMs = 20) {
    this.#timer = setInterval(() => {
      const p = send().then(
        (answer) => {
          this.ok++;
          this.answers.set(answer, (this.answers.get(answer) ?? 0) + 1);
        },
        (e: Error) => {
          this.failed++;
          this.errors.set(e.message, (this.errors.get(e.message) ?? 0) + 1);
        },
      );
      this.#inflight.add(p);
      void p.finally(() => this.#inflight.delete(p));
    }, intervalMs);
  }

  /** stop ends the stream and waits for requests in flight. */
  async stop(): Promise<{ ok: number; failed: number; errors: Record<string, number> }> {
    clearInterval(this.#timer);
    await Promise.all([...this.#inflight]);
    return { ok: this.ok, failed: this.failed, errors: Object.fromEntries(this.errors) };
  }
}

/** get answers with the body of one HTTP/1.1 request on a fresh connection. */
function get(host: string, port: number, hostHeader: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host,
      port,
      path: "/",
      agent: false,
      headers: { host: hostHeader },
      timeout: 5000,
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () =>
        res.statusCode === 200 ? resolve(body.split(" ")[0]!) : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.end();
  });
}

/** getTls answers with the SHA-256 fingerprint of the certificate served for servername. */
function getTls(host: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host,
      port,
      path: "/",
      servername,
      headers: { host: servername },
      agent: false,
      rejectUnauthorized: false,
      timeout: 5000,
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.on("response", (res) => {
      const fp = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on("end", () =>
        res.statusCode === 200 ? resolve(fp) : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.end();
  });
}

/** sClient asks openssl s_client which certificate is served for servername; returns its PEM. */
function sClient(address: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn("openssl", ["s_client", "-connect", `${address}:${port}`, "-servername", servername], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("close", () =>
      resolve(/-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----\n/.exec(out)?.[0] ?? ""),
    );
    p.stdin.end("Q\n");
  });
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/** metricsOf reads GET /metrics. */
async function metricsOf(p: Portico): Promise<string> {
  return await (await fetch(`${p.adminUrl}/metrics`)).text();
}

/** errorsOf reads GET /api/v1/errors. */
async function errorsOf(
  p: Portico,
): Promise<{ invalid: { kind: string; name: string; reason: string; held: boolean }[] }> {
  return (await (await fetch(`${p.adminUrl}/api/v1/errors`)).json()) as never;
}

/** condition finds one condition on one object in /api/v1/status. */
async function condition(p: Portico, kind: string, name: string, type: string) {
  const s = (await p.status()).find((x) => x.kind === kind && x.name === name);
  return s?.status.conditions?.find((c) => c.type === type);
}

/** warned tells whether portico logged an "invalid object" line at warn for reason. */
const warned = (p: Portico, reason: string) =>
  p.logs.some((l) => {
    try {
      const j = JSON.parse(l) as { level: string; msg: string; reason?: string };
      return j.level === "warn" && j.msg === "invalid object" && j.reason === reason;
    } catch {
      return false;
    }
  });

/** rows reads the allocation rows of the state database (key → addresses). */
function rows(state: string): Record<string, string> {
  const db = new DatabaseSync(join(state, "portico.db"), { readOnly: true });
  try {
    const all = db.prepare("SELECT key, addresses FROM allocations ORDER BY key").all() as {
      key: string;
      addresses: string;
    }[];
    return Object.fromEntries(all.map((r) => [r.key, r.addresses]));
  } finally {
    db.close();
  }
}

const validate = (dir: string) => run("sh", [bin, "validate", dir]);

const lbService = (name: string, port: number, backend: number) =>
  backendService(
    "default",
    name,
    backend,
    `  type: LoadBalancer\n  loadBalancerClass: portico.dev/lb\n`,
  ).replace("ports: [{ name: http, port: 80,", `ports: [{ name: http, port: ${port},`);

test("a typo in a VipPool in use: nothing closes, no address moves, an error until fixed", async (t) => {
  const dir = tempDir();
  const state = tempDir();
  const a = await httpBackend("a");
  const b = await httpBackend("b");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    a.close,
    b.close,
  );
  const port = 18391;
  writeManifest(dir, "pool.yaml", pool("lab", ["127.0.93.1-127.0.93.3"]));
  writeManifest(dir, "a.yaml", lbService("a", port, a.port));
  writeManifest(dir, "b.yaml", lbService("b", port, b.port));
  const p = await startPortico([dir], ["--state-dir", state], { command: ["sh", bin] });
  cleanups.push(() => p.stop());
  const vipA = await waitFor("a's VIP", () => p.vip("Service", "default", "a"));
  const vipB = await waitFor("b's VIP", () => p.vip("Service", "default", "b"));
  const before = rows(state);
  assert.equal(Object.keys(before).length, 2);
  const loads = [new Load(() => get(vipA, port, "a")), new Load(() => get(vipB, port, "b"))];
  t.after(async () => void (await Promise.all(loads.map((l) => l.stop()))));
  await waitFor("requests flowing", () => loads.every((l) => l.ok > 5));

  writeManifest(dir, "pool.yaml", pool("lab", ["127.0.93.1-127.0.93.600"]));
  await waitFor("the error reported", async () => (await errorsOf(p)).invalid.some((o) => o.name === "lab"));
  assert.ok(warned(p, "InvalidAddresses"), "logged at warn");
  const cond = await condition(p, "VipPool", "lab", "portico.dev/InputValid");
  assert.equal(cond?.status, "False");
  assert.match(cond?.message ?? "", /127\.0\.93\.600.*last valid version .*keeps serving/);
  const bad = await validate(dir);
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.stdout, /pool\.yaml:1: VipPool\/lab: spec\.addresses: .*127\.0\.93\.600/);
  assert.deepEqual(rows(state), before, "allocation rows untouched while the pool is invalid");
  // Live answers show what serves: the held pool, Ready with its addresses (regression: the admin
  // view reran the pipeline without the last valid versions, so the pool read as invalid).
  const admin = p.adminUrl.replace("http://", "");
  const live = await run("sh", [bin, "get", "services", "--admin", admin]);
  assert.equal(live.code, 0, live.stderr);
  assert.ok(live.stdout.includes(vipA) && live.stdout.includes(vipB), live.stdout);
  const pools = await run("sh", [bin, "get", "pools", "--admin", admin]);
  assert.match(pools.stdout, /^lab +2 +1 +0 .* True$/m);
  const why = await run("sh", [bin, "explain", "vippool/lab", "--admin", admin]);
  assert.match(why.stdout, /Ready=True/);
  assert.match(why.stdout, /InputValid=False .*last valid version .*keeps serving/);
  // A dashboard sees that the edit is not in force.
  assert.match(await metricsOf(p), /^portico_config_last_reload_successful 0$/m);
  const during = loads.map((l) => l.ok);
  await waitFor("requests keep flowing on the held pool", () =>
    loads.every((l, i) => l.ok > during[i]! + 10),
  );

  writeManifest(dir, "pool.yaml", pool("lab", ["127.0.93.1-127.0.93.6"]));
  await waitFor("the error cleared", async () => (await errorsOf(p)).invalid.length === 0);
  // The condition is written by the status step after the apply that cleared the error list: a
  // separate channel, so wait for it too (it lagged once in a fresh-clone CI run).
  await waitFor(
    "InputValid cleared on the pool",
    async () => (await condition(p, "VipPool", "lab", "portico.dev/InputValid")) === undefined,
  );
  assert.equal((await validate(dir)).code, 0);
  await waitFor("the reload gauge back to 1", async () =>
    /^portico_config_last_reload_successful 1$/m.test(await metricsOf(p)),
  );
  const after = loads.map((l) => l.ok);
  await waitFor("requests flowing after the fix", () => loads.every((l, i) => l.ok > after[i]! + 10));
  const counts = await Promise.all(loads.map((l) => l.stop()));
  const moved =
    [
      vipA !== (await p.vip("Service", "default", "a")),
      vipB !== (await p.vip("Service", "default", "b")),
    ].filter(Boolean).length + (JSON.stringify(rows(state)) === JSON.stringify(before) ? 0 : 1);
  console.log(`pool typo: ${JSON.stringify(counts)} moved addresses: ${moved}`);
  for (const c of counts) assert.equal(c.failed, 0, JSON.stringify(c.errors));
  assert.equal(moved, 0);
});

test("a garbage certificate rotated into a Secret: the old one keeps serving, an error until fixed", async (t) => {
  const dir = tempDir();
  const state = tempDir();
  const app = await httpBackend("web");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    app.close,
  );
  const vip = "127.0.94.1";
  const [httpPort, httpsPort] = [18392, 18393];
  const one = selfSigned(["web.test"]);
  const two = selfSigned(["web.test"]);
  const secret = (crt: string, key: string) => `apiVersion: v1
kind: Secret
metadata: { name: web-tls, namespace: default }
type: kubernetes.io/tls
data:
  tls.crt: ${Buffer.from(crt).toString("base64")}
  tls.key: ${Buffer.from(key).toString("base64")}
`;
  const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: default }
spec:
  tls: [{ hosts: [web.test], secretName: web-tls }]
  rules:
    - host: web.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;
  writeManifest(
    dir,
    "app.yaml",
    [pool("web", [`${vip}/32`]), ingressClass, backendService("default", "web", app.port), ingress].join(
      "---\n",
    ),
  );
  writeManifest(dir, "secret.yaml", secret(one.certPem, one.keyPem));
  const p = await startPortico(
    [dir],
    ["--state-dir", state, "--http-port", String(httpPort), "--https-port", String(httpsPort)],
    {
      command: ["sh", bin],
    },
  );
  cleanups.push(() => p.stop());
  await waitFor("HTTPS up", () => getTls(vip, httpsPort, "web.test").then(() => true));
  const load = new Load(() => getTls(vip, httpsPort, "web.test"));
  t.after(async () => void (await load.stop()));
  await waitFor("requests flowing", () => load.ok > 5);

  for (const [what, crt, key, reason] of [
    [
      "garbage",
      "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
      one.keyPem,
      "InvalidCertificate",
    ],
    ["a key that does not match", two.certPem, one.keyPem, "KeyMismatch"],
  ] as const) {
    writeManifest(dir, "secret.yaml", secret(crt, key));
    await waitFor(`${what}: the error reported`, async () =>
      (await errorsOf(p)).invalid.some((o) => o.reason === reason),
    );
    // The log line and the admin API are separate channels: the line may reach the pipe a little later.
    await waitFor(`${what}: logged at warn`, () => warned(p, reason));
    const cond = await condition(p, "Ingress", "web", "portico.dev/InputValid");
    assert.equal(cond?.status, "False", what);
    assert.equal(cond?.reason, reason, what);
    assert.equal(
      fingerprint(await sClient(vip, httpsPort, "web.test")),
      fingerprint(one.certPem),
      `${what}: openssl sees the old certificate`,
    );
    assert.equal((await validate(dir)).code, 1, what);
  }

  writeManifest(dir, "secret.yaml", secret(two.certPem, two.keyPem));
  await waitFor("the error cleared", async () => (await errorsOf(p)).invalid.length === 0);
  await waitFor(
    "the new certificate served",
    async () => fingerprint(await sClient(vip, httpsPort, "web.test")) === fingerprint(two.certPem),
  );
  assert.equal(await condition(p, "Ingress", "web", "portico.dev/InputValid"), undefined);
  const seen = load.ok;
  await waitFor("requests flowing after the fix", () => load.ok > seen + 10);
  const counts = await load.stop();
  const byCert = Object.fromEntries(
    [...load.answers].map(([fp, n]) => [
      fp === fingerprint(one.certPem) ? "old" : fp === fingerprint(two.certPem) ? "new" : fp,
      n,
    ]),
  );
  console.log(`bad certificate: ${JSON.stringify(counts)} served: ${JSON.stringify(byCert)}`);
  assert.equal(counts.failed, 0, JSON.stringify(counts.errors));
  assert.deepEqual(Object.keys(byCert).sort(), ["new", "old"], "only the old, then the new certificate");
});

test("two Ingresses claim one host and path: the older keeps it, across a restart", async (t) => {
  const dir = tempDir();
  const state = tempDir();
  const holder = await httpBackend("holder");
  const newcomer = await httpBackend("newcomer");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    holder.close,
    newcomer.close,
  );
  const vip = "127.0.95.1";
  const port = 18394;
  const ingress = (name: string, svc: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: default }
spec:
  rules:
    - host: shared.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${svc}, port: { number: 80 } } } }] }
`;
  writeManifest(
    dir,
    "base.yaml",
    [
      pool("shared", [`${vip}/32`]),
      ingressClass,
      backendService("default", "holder", holder.port),
      backendService("default", "newcomer", newcomer.port),
    ].join("---\n"),
  );
  writeManifest(dir, "zz-holder.yaml", ingress("zz-holder", "holder"));
  const args = ["--state-dir", state, "--http-port", String(port)];
  let p = await startPortico([dir], args, { command: ["sh", bin] });
  cleanups.push(() => p.stop());
  await waitFor("holder served", () => get(vip, port, "shared.test").then((b) => b === "holder"));
  const load = new Load(() => get(vip, port, "shared.test"));
  t.after(async () => void (await load.stop()));
  await waitFor("requests flowing", () => load.ok > 5);

  // The newcomer's name sorts first: before first-seen times, that alone took the host.
  writeManifest(dir, "aa-newcomer.yaml", ingress("aa-newcomer", "newcomer"));
  const conflict = await waitFor("the newcomer told who holds the host", async () => {
    const c = await condition(p, "Ingress", "aa-newcomer", "portico.dev/Accepted");
    return c?.reason === "RouteConflict" ? c : undefined;
  });
  assert.match(
    conflict.message ?? "",
    /host shared\.test Prefix \/ is already served by Ingress\/default\/zz-holder/,
  );
  assert.equal((await condition(p, "Ingress", "zz-holder", "portico.dev/Accepted"))?.reason, "Accepted");
  const seen = load.ok;
  await waitFor("more requests", () => load.ok > seen + 10);
  const counts = await load.stop();
  const answers = Object.fromEntries(load.answers);
  console.log(`hostname conflict: ${JSON.stringify(counts)} answered by: ${JSON.stringify(answers)}`);
  assert.equal(counts.failed, 0, JSON.stringify(counts.errors));
  assert.deepEqual(Object.keys(answers), ["holder"], "the holder's traffic never moved");

  // A restart reads the first-seen times from the state dir: ages, and so the holder, stay.
  await p.stop();
  p = await startPortico([dir], args, { command: ["sh", bin] });
  await waitFor("served after restart", () => get(vip, port, "shared.test").then((b) => b !== undefined));
  assert.equal(await get(vip, port, "shared.test"), "holder");
  assert.equal(
    (await condition(p, "Ingress", "aa-newcomer", "portico.dev/Accepted"))?.reason,
    "RouteConflict",
  );
  // Offline answers read the saved first-seen times too, so they name the same winner.
  const offline = await run("sh", [bin, "explain", "ingress/default/aa-newcomer", dir, ...args]);
  assert.match(offline.stdout, /already served by Ingress\/default\/zz-holder/, offline.stdout);
});

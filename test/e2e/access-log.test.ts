// access-log.test.ts: `portico run --access-log FILE` writes one JSON line per request, in-process
// and with worker processes; nothing is written without the flag.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, run } from "./harness.ts";
import {
  backendService,
  httpBackend,
  ingressAppManifest,
  ingressClass,
  pool,
  tlsSecret,
} from "./fixtures.ts";
import { selfSigned } from "../support/certs.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

for (const [i, workers] of ["1", "2"].entries()) {
  test(`access log with --workers ${workers}: a line per request, fields from the request`, async () => {
    const dir = tempDir();
    const state = tempDir();
    const app = await httpBackend("app");
    cleanups.push(
      () => removeDir(dir),
      () => removeDir(state),
      app.close,
    );
    const vip = `127.0.24.${i + 1}`;
    writeManifest(dir, "a.yaml", ingressAppManifest("log", vip, app.port));
    const log = join(state, "access.log");
    const port = 18280 + i;
    const p = await startPortico(
      [dir],
      ["--state-dir", state, "--http-port", String(port), "--workers", workers, "--access-log", log],
    );
    cleanups.push(() => p.stop());
    for (const path of ["/one?x=1", "/two"]) {
      const r = await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "host: app.test",
        `http://${vip}:${port}${path}`,
      ]);
      assert.equal(r.stdout, "200");
    }
    const lines = await waitFor("two access log lines", () => {
      const text = existsSync(log) ? readFileSync(log, "utf8") : "";
      const ls = text.split("\n").filter(Boolean);
      return ls.length >= 2 ? ls : undefined;
    });
    const entries = lines.map((l) => JSON.parse(l));
    assert.deepEqual(entries.map((e) => e.path).sort(), ["/one?x=1", "/two"]);
    for (const e of entries) {
      assert.equal(e.method, "GET");
      assert.equal(e.authority, "app.test");
      assert.equal(e.status, 200);
      assert.equal(e.protocol, "HTTP/1.1");
      assert.equal(e.client, "127.0.0.1");
      assert.equal(e.backend, `127.0.0.1:${app.port}`);
      assert.match(e.route, /^Ingress\/default\/app/);
      // Split timings (issue 15): the four parts, adding up to the total; curl's User-Agent.
      const t = e.timings as Record<string, number>;
      assert.deepEqual(Object.keys(t).sort(), ["connect", "request", "transfer", "ttfb"]);
      const sum = t.request! + t.connect! + t.ttfb! + t.transfer!;
      assert.ok(
        Math.abs(sum - e.durationMs) <= 0.005,
        `parts ${JSON.stringify(t)} add up to ${e.durationMs}`,
      );
      assert.match(e.userAgent, /^curl\//);
      assert.equal(e.tls, undefined, "plain HTTP: no tls field");
      assert.equal(e.outcome, undefined);
    }
  });
}

test("access log over HTTPS and HTTP/2: tls version, protocol, a backend's delay in ttfb", async () => {
  const dir = tempDir();
  const state = tempDir();
  const app = await httpBackend("app");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    app.close,
  );
  const vip = "127.0.24.5";
  const cert = selfSigned(["app.test"]);
  writeFileSync(join(state, "ca.pem"), cert.certPem);
  const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app, namespace: default }
spec:
  tls: [{ hosts: [app.test], secretName: app-tls }]
  rules:
    - host: app.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`;
  writeManifest(
    dir,
    "a.yaml",
    [
      pool("log", [`${vip}/32`]),
      ingressClass,
      backendService("default", "app", app.port),
      ingress,
      tlsSecret("app-tls", cert),
    ].join("---\n"),
  );
  const log = join(state, "access.log");
  const p = await startPortico(
    [dir],
    ["--state-dir", state, "--http-port", "18287", "--https-port", "18288", "--access-log", log],
  );
  cleanups.push(() => p.stop());
  // The backend answers 150 ms late (fixtures.ts httpBackend: ?ms=).
  const r = await run("curl", [
    "-s",
    "--http2",
    "--cacert",
    join(state, "ca.pem"),
    "--resolve",
    `app.test:18288:${vip}`,
    "-A",
    "access-log-test/2",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{http_version}",
    "https://app.test:18288/late?ms=150",
  ]);
  assert.equal(r.stdout, "200 2");
  const line = await waitFor("the HTTPS line", () => {
    const text = existsSync(log) ? readFileSync(log, "utf8") : "";
    const l = text.split("\n").find((x) => x.includes("/late?ms=150"));
    return l === undefined ? undefined : JSON.parse(l);
  });
  assert.equal(line.protocol, "HTTP/2");
  assert.equal(line.tls, "TLSv1.3");
  assert.equal(line.userAgent, "access-log-test/2");
  assert.ok(line.timings.ttfb >= 150, `ttfb ${line.timings.ttfb} ≥ the backend's 150 ms`);
  assert.ok(line.timings.ttfb < 150 + 5000, `ttfb ${line.timings.ttfb}`);
  assert.ok(line.durationMs >= line.timings.ttfb);
});

test("no access log without the flag", async () => {
  const dir = tempDir();
  const state = tempDir();
  const app = await httpBackend("app");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    app.close,
  );
  writeManifest(dir, "a.yaml", ingressAppManifest("log", "127.0.24.9", app.port));
  const p = await startPortico([dir], ["--state-dir", state, "--http-port", "18289"]);
  cleanups.push(() => p.stop());
  const r = await run("curl", ["-s", "-H", "host: app.test", "http://127.0.24.9:18289/quiet"]);
  assert.equal(r.stdout, "app GET /quiet\n");
  assert.ok(!p.stdout().includes("/quiet"), "nothing on stdout");
});

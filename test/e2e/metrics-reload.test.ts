// metrics-reload.test.ts: metrics a dashboard can trust and logs that say what happened, through
// the real bin/portico. Reload counters move on a good and a bad edit; per-route and per-host
// series stop at their cap (PORTICO_METRICS_MAX_ROUTES/_HOSTS) with the rest in __overflow__; IPAM
// usage per pool and family; one "snapshot applied" line per snapshot saying what changed; an
// object problem logged once when it appears and once when it clears.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  tempDir,
  writeManifest,
  startPortico,
  removeDir,
  waitFor,
  run,
  logLines,
  type Portico,
} from "./harness.ts";
import { backendService, httpBackend, ingressClass, pool } from "./fixtures.ts";

const root = join(import.meta.dirname, "..", "..");
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const VIP = "127.0.52.1";
const HOSTS = 20;
const CAP = 5;
let p: Portico;
let dir: string;
let httpPort: number;

/** sample reads one series' value from the exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function metrics(): Promise<string> {
  return (await fetch(`${p.adminUrl}/metrics`)).text();
}

function manyHosts(): string {
  const rules = Array.from(
    { length: HOSTS },
    (_, i) => `    - host: h${i}.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }`,
  ).join("\n");
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: many, namespace: default }
spec:
  rules:
${rules}
`;
}

before(async () => {
  dir = tempDir();
  const state = tempDir();
  const app = await httpBackend("app");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    app.close,
  );
  writeManifest(
    dir,
    "base.yaml",
    [pool("mr", [`${VIP}/32`]), ingressClass, backendService("default", "app", app.port)].join("---\n"),
  );
  writeManifest(dir, "many.yaml", manyHosts());
  httpPort = 18400 + (process.pid % 100);
  // The child inherits the environment: a small cap makes the overflow bucket visible with 20 hosts.
  process.env.PORTICO_METRICS_MAX_ROUTES = String(CAP);
  process.env.PORTICO_METRICS_MAX_HOSTS = String(CAP);
  p = await startPortico([dir], ["--state-dir", state, "--http-port", String(httpPort)], {
    command: ["sh", join(root, "bin/portico")],
  });
  cleanups.push(() => p.stop());
});

test("per-route and per-host series: at most CAP each, the rest counted under __overflow__", async () => {
  for (let i = 0; i < HOSTS; i++) {
    const r = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      `host: h${i}.test`,
      `http://${VIP}:${httpPort}/`,
    ]);
    assert.equal(r.stdout, "200");
  }
  const unrouted = await run("curl", [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-H",
    "host: nope.test",
    `http://${VIP}:${httpPort}/`,
  ]);
  assert.equal(unrouted.stdout, "404");
  const text = await metrics();
  const routes = text.split("\n").filter((l) => l.startsWith("portico_http_route_requests_total{"));
  const hosts = text.split("\n").filter((l) => l.startsWith("portico_http_host_requests_total{"));
  // CAP named routes + __overflow__ + the unrouted 404 ("none").
  assert.equal(routes.length, CAP + 2, routes.join("\n"));
  assert.equal(
    sample(text, 'portico_http_route_requests_total{route="__overflow__",class="2xx"}'),
    HOSTS - CAP,
  );
  assert.equal(sample(text, 'portico_http_route_requests_total{route="none",class="4xx"}'), 1);
  assert.equal(hosts.length, CAP + 1, hosts.join("\n"));
  assert.equal(
    sample(text, 'portico_http_host_requests_total{host="__overflow__",class="2xx"}'),
    HOSTS - CAP,
  );
  assert.ok(!hosts.some((l) => l.includes("nope.test")), "a 404 host takes no slot");
  // IPAM: the one address of the pool is in use.
  assert.equal(sample(text, 'portico_ipam_addresses_in_use{pool="mr",family="IPv4"}'), 1);
  assert.equal(sample(text, 'portico_ipam_addresses_available{pool="mr",family="IPv4"}'), 0);
  assert.equal(sample(text, "portico_ipam_pending_requests"), 0);
});

test("reload metrics move on a good edit and on a bad one; the log says what changed, once", async () => {
  const before = await metrics();
  const reloads = sample(before, "portico_config_reloads_total")!;
  const failures = sample(before, "portico_config_reload_failures_total")!;
  const version = sample(before, "portico_config_snapshot_version")!;
  const stamp = sample(before, "portico_config_last_reload_success_timestamp_seconds")!;
  assert.ok(reloads >= 1 && version >= 1 && stamp > 0, before);
  assert.equal(sample(before, "portico_config_last_reload_successful"), 1);

  // A good edit: a new Ingress whose backend Service does not exist (a problem, logged once).
  writeManifest(
    dir,
    "extra.yaml",
    `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: extra, namespace: default }
spec:
  rules:
    - host: extra.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ghost, port: { number: 80 } } } }] }
`,
  );
  const good = await waitFor("a reload", async () => {
    const t = await metrics();
    return sample(t, "portico_config_reloads_total")! > reloads ? t : undefined;
  });
  assert.equal(sample(good, "portico_config_reload_failures_total"), failures);
  assert.equal(sample(good, "portico_config_last_reload_successful"), 1);
  assert.ok(sample(good, "portico_config_snapshot_version")! > version);
  assert.ok(sample(good, "portico_config_last_reload_success_timestamp_seconds")! >= stamp);
  const applied = logLines(p, "snapshot applied").find((l) =>
    (l.routesAdded as string[] | undefined)?.includes("Ingress/default/extra#0.0"),
  );
  assert.ok(applied, p.logs.join("\n"));
  // One line per snapshot: the engine no longer logs its own "snapshot applied".
  const versions = logLines(p, "snapshot applied").map((l) => l.version);
  assert.equal(new Set(versions).size, versions.length, JSON.stringify(versions));
  // The log pipe and the metrics endpoint are separate channels: the line may come a little later.
  const problems = () => logLines(p, "object problem").filter((l) => l.object === "Ingress/default/extra");
  await waitFor("the object problem logged", () => problems().length > 0);
  assert.equal(problems().length, 1);

  // A bad edit: broken YAML. The file's last good version keeps serving; the reload is a failure.
  const reloads2 = sample(good, "portico_config_reloads_total")!;
  writeManifest(
    dir,
    "extra.yaml",
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: extra\n  broken: [\n",
  );
  const bad = await waitFor("a failed reload", async () => {
    const t = await metrics();
    return sample(t, "portico_config_reloads_total")! > reloads2 ? t : undefined;
  });
  assert.equal(sample(bad, "portico_config_reload_failures_total"), failures + 1);
  assert.equal(sample(bad, "portico_config_last_reload_successful"), 0);

  // The fix removes the Ingress: the problem clears, logged once; the reload succeeds again.
  writeManifest(dir, "extra.yaml", "# nothing here now\n");
  await waitFor("the problem cleared", () =>
    logLines(p, "object problem cleared").some((l) => l.object === "Ingress/default/extra"),
  );
  assert.equal(logLines(p, "object problem").filter((l) => l.object === "Ingress/default/extra").length, 1);
  assert.equal(
    logLines(p, "object problem cleared").filter((l) => l.object === "Ingress/default/extra").length,
    1,
  );
  await waitFor(
    "a good reload again",
    async () => sample(await metrics(), "portico_config_last_reload_successful") === 1,
  );
});

// reload-styles.test.ts: `portico run` sees every way a file gets saved (issue 11.1). Each style
// saves an Ingress several times in a row while a client keeps sending requests to another host
// on the same VIP; every edit must be served, and no request may fail. VIPs on 127.0.61.0/29.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, type Portico } from "./harness.ts";
import { httpBackend, pool, backendService, ingressClass, type HttpBackend } from "./fixtures.ts";
import { get, load, percentile, SAVE_STYLES, type Load } from "./reload-helpers.ts";

const HTTP = 18161;
let dir: string, state: string, web: HttpBackend, p: Portico, vip: string, client: Load;
const timings: Record<string, number[]> = {};

/** ingress is an Ingress for host with one path, /v<n>, to the web backend. */
const ingress = (name: string, host: string, n: number) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: default }
spec:
  rules:
    - host: ${host}
      http:
        paths:
          - { path: /v${n}, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }
`;

/** served waits until GET host/v<n> reaches the backend and /v<n-1> no longer does. */
async function served(host: string, n: number, what: string): Promise<void> {
  await waitFor(`${what}: /v${n} on ${host} served`, async () => {
    const r = await get(vip, HTTP, host, `/v${n}`);
    return r.status === 200 && r.body === `web GET /v${n}\n`;
  });
  if (n > 0) assert.equal((await get(vip, HTTP, host, `/v${n - 1}`)).status, 404, `${what}: old path gone`);
}

before(async () => {
  dir = tempDir("portico-reload-");
  state = tempDir("portico-reload-state-");
  web = await httpBackend("web");
  writeManifest(dir, "base.yaml", pool("reload", ["127.0.61.1-127.0.61.6"]) + "---\n" + ingressClass);
  writeManifest(dir, "web.yaml", backendService("default", "web", web.port));
  writeManifest(dir, "stable.yaml", ingress("stable", "stable.test", 0));
  p = await startPortico([dir], ["--state-dir", state, "--http-port", String(HTTP), "--https-port", "18162"]);
  vip = await waitFor("stable ingress VIP", () => p.vip("Ingress", "default", "stable"));
  await served("stable.test", 0, "start");
  client = load(vip, HTTP, "stable.test", "/v0", "web GET /v0\n");
});

after(async () => {
  const r = await client?.stop();
  await p?.stop();
  web?.close();
  for (const d of [dir, state]) if (d) removeDir(d);
  if (r)
    console.log(
      `reload-styles: ${r.sent} requests, ${r.failed.length} failed, p99 latency ${percentile(r.latencies, 99).toFixed(1)} ms`,
    );
  for (const [style, ts] of Object.entries(timings))
    console.log(
      `reload-styles: ${style}: edit-to-serving p50 ${percentile(ts, 50).toFixed(0)} ms, max ${Math.max(...ts).toFixed(0)} ms`,
    );
});

const EDITS = 5;
for (const [style, save] of Object.entries(SAVE_STYLES)) {
  test(`${style}: ${EDITS} saves in a row, each served`, async () => {
    const slug = style.replace(/[^a-z]+/g, "-");
    const sub = join(dir, slug);
    mkdirSync(sub, { recursive: true });
    const host = `${slug}.test`;
    const name = `${slug}.yaml`;
    // The first version is written plainly (the symlink style lays out its own ..data tree).
    if (style === "configmap ..data swap") await save(sub, name, ingress(slug, host, 0), 0);
    else writeManifest(sub, name, ingress(slug, host, 0));
    await served(host, 0, style);
    timings[style] = [];
    for (let n = 1; n <= EDITS; n++) {
      const t = performance.now();
      await save(sub, name, ingress(slug, host, n), n);
      await served(host, n, `${style} #${n}`);
      timings[style]!.push(performance.now() - t);
    }
  });
}

test("files added in new subdirectories, one after another, are each served", async () => {
  for (let n = 1; n <= EDITS; n++) {
    writeManifest(dir, `added/${n}/deeper/x.yaml`, ingress(`added-${n}`, `added${n}.test`, n));
    await served(`added${n}.test`, n, `new subdirectory #${n}`);
  }
});

test("a rename-style save that breaks a file reports the error; the rename-style fix clears it", async () => {
  const save = SAVE_STYLES.rename!;
  const sub = join(dir, "broken");
  mkdirSync(sub, { recursive: true });
  const errors = async () =>
    (
      (await (await fetch(`${p.adminUrl}/api/v1/errors`)).json()) as { input: { file: string }[] }
    ).input.filter((e) => e.file.endsWith("fixme.yaml"));
  await save(sub, "fixme.yaml", ingress("fixme", "fixme.test", 0), 0);
  await served("fixme.test", 0, "fixme");
  for (let n = 1; n <= 3; n++) {
    await save(sub, "fixme.yaml", "kind: Ingress\nmetadata: { name: [\n", n);
    await waitFor(`error #${n} reported`, async () => (await errors()).length > 0);
    await save(sub, "fixme.yaml", ingress("fixme", "fixme.test", n), n);
    await waitFor(`error #${n} cleared`, async () => (await errors()).length === 0);
    await served("fixme.test", n, `fix #${n}`);
  }
  // The bug this guards: after a rename-style save, an in-place edit went unseen.
  SAVE_STYLES["in place"]!(sub, "fixme.yaml", ingress("fixme", "fixme.test", 4), 4);
  await served("fixme.test", 4, "in-place edit after renames");
});

test("no request failed while files were saved", async () => {
  const r = await client.stop();
  assert.ok(r.sent > 50, `only ${r.sent} requests sent`);
  assert.deepEqual(r.failed.slice(0, 5), [], `${r.failed.length} of ${r.sent} requests failed`);
  client = load(vip, HTTP, "stable.test", "/v0", "web GET /v0\n");
});

// reload-many.test.ts: 200 edits in a row, alternating in-place and rename-style saves (the pair
// that lost edits before), while a client keeps sending requests: every edit is served and no
// request fails. Prints the edit-to-serving percentiles. VIPs on 127.0.64.0/29.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, type Portico } from "./harness.ts";
import { httpBackend, pool, backendService, ingressClass, type HttpBackend } from "./fixtures.ts";
import { get, load, percentile, SAVE_STYLES, type Load } from "./reload-helpers.ts";

const HTTP = 18181;
const EDITS = 200;
let dir: string, state: string, web: HttpBackend | undefined, p: Portico | undefined;
let client: Load | undefined;

const ingress = (n: number) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: many, namespace: default }
spec:
  rules:
    - host: stable.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
    - host: edit.test
      http: { paths: [{ path: /v${n}, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;

after(async () => {
  await client?.stop(); // a failed test must not leave the loop running
  await p?.stop();
  web?.close();
  for (const d of [dir, state]) if (d) removeDir(d);
});

test(`${EDITS} edits in a row are each served while requests keep succeeding`, async () => {
  dir = tempDir("portico-reload-many-");
  state = tempDir("portico-reload-many-state-");
  web = await httpBackend("web");
  writeManifest(dir, "base.yaml", pool("many", ["127.0.64.1-127.0.64.6"]) + "---\n" + ingressClass);
  writeManifest(dir, "web.yaml", backendService("default", "web", web.port));
  writeManifest(dir, "many.yaml", ingress(0));
  p = await startPortico([dir], ["--state-dir", state, "--http-port", String(HTTP), "--https-port", "18182"]);
  const vip = await waitFor("VIP", () => p!.vip("Ingress", "default", "many"));
  await waitFor(
    "first version served",
    async () => (await get(vip, HTTP, "edit.test", "/v0")).status === 200,
  );
  client = load(vip, HTTP, "stable.test", "/", "web GET /\n");
  const took: number[] = [];
  for (let n = 1; n <= EDITS; n++) {
    const save = n % 2 ? SAVE_STYLES.rename! : SAVE_STYLES["in place"]!;
    const t = performance.now();
    await save(dir, "many.yaml", ingress(n), n);
    await waitFor(`edit #${n} served`, async () => {
      const r = await get(vip, HTTP, "edit.test", `/v${n}`);
      return r.status === 200 && r.body === `web GET /v${n}\n`;
    });
    took.push(performance.now() - t);
  }
  const r = await client.stop();
  client = undefined;
  console.log(
    `reload-many: ${EDITS} edits; edit-to-serving p50 ${percentile(took, 50).toFixed(0)} ms, ` +
      `p99 ${percentile(took, 99).toFixed(0)} ms, max ${Math.max(...took).toFixed(0)} ms; ` +
      `${r.sent} requests, ${r.failed.length} failed, request p99 ${percentile(r.latencies, 99).toFixed(1)} ms`,
  );
  assert.ok(r.sent > EDITS, `only ${r.sent} requests sent`);
  assert.deepEqual(r.failed.slice(0, 5), [], `${r.failed.length} of ${r.sent} requests failed`);
});

// cli-routes.test.ts: the admin routes behind `--admin`: the documents the offline CLI computes,
// 503 before a snapshot serves, 404 (with the document) for a missing object, 400 for a bad path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDirs } from "../sources/file/source.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import { serveCliRoute } from "./cli-routes.ts";
import type { Inspection } from "../controller/views.ts";

/** get answers one path and returns what was sent, or undefined when the route is not ours. */
function get(i: Inspection | undefined, path: string) {
  let sent: { status: number; type: string; body: string } | undefined;
  const ours = serveCliRoute(
    { inspect: () => i },
    path,
    (status, type, body) => (sent = { status, type, body }),
  );
  return ours ? sent : undefined;
}

test("cli routes: tables, explain, translate, validate; 503, 404, 400", async () => {
  const set = await loadDirs([join(import.meta.dirname, "..", "..", "examples", "gateway-api")]);
  const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };
  const i: Inspection = { set, out: buildSnapshot(set, opts, {}, 1), ports: { http: 80, https: 443 } };
  assert.equal(get(i, "/healthz"), undefined);
  assert.equal(get(undefined, "/api/v1/tables/pools")?.status, 503);
  const pools = get(i, "/api/v1/tables/pools")!;
  assert.equal(pools.status, 200);
  assert.equal(JSON.parse(pools.body)[0]["IPV4 FREE"], "19");
  const gw = get(i, "/api/v1/explain/gateway/infra/demo")!;
  assert.equal(gw.status, 200);
  assert.match(JSON.parse(gw.body).lines.join("\n"), /VIP: 127\.0\.20\.10/);
  assert.equal(JSON.parse(get(i, "/api/v1/explain/vippool/gateways")!.body).pool.free.IPv4.count, "19");
  const missing = get(i, "/api/v1/explain/httproute/demo/nope")!;
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).found, false);
  assert.equal(get(i, "/api/v1/explain/pod/demo/x")?.status, 400);
  assert.equal(get(i, "/api/v1/explain/vippool/a/b")?.status, 400);
  assert.equal(get(i, "/api/v1/tables/pods")?.status, 404);
  assert.equal(JSON.parse(get(i, "/api/v1/translate")!.body).snapshot.http.length, 3);
  assert.equal(JSON.parse(get(i, "/api/v1/validate")!.body).errors.length, 0);
});

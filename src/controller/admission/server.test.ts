// server.test.ts: the webhook's HTTPS side with a real TLS client — an AdmissionReview in, the
// verdict out (403 and the message, or allowed); 503 before the replica has a view (the webhook's
// failurePolicy then decides); 400/405 for what is not a review; a renewed certificate is served
// without a restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { parseAllDocuments } from "yaml";
import { buildResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import { generatePair, servingNames, type ServingPair } from "./credentials.ts";
import { MAX_OPEN, startAdmission, type AdmissionView } from "./server.ts";

const CLUSTER = `
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: q, creationTimestamp: "2026-01-01T00:00:00Z" }
spec: { namespaces: [q], quotas: { vips: 1 } }
---
apiVersion: v1
kind: Service
metadata: { name: first, namespace: q, creationTimestamp: "2026-01-02T00:00:00Z" }
spec: { type: LoadBalancer, loadBalancerClass: portico.dev/lb, ports: [{ port: 80 }] }
`;
const SECOND = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "second", namespace: "q" },
  spec: { type: "LoadBalancer", loadBalancerClass: "portico.dev/lb", ports: [{ port: 80 }] },
};

function post(
  port: number,
  ca: string,
  body: string,
  method = "POST",
): Promise<{ code: number; json: unknown }> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method,
        ca,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => done({ code: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
      },
    );
    req.on("error", fail);
    req.end(body);
  });
}

const review = (object: unknown, operation = "CREATE") =>
  JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: { uid: "u-1", operation, namespace: "q", object },
  });

/** serve starts a webhook on a generated certificate; dir holds its CA file (ca). */
async function serve(view: () => AdmissionView | undefined) {
  const dir = mkdtempSync(join(tmpdir(), "portico-adm-"));
  const caFile = join(dir, "ca.pem");
  const pair = generatePair(servingNames("portico-admission", "portico-system", "127.0.0.1"), caFile);
  const srv = await startAdmission({
    host: "127.0.0.1",
    port: 0,
    pair: () => pair,
    view,
    translate: { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 },
    log: () => undefined,
  });
  return { dir, ca: readFileSync(caFile, "utf8"), srv };
}

test("server: reviews over real TLS — 503 without a view, 403 with the message, allowed, 400/405", async () => {
  let view: AdmissionView | undefined;
  const objects = parseAllDocuments(CLUSTER).map((d) => d.toJSON() as AnyObject);
  const { dir, ca, srv } = await serve(() => view);
  try {
    assert.equal((await post(srv.port, ca, review(SECOND))).code, 503);
    view = { set: buildResourceSet(objects, new Map(), []) };
    const refused = await post(srv.port, ca, review(SECOND));
    assert.equal(refused.code, 200);
    assert.deepEqual(refused.json, {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "u-1",
        allowed: false,
        status: {
          code: 403,
          reason: "Forbidden",
          message:
            "tenant q quota vips: 2 of 1 used (this Service needs 1, older objects hold 1) (not served)",
        },
      },
    });
    const del = await post(srv.port, ca, review(SECOND, "DELETE"));
    assert.deepEqual((del.json as { response: unknown }).response, { uid: "u-1", allowed: true });
    assert.equal((await post(srv.port, ca, "{nope")).code, 400);
    assert.equal((await post(srv.port, ca, JSON.stringify({ kind: "AdmissionReview" }))).code, 400);
    assert.equal((await post(srv.port, ca, "", "GET")).code, 405);
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("server: a renewed certificate is served without a restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "portico-adm-"));
  const names = servingNames("portico-admission", "portico-system", "127.0.0.1");
  let pair: ServingPair = generatePair(names, join(dir, "old.pem"));
  const oldCa = readFileSync(join(dir, "old.pem"), "utf8");
  const srv = await startAdmission({
    host: "127.0.0.1",
    port: 0,
    pair: () => pair,
    reloadMs: 50,
    view: () => undefined,
    translate: { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 },
    log: () => undefined,
  });
  const trusts = (ca: string) =>
    new Promise<boolean>((done) => {
      const s = connect({ host: "127.0.0.1", port: srv.port, ca }, () => {
        s.destroy();
        done(true);
      });
      s.once("error", () => done(false));
    });
  try {
    assert.equal(await trusts(oldCa), true);
    pair = generatePair(names, join(dir, "new.pem"));
    const newCa = readFileSync(join(dir, "new.pem"), "utf8");
    const end = Date.now() + 10_000;
    while (!(await trusts(newCa))) {
      assert.ok(Date.now() < end, "the renewed certificate was not served within 10 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await trusts(oldCa), false, "the old certificate is no longer served");
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("server: beyond MAX_OPEN reviews at once, 503 at once (failurePolicy decides); a place frees when one ends", async () => {
  const { dir, ca, srv } = await serve(() => undefined);
  // Each holds a place: headers sent, the body never finished.
  const held = Array.from({ length: MAX_OPEN }, () => {
    const req = request({
      host: "127.0.0.1",
      port: srv.port,
      path: "/validate",
      method: "POST",
      ca,
      agent: false,
      headers: { "content-type": "application/json", "content-length": "100" },
    });
    req.on("error", () => undefined);
    req.write("{");
    return req;
  });
  try {
    const end = Date.now() + 20_000;
    let r = await post(srv.port, ca, review(SECOND));
    // The held requests reach the server in their own time: poll until all hold their place.
    while (!/busy/.test((r.json as { message?: string }).message ?? "")) {
      assert.ok(Date.now() < end, `no 503 with ${MAX_OPEN} reviews open (got ${r.code})`);
      r = await post(srv.port, ca, review(SECOND));
    }
    assert.match((r.json as { message: string }).message, /busy \(4 reviews open\)/);
    held.pop()!.destroy();
    r = await post(srv.port, ca, review(SECOND));
    while (r.code === 503 && /busy/.test((r.json as { message: string }).message)) {
      assert.ok(Date.now() < end, "no place freed after a held review ended");
      r = await post(srv.port, ca, review(SECOND));
    }
    assert.match((r.json as { message: string }).message, /not listed the cluster yet/);
  } finally {
    for (const h of held) h.destroy();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// annotations-never-silent.test.ts: `portico run` on a directory migrated from ingress-nginx and
// MetalLB. An Ingress whose access annotation Portico does not honour (a configuration-snippet, an
// auth-tls-match-cn) answers 403 on every route, naming the annotation, while another Ingress on the
// same VIP keeps answering 200; `portico validate` and `portico explain` name the annotation with
// its file and object; a Service asking for its VIP with metallb.io/loadBalancerIPs gets exactly it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { join } from "node:path";
import { portico, removeDir, startPortico, tempDir, waitFor, writeManifest } from "./harness.ts";
import { backendService, httpBackend, ingressClass, pool } from "./fixtures.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// 127.0.120.0/24 is this test's own; fixed ports because two listeners must be found by address.
const HTTP_PORT = 18427;
const LB_PORT = 18428;
const ASKED = "127.0.120.7";

/** ingress is an Ingress routing host (/ and /api) to Service app, with annotations. */
function ingress(name: string, host: string, annotations: Record<string, string>): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}\n`)
    .join("");
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
${ann ? `  annotations:\n${ann}` : ""}spec:
  rules:
    - host: ${host}
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }
          - { path: /api, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }
`;
}

/** get sends one HTTP/1.1 GET and answers with status and body. */
function get(
  address: string,
  port: number,
  host: string,
  path = "/",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, agent: false, headers: { host }, timeout: 5000 });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.end();
  });
}

test("unhonoured access annotations close their Ingress (403), others serve; validate and explain name them; MetalLB's VIP is kept", async () => {
  const dir = tempDir();
  const app = await httpBackend("app");
  cleanups.push(
    () => removeDir(dir),
    () => app.close(),
  );
  writeManifest(dir, "pool.yaml", pool("lab", ["127.0.120.1-127.0.120.9"]));
  writeManifest(dir, "class.yaml", ingressClass);
  writeManifest(dir, "app.yaml", backendService("default", "app", app.port));
  writeManifest(
    dir,
    "ingresses.yaml",
    [
      ingress("open", "open.test", { "nginx.ingress.kubernetes.io/proxy-buffering": "off" }),
      ingress("snippet", "snippet.test", {
        "nginx.ingress.kubernetes.io/configuration-snippet":
          'more_set_headers "X-Frame-Options: DENY";\nallow 10.0.0.0/8;\ndeny all;',
      }),
      ingress("cn", "cn.test", { "nginx.ingress.kubernetes.io/auth-tls-match-cn": "CN=billing" }),
      ingress("tuned", "tuned.test", { "nginx.ingress.kubernetes.io/proxy-cookie-path": "/ /app" }),
    ].join("---\n"),
  );
  writeManifest(
    dir,
    "lb.yaml",
    `apiVersion: v1
kind: Service
metadata:
  name: mlb
  namespace: default
  annotations:
    metallb.io/loadBalancerIPs: ${ASKED}
    metallb.io/address-pool: lab
spec:
  type: LoadBalancer
  ports: [{ port: ${LB_PORT}, targetPort: ${app.port} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: mlb-1
  namespace: default
  labels: { kubernetes.io/service-name: mlb }
addressType: IPv4
ports: [{ port: ${app.port}, protocol: TCP }]
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: true }
`,
  );

  const p = await startPortico([dir], ["--http-port", String(HTTP_PORT), "--https-port", "18429"]);
  cleanups.push(() => p.stop());
  const vip = await waitFor("the class VIP", () => p.vip("Ingress", "default", "open"));

  // The open Ingress and the one with a tuning annotation Portico lacks keep serving.
  for (const host of ["open.test", "tuned.test"])
    for (const path of ["/", "/api"]) {
      const r = await get(vip, HTTP_PORT, host, path);
      assert.equal(r.status, 200, `${host}${path}: ${r.body}`);
      assert.match(r.body, /^app GET /);
    }
  // The access ones answer 403 on every route, saying why; the backend never sees them.
  const before = app.seen.length;
  for (const [host, ann] of [
    ["snippet.test", "nginx.ingress.kubernetes.io/configuration-snippet (refused)"],
    ["cn.test", "nginx.ingress.kubernetes.io/auth-tls-match-cn (unimplemented)"],
  ] as const)
    for (const path of ["/", "/api/x"]) {
      const r = await get(vip, HTTP_PORT, host, path);
      assert.equal(r.status, 403, `${host}${path}`);
      assert.ok(r.body.includes(ann), `${host}${path}: ${r.body}`);
      assert.match(r.body, /docs\/migration-annotations\.md/);
    }
  assert.equal(app.seen.length, before, "no closed request reached the backend");

  // The MetalLB Service has the address it asked for, and serves on it.
  assert.equal(await waitFor("mlb's VIP", () => p.vip("Service", "default", "mlb")), ASKED);
  const lb = await get(ASKED, LB_PORT, "mlb");
  assert.equal(lb.status, 200, lb.body);

  // Status: the closed Ingress is Accepted=False with the reason; the tuned one a True warning.
  const statuses = await p.status();
  const acc = (name: string) =>
    statuses
      .find((s) => s.kind === "Ingress" && s.name === name)
      ?.status.conditions?.find((c) => c.type === "portico.dev/Accepted");
  assert.equal(acc("snippet")?.status, "False");
  assert.equal(acc("snippet")?.reason, "AccessAnnotationNotHonoured");
  assert.equal(acc("tuned")?.status, "True");
  assert.equal(acc("tuned")?.reason, "AnnotationNotHonoured");
  assert.match(acc("tuned")?.message ?? "", /proxy-cookie-path \(unimplemented: /);
  assert.equal(acc("open")?.reason, "Accepted", "an accepted annotation is not listed");

  // validate (offline, the same directory): each annotation with its file, line and object.
  const file = join(dir, "ingresses.yaml");
  const v = await portico(["validate", dir, "--http-port", String(HTTP_PORT)]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  assert.match(
    v.stdout,
    new RegExp(
      `^notice: Ingress/default/snippet: annotation nginx\\.ingress\\.kubernetes\\.io/configuration-snippet \\(refused: .*\\) is not honoured; its routes answer 403 \\(${esc(file)}:\\d+\\); see docs/migration-annotations\\.md$`,
      "m",
    ),
  );
  assert.match(
    v.stdout,
    new RegExp(
      `^notice: Ingress/default/tuned: annotation .*proxy-cookie-path .*\\(${esc(file)}:\\d+\\)`,
      "m",
    ),
  );
  assert.match(
    v.stdout,
    new RegExp(
      `^warning: ${esc(file)}:\\d+: Ingress/default/cn: portico\\.dev/Accepted=False AccessAnnotationNotHonoured: .*auth-tls-match-cn`,
      "m",
    ),
  );
  assert.ok(!/open: annotation/.test(v.stdout), "nothing listed for the open Ingress");

  // explain (from the running Portico) shows the condition on the object.
  const e = await portico([
    "explain",
    "ingress/default/snippet",
    "--admin",
    p.adminUrl.replace(/^http:\/\//, ""),
  ]);
  assert.match(e.stdout, /AccessAnnotationNotHonoured.*configuration-snippet/);
});

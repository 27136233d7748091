// explain.test.ts: `portico explain` and `portico get` on examples/gateway-api and the quickstart,
// as the pipeline computes them: every kind found, the ports the listeners really bind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDirs } from "../../sources/file/source.ts";
import { buildSnapshot } from "../pipeline.ts";
import { narrow, renderTable, tableRows } from "../tables.ts";
import { explain, renderExplanation } from "./index.ts";
import type { TargetKind } from "./target.ts";

const examples = join(import.meta.dirname, "..", "..", "..", "examples");

async function pipeline(dir: string, http = 80, https = 443) {
  const set = await loadDirs([dir.startsWith("/") ? dir : join(examples, dir)]);
  const opts = { serveClasslessServices: true, ingressHttpPort: http, ingressHttpsPort: https };
  return { set, out: buildSnapshot(set, opts, {}, 1) };
}

test("explain: every Gateway API kind of examples/gateway-api, with the ports bound", async () => {
  const { set, out } = await pipeline("gateway-api");
  const rows: [TargetKind, string, string, RegExp[]][] = [
    [
      "Gateway",
      "infra",
      "demo",
      [
        /^VIP: 127\.0\.20\.10 \(from pool gateways\)$/m,
        /^ {2}9053\/UDP → pool demo\/dns:53\/UDP$/m,
        /^ {2}HTTPRoute demo\/shop: Accepted=True$/m,
      ],
    ],
    [
      "HTTPRoute",
      "demo",
      "shop",
      [
        /Listener HTTPS port 8443:/,
        /host shop\.example\.test — certificate CN=example\.test/,
        /redirects 301 to .*path \/new/,
      ],
    ],
    ["GRPCRoute", "demo", "echo", [/Exact \/echo\.v1\.Echo\/Say/, /pool demo\/grpc-echo:50051#h2c/]],
    [
      "TLSRoute",
      "demo",
      "db",
      [/port 8443: TLS db\.example\.test \(Passthrough\)/, /127\.0\.0\.1:15432 ready/],
    ],
    ["TCPRoute", "demo", "echo", [/port 9000\/TCP → pool demo\/echo-tcp:9000\/TCP/]],
    ["UDPRoute", "demo", "dns", [/port 9053\/UDP → pool demo\/dns:53\/UDP/]],
    [
      "VipPool",
      "",
      "gateways",
      [
        /^ {2}127\.0\.20\.10 Gateway\/infra\/demo /m,
        /IPv4: 19 — 127\.0\.20\.1-127\.0\.20\.9, 127\.0\.20\.11-127\.0\.20\.20/,
        /^Waiting \(0\):$/m,
      ],
    ],
  ];
  for (const [kind, namespace, name, want] of rows) {
    const e = explain(set, out, { kind, namespace, name });
    assert.equal(e.found, true, `${kind} ${name}`);
    for (const re of want) assert.match(renderExplanation(e), re, `${kind} ${name}`);
  }
  const missing = explain(set, out, { kind: "HTTPRoute", namespace: "demo", name: "nope" });
  assert.equal(missing.found, false);
  assert.match(
    renderExplanation(missing),
    /HTTPRoute demo\/nope is not in the manifests.*portico get routes/,
  );
});

test("explain: an Ingress and its IngressClass report --http-port/--https-port, not 80/443", async () => {
  const { set, out } = await pipeline("quickstart", 8080, 8443);
  const cls = renderExplanation(explain(set, out, { kind: "IngressClass", namespace: "", name: "portico" }));
  assert.match(cls, /^Listener HTTP port 8080: /m);
  assert.match(cls, /^Listener HTTPS port 8443: /m);
  assert.match(cls, /Ingresses sharing the VIP: default\/blog, default\/shop/);
  const ing = renderExplanation(explain(set, out, { kind: "Ingress", namespace: "default", name: "shop" }));
  assert.match(ing, /^Listener HTTPS port 8443:$/m);
  assert.doesNotMatch(ing, /port 443/);
  const rows = tableRows("ingresses", set, out, { http: 8080, https: 8443 });
  assert.equal(rows.find((r) => r.NAME === "shop")?.PORTS, "8080, 8443");
});

test("get pools: used, free and pending per family; -o table keeps the narrow columns", async () => {
  const { set, out } = await pipeline("gateway-api");
  const rows = tableRows("pools", set, out, { http: 80, https: 443 });
  assert.deepEqual(narrow("pools", rows), [
    {
      NAME: "gateways",
      "IPV4 USED": "1",
      "IPV4 FREE": "19",
      "IPV4 PENDING": "0",
      "IPV6 USED": "0",
      "IPV6 FREE": "0",
      "IPV6 PENDING": "0",
      READY: "True",
    },
  ]);
  assert.equal(rows[0]!.ADDRESSES, "127.0.20.1-127.0.20.20");
  const table = renderTable(narrow("routes", tableRows("routes", set, out, { http: 80, https: 443 })));
  assert.match(table, /^NAMESPACE {3}KIND {8}NAME /);
  assert.match(
    table,
    /^demo\s+HTTPRoute\s+shop\s+shop\.example\.test\s+infra\/demo:http,infra\/demo:https\s+True$/m,
  );
});

test("explain: a pending Gateway's ports, an invalid listener, a parent Portico does not serve", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "portico-explain-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, "a.yaml"),
    `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico }
spec: { controllerName: portico.dev/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: infra }
spec:
  gatewayClassName: portico
  listeners:
    - { name: http, port: 8080, protocol: HTTP }
    - { name: bad, port: 8443, protocol: HTTPS, tls: { certificateRefs: [{ name: missing }] } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: infra }
spec:
  parentRefs: [{ name: gw }, { name: nope }]
  rules:
    - backendRefs: [{ name: missing-svc, port: 80 }]
`,
  );
  const { set, out } = await pipeline(dir);
  const gw = renderExplanation(explain(set, out, { kind: "Gateway", namespace: "infra", name: "gw" }));
  assert.match(gw, /^VIP: <pending> — no address: no VipPool exists$/m);
  assert.match(gw, /^Ports \(bound once the VIP is assigned\):\n {2}8080\/HTTP hosts \*$/m);
  assert.match(
    gw,
    /^ {2}bad 8443\/HTTPS: 1 route\(s\) attached, Programmed=False\n {4}Programmed=False Invalid: Secret infra\/missing not found$/m,
  );
  const r = renderExplanation(explain(set, out, { kind: "HTTPRoute", namespace: "infra", name: "r" }));
  assert.match(
    r,
    /^ {4}ResolvedRefs=False BackendNotFound: backendRef Service infra\/missing-svc not found$/m,
  );
  assert.match(r, /^ {2}Gateway infra\/nope: not served by Portico \(no such object, or another class\)$/m);
  assert.doesNotMatch(r, /Gateway\/infra\/nope asked IPAM/);
});

test("explain: a route's lines name the WafPolicy in force (mode, paranoia level) and the AccessPolicy", async () => {
  const { set, out } = await pipeline("waf");
  // HTTPRoute and Ingress share the route lines (ingress.ts hostLines); a Gateway lists its
  // policies in its conditions.
  {
    const text = renderExplanation(
      explain(set, out, { kind: "HTTPRoute", namespace: "waf-demo", name: "shop" }),
    );
    assert.match(
      text,
      /^ +WAF WafPolicy\/waf-demo\/shop: Enforcement, paranoia level 1, inbound threshold 5, 1 exclusion$/m,
      text,
    );
    assert.match(text, /^ +access AccessPolicy\/waf-demo\/\S+$/m, text);
  }
});

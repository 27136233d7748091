// never-silent.test.ts: every annotation in a known prefix that Portico does not honour is named on
// the object and in a notice; an unhonoured access annotation closes the Ingress's routes (403);
// MetalLB's VIP annotations work like Portico's own. A table of objects → conditions, notices, routes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet, type Origin } from "../../k8s/resource-set.ts";
import type { AnyObject, Condition } from "../../k8s/types.ts";
import type { Route } from "../../model/ir.ts";
import { ANN_AUTH_TLS_DEPTH, ANN_AUTH_TLS_SECRET, ANN_AUTH_TLS_VERIFY } from "../ingress-mtls.ts";
import { ANN_NGINX_SSL_REDIRECT } from "../ingress.ts";
import { ANN_NGINX_BUFFERING } from "../body-limits.ts";
import { translate } from "../translate.ts";
import type { TranslateResult } from "../types.ts";
import { ANNOTATIONS_HONOURED } from "./never-silent.ts";
import { KNOWN_ANNOTATIONS, KNOWN_PREFIXES, lookupAnnotation } from "./registry.ts";

const opts = { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 };
const N = "nginx.ingress.kubernetes.io/";
const ACCEPTED = "portico.dev/Accepted";

const ingressClass = (annotations: Record<string, string> = {}): AnyObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "IngressClass",
  metadata: { name: "c", annotations },
  spec: { controller: "portico.dev/ingress-controller" },
});

function ingress(name: string, annotations: Record<string, string>, cls = "c"): AnyObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "d", annotations },
    spec: {
      ingressClassName: cls,
      rules: [
        {
          host: `${name}.example`,
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } },
              {
                path: "/api",
                pathType: "Prefix",
                backend: { service: { name: "web", port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

function lbService(
  name: string,
  annotations: Record<string, string>,
  extra: Record<string, unknown> = {},
): AnyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "d", annotations },
    spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }], ...extra },
  };
}

const web: AnyObject = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "d" },
  spec: { ports: [{ port: 80, protocol: "TCP" }] },
};

function run(objects: AnyObject[], origins = new Map<string, Origin>()): TranslateResult {
  return translate(buildResourceSet(objects, origins, []), opts);
}

const accepted = (out: TranslateResult, kind: string, name: string): Condition | undefined =>
  out.statuses
    .find((s) => s.kind === kind && s.name === name)
    ?.status.conditions?.find((c) => c.type === ACCEPTED);

const routesOf = (out: TranslateResult, host: string): Route[] =>
  out.http.flatMap((l) => l.virtualHosts).find((v) => v.hostname === `${host}.example`)?.routes ?? [];

test("registry: names are unique, in a known prefix, and every entry says why", () => {
  const names = KNOWN_ANNOTATIONS.map((a) => a.name);
  assert.equal(new Set(names).size, names.length, "no name twice");
  for (const a of KNOWN_ANNOTATIONS) {
    assert.ok(
      KNOWN_PREFIXES.some((p) => a.name.startsWith(p)),
      `${a.name} is in a known prefix`,
    );
    assert.ok(a.note.length > 10, `${a.name} has a note`);
  }
  // Snippets are refused and say what to use instead.
  for (const s of [
    "configuration-snippet",
    "server-snippet",
    "stream-snippet",
    "auth-snippet",
    "modsecurity-snippet",
  ]) {
    const a = lookupAnnotation(N + s);
    assert.equal(a?.status, "refused", s);
    assert.match(a!.note, /use|put/, s);
  }
  // What Portico honoured before issue 20 stays implemented.
  for (const name of [
    ANN_NGINX_SSL_REDIRECT,
    ANN_NGINX_BUFFERING,
    ANN_AUTH_TLS_SECRET,
    ANN_AUTH_TLS_VERIFY,
    ANN_AUTH_TLS_DEPTH,
  ])
    assert.equal(lookupAnnotation(name)?.status, "implemented", name);
  // Access: auth, allow/deny lists, satisfy, ModSecurity; rate limits are not.
  for (const s of [
    "auth-url",
    "auth-type",
    "whitelist-source-range",
    "denylist-source-range",
    "satisfy",
    "enable-modsecurity",
    "configuration-snippet",
  ])
    assert.equal(lookupAnnotation(N + s)?.access, true, s);
  for (const s of ["limit-rps", "limit-connections", "global-rate-limit", "stream-snippet", "auth-realm"])
    assert.notEqual(lookupAnnotation(N + s)?.access, true, s);
  // MetalLB's four, in both spellings; Traefik's numbered TLS domains.
  for (const p of ["metallb.io/", "metallb.universe.tf/"]) {
    assert.equal(lookupAnnotation(p + "loadBalancerIPs")?.status, "implemented");
    assert.equal(lookupAnnotation(p + "ip-allocated-from-pool")?.status, "accepted");
  }
  assert.equal(
    lookupAnnotation("traefik.ingress.kubernetes.io/router.tls.domains.3.sans")?.status,
    "unimplemented",
  );
});

/** IngressCase is one row: an Ingress's annotations and what must come of them. */
interface IngressCase {
  name: string;
  annotations: Record<string, string>;
  /** closed: every route answers 403 naming these annotations; otherwise the routes forward. */
  closed?: string[];
  /** reason of the Accepted condition, when it is not the all-clear one. */
  reason?: string;
  /** listed are the annotations the condition and the notices name. */
  listed: string[];
}

const INGRESS_CASES: IngressCase[] = [
  {
    name: "snippet",
    annotations: { [N + "configuration-snippet"]: "deny all;" },
    closed: [N + "configuration-snippet"],
    reason: "AccessAnnotationNotHonoured",
    listed: [N + "configuration-snippet"],
  },
  {
    name: "match-cn",
    annotations: { [N + "auth-tls-match-cn"]: "CN=client" },
    closed: [N + "auth-tls-match-cn"],
    reason: "AccessAnnotationNotHonoured",
    listed: [N + "auth-tls-match-cn"],
  },
  {
    name: "modsec-on",
    annotations: { [N + "enable-modsecurity"]: "true" },
    closed: [N + "enable-modsecurity"],
    reason: "AccessAnnotationNotHonoured",
    listed: [N + "enable-modsecurity"],
  },
  {
    // ModSecurity switched off asks for nothing to enforce: served, and still listed.
    name: "modsec-off",
    annotations: { [N + "enable-modsecurity"]: "false" },
    reason: "AnnotationNotHonoured",
    listed: [N + "enable-modsecurity"],
  },
  {
    // A misspelt auth annotation may have been meant to guard the routes: closed.
    name: "typo-auth",
    annotations: { [N + "auth-urll"]: "http://auth.example/check" },
    closed: [N + "auth-urll"],
    reason: "AccessAnnotationNotHonoured",
    listed: [N + "auth-urll"],
  },
  {
    name: "typo-plain",
    annotations: { [N + "proxy-bodysize"]: "8m" },
    reason: "AnnotationNotHonoured",
    listed: [N + "proxy-bodysize"],
  },
  {
    name: "mixed",
    annotations: {
      [N + "server-snippet"]: "if ($x) { return 403; }",
      [N + "mirror-target"]: "http://mirror/",
      [N + "ssl-redirect"]: "true",
      [N + "proxy-buffering"]: "on",
      "example.com/unrelated": "x",
    },
    closed: [N + "server-snippet"],
    reason: "AccessAnnotationNotHonoured",
    listed: [N + "mirror-target", N + "server-snippet"],
  },
  {
    name: "stream",
    annotations: { [N + "stream-snippet"]: "server { listen 9000; }" },
    reason: "AnnotationNotHonoured",
    listed: [N + "stream-snippet"],
  },
  {
    name: "traefik",
    annotations: {
      "traefik.ingress.kubernetes.io/router.middlewares": "d-auth@kubernetescrd",
      "traefik.ingress.kubernetes.io/router.tls.domains.0.main": "a.example",
    },
    closed: ["traefik.ingress.kubernetes.io/router.middlewares"],
    reason: "AccessAnnotationNotHonoured",
    listed: [
      "traefik.ingress.kubernetes.io/router.middlewares",
      "traefik.ingress.kubernetes.io/router.tls.domains.0.main",
    ],
  },
  {
    name: "honoured",
    annotations: { [N + "ssl-redirect"]: "true", [N + "proxy-buffering"]: "off" },
    listed: [],
  },
];

test("Ingress annotations: each unhonoured one is named; access ones close the routes with 403", () => {
  const objects = [ingressClass(), web, ...INGRESS_CASES.map((c) => ingress(c.name, c.annotations))];
  const origins = new Map<string, Origin>(
    INGRESS_CASES.map((c, i) => [`Ingress/d/${c.name}`, { file: "/m/ing.yaml", line: 10 * i + 1 }]),
  );
  const out = run(objects, origins);
  INGRESS_CASES.forEach((c, i) => {
    const cond = accepted(out, "Ingress", c.name)!;
    const routes = routesOf(out, c.name);
    assert.equal(routes.length, 2, `${c.name}: both paths are routes`);
    if (c.closed) {
      assert.equal(cond.status, "False", c.name);
      for (const r of routes) {
        assert.equal(r.action.type, "DirectResponse", `${c.name} ${r.match.path.value}`);
        if (r.action.type !== "DirectResponse") continue;
        assert.equal(r.action.status, 403);
        for (const a of c.closed) assert.ok(r.action.body.includes(a), `${c.name}: body names ${a}`);
        assert.match(r.action.body, /docs\/migration-annotations\.md/);
        assert.equal(r.filters, undefined, "nothing else runs on a closed route");
      }
    } else {
      for (const r of routes) assert.equal(r.action.type, "Forward", `${c.name} ${r.match.path.value}`);
    }
    assert.equal(cond.reason, c.reason ?? "Accepted", c.name);
    for (const a of c.listed) assert.ok(cond.message.includes(a), `${c.name}: condition names ${a}`);
    const notices = out.notices.filter((n) => n.startsWith(`Ingress/d/${c.name}: annotation `));
    assert.deepEqual(
      notices.map((n) => n.split(" ")[2]),
      c.listed,
      `${c.name}: one notice per annotation, sorted`,
    );
    for (const n of notices)
      assert.ok(n.includes(`(/m/ing.yaml:${10 * i + 1})`), `${c.name}: notice has file:line`);
  });
  assert.ok(
    !out.notices.some((n) => n.includes("example.com/unrelated")),
    "other prefixes are not Portico's business",
  );
});

test("an Ingress of another controller's class is left alone, annotations and all", () => {
  const out = run([ingressClass(), web, ingress("theirs", { [N + "configuration-snippet"]: "x" }, "nginx")]);
  assert.equal(accepted(out, "Ingress", "theirs"), undefined);
  assert.ok(!out.notices.some((n) => n.includes("configuration-snippet")));
});

test("the default backend route closes too", () => {
  const ing = ingress("dflt", { [N + "satisfy"]: "any" });
  ing.spec = { ingressClassName: "c", defaultBackend: { service: { name: "web", port: { number: 80 } } } };
  const out = run([ingressClass(), web, ing]);
  const r = out.http[0]!.virtualHosts.find((v) => v.hostname === "*")!.routes[0]!;
  assert.equal(r.action.type, "DirectResponse");
  assert.equal(r.action.type === "DirectResponse" && r.action.status, 403);
});

test("MetalLB's VIP annotations on a Service work like Portico's; Portico's wins, with a warning", () => {
  const out = run([
    lbService("ips", { "metallb.io/loadBalancerIPs": "192.0.2.7" }),
    lbService("legacy", {
      "metallb.universe.tf/address-pool": "lab",
      "metallb.universe.tf/allow-shared-ip": "k1",
      "metallb.universe.tf/loadBalancerIPs": "192.0.2.8",
    }),
    lbService("both", {
      "portico.dev/load-balancer-ips": "192.0.2.9",
      "metallb.io/loadBalancerIPs": "192.0.2.10",
      "portico.dev/address-pool": "a",
      "metallb.io/address-pool": "a",
    }),
    lbService("written", { "metallb.io/ip-allocated-from-pool": "lab" }),
    lbService("kubevip", {
      "kube-vip.io/loadbalancerIPs": "192.0.2.11",
      "metallb.io/loadbalancerips": "192.0.2.12",
    }),
    lbService(
      "theirs",
      { "metallb.io/address-pool": "x", "kube-vip.io/egress": "true" },
      { loadBalancerClass: "other" },
    ),
  ]);
  const req = (n: string) => out.vipRequests.find((r) => r.key === `Service/d/${n}`)!;
  assert.deepEqual(req("ips").requested, ["192.0.2.7"]);
  assert.deepEqual(req("legacy").requested, ["192.0.2.8"]);
  assert.equal(req("legacy").pool, "lab");
  assert.equal(req("legacy").sharingKey, "k1");
  assert.deepEqual(req("both").requested, ["192.0.2.9"]);
  assert.equal(req("both").pool, "a");
  const both = accepted(out, "Service", "both")!;
  assert.equal(both.reason, "ConflictingAnnotations");
  assert.match(
    both.message,
    /portico\.dev\/load-balancer-ips \(192\.0\.2\.9\) and metallb\.io\/loadBalancerIPs \(192\.0\.2\.10\) disagree; portico\.dev\/load-balancer-ips wins/,
  );
  assert.ok(!both.message.includes("address-pool"), "agreeing aliases are not reported");
  for (const n of ["ips", "legacy", "written"])
    assert.equal(accepted(out, "Service", n)?.reason, "Accepted", n);
  // kube-vip's address annotation is not read (listed), and a misspelt MetalLB one is unknown.
  const kv = accepted(out, "Service", "kubevip")!;
  assert.equal(kv.status, "True", "a Service is never closed by an annotation");
  assert.equal(kv.reason, "AnnotationNotHonoured");
  assert.match(
    kv.message,
    /kube-vip\.io\/loadbalancerIPs \(unimplemented: use portico\.dev\/load-balancer-ips/,
  );
  assert.match(
    kv.message,
    /metallb\.io\/loadbalancerips \(unknown: not an annotation Portico knows under metallb\.io\//,
  );
  assert.deepEqual(req("kubevip").requested, []);
  assert.equal(accepted(out, "Service", "theirs"), undefined);
  assert.equal(req("theirs"), undefined);
});

test("MetalLB's annotations on an IngressClass choose its shared VIP; on a Gateway its pool", () => {
  const out = run([
    ingressClass({ "metallb.io/loadBalancerIPs": "192.0.2.20", "metallb.io/address-pool": "lab" }),
    web,
    ingress("plain", {}),
  ]);
  const req = out.vipRequests.find((r) => r.key === "IngressClass/c")!;
  assert.deepEqual(req.requested, ["192.0.2.20"]);
  assert.equal(req.pool, "lab");
  // On an Ingress that shares the class's VIP they cannot apply: said, not ignored.
  const shared = run([ingressClass(), web, ingress("asks", { "metallb.io/loadBalancerIPs": "192.0.2.30" })]);
  const c = accepted(shared, "Ingress", "asks")!;
  assert.equal(c.reason, "AnnotationNotHonoured");
  assert.match(
    c.message,
    /metallb\.io\/loadBalancerIPs: no effect here; this Ingress shares IngressClass c's VIP/,
  );
  assert.deepEqual(shared.vipRequests.find((r) => r.key === "IngressClass/c")!.requested, []);
  const dedicated = run([
    ingressClass(),
    web,
    ingress("own", { "metallb.io/loadBalancerIPs": "192.0.2.31", "portico.dev/dedicated-vip": "true" }),
  ]);
  assert.deepEqual(dedicated.vipRequests.find((r) => r.key === "Ingress/d/own")!.requested, ["192.0.2.31"]);
  assert.equal(accepted(dedicated, "Ingress", "own")!.reason, "Accepted");
});

test("Gateway API objects get AnnotationsHonoured=False beside their own conditions", () => {
  const out = run([
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "portico" },
      spec: { controllerName: "portico.dev/gateway-controller" },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: {
        name: "gw",
        namespace: "d",
        annotations: {
          "projectcontour.io/websocket-routes": "/",
          "metallb.io/address-pool": "lab",
          "kube-vip.io/egress": "true",
        },
      },
      spec: { gatewayClassName: "portico", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "r", namespace: "d", annotations: { [N + "rewrite-targett"]: "/" } },
      spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "web", port: 80 }] }] },
    },
    web,
  ]);
  const gw = out.statuses.find((s) => s.kind === "Gateway")!;
  const conds = gw.status.conditions as Condition[];
  assert.deepEqual(
    conds.map((c) => c.type),
    ["Accepted", "Programmed", ANNOTATIONS_HONOURED],
  );
  const h = conds.find((c) => c.type === ANNOTATIONS_HONOURED)!;
  assert.equal(h.status, "False");
  assert.match(h.message, /kube-vip\.io\/egress \(unimplemented/);
  assert.ok(!h.message.includes("websocket-routes"), "accepted annotations are not listed");
  assert.equal(out.vipRequests.find((r) => r.key.startsWith("Gateway/"))?.pool, "lab");
  const route = out.statuses.find((s) => s.kind === "HTTPRoute")!;
  const parents = route.status.parents as { conditions: Condition[] }[];
  assert.equal(parents.length, 1);
  const rc = parents[0]!.conditions.find((c) => c.type === ANNOTATIONS_HONOURED)!;
  assert.match(rc.message, /nginx\.ingress\.kubernetes\.io\/rewrite-targett \(unknown/);
});

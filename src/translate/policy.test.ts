// policy.test.ts: WafPolicy and AccessPolicy from manifests to IR and status: attachment precedence
// (rule > route > listener > Gateway), conflicts (oldest wins), targets not found or in another
// namespace, Ingress annotations, invalid custom rules (name:line, last valid version kept), and
// the connection limit on listeners only.
/* eslint-disable no-restricted-imports -- runs the whole pipeline from files, as golden.test.ts does. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import type { LastValid } from "../controller/hold.ts";
import type { Condition } from "../k8s/types.ts";
import type { Route } from "../model/ir.ts";
import { validateSnapshot } from "../model/validate.ts";

const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };

const base = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: pool}
spec: {addresses: [192.0.2.0/28]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: team}
spec: {ports: [{port: 80, protocol: TCP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: team}
spec:
  gatewayClassName: portico
  listeners:
    - {name: web, port: 80, protocol: HTTP}
    - {name: api, port: 8080, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: team}
spec:
  parentRefs: [{name: gw}]
  rules:
    - name: login
      matches: [{path: {type: PathPrefix, value: /login}}]
      backendRefs: [{name: web, port: 80}]
    - backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: other, namespace: team}
spec:
  parentRefs: [{name: gw}]
  hostnames: [other.example]
  rules:
    - backendRefs: [{name: web, port: 80}]
`;

/** waf writes a WafPolicy; created orders policies by age. */
function waf(
  name: string,
  targets: string,
  spec = "",
  created = "2026-01-01T00:00:00Z",
  ns = "team",
): string {
  return `---
apiVersion: portico.dev/v1alpha1
kind: WafPolicy
metadata: {name: ${name}, namespace: ${ns}, creationTimestamp: "${created}", generation: 1}
spec:
  targetRefs: ${targets.startsWith("[") ? targets : `[${targets}]`}
${spec}
`;
}

function access(name: string, targets: string, spec: string): string {
  return `---
apiVersion: portico.dev/v1alpha1
kind: AccessPolicy
metadata: {name: ${name}, namespace: team}
spec:
  targetRefs: ${targets.startsWith("[") ? targets : `[${targets}]`}
${spec}
`;
}

const gwRef = (section?: string) =>
  `{group: gateway.networking.k8s.io, kind: Gateway, name: gw${section ? `, sectionName: ${section}` : ""}}`;
const routeRef = (name: string, section?: string) =>
  `{group: gateway.networking.k8s.io, kind: HTTPRoute, name: ${name}${section ? `, sectionName: ${section}` : ""}}`;

function setOf(yaml: string) {
  return assemble(new Map([["t.yaml", nextState(undefined, "t", parseManifests("t.yaml", yaml))]]), []);
}

function run(yaml: string, lastValid: LastValid = new Map()) {
  const set = setOf(yaml);
  assert.deepEqual(set.errors, []);
  const out = buildSnapshot(set, opts, {}, 1, lastValid);
  assert.deepEqual(validateSnapshot(out.snapshot), []);
  return out;
}

type Out = ReturnType<typeof run>;

/** routesOf lists "port host route → waf policy / access policy" for every IR route. */
function routesOf(out: Out): string[] {
  const show = (r: Route) => `${r.name} waf=${r.waf?.policy ?? "-"} access=${r.access?.policy ?? "-"}`;
  return out.snapshot.http.flatMap((l) =>
    l.virtualHosts.flatMap((vh) => vh.routes.map((r) => `${l.port} ${vh.hostname} ${show(r)}`)),
  );
}

/** ancestors reads a policy's status as "Kind/name[/section] Accepted=Status/Reason". */
function ancestors(out: Out, kind: string, name: string): string[] {
  const s = out.statuses.find((x) => x.kind === kind && x.name === name);
  assert.ok(s, `${kind} ${name} has a status`);
  type A = { ancestorRef: { kind: string; name: string; sectionName?: string }; conditions: Condition[] };
  return ((s.status.ancestors ?? []) as A[]).map((a) => {
    const c = a.conditions.find((x) => x.type === "Accepted")!;
    const sec = a.ancestorRef.sectionName ? `/${a.ancestorRef.sectionName}` : "";
    return `${a.ancestorRef.kind}/${a.ancestorRef.name}${sec} ${c.status}/${c.reason}`;
  });
}

function acceptedMessage(out: Out, kind: string, name: string): string {
  const s = out.statuses.find((x) => x.kind === kind && x.name === name)!;
  const a = (s.status.ancestors as { conditions: Condition[] }[])[0]!;
  return a.conditions.find((c) => c.type === "Accepted")!.message ?? "";
}

test("the most specific attachment wins: rule, then route, then listener, then Gateway", () => {
  const out = run(
    base +
      waf("whole", gwRef()) +
      waf("listener", gwRef("web")) +
      waf("route", routeRef("app")) +
      waf("rule", routeRef("app", "login")),
  );
  assert.deepEqual(routesOf(out), [
    "80 other.example HTTPRoute/team/other#0.0 waf=WafPolicy/team/listener access=-",
    "80 * HTTPRoute/team/app#0.0 waf=WafPolicy/team/rule access=-",
    "80 * HTTPRoute/team/app#1.0 waf=WafPolicy/team/route access=-",
    "8080 other.example HTTPRoute/team/other#0.0 waf=WafPolicy/team/whole access=-",
    "8080 * HTTPRoute/team/app#0.0 waf=WafPolicy/team/rule access=-",
    "8080 * HTTPRoute/team/app#1.0 waf=WafPolicy/team/route access=-",
  ]);
  for (const [name, target] of [
    ["whole", "Gateway/gw"],
    ["listener", "Gateway/gw/web"],
    ["route", "HTTPRoute/app"],
    ["rule", "HTTPRoute/app/login"],
  ] as const)
    assert.deepEqual(ancestors(out, "WafPolicy", name), [`${target} True/Accepted`]);
});

test("IR: defaults filled in, one shared WafConfig per policy with a stable key", () => {
  const out = run(
    base + waf("p", gwRef(), "  mode: Enforcement\n  exclusions: [{ruleIds: [942100, '920000-920999']}]"),
  );
  const wafs = out.snapshot.http.flatMap((l) => l.virtualHosts.flatMap((vh) => vh.routes.map((r) => r.waf)));
  assert.equal(wafs.length, 6);
  assert.ok(
    wafs.every((w) => w === wafs[0]),
    "routes of one policy share the object",
  );
  const { key, ...rest } = wafs[0]!;
  assert.match(key, /^[0-9a-f]{16}$/);
  assert.deepEqual(rest, {
    policy: "WafPolicy/team/p",
    mode: "Enforcement",
    paranoiaLevel: 1,
    inboundAnomalyThreshold: 5,
    outboundAnomalyThreshold: 4,
    exclusions: [
      {
        ruleIds: [
          { from: 942100, to: 942100 },
          { from: 920000, to: 920999 },
        ],
      },
    ],
    requestBodyLimitBytes: 131072,
    requestBodyLimitAction: "Reject",
    inspectResponseBody: false,
    responseBodyLimitBytes: 524288,
    budgetMs: 50,
    failurePolicy: "FailOpen",
  });
  // The key depends on the fields only: the same manifest again gives the same key; a change, another.
  const again = run(
    base + waf("p", gwRef(), "  mode: Enforcement\n  exclusions: [{ruleIds: [942100, '920000-920999']}]"),
  );
  assert.equal(again.snapshot.http[0]!.virtualHosts[0]!.routes[0]!.waf!.key, key);
  const other = run(base + waf("p", gwRef(), "  mode: Detection"));
  assert.notEqual(other.snapshot.http[0]!.virtualHosts[0]!.routes[0]!.waf!.key, key);
  assert.equal(other.snapshot.http[0]!.virtualHosts[0]!.routes[0]!.waf!.mode, "Detection");
});

test("two policies on one target: the oldest wins, the other is Conflicted there only", () => {
  const out = run(
    base +
      waf("young", `[${gwRef()}, ${routeRef("other")}]`, "", "2026-02-01T00:00:00Z") +
      waf("old", gwRef(), "", "2026-01-01T00:00:00Z"),
  );
  assert.deepEqual(ancestors(out, "WafPolicy", "old"), ["Gateway/gw True/Accepted"]);
  assert.deepEqual(ancestors(out, "WafPolicy", "young"), [
    "Gateway/gw False/Conflicted",
    "HTTPRoute/other True/Accepted",
  ]);
  assert.match(acceptedMessage(out, "WafPolicy", "young"), /already has WafPolicy\/team\/old/);
  const routes = routesOf(out);
  assert.ok(
    routes.includes("80 * HTTPRoute/team/app#0.0 waf=WafPolicy/team/old access=-"),
    routes.join("\n"),
  );
  assert.ok(routes.includes("80 other.example HTTPRoute/team/other#0.0 waf=WafPolicy/team/young access=-"));
});

test("targets not found, of another kind or another namespace are refused with a reason", () => {
  const out = run(
    base +
      waf(
        "p",
        `[${routeRef("app", "nope")}, ${gwRef("nope")}, {group: gateway.networking.k8s.io, kind: Gateway, name: ghost}, {group: "", kind: Service, name: web}]`,
      ),
  );
  assert.deepEqual(ancestors(out, "WafPolicy", "p"), [
    "HTTPRoute/app/nope False/TargetNotFound",
    "Gateway/gw/nope False/TargetNotFound",
    "Gateway/ghost False/TargetNotFound",
    "Service/web False/Invalid",
  ]);
  assert.ok(
    routesOf(out).every((r) => r.includes("waf=-")),
    "nothing attached",
  );
  // A targetRef has no namespace (LocalPolicyTargetReference): the file source refuses the field,
  // as the API server's schema would; the pass refuses it too, should one get through.
  const far = waf(
    "far",
    "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, namespace: team}]",
    "",
    undefined,
    "elsewhere",
  );
  const errs = setOf(base + far).errors.map((e) => e.message);
  assert.match(errs.join("\n"), /unknown field "spec.targetRefs\[0\].namespace"/);
});

const brokenRules = `  customRules:
    - name: site.conf
      rules: |
        SecRule ARGS:a "@rx x" "id:100001,phase:2,deny,status:403"
        SecRule ARGS:b "@rx y" "id:100002,phase:2,deny,nosuchaction"
`;

test("custom rules that do not parse: the error names name:line and the rule; nothing attaches", () => {
  const out = run(base + waf("p", gwRef(), brokenRules));
  assert.deepEqual(ancestors(out, "WafPolicy", "p"), ["Gateway/gw False/Invalid"]);
  assert.match(acceptedMessage(out, "WafPolicy", "p"), /site\.conf:2: rule 100002: .*nosuchaction/);
  assert.ok(routesOf(out).every((r) => r.includes("waf=-")));
  const input = out.statuses.find((s) => s.kind === "WafPolicy")!.status.conditions ?? [];
  assert.equal(input.find((c) => c.type === "portico.dev/InputValid")?.reason, "InvalidPolicy");
});

test("an invalid edit keeps the last valid version serving, and says so", () => {
  const good = `  customRules:
    - name: site.conf
      rules: |
        SecRule ARGS:a "@rx x" "id:100001,phase:2,deny,status:403"
`;
  const first = run(base + waf("p", gwRef(), good));
  const served = first.snapshot.http[0]!.virtualHosts[0]!.routes[0]!.waf!;
  assert.equal(served.customRules?.[0]?.text.includes("100001"), true);
  const second = run(base + waf("p", gwRef(), brokenRules), first.lastValid);
  assert.deepEqual(second.snapshot.http[0]!.virtualHosts[0]!.routes[0]!.waf, served);
  assert.deepEqual(ancestors(second, "WafPolicy", "p"), ["Gateway/gw True/Accepted"]);
  const c = second.statuses
    .find((s) => s.kind === "WafPolicy")!
    .status.conditions!.find((x) => x.type === "portico.dev/InputValid")!;
  assert.equal(c.status, "False");
  assert.match(c.message!, /site\.conf:2: rule 100002: .*keeps serving/);
  assert.equal(second.invalid[0]?.kind, "WafPolicy");
});

test("custom rules may not read the controller's files", () => {
  const out = run(
    base +
      waf(
        "p",
        gwRef(),
        `  customRules:\n    - name: x.conf\n      rules: |\n        SecRule ARGS "@rx a" "id:1,pass"\n        Include /etc/passwd\n`,
      ),
  );
  assert.match(acceptedMessage(out, "WafPolicy", "p"), /x\.conf:2: Include would read a file/);
});

test("spec checks: CIDRs, rule ids, levels, thresholds, settings", () => {
  const out = run(
    base +
      waf(
        "p",
        gwRef(),
        `  paranoiaLevel: 2
  detectionParanoiaLevel: 1
  anomalyThreshold: {inbound: 0}
  exclusions: [{ruleIds: ["9-1"]}, {variables: ["ARGS:a"]}, {tags: [attack-sqli], variables: ["NOPE:x", "REQUEST_COOKIES:/^sess_/"]}]
  allowlist: {clientCIDRs: [10.0.0.0/33], paths: [{value: nope}]}
  crsSettings: {allowed_methods: "GET' ; x"}
`,
      ),
  );
  const m = acceptedMessage(out, "WafPolicy", "p");
  for (const want of [
    /detectionParanoiaLevel: 1 must be a whole number from 2 to 4/,
    /anomalyThreshold.inbound: 0/,
    /exclusions\[0\].ruleIds: "9-1"/,
    /exclusions\[1\]: name ruleIds or tags/,
    /exclusions\[2\].variables: "NOPE:x": unknown variable NOPE/,
    /allowlist.clientCIDRs\[0\]: "10.0.0.0\/33" is not a CIDR/,
    /allowlist.paths\[0\].value: "nope" must start with "\/"/,
    /crsSettings.allowed_methods: the value must be a string without quotes/,
  ])
    assert.match(m, want);
});

test("Ingress annotations attach policies of the Ingress's namespace; a missing one is reported", () => {
  const ing = (name: string, anns: string) => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: team, annotations: {${anns}}}
spec:
  ingressClassName: portico
  rules:
    - host: ${name}.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`;
  const out = run(
    base +
      waf("p", "[]") +
      access(
        "a",
        "[]",
        "  clientAddresses: {deny: [203.0.113.0/24]}\n  rateLimit: {requests: 10, per: Minute}",
      ) +
      ing("shop", '"portico.dev/waf-policy": p, "portico.dev/access-policy": a') +
      ing("blog", '"portico.dev/waf-policy": missing'),
  );
  const routes = routesOf(out).filter((r) => r.includes("Ingress/"));
  assert.deepEqual(routes, [
    "80 blog.example Ingress/team/blog#0.0 waf=- access=-",
    "80 shop.example Ingress/team/shop#0.0 waf=WafPolicy/team/p access=AccessPolicy/team/a",
  ]);
  const shop = out.snapshot.http.find((l) => l.port === 80 && l.name.startsWith("IngressClass"))!;
  const r = shop.virtualHosts.find((v) => v.hostname === "shop.example")!.routes[0]!;
  assert.deepEqual(r.access, {
    policy: "AccessPolicy/team/a",
    deny: ["203.0.113.0/24"],
    rateLimit: { requests: 10, periodMs: 60000, burst: 10, key: { type: "ClientAddress" } },
  });
  assert.deepEqual(ancestors(out, "WafPolicy", "p"), ["Ingress/shop True/Accepted"]);
  const blog = out.statuses.find((s) => s.kind === "Ingress" && s.name === "blog")!;
  const c = blog.status.conditions!.find((x) => x.reason === "PolicyNotFound");
  assert.match(c?.message ?? "", /WafPolicy team\/missing not found/);
});

test("connectionLimit sets the listener's maxConnections; on a route it is reported as not applied", () => {
  const out = run(
    base +
      access("conn", gwRef("web"), "  connectionLimit: {maxConnections: 100}") +
      access("gwide", gwRef(), "  connectionLimit: {maxConnections: 500}") +
      access(
        "route",
        routeRef("other"),
        "  connectionLimit: {maxConnections: 5}\n  clientAddresses: {allow: [192.0.2.7]}",
      ),
  );
  const byPort = Object.fromEntries(out.snapshot.http.map((l) => [l.port, l.maxConnections]));
  assert.deepEqual(byPort, { 80: 100, 8080: 500 });
  assert.match(
    acceptedMessage(out, "AccessPolicy", "route"),
    /connectionLimit applies to Gateways and listeners only/,
  );
  const other = out.snapshot.http[0]!.virtualHosts.find((v) => v.hostname === "other.example")!.routes[0]!;
  assert.deepEqual(other.access, { policy: "AccessPolicy/team/route", allow: ["192.0.2.7/32"] });
  // A policy with only a connection limit gives routes no access config.
  const app = out.snapshot.http[0]!.virtualHosts.find((v) => v.hostname === "*")!.routes[0]!;
  assert.equal(app.access, undefined);
});

test("examples/waf runs as it is: every policy accepted on every target", () => {
  const dir = join(import.meta.dirname, "..", "..", "examples", "waf");
  const yaml = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .join("\n---\n");
  const out = run(yaml);
  for (const [kind, name] of [
    ["WafPolicy", "shop"],
    ["AccessPolicy", "login"],
    ["AccessPolicy", "edge"],
  ] as const) {
    const list = ancestors(out, kind, name);
    assert.ok(
      list.length > 0 && list.every((a) => a.endsWith("True/Accepted")),
      `${kind} ${name}: ${list.join(", ")}`,
    );
  }
  assert.equal(out.snapshot.http[0]!.maxConnections, 1000);
});

test("targets say which policies apply: Gateway conditions, each Portico parent of a route", () => {
  const out = run(
    base + waf("gwp", gwRef("web")) + access("rl", routeRef("app"), "  rateLimit: {requests: 1}"),
  );
  const gw = out.statuses.find((s) => s.kind === "Gateway" && s.name === "gw")!;
  const c = gw.status.conditions!.find((x) => x.type === "portico.dev/WafPolicyAffected");
  assert.equal(c?.message, "WafPolicy team/gwp (listener web) applies");
  const app = out.statuses.find((s) => s.kind === "HTTPRoute" && s.name === "app")!;
  const parents = app.status.parents as { conditions: Condition[] }[];
  assert.ok(parents.length > 0);
  for (const p of parents)
    assert.equal(
      p.conditions.find((x) => x.type === "portico.dev/AccessPolicyAffected")?.message,
      "AccessPolicy team/rl applies",
    );
  // A refused attachment says nothing on the target.
  const other = out.statuses.find((s) => s.kind === "HTTPRoute" && s.name === "other")!;
  assert.ok(!JSON.stringify(other.status).includes("PolicyAffected"));
});

test("objects of other controllers: a Gateway of another class is no target; their Ingresses get no status", () => {
  const foreign = `---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: other}
spec: {controllerName: example.com/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: theirs, namespace: team}
spec:
  gatewayClassName: other
  listeners: [{name: web, port: 80, protocol: HTTP}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: nginx, namespace: team, annotations: {"portico.dev/waf-policy": p, "portico.dev/access-policy": gone}}
spec:
  ingressClassName: nginx
  rules: [{host: n.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
`;
  const out = run(
    base + foreign + waf("p", "{group: gateway.networking.k8s.io, kind: Gateway, name: theirs}"),
  );
  assert.deepEqual(ancestors(out, "WafPolicy", "p"), ["Gateway/theirs False/TargetNotFound"]);
  assert.match(acceptedMessage(out, "WafPolicy", "p"), /is not Portico's \(GatewayClass "other"\)/);
  assert.equal(
    out.statuses.find((s) => s.kind === "Ingress" && s.name === "nginx"),
    undefined,
  );
});

test("a targetRef written twice is one target: the policy does not conflict with itself", () => {
  const out = run(base + waf("p", `[${gwRef("web")}, ${gwRef("web")}]`));
  const list = ancestors(out, "WafPolicy", "p");
  assert.ok(!list.some((a) => a.includes("Conflicted")), list.join(", "));
  assert.ok(
    routesOf(out)
      .filter((r) => r.startsWith("80 "))
      .every((r) => r.includes("waf=WafPolicy/team/p")),
  );
});

test("status.ancestors holds at most 16 entries (Gateway API's limit); an Ingress past it is told", () => {
  const ings = Array.from(
    { length: 18 },
    (_, i) => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i${String(i).padStart(2, "0")}, namespace: team, creationTimestamp: "2026-01-01T00:00:${String(i).padStart(2, "0")}Z", annotations: {"portico.dev/waf-policy": p}}
spec:
  ingressClassName: portico
  rules:
    - host: i${i}.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`,
  ).join("");
  const out = run(base + waf("p", gwRef()) + ings);
  const list = ancestors(out, "WafPolicy", "p");
  assert.equal(list.length, 16, list.join(", "));
  assert.equal(list[0], "Gateway/gw True/Accepted");
  // The oldest Ingresses keep the policy; the youngest three, past the limit, are told why not.
  const late = out.statuses.find((s) => s.kind === "Ingress" && s.name === "i17")!;
  const c = late.status.conditions!.find((x) => x.reason === "PolicyNotAttached");
  assert.match(c?.message ?? "", /WafPolicy team\/p already has 16 targets/);
  const served = routesOf(out).filter((r) => r.includes("Ingress/") && r.includes("waf=WafPolicy/team/p"));
  assert.equal(served.length, 15);
  assert.ok(!served.some((r) => /Ingress\/team\/i1[5-7]#/.test(r)));
  // In a file (no API server to refuse it) more than 16 targetRefs make the policy invalid.
  const many = Array.from({ length: 17 }, (_, i) => routeRef(`r${i}`)).join(", ");
  const refs = run(base + waf("q", `[${many}]`));
  const q = refs.statuses.find((x) => x.kind === "WafPolicy" && x.name === "q")!;
  assert.match(JSON.stringify(q.status.conditions), /targetRefs: 17 targets; at most 16/);
  assert.equal(ancestors(refs, "WafPolicy", "q").length, 16);
});

test("a ListenerSet's listener is not the Gateway's listener of the same name", () => {
  const ls = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw2, namespace: team}
spec:
  gatewayClassName: portico
  allowedListeners: {namespaces: {from: Same}}
  listeners:
    - {name: web, port: 80, protocol: HTTP, hostname: a.example}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: extra, namespace: team}
spec:
  parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw2}
  listeners:
    - {name: web, port: 80, protocol: HTTP, hostname: b.example}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ra, namespace: team}
spec:
  parentRefs: [{name: gw2}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rb, namespace: team}
spec:
  parentRefs: [{group: gateway.networking.k8s.io, kind: ListenerSet, name: extra}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`;
  const out = run(
    base + ls + waf("p", "{group: gateway.networking.k8s.io, kind: Gateway, name: gw2, sectionName: web}"),
  );
  const routes = routesOf(out).filter((r) => / HTTPRoute\/team\/r[ab]#/.test(r));
  assert.ok(
    routes.some((r) => r.includes("a.example HTTPRoute/team/ra#0.0 waf=WafPolicy/team/p")),
    routes.join("\n"),
  );
  assert.ok(
    routes.some((r) => r.includes("b.example HTTPRoute/team/rb#0.0 waf=-")),
    routes.join("\n"),
  );
});

test("a listener that carries no HTTP (TCP, TLS, UDP) cannot take a policy: Invalid, not a silent Accepted", () => {
  const l4 = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: l4, namespace: team}
spec:
  gatewayClassName: portico
  listeners:
    - {name: db, port: 5432, protocol: TCP}
    - {name: pass, port: 443, protocol: TLS, tls: {mode: Passthrough}}
`;
  const l4Ref = (section?: string) =>
    `{group: gateway.networking.k8s.io, kind: Gateway, name: l4${section ? `, sectionName: ${section}` : ""}}`;
  const out = run(
    base +
      l4 +
      access("conn", `[${l4Ref("db")}, ${gwRef("web")}]`, "  connectionLimit: {maxConnections: 10}") +
      waf("w", `[${l4Ref()}, ${l4Ref("pass")}]`),
  );
  assert.deepEqual(ancestors(out, "AccessPolicy", "conn"), [
    "Gateway/l4/db False/Invalid",
    "Gateway/gw/web True/Accepted",
  ]);
  assert.match(acceptedMessage(out, "AccessPolicy", "conn"), /listener db is TCP: .*HTTP and HTTPS/);
  assert.deepEqual(ancestors(out, "WafPolicy", "w"), [
    "Gateway/l4 False/Invalid",
    "Gateway/l4/pass False/Invalid",
  ]);
});

test("a Gateway-wide connectionLimit says which of its listeners (TCP, TLS, UDP) it does not limit", () => {
  const mixed = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: mixed, namespace: team}
spec:
  gatewayClassName: portico
  listeners:
    - {name: web, port: 80, protocol: HTTP}
    - {name: db, port: 5432, protocol: TCP}
`;
  const out = run(
    base +
      mixed +
      access(
        "conn",
        "{group: gateway.networking.k8s.io, kind: Gateway, name: mixed}",
        "  connectionLimit: {maxConnections: 10}",
      ),
  );
  assert.deepEqual(ancestors(out, "AccessPolicy", "conn"), ["Gateway/mixed True/Accepted"]);
  assert.match(acceptedMessage(out, "AccessPolicy", "conn"), /not enforced on listener db \(TCP\)/);
});

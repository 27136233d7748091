// gateway-conformance.test.ts: the Gateway API conformance suite's expectations that need no pods,
// ported. Each testdata/gw-conf-<test>.in.yaml is the upstream test's manifests (golden.test.ts
// pins the whole output); here the .go file's assertions are checked one by one: status conditions
// and reasons, supportedKinds, attachedRoutes — and, for HTTP, which backend each of the suite's
// requests reaches, by running the engine's own router over the translated virtual hosts.
/* eslint-disable no-restricted-imports -- like golden.test.ts this runs the whole pipeline from files,
   and it routes requests with the engine's router: the rule keeps the translator itself independent
   of both, not its end-to-end tests. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot, type PipelineOutput } from "../controller/pipeline.ts";
import { Router } from "../engine/l7/router/router.ts";
import type { Condition } from "../k8s/types.ts";
import type { ObjectStatus } from "./types.ts";

const dir = join(import.meta.dirname, "testdata");
const INFRA = "gateway-conformance-infra";

/** run translates one ported case through the file source and the pipeline. */
function run(name: string): PipelineOutput {
  const file = `gw-conf-${name}.in.yaml`;
  const text = readFileSync(join(dir, file), "utf8");
  const set = assemble(
    new Map([[file, nextState(undefined, "conformance", parseManifests(file, text))]]),
    [],
  );
  return buildSnapshot(
    set,
    { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 },
    {},
    1,
  );
}

const cache = new Map<string, PipelineOutput>();
const out = (name: string): PipelineOutput => {
  if (!cache.has(name)) cache.set(name, run(name));
  return cache.get(name)!;
};

/** statusOf finds an object's status by "Kind/ns/name". */
function statusOf(o: PipelineOutput, key: string): ObjectStatus["status"] {
  const [kind, ns, name] = key.split("/");
  const s = o.statuses.find((x) => x.kind === kind && (x.namespace ?? "") === ns && x.name === name);
  assert.ok(s, `${key} has no status`);
  return s.status;
}

/** has asserts a condition of type with status and, when given, reason. */
function has(
  conds: readonly Condition[] | undefined,
  type: string,
  status: string,
  reason?: string,
  where = "",
): void {
  const c = (conds ?? []).find((x) => x.type === type);
  assert.ok(c, `${where}: no ${type} condition in ${JSON.stringify(conds)}`);
  assert.equal(c.status, status, `${where}: ${type} status (${c.reason}: ${c.message})`);
  if (reason !== undefined) assert.equal(c.reason, reason, `${where}: ${type} reason (${c.message})`);
}

interface ListenerStatus {
  name: string;
  supportedKinds: { kind: string }[];
  attachedRoutes: number;
  conditions: Condition[];
}

/** listener returns one listener status of a Gateway or ListenerSet ("Kind/ns/name"). */
function listener(o: PipelineOutput, key: string, name: string): ListenerStatus {
  const l = (statusOf(o, key).listeners as ListenerStatus[]).find((x) => x.name === name);
  assert.ok(l, `${key} has no listener ${name}`);
  return l;
}

/** parent returns the status.parents entry of a route for a parent name (and section). */
function parent(o: PipelineOutput, route: string, parentName: string, section?: string): Condition[] {
  const parents = (statusOf(o, route).parents ?? []) as {
    parentRef: { name: string; sectionName?: string };
    conditions: Condition[];
  }[];
  const p = parents.find(
    (x) => x.parentRef.name === parentName && (section === undefined || x.parentRef.sectionName === section),
  );
  assert.ok(p, `${route} has no parent ${parentName}`);
  return p.conditions;
}

/** ancestor returns a BackendTLSPolicy's conditions for one Gateway. */
function ancestor(o: PipelineOutput, policy: string, gw: string): Condition[] {
  const a = (
    (statusOf(o, policy).ancestors ?? []) as { ancestorRef: { name: string }; conditions: Condition[] }[]
  ).find((x) => x.ancestorRef.name === gw);
  assert.ok(a, `${policy} has no ancestor ${gw}`);
  return a.conditions;
}

const gw = (name: string) => `Gateway/${INFRA}/${name}`;
const route = (kind: string, name: string, ns = INFRA) => `${kind}/${ns}/${name}`;
const kinds = (l: ListenerStatus) => l.supportedKinds.map((k) => k.kind);

test("conformance: GatewayInvalidRouteKind", () => {
  const o = out("gateway-invalid-route-kind");
  const a = listener(o, gw("gateway-only-invalid-route-kind"), "http");
  assert.deepEqual(kinds(a), []);
  has(a.conditions, "ResolvedRefs", "False", "InvalidRouteKinds", "only-invalid");
  assert.equal(a.attachedRoutes, 0);
  const b = listener(o, gw("gateway-supported-and-invalid-route-kind"), "http");
  assert.deepEqual(kinds(b), ["HTTPRoute"]);
  has(b.conditions, "ResolvedRefs", "False", "InvalidRouteKinds", "supported-and-invalid");
});

test("conformance: GatewayInvalidTLSConfiguration", () => {
  const o = out("gateway-invalid-tls-configuration");
  for (const name of [
    "gateway-certificate-nonexistent-secret",
    "gateway-certificate-unsupported-group",
    "gateway-certificate-unsupported-kind",
    "gateway-certificate-malformed-secret",
  ]) {
    const l = listener(o, gw(name), "https");
    has(l.conditions, "ResolvedRefs", "False", "InvalidCertificateRef", name);
    assert.equal(l.attachedRoutes, 0);
    assert.deepEqual(kinds(l).includes("HTTPRoute"), true);
  }
});

test("conformance: GatewayInvalidTLSBackendConfiguration (spec.tls.backend.clientCertificateRef)", () => {
  const o = out("gateway-invalid-tls-backend-configuration");
  for (const [name, reason] of [
    ["gateway-client-certificate-nonexistent-secret", "InvalidClientCertificateRef"],
    ["gateway-client-certificate-unsupported-group", "InvalidClientCertificateRef"],
    ["gateway-client-certificate-unsupported-kind", "InvalidClientCertificateRef"],
    ["gateway-client-certificate-malformed-secret", "InvalidClientCertificateRef"],
    ["gateway-client-certificate-missing-reference-grant", "RefNotPermitted"],
  ] as const) {
    const conds = statusOf(o, gw(name)).conditions;
    has(conds, "ResolvedRefs", "False", reason, name);
    has(conds, "Accepted", "True", "Accepted", name);
  }
});

test("conformance: GatewayTLSBackendClientCertificate (the TLS pool presents the Gateway's client certificate)", () => {
  const o = out("gateway-tls-backend-client-certificate");
  const name = "gateway-tls-backend-client-certificate";
  has(statusOf(o, gw(name)).conditions, "ResolvedRefs", "True", "ResolvedRefs", name);
  has(parent(o, route("HTTPRoute", name), name), "ResolvedRefs", "True", "ResolvedRefs", name);
  const l = o.snapshot.http.find((x) => x.name === `${gw(name)}:80`);
  assert.ok(l, "the Gateway's port 80 listener");
  const a = l.virtualHosts[0]!.routes[0]!.action;
  assert.equal(a.type, "Forward");
  const pool = o.snapshot.pools[a.type === "Forward" ? a.backends[0]!.pool : ""];
  const cert = `${INFRA}/tls-checks-client-certificate`;
  assert.equal(pool?.tls?.clientCertificate, cert);
  assert.equal(pool?.tls?.sni, "abc.example.com");
  assert.ok(o.snapshot.certificates[cert], "the client certificate travels in the snapshot");
});

test("conformance: GatewaySecret{Invalid,Missing}ReferenceGrant and ReferenceGrant{AllInNamespace,Specific}", () => {
  for (const [c, name] of [
    ["gateway-secret-invalid-reference-grant", "gateway-secret-invalid-reference-grant"],
    ["gateway-secret-missing-reference-grant", "gateway-secret-missing-reference-grant"],
  ] as const) {
    has(listener(out(c), gw(name), "https").conditions, "ResolvedRefs", "False", "RefNotPermitted", name);
  }
  for (const name of [
    "gateway-secret-reference-grant-all-in-namespace",
    "gateway-secret-reference-grant-specific",
  ]) {
    const l = listener(out(name), gw(name), "https");
    has(l.conditions, "ResolvedRefs", "True", "ResolvedRefs", name);
    has(l.conditions, "Programmed", "True", "Programmed", name);
    has(statusOf(out(name), gw(name)).conditions, "Programmed", "True", "Programmed", name);
  }
});

test("conformance: GatewayWithAttachedRoutes (and on port 8080)", () => {
  const o = out("gateway-with-attached-routes");
  assert.equal(listener(o, gw("gateway-with-one-attached-route"), "http").attachedRoutes, 1);
  assert.equal(listener(o, gw("gateway-with-two-attached-routes"), "http").attachedRoutes, 2);
  has(
    parent(o, route("HTTPRoute", "http-route-not-accepted"), "gateway-with-two-attached-routes"),
    "Accepted",
    "False",
    "NoMatchingListenerHostname",
  );
  const u = listener(o, gw("unresolved-gateway-with-one-attached-unresolved-route"), "tls");
  assert.equal(u.attachedRoutes, 1, "AttachedRoutes set even when the Gateway has unresolved refs");
  has(u.conditions, "Programmed", "False");
  has(u.conditions, "ResolvedRefs", "False");
  const p = out("gateway-with-attached-routes-with-port-8080");
  const g = gw("gateway-with-two-listeners-and-one-attached-route");
  assert.equal(listener(p, g, "http").attachedRoutes, 1);
  assert.equal(listener(p, g, "http-unattached").attachedRoutes, 0);
});

test("conformance: GatewayInvalidParametersRef", () => {
  has(
    statusOf(out("gateway-invalid-parameters-ref"), gw("gateway-invalid-parameters-ref")).conditions,
    "Accepted",
    "False",
    "InvalidParameters",
  );
});

test("conformance: GatewayOptionalAddressValue (an IPAddress without value gets one from IPAM)", () => {
  const s = statusOf(out("gateway-optional-address-value"), gw("gateway-without-address-value"));
  has(s.conditions, "Accepted", "True", "Accepted");
  assert.equal((s.addresses as unknown[]).length, 1);
});

test("conformance: GatewayStaticAddresses (three steps)", () => {
  const g = gw("gateway-static-addresses");
  has(
    statusOf(out("gateway-static-addresses"), g).conditions,
    "Accepted",
    "False",
    "UnsupportedAddress",
    "step 1",
  );
  const two = statusOf(out("gateway-static-addresses-step2"), g);
  has(two.conditions, "Accepted", "True", "Accepted", "step 2");
  has(two.conditions, "Programmed", "False", "AddressNotUsable", "step 2");
  const three = statusOf(out("gateway-static-addresses-step3"), g);
  has(three.conditions, "Accepted", "True", "Accepted", "step 3");
  has(three.conditions, "Programmed", "True", "Programmed", "step 3");
  assert.deepEqual(three.addresses, [{ type: "IPAddress", value: "192.0.2.10" }]);
  assert.equal(listener(out("gateway-static-addresses-step3"), g, "http").attachedRoutes, 0);
});

test("conformance: HTTPRoute parentRef rejections", () => {
  const cases: [string, string, string, string, string][] = [
    [
      "httproute-invalid-cross-namespace-parent-ref",
      "gateway-conformance-web-backend",
      "invalid-cross-namespace-parent-ref",
      "same-namespace",
      "NotAllowedByListeners",
    ],
    [
      "httproute-invalid-parentref-not-matching-listener-port",
      INFRA,
      "httproute-listener-not-matching-route-port",
      "same-namespace",
      "NoMatchingParent",
    ],
    [
      "httproute-invalid-parentref-not-matching-section-name",
      INFRA,
      "httproute-listener-not-matching-section-name",
      "same-namespace",
      "NoMatchingParent",
    ],
    [
      "httproute-invalid-parentref-section-name-not-matching-port",
      INFRA,
      "httproute-listener-section-name-not-matching-port",
      "gateway-with-one-not-matching-port-and-section-name-route",
      "NoMatchingParent",
    ],
    ["httproute-disallowed-kind", INFRA, "disallowed-kind", "tlsroutes-only", "NotAllowedByListeners"],
  ];
  for (const [c, ns, name, parentName, reason] of cases) {
    const o = out(c);
    const conds = parent(o, route("HTTPRoute", name, ns), parentName);
    has(conds, "Accepted", "False", reason, c);
    has(conds, "ResolvedRefs", "True", "ResolvedRefs", c);
    for (const l of statusOf(o, gw(parentName)).listeners as ListenerStatus[])
      assert.equal(l.attachedRoutes, 0, `${c}: zero routes`);
  }
});

test("conformance: HTTPRoute backendRef rejections keep the route Accepted", () => {
  const cases: [string, string, string][] = [
    ["httproute-invalid-backendref-unknown-kind", "invalid-backend-ref-unknown-kind", "InvalidKind"],
    ["httproute-invalid-nonexistent-backendref", "invalid-nonexistent-backend-ref", "BackendNotFound"],
    [
      "httproute-invalid-cross-namespace-backend-ref",
      "invalid-cross-namespace-backend-ref",
      "RefNotPermitted",
    ],
    ["httproute-invalid-reference-grant", "reference-grant", "RefNotPermitted"],
    ["httproute-partially-invalid-via-invalid-reference-grant", "invalid-reference-grant", "RefNotPermitted"],
  ];
  for (const [c, name, reason] of cases) {
    const conds = parent(out(c), route("HTTPRoute", name), "same-namespace");
    has(conds, "Accepted", "True", "Accepted", c);
    has(conds, "ResolvedRefs", "False", reason, c);
  }
  has(
    parent(out("httproute-reference-grant"), route("HTTPRoute", "reference-grant"), "same-namespace"),
    "ResolvedRefs",
    "True",
    "ResolvedRefs",
  );
});

test("conformance: HTTPRouteHostnameIntersection counts only accepted routes", () => {
  const o = out("httproute-hostname-intersection");
  const g = gw("httproute-hostname-intersection");
  assert.equal(listener(o, g, "listener-1").attachedRoutes, 2);
  assert.equal(listener(o, g, "listener-2").attachedRoutes, 1);
  has(
    parent(o, route("HTTPRoute", "no-intersecting-hosts"), "httproute-hostname-intersection"),
    "Accepted",
    "False",
    "NoMatchingListenerHostname",
  );
});

test("conformance: TCPRoute, UDPRoute and TLSRoute rejections", () => {
  has(
    parent(
      out("tcproute-invalid-non-tcp-listener"),
      route("TCPRoute", "tcp-route"),
      "tcp-mixed-protocol-gateway",
    ),
    "Accepted",
    "False",
    "NotAllowedByListeners",
  );
  has(
    parent(
      out("tcproute-invalid-backendref-nonexistent"),
      route("TCPRoute", "tcp-route-invalid-backend-ref-nonexistent"),
      "tcp-gateway-invalid-backend",
    ),
    "ResolvedRefs",
    "False",
    "BackendNotFound",
  );
  has(
    parent(
      out("tcproute-invalid-cross-namespace-backend-ref"),
      route("TCPRoute", "tcp-invalid-cross-namespace-backend-ref"),
      "tcp-invalid-cross-namespace-backend-ref-gateway",
    ),
    "ResolvedRefs",
    "False",
    "RefNotPermitted",
  );
  has(
    parent(
      out("udproute-not-allowed-by-listeners"),
      route("UDPRoute", "udproute-not-allowed-by-listeners"),
      "udproute-tls-only-gateway",
    ),
    "Accepted",
    "False",
    "NotAllowedByListeners",
  );
  has(
    parent(
      out("udproute-invalid-backendref-nonexistent"),
      route("UDPRoute", "udp-route-invalid-backend-ref-nonexistent"),
      "udp-gateway-invalid-backend",
    ),
    "ResolvedRefs",
    "False",
    "BackendNotFound",
  );
  const t = out("tlsroute-invalid-no-matching-listener");
  has(
    parent(t, route("TLSRoute", "tlsroute-not-allowed-protocol-http"), "gateway-tlsroute-http-only"),
    "Accepted",
    "False",
    "NotAllowedByListeners",
  );
  has(
    parent(t, route("TLSRoute", "tlsroute-not-allowed-protocol-https"), "gateway-tlsroute-https-only"),
    "Accepted",
    "False",
    "NotAllowedByListeners",
  );
  has(
    parent(
      t,
      route("TLSRoute", "tlsroute-no-matching-section-name"),
      "gateway-tlsroute-tls-passthrough-only",
    ),
    "Accepted",
    "False",
    "NoMatchingParent",
  );
  const h = out("tlsroute-invalid-no-matching-listener-hostname");
  has(
    parent(h, route("TLSRoute", "tlsroute-hostname-mismatch-1"), "gateway-tls-exact-hostname"),
    "Accepted",
    "False",
    "NoMatchingListenerHostname",
  );
  has(
    parent(
      out("tlsroute-invalid-reference-grant"),
      route("TLSRoute", "gateway-conformance-infra-test"),
      "gateway-tlsroute-referencegrant",
    ),
    "ResolvedRefs",
    "False",
    "RefNotPermitted",
  );
});

test("conformance: TLSRouteHostnameIntersection routes each SNI name as the suite expects", () => {
  const o = out("tlsroute-hostname-intersection");
  const sni = (g: string) => o.snapshot.http.find((l) => l.name.startsWith(`${gw(g)}:`))?.sniRoutes ?? [];
  const pick = (g: string, host: string) => {
    const routes = sni(g);
    const exact = routes.find((r) => r.hostname === host);
    const wild = routes
      .filter((r) => r.hostname.startsWith("*.") && host.endsWith(r.hostname.slice(1)))
      .sort((a, b) => b.hostname.length - a.hostname.length)[0];
    return (exact ?? wild)?.backends.map((b) => b.pool.split("/")[1]!.split(":")[0]);
  };
  assert.deepEqual(pick("gw-tlsroute-more-specific-wc-hostname-x-2", "abc.example.com"), ["tls-backend"]);
  assert.deepEqual(pick("gw-tlsroute-more-specific-wc-hostname-x-2", "other.example.com"), ["tls-backend-2"]);
  assert.equal(pick("gw-tlsroute-more-specific-wc-hostname-x-2", "non.matching.com"), undefined);
  assert.deepEqual(pick("gw-tlsroute-exact-hostname-x-1", "abc.example.com"), ["tls-backend"]);
});

test("conformance: ListenerSet allowed namespaces, conflicts and reference grants", () => {
  const none = out("listenerset-allowed-namespace-none");
  has(
    statusOf(none, `ListenerSet/${INFRA}/listenerset-not-allowed`).conditions,
    "Accepted",
    "False",
    "NotAllowed",
  );
  has(
    statusOf(none, `ListenerSet/${INFRA}/listenerset-not-allowed`).conditions,
    "Programmed",
    "False",
    "NotAllowed",
  );
  assert.equal(statusOf(none, gw("gateway-does-not-allow-listenerset")).attachedListenerSets, 0);
  has(
    statusOf(out("listenerset-default-not-allowed"), `ListenerSet/${INFRA}/listenerset-default-not-allowed`)
      .conditions,
    "Accepted",
    "False",
    "NotAllowed",
  );
  const sel = out("listenerset-allowed-namespace-selector");
  has(
    statusOf(sel, "ListenerSet/gateway-api-listenerset-selector-allowed-ns/listenerset-in-selected-namespace")
      .conditions,
    "Accepted",
    "True",
  );
  has(
    statusOf(
      sel,
      "ListenerSet/gateway-api-listenerset-selector-not-allowed-ns/listenerset-not-in-selected-namespace",
    ).conditions,
    "Accepted",
    "False",
    "NotAllowed",
  );

  for (const [c, reason] of [
    ["listenerset-hostname-conflict", "HostnameConflict"],
    ["listenerset-protocol-conflict", "ProtocolConflict"],
  ] as const) {
    const o = out(c);
    const kind = reason === "HostnameConflict" ? "hostname" : "protocol";
    const g = gw(`gateway-with-listenerset-${kind}-conflict`);
    has(statusOf(o, g).conditions, "Accepted", "True", undefined, c);
    assert.equal(statusOf(o, g).attachedListenerSets, 2, `${c}: attached sets`);
    const ls = (n: string) => `ListenerSet/${INFRA}/listenerset-with-${kind}-conflict-with-${n}`;
    has(statusOf(o, ls("gateway-1")).conditions, "Accepted", "True", undefined, c);
    has(statusOf(o, ls("gateway-1")).conditions, "Programmed", "True", "Programmed", c);
    has(statusOf(o, ls("gateway-2")).conditions, "Accepted", "False", "ListenersNotValid", c);
    has(statusOf(o, ls("gateway-2")).conditions, "Programmed", "False", "ListenersNotValid", c);
    const conflicted = listener(o, ls("gateway-1"), `${kind}-conflict-with-gateway-listener`).conditions;
    has(conflicted, "Accepted", "False", reason, c);
    has(conflicted, "Programmed", "False", reason, c);
    has(conflicted, "Conflicted", "True", reason, c);
    has(
      listener(o, ls("gateway-1"), "listener-set-1-listener").conditions,
      "Accepted",
      "True",
      "Accepted",
      c,
    );
    has(
      listener(o, g, `${kind}-conflict-with-gateway-listener`).conditions,
      "Accepted",
      "True",
      "Accepted",
      c,
    );
  }

  const rg = out("listenerset-reference-grant");
  has(statusOf(rg, `ListenerSet/${INFRA}/listenerset-with-reference-grant`).conditions, "Accepted", "True");
  const without =
    "ListenerSet/gateway-api-listener-sets-test-reference-grant-ns/listenerset-without-reference-grant";
  has(statusOf(rg, without).conditions, "Accepted", "False", "ListenersNotValid");
  has(
    listener(rg, without, "listenerset-without-reference-grant-listener").conditions,
    "ResolvedRefs",
    "False",
    "RefNotPermitted",
  );
  const kindsCase = out("listenerset-allowed-routes-supported-kinds");
  const lsk = `ListenerSet/${INFRA}/listenerset-test-allowed-routes-supported-kinds`;
  has(
    listener(kindsCase, lsk, "listener-set-listener-allowed-routes-tls-only").conditions,
    "ResolvedRefs",
    "False",
    "InvalidRouteKinds",
  );
});

test("conformance: BackendTLSPolicy conflicts and invalid CA references", () => {
  const c = out("backendtlspolicy-conflict-resolution");
  const p = (n: string) => `BackendTLSPolicy/${INFRA}/${n}`;
  has(ancestor(c, p("conflicted-without-section-name-1"), "same-namespace"), "Accepted", "True", "Accepted");
  has(
    ancestor(c, p("conflicted-without-section-name-2"), "same-namespace"),
    "Accepted",
    "False",
    "Conflicted",
  );
  has(ancestor(c, p("conflicted-with-section-name-1"), "same-namespace"), "Accepted", "True", "Accepted");
  has(ancestor(c, p("conflicted-with-section-name-2"), "same-namespace"), "Accepted", "False", "Conflicted");
  has(ancestor(c, p("not-conflicted-with-section-name"), "same-namespace"), "Accepted", "True", "Accepted");
  has(
    ancestor(c, p("not-conflicted-without-section-name"), "same-namespace"),
    "Accepted",
    "True",
    "Accepted",
  );
  const i = out("backendtlspolicy-invalid-ca-certificate-ref");
  for (const n of ["nonexistent-ca-certificate-ref", "malformed-ca-certificate-ref"]) {
    has(ancestor(i, p(n), "same-namespace"), "Accepted", "False", "NoValidCACertificate", n);
    has(ancestor(i, p(n), "same-namespace"), "ResolvedRefs", "False", "InvalidCACertificateRef", n);
  }
  const k = out("backendtlspolicy-invalid-kind");
  has(ancestor(k, p("invalid-kind"), "same-namespace"), "Accepted", "False", "NoValidCACertificate");
  has(ancestor(k, p("invalid-kind"), "same-namespace"), "ResolvedRefs", "False", "InvalidKind");
  const ok = out("backendtlspolicy");
  has(ancestor(ok, p("normative-test"), "same-namespace"), "Accepted", "True", "Accepted");
});

/** Expectation is one request of the suite and what must answer it. */
interface Expectation {
  gateway: string;
  host: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  backend?: string;
  status?: number;
}

const requests = JSON.parse(readFileSync(join(dir, "gw-conf-requests.json"), "utf8")) as Record<
  string,
  Expectation[] | string
>;
// The isolation requests are sent to both isolation Gateways, which upstream keeps in two files.
const alsoRunOn: Record<string, string[]> = {
  "gateway-http-listener-isolation": ["gateway-http-listener-isolation-with-hostname-intersection"],
};

/** answer routes a request on a Gateway's port 80 listener: the Services that may answer, a fixed status, or 404. */
function answer(
  o: PipelineOutput,
  gateway: string,
  e: Expectation,
): { services?: string[]; status?: number } {
  const listeners = o.snapshot.http.filter(
    (l) =>
      l.port === 80 &&
      (gateway === "*" || l.name.startsWith(`${gw(gateway)}:`)) &&
      l.name.startsWith("Gateway/"),
  );
  assert.equal(listeners.length, 1, `one port 80 listener for ${gateway}`);
  const l = listeners[0]!;
  const [path, query = ""] = e.path.split("?") as [string, string?];
  const headers = new Map(Object.entries(e.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const hit = new Router(l.virtualHosts).route(e.host || l.address, {
    method: e.method,
    path,
    query,
    header: (name) => headers.get(name),
  });
  if (!hit) return { status: 404 };
  const a = hit.route.action;
  if (a.type === "DirectResponse") return { status: a.status };
  return { services: a.backends.map((b) => b.pool.split("/")[1]!.split(":")[0]!) };
}

for (const [name, list] of Object.entries(requests)) {
  if (typeof list === "string") continue;
  for (const c of [name, ...(alsoRunOn[name] ?? [])]) {
    test(`conformance requests: ${c} (${list.length})`, () => {
      const o = out(c);
      for (const e of list) {
        const got = answer(o, e.gateway, e);
        const what = `${e.method} ${e.host || "(gateway address)"}${e.path} ${JSON.stringify(e.headers)}`;
        if (e.backend !== undefined)
          assert.ok(
            got.services?.includes(e.backend),
            `${what}: want ${e.backend}, got ${JSON.stringify(got)}`,
          );
        else
          assert.equal(got.status, e.status, `${what}: want status ${e.status}, got ${JSON.stringify(got)}`);
      }
    });
  }
}

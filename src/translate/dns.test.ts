// dns.test.ts: the DNS step's rules that the golden case (testdata/dns-zone) does not show: the
// SOA serial across changes and restarts, the most specific zone, namespaceSelector, wildcards,
// AAAA records, TLSRoute names and the pools that make a record health-aware.
/* eslint-disable no-restricted-imports -- runs the whole pipeline from files, as golden.test.ts does. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assemble, nextState } from "../sources/file/assemble.ts";
import { parseManifests } from "../sources/file/parse.ts";
import { buildSnapshot, type DnsClock } from "../controller/pipeline.ts";
import type { DnsZoneData } from "../model/ir.ts";
import { validateSnapshot } from "../model/validate.ts";

const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };

const base = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: pool}
spec: {addresses: [192.0.2.0/28, "2001:db8::/120"]}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: v1
kind: Namespace
metadata: {name: team, labels: {dns: "yes"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: team}
spec: {ports: [{port: 80, protocol: TCP}]}
`;

function ingress(ns: string, name: string, host: string): string {
  return `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: ${ns}}
spec:
  ingressClassName: portico
  rules:
    - host: "${host}"
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`;
}

function zone(name: string, spec: string, status = ""): string {
  return `---
apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: {name: ${name}}
spec:
${spec}
${status}
`;
}

function run(yaml: string, clock: DnsClock = {}) {
  const set = assemble(new Map([["t.yaml", nextState(undefined, "t", parseManifests("t.yaml", yaml))]]), []);
  assert.deepEqual(set.errors, []);
  return buildSnapshot(set, opts, {}, 1, new Map(), clock);
}

function zoneOf(out: ReturnType<typeof run>, name: string): DnsZoneData {
  const z = out.snapshot.dns?.flatMap((s) => s.zones).find((z) => z.name === name);
  assert.ok(z, `zone ${name} served`);
  return z;
}

const names = (z: DnsZoneData) => z.records.map((r) => `${r.name} ${r.type} ${r.value}`);

test("the serial stays while the zone's content does not change, moves on when it does, never back", () => {
  const one =
    base +
    zone("z", "  zone: example.com\n  listen: {address: 192.0.2.15}") +
    ingress("team", "a", "a.example.com");
  const first = run(one, { nowSeconds: 1_800_000_000 });
  const s1 = zoneOf(first, "example.com").soa.serial;
  assert.equal(s1, 1_800_000_000);
  // Same content later: same serial.
  const again = run(one, { serials: first.dns.serials, nowSeconds: 1_800_000_100 });
  assert.equal(zoneOf(again, "example.com").soa.serial, s1);
  // A change: at least the clock.
  const two = one + ingress("team", "b", "b.example.com");
  const changed = run(two, { serials: again.dns.serials, nowSeconds: 1_800_000_200 });
  assert.equal(zoneOf(changed, "example.com").soa.serial, 1_800_000_200);
  // Two changes within one second: still increasing.
  const quick = run(one, { serials: changed.dns.serials, nowSeconds: 1_800_000_200 });
  assert.equal(zoneOf(quick, "example.com").soa.serial, 1_800_000_201);
  // A restart (no serials) with a clock behind the last serial: status.serial is the floor.
  const restarted =
    base +
    zone("z", "  zone: example.com\n  listen: {address: 192.0.2.15}", "status: {serial: 1800000300}") +
    ingress("team", "a", "a.example.com");
  const after = run(restarted, { nowSeconds: 1_800_000_250 });
  assert.equal(zoneOf(after, "example.com").soa.serial, 1_800_000_301);
  assert.equal(after.statuses.find((s) => s.kind === "DnsZone")?.status.serial, 1_800_000_301);
});

test("a name goes to its most specific zone; wildcards stay wildcards; AAAA for IPv6 VIPs", () => {
  const yaml =
    base +
    zone("outer", "  zone: example.com\n  listen: {address: 192.0.2.14}") +
    zone("inner", '  zone: dev.example.com\n  listen: {address: "2001:db8::53"}') +
    ingress("team", "a", "a.dev.example.com") +
    ingress("team", "w", "*.example.com") +
    `---
apiVersion: v1
kind: Service
metadata:
  name: six
  namespace: team
  annotations: {portico.dev/hostname: six.example.com}
spec:
  type: LoadBalancer
  loadBalancerClass: portico.dev/lb
  ipFamilies: [IPv6]
  ports: [{port: 443, protocol: TCP}]
`;
  const out = run(yaml);
  const outer = zoneOf(out, "example.com");
  const inner = zoneOf(out, "dev.example.com");
  assert.ok(names(inner).includes("a.dev.example.com A 192.0.2.0"), names(inner).join("\n"));
  assert.ok(!names(outer).some((n) => n.startsWith("a.dev.example.com")));
  assert.ok(names(outer).includes("*.example.com A 192.0.2.0"));
  assert.ok(
    names(outer).some((n) => /^six\.example\.com AAAA 2001:db8::/.test(n)),
    names(outer).join("\n"),
  );
  // The inner zone's NS name is in it: its glue is the (IPv6) DNS VIP.
  assert.ok(names(inner).includes("ns.dev.example.com AAAA 2001:db8::53"));
  const server = out.snapshot.dns!.find((s) => s.address === "2001:db8::53");
  assert.equal(server?.port, 53);
  // Records are health-aware through the route's pool; no Fallback unless the zone asks.
  const rec = inner.records.find((r) => r.name === "a.dev.example.com")!;
  assert.deepEqual(rec.pools, ["team/web:80"]);
  assert.equal(rec.fallback, undefined);
});

test("namespaceSelector refuses names with DNSRecordFailed; names outside every zone get no condition", () => {
  const yaml =
    base +
    zone(
      "z",
      '  zone: example.com\n  namespaceSelector: {matchLabels: {dns: "yes"}}\n  listen: {address: 192.0.2.15}',
    ) +
    ingress("team", "ok", "ok.example.com") +
    ingress("other", "no", "no.example.com") +
    ingress("other", "elsewhere", "x.example.org");
  const out = run(yaml);
  const cond = (ns: string, name: string) =>
    out.statuses
      .find((s) => s.kind === "Ingress" && s.namespace === ns && s.name === name)
      ?.status.conditions?.filter((c) => c.type.startsWith("portico.dev/DNSRecord"));
  assert.deepEqual(
    cond("team", "ok")?.map((c) => [c.type, c.status, c.message]),
    [["portico.dev/DNSRecordReady", "True", "ok.example.com 192.0.2.0"]],
  );
  const refused = cond("other", "no")!;
  assert.equal(refused[0]?.type, "portico.dev/DNSRecordFailed");
  assert.equal(refused[0]?.reason, "NamespaceNotAllowed");
  assert.deepEqual(cond("other", "elsewhere"), []);
  assert.ok(!names(zoneOf(out, "example.com")).some((n) => n.startsWith("no.")));
  assert.equal(out.statuses.find((s) => s.kind === "DnsZone")?.status.records, 2);
});

test("a zone without an address yet is not Programmed and serves nothing", () => {
  const out = run(base + zone("z", "  zone: example.com\n  listen: {pool: missing}"));
  assert.equal(out.snapshot.dns, undefined);
  const c = out.statuses
    .find((s) => s.kind === "DnsZone")
    ?.status.conditions?.find((c) => c.type === "Programmed");
  assert.equal(c?.status, "False");
  assert.equal(c?.reason, "AddressPending");
  // The status says why, in IPAM's words, as a Service's does.
  assert.equal(c?.message, `no address for DnsZone/z's DNS service: pool "missing" does not exist (NoPools)`);
});

test("a bad zone name is refused with the field named", () => {
  const out = run(base + zone("z", "  zone: Not_A.Zone..\n  listen: {address: 192.0.2.15}"));
  const c = out.statuses.find((s) => s.kind === "DnsZone")?.status.conditions?.[0];
  assert.equal(c?.status, "False");
  assert.equal(c?.reason, "InvalidZone");
  assert.match(c?.message ?? "", /spec\.zone/);
  assert.equal(out.snapshot.dns, undefined);
});

test("the file source refuses a malformed DnsZone with file:line, as it does every kind", () => {
  const yaml = `apiVersion: portico.dev/v1alpha1
kind: DnsZone
metadata: {name: bad}
spec:
  zone: example.com
  zonee: typo
  records: {name: x}
`;
  const set = assemble(new Map([["z.yaml", nextState(undefined, "t", parseManifests("z.yaml", yaml))]]), []);
  assert.deepEqual(
    set.errors.map((e) => `${e.file}:${e.line} ${e.object}`),
    ["z.yaml:6 DnsZone/bad", "z.yaml:7 DnsZone/bad"],
  );
  assert.match(set.errors[0]!.message, /unknown field "spec\.zonee"/);
  assert.match(set.errors[1]!.message, /spec\.records must be a list/);
});

test("zone mistakes the engine would refuse are dropped and reported, never sent (the snapshot stays valid)", () => {
  const yaml =
    base +
    zone(
      "z",
      `  zone: example.com
  listen: {address: 192.0.2.15}
  ttl: 3000000000
  soa: {mname: "not a name", minimum: 4294967295}
  records:
    - {name: shop.example.com, type: CNAME, value: www.example.com}
    - {name: ns.example.com, type: CNAME, value: www.example.com}
    - {name: two.example.com, type: TXT, value: hi}
    - {name: two.example.com, type: CNAME, value: www.example.com}
    - {name: t.example.com, type: TXT, value: "${"x".repeat(4001)}"}`,
    ) +
    `---
apiVersion: v1
kind: Service
metadata:
  name: shop
  namespace: team
  annotations: {portico.dev/hostname: shop.example.com}
spec: {type: LoadBalancer, loadBalancerClass: portico.dev/lb, ports: [{port: 443, protocol: TCP}]}
`;
  const out = run(yaml);
  assert.deepEqual(validateSnapshot(out.snapshot), []);
  const z = zoneOf(out, "example.com");
  assert.deepEqual(
    names(z).filter((n) => !n.startsWith("ns.")),
    ["shop.example.com CNAME www.example.com", "two.example.com TXT hi"],
  );
  assert.equal(z.records[0]!.ttl, 30);
  assert.equal(z.soa.mname, "ns.example.com");
  const accepted = out.statuses
    .find((s) => s.kind === "DnsZone")
    ?.status.conditions?.find((c) => c.type === "Accepted");
  assert.equal(accepted?.reason, "PartiallyInvalid");
  for (const field of [
    "spec.ttl",
    "spec.soa.mname",
    "spec.soa.minimum",
    "CNAME ns.example.com",
    "CNAME two.example.com",
    "4001 bytes",
  ])
    assert.ok(accepted?.message.includes(field), `${field} in ${accepted?.message}`);
  // The Service asking for the CNAME's name is refused, not published beside it.
  const svc = out.statuses.find((s) => s.kind === "Service" && s.name === "shop");
  const failed = svc?.status.conditions?.find((c) => c.type === "portico.dev/DNSRecordFailed");
  assert.equal(failed?.reason, "CNAMEConflict");
});

test("a Service asking for a name before its VIP has an address is told so (DNSRecordReady=False AddressPending)", () => {
  const yaml =
    base +
    zone("z", "  zone: example.com\n  listen: {address: 192.0.2.15}") +
    `---
apiVersion: v1
kind: Service
metadata:
  name: later
  namespace: team
  annotations: {portico.dev/hostname: Later.Example.com.}
spec:
  type: LoadBalancer
  loadBalancerClass: portico.dev/lb
  loadBalancerIP: 198.51.100.7
  ports: [{port: 443, protocol: TCP}]
`;
  const out = run(yaml);
  assert.ok(!names(zoneOf(out, "example.com")).some((n) => n.startsWith("later.")));
  const c = out.statuses
    .find((s) => s.kind === "Service" && s.name === "later")
    ?.status.conditions?.find((c) => c.type === "portico.dev/DNSRecordReady");
  assert.deepEqual([c?.status, c?.reason], ["False", "AddressPending"]);
  assert.match(c?.message ?? "", /^later\.example\.com: no record until Service\/team\/later has an address/);
  assert.deepEqual(out.dns.names["Service/team/later"], [
    { name: "later.example.com", zone: "example.com", addresses: [] },
  ]);
});

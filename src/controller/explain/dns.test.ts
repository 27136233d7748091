// dns.test.ts: `portico explain dnszone/NAME`, the DNS section of any object's explanation, and
// `portico get dns`, on the golden DNS case (src/translate/testdata/dns-zone.in.yaml).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assemble, nextState } from "../../sources/file/assemble.ts";
import { parseManifests } from "../../sources/file/parse.ts";
import { buildSnapshot } from "../pipeline.ts";
import { narrow, renderTable, tableRows } from "../tables.ts";
import { explain, renderExplanation } from "./index.ts";
import { parseTarget } from "./target.ts";

const file = join(import.meta.dirname, "..", "..", "translate", "testdata", "dns-zone.in.yaml");
const set = assemble(
  new Map([[file, nextState(undefined, "t", parseManifests(file, readFileSync(file, "utf8")))]]),
  [],
);
const out = buildSnapshot(
  set,
  { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 },
  {},
  1,
);
const text = (target: string) => renderExplanation(explain(set, out, parseTarget([target])!));

test("explain dnszone/NAME: where it is served, SOA, records with their objects, refusals", () => {
  const t = text("dz/example");
  assert.match(t, /^Served on: 192\.0\.2\.15:5353 UDP\+TCP/m);
  assert.match(t, /^ {2}SOA ns\.example\.com hostmaster\.example\.com serial 1 /m);
  assert.match(t, /^ {2}web\.example\.com 30 A 192\.0\.2\.0 .*— from Ingress\/default\/web$/m);
  assert.match(t, /^ {2}login\.example\.com from Ingress\/other\/intruder: NamespaceNotAllowed$/m);
  assert.match(t, /^ {2}Programmed=True Programmed: serving example\.com on 192\.0\.2\.15:5353/m);
  // The ignored duplicate of example.com serves nothing: the other zone's records are not its.
  const dup = text("dnszone/again");
  assert.match(dup, /Accepted=False DuplicateZone/);
  assert.match(dup, /^ {2}not served \(see Conditions\)$/m);
  assert.doesNotMatch(dup, /Served on|Records/);
  assert.equal(explain(set, out, parseTarget(["dnszone/nope"])!).found, false);
});

test("explain dnszone/NAME finds its zone however the spec spells it (case, final dot)", () => {
  const yaml = readFileSync(file, "utf8").replace("zone: example.com", "zone: Example.COM.");
  const set2 = assemble(new Map([[file, nextState(undefined, "t", parseManifests(file, yaml))]]), []);
  const out2 = buildSnapshot(
    set2,
    { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 },
    {},
    1,
  );
  const t = renderExplanation(explain(set2, out2, parseTarget(["dz/example"])!));
  assert.match(t, /^Served on: 192\.0\.2\.15:5353 UDP\+TCP/m);
  assert.match(t, /^ {2}web\.example\.com 30 A 192\.0\.2\.0 /m);
});

test("explain of a publishing object shows its names and answers before its conditions", () => {
  const route = text("httproute/default/api");
  assert.match(route, /^DNS:\n {2}api\.apps\.example\.com \(zone example\.com\): A 192\.0\.2\.1 /m);
  const svc = text("service/default/dns-lb");
  for (const n of ["cache", "db", "old"])
    assert.match(svc, new RegExp(`^  ${n}\\.example\\.com \\(zone example\\.com\\): A 192\\.0\\.2\\.2`, "m"));
  assert.ok(svc.indexOf("DNS:") < svc.indexOf("Conditions:"));
  assert.match(text("ingress/other/intruder"), /refused, NamespaceNotAllowed/);
  // shop.example.org is in no zone: no DNS line for it.
  assert.doesNotMatch(text("ingress/default/web"), /shop\.example\.org \(zone/);
});

test("get dns lists each zone's SOA and NS, then its records", () => {
  const rows = tableRows("dns", set, out, { http: 80, https: 443 });
  assert.deepEqual(
    rows.slice(0, 2).map((r) => [r.NAME, r.TYPE]),
    [
      ["example.com", "SOA"],
      ["example.com", "NS"],
    ],
  );
  const web = rows.find((r) => r.NAME === "web.example.com")!;
  assert.equal(web.SOURCE, "Ingress/default/web");
  assert.equal(web.HEALTH, "fallback pools default/web:80");
  assert.equal(web.SERVER, "192.0.2.15:5353");
  const table = renderTable(narrow("dns", rows));
  assert.match(table, /^ZONE +NAME +TYPE +TTL +VALUE +HEALTH$/m);
  assert.match(table, /^example\.com +www\.example\.com +CNAME +30 +web\.example\.com +always$/m);
});

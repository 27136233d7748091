// dns01.test.ts: the built-in issuer's DNS-01 path without a CA — the manager places an order's
// records (through a CNAME), tells the order to go on only once every DNS listener serving them is
// bound (a fleet engine still pending holds it back), withdraws them after, and fails a name in no
// served zone before any order runs, waiting out the zone's negative TTL before the retry.
import assert from "node:assert/strict";
import { test } from "node:test";
import { selfSigned } from "../../../test/support/certs.ts";
import type { ListenerStatus } from "../../engine/listeners.ts";
import type { DnsZone } from "../../k8s/dns-zone.ts";
import { emptyResourceSet, type ResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject, Ingress } from "../../k8s/types.ts";
import type { EngineSnapshot } from "../../model/ir.ts";
import type { AcmeTxt } from "../../translate/acme-txt.ts";
import { awaitTxtServed, txtUnserved } from "./dns01.ts";
import { AcmeManager } from "./manager.ts";
import type { OrderInput } from "./order.ts";

const listener = (
  protocol: "UDP" | "TCP",
  state: ListenerStatus["state"],
  error?: string,
): ListenerStatus => ({
  key: `${protocol}/192.0.2.53/53`,
  name: "DnsZone/z",
  protocol,
  address: "192.0.2.53",
  port: 53,
  state,
  ...(error ? { error } : {}),
});

/** view serves records in zone example.com on 192.0.2.53:53 with the listeners given. */
function view(records: () => readonly AcmeTxt[], listeners: () => ListenerStatus[]) {
  return {
    snapshot: (): EngineSnapshot => ({
      version: 1,
      l4: [],
      http: [],
      pools: {},
      certificates: {},
      dns: [
        {
          name: "DnsZone/z",
          address: "192.0.2.53",
          port: 53,
          zones: [
            {
              name: "example.com",
              soa: {
                mname: "ns",
                rname: "h",
                serial: 1,
                refresh: 1,
                retry: 1,
                expire: 1,
                minimum: 1,
                ttl: 1,
              },
              ns: ["ns.example.com"],
              nsTtl: 3600,
              records: records().map((t) => ({
                name: t.name,
                type: "TXT" as const,
                ttl: 10,
                value: t.value,
              })),
            },
          ],
        },
      ],
    }),
    listenerStatus: listeners,
  };
}

test("txtUnserved names what is missing: the record, or a DNS listener not bound on every engine", async () => {
  const t = { name: "_acme-challenge.example.com", value: "v" };
  let listeners = [listener("UDP", "bound"), listener("TCP", "bound")];
  const unserved = (records: AcmeTxt[]) =>
    txtUnserved(
      view(
        () => records,
        () => listeners,
      ),
      [t],
    );
  assert.equal(unserved([t]), undefined);
  assert.equal(unserved([]), "_acme-challenge.example.com TXT is in no DNS server's zone yet");
  listeners = [listener("UDP", "bound"), listener("TCP", "error", "waiting for engine e2 to ack version 7")];
  assert.equal(
    unserved([t]),
    "DNS server DnsZone/z (192.0.2.53:53/TCP) is error: waiting for engine e2 to ack version 7",
  );
  await assert.rejects(
    awaitTxtServed(
      view(
        () => [t],
        () => listeners,
      ),
      [t],
      30,
    ),
    /^Error: DNS-01 record not served within 0.03 s \(the CA was not asked\): DNS server DnsZone\/z/,
  );
  setTimeout(() => (listeners = [listener("UDP", "bound"), listener("TCP", "bound")]), 20);
  await awaitTxtServed(
    view(
      () => [t],
      () => listeners,
    ),
    [t],
    10_000,
  );
});

const dnsZone = {
  apiVersion: "portico.dev/v1alpha1",
  kind: "DnsZone",
  metadata: { name: "z" },
  spec: {
    zone: "example.com",
    ttl: 60,
    soa: { minimum: 20 },
    records: [{ name: "_acme-challenge.www.example.com", type: "CNAME", value: "www.acme.example.com" }],
  },
} as unknown as DnsZone;

const ingress = (name: string, hosts: string[]) =>
  ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "default", annotations: { "portico.dev/certificate-issuer": "dns" } },
    spec: { tls: [{ hosts, secretName: `${name}-tls` }] },
  }) as Ingress;

test("DNS01 orders: records placed (through a CNAME), served before the CA is told, withdrawn after; outside names fail first", async () => {
  let served: string[] | undefined;
  const seen: OrderInput[] = [];
  const rows: Record<string, string> = {};
  const m: AcmeManager = new AcmeManager({
    store: {
      loadAcme: () => ({ ...rows }),
      saveAcme: (k, v) => void (v === undefined ? delete rows[k] : (rows[k] = v)),
    },
    log: () => {},
    refresh: async () => {},
    rand: () => 0,
    dns: view(
      () => m.dnsChallenges(),
      () => [listener("UDP", "bound"), listener("TCP", "bound")],
    ),
    order: async (input, hooks) => {
      seen.push(input);
      if (input.hosts.includes("fail.example.com"))
        throw new Error("urn:ietf:params:acme:error:unauthorized");
      const answers = {
        dns01: [
          { name: "_acme-challenge.example.com", value: "apex" },
          { name: "_acme-challenge.example.com", value: "wild" },
          { name: "_acme-challenge.www.example.com", value: "www" },
        ],
      };
      await hooks.add(answers);
      served = m.dnsChallenges().map((t) => `${t.name} ${t.value}`);
      await hooks.remove(answers);
      return selfSigned(input.hosts);
    },
  });
  const set: ResourceSet = {
    ...emptyResourceSet(),
    dnsZones: [dnsZone],
    ingresses: [
      ingress("wild", ["example.com", "*.example.com", "www.example.com"]),
      ingress("out", ["shop.other.test"]),
      ingress("bad", ["fail.example.com"]),
    ],
    other: [
      {
        apiVersion: "portico.dev/v1alpha1",
        kind: "CertificateIssuer",
        metadata: { name: "dns" },
        spec: { acme: { server: "https://ca.invalid/dir", challenge: "DNS01" } },
      } as unknown as AnyObject,
    ],
  };
  m.sync(set);
  const deadline = Date.now() + 20_000;
  const certs = () =>
    (m.statuses()[0]!.status.certificates as {
      secret: string;
      state: string;
      message: string;
      next?: string;
    }[]) ?? [];
  while (certs().filter((c) => c.state !== "Pending").length < 3) {
    assert.ok(Date.now() < deadline, "both requests settle");
    await new Promise((r) => setImmediate(r));
  }
  m.close();
  assert.deepEqual(served, [
    "_acme-challenge.example.com apex",
    "_acme-challenge.example.com wild",
    "www.acme.example.com www",
  ]);
  assert.deepEqual(m.dnsChallenges(), [], "withdrawn after the order");
  assert.deepEqual(
    seen.map((s) => [s.hosts, s.challenge]).sort(),
    [
      [["*.example.com", "example.com", "www.example.com"], "DNS01"],
      [["fail.example.com"], "DNS01"],
    ],
    "the outside name never reaches the CA",
  );
  const out = certs().find((c) => c.secret === "default/out-tls")!;
  assert.equal(out.state, "Failed");
  assert.match(
    out.message,
    /^order failed: DNS-01 for shop\.other\.test: _acme-challenge\.shop\.other\.test is in no DnsZone/,
  );
  // A failed DNS-01 order is retried only after the zone's negative TTL (min(60, 20)) + the TXT TTL (10).
  const bad = certs().find((c) => c.secret === "default/bad-tls")!;
  assert.ok(Date.parse(bad.next!) - Date.now() > 25_000, `retry at ${bad.next}`);
  // The issuer's Ready says its last order failed (it stays so until one succeeds again).
  const ready = m.statuses()[0]!.status.conditions as { type: string; status: string; reason: string }[];
  assert.equal(ready.find((c) => c.type === "Ready")?.reason, "OrderFailed");
});

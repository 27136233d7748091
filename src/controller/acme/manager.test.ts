import assert from "node:assert/strict";
import { test } from "node:test";
import { selfSigned } from "../../../test/support/certs.ts";
import { emptyResourceSet, type ResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject, Ingress } from "../../k8s/types.ts";
import { AcmeManager } from "./manager.ts";
import type { OrderInput } from "./order.ts";

const issuer = (name: string, challenge: string) =>
  ({
    apiVersion: "portico.dev/v1alpha1",
    kind: "CertificateIssuer",
    metadata: { name },
    spec: { acme: { server: "https://ca.invalid/dir", challenge } },
  }) as unknown as AnyObject;

const ingress = (name: string, iss: string, host: string) =>
  ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "default", annotations: { "portico.dev/certificate-issuer": iss } },
    spec: { tls: [{ hosts: [host], secretName: `${name}-tls` }] },
  }) as Ingress;

function memStore() {
  const rows: Record<string, string> = {};
  return {
    rows,
    loadAcme: () => ({ ...rows }),
    saveAcme: (k: string, v: string | undefined) => {
      if (v === undefined) delete rows[k];
      else rows[k] = v;
    },
  };
}

test("orders run one at a time, publish their challenge, store and serve the certificate; DNS01 without a DNS view is reported", async () => {
  const store = memStore();
  const seen: OrderInput[] = [];
  let running = 0;
  let maxRunning = 0;
  let refreshed = 0;
  let challengeSeen = false;
  const m = new AcmeManager({
    store,
    log: () => {},
    refresh: async () => {
      refreshed++;
    },
    rand: () => 0,
    order: async (input, hooks) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      seen.push(input);
      await hooks.add({ http01: [{ token: `t-${input.hosts[0]}`, keyAuthorization: "ka" }] });
      challengeSeen ||= m.challenges()?.http01?.[0]?.token === `t-${input.hosts[0]}`;
      await hooks.remove({ http01: [{ token: `t-${input.hosts[0]}`, keyAuthorization: "ka" }] });
      running--;
      return selfSigned(input.hosts);
    },
  });
  const set: ResourceSet = {
    ...emptyResourceSet(),
    ingresses: [
      ingress("a", "http", "a.test"),
      ingress("b", "http", "b.test"),
      ingress("d", "dns", "d.test"),
    ],
    other: [issuer("http", "HTTP01"), issuer("dns", "DNS01")],
  };
  m.sync(set);
  // Until issued, each Secret holds the default certificate so the HTTPS listener exists.
  assert.equal(m.secrets().length, 3);
  const deadline = Date.now() + 20_000;
  while (Object.keys(store.rows).filter((k) => k.startsWith("certificate/")).length < 2) {
    assert.ok(Date.now() < deadline, "both orders complete");
    await new Promise((r) => setImmediate(r));
  }
  m.close();
  assert.equal(maxRunning, 1, "one order at a time");
  assert.ok(challengeSeen, "the challenge is in the snapshot while the order runs");
  assert.equal(m.challenges(), undefined, "withdrawn afterwards");
  assert.ok(refreshed >= 4);
  assert.deepEqual(seen.map((s) => [s.hosts, s.challenge]).sort(), [
    [["a.test"], "HTTP01"],
    [["b.test"], "HTTP01"],
  ]);
  assert.ok(store.rows["account/http"], "the account key is kept");
  const statuses = m.statuses();
  const dns = statuses.find((s) => s.name === "dns")!;
  assert.match(JSON.stringify(dns.status.conditions), /"Ready","status":"False","reason":"Unsupported"/);
  const http = statuses.find((s) => s.name === "http")!;
  const certs = http.status.certificates as { state: string; message: string }[];
  assert.deepEqual(
    certs.map((c) => c.state),
    ["Issued", "Issued"],
  );
  assert.match(certs[0]!.message, /^issued, expires /);
  const served = m.secrets().find((s) => s.metadata.name === "a-tls")!;
  assert.match(Buffer.from(served.data!["tls.crt"]!, "base64").toString(), /BEGIN CERTIFICATE/);
});

// portico-engine.test.ts: the bench's snapshot is valid IR, and the engine serves it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { validateSnapshot } from "../src/model/validate.ts";
import { benchSnapshot } from "./portico-engine.ts";

test("benchSnapshot passes IR validation and routes everything to the web pool", () => {
  const s = benchSnapshot({
    address: "127.0.0.12",
    httpPort: 8000,
    httpsPort: 8443,
    tcpPort: 9000,
    backend: { address: "127.0.0.2", port: 8080 },
    tcpBackend: { address: "127.0.0.3", port: 5201 },
    certPem: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
    keyPem: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
  });
  assert.deepEqual(validateSnapshot(s), []);
  assert.equal(s.http.length, 2);
  assert.equal(s.http[1]!.tls?.defaultCertificate, "bench/tls");
  assert.equal(s.l4[0]!.pool, "bench/iperf:5201");
  const route = s.http[0]!.virtualHosts[0]!.routes[0]!;
  assert.deepEqual(route.action, { type: "Forward", backends: [{ pool: "bench/web:80", weight: 1 }] });
});

// order.test.ts: each issuer's caBundle is trusted for its own directory only. acme-client shares
// one HTTP client per process; when the bundles were set on it, one issuer's CA was trusted for
// every issuer's directory (an issuer with a wrong caBundle still worked after a right one).
import assert from "node:assert/strict";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { caAndLeaf } from "../../../test/support/certs.ts";
import { order, type OrderInput } from "./order.ts";

const hooks = { add: async () => undefined, remove: async () => undefined };

test("a directory is trusted through its own issuer's caBundle only, and a wrong one fails at once with a clear reason", async () => {
  const right = caAndLeaf(["localhost"]);
  const wrong = caAndLeaf(["localhost"]);
  // Not an ACME server: a request that gets past TLS fails for another reason.
  const server = createServer({ cert: right.leaf.certPem, key: right.leaf.keyPem }, (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "localhost", r));
  const url = `https://localhost:${(server.address() as AddressInfo).port}/dir`;
  const input = (caBundle: string): OrderInput => ({
    directoryUrl: url,
    accountKeyPem: "",
    hosts: ["a.example"],
    challenge: "HTTP01",
    caBundle,
  });
  const reason = (p: Promise<unknown>) =>
    p.then(
      () => "resolved",
      (e: Error) => e.message,
    );
  try {
    const ok = await reason(order(input(right.caPem), hooks));
    assert.doesNotMatch(ok, /not trusted/, ok);
    const started = Date.now();
    const bad = await reason(order(input(wrong.caPem), hooks));
    assert.match(bad, /^ACME directory https:\/\/localhost:\d+\/dir not trusted: .*caBundle/, bad);
    // Well under acme-client's 75 s of retries.
    assert.ok(Date.now() - started < 10_000, `${Date.now() - started} ms`);
    const none = await reason(order({ ...input(""), caBundle: undefined } as OrderInput, hooks));
    assert.match(none, /not trusted: .*system roots/, none);
  } finally {
    server.close();
  }
});

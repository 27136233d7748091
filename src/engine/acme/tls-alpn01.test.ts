import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { test } from "node:test";
import tls from "node:tls";
import { selfSigned } from "../../../test/support/certs.ts";
import { ACME_TLS_ALPN, compileAlpnChallenges } from "./tls-alpn01.ts";

// A listener whose own path terminates TLS with `site`; the gate sits in front, as in compile.ts.
async function serve(
  challenge: { certPem: string; keyPem: string },
  site: { certPem: string; keyPem: string },
) {
  const gate = compileAlpnChallenges("l", { tlsAlpn01: [{ hostname: "a.test", ...challenge }] }, 5000)!;
  const ctx = tls.createSecureContext({ cert: site.certPem, key: site.keyPem });
  const server = createServer((raw: Socket) =>
    gate.accept(raw, (s) => {
      const t = new tls.TLSSocket(s, { isServer: true, secureContext: ctx, ALPNProtocols: ["http/1.1"] });
      t.on("secure", () => t.end("site"));
      t.on("error", () => s.destroy());
    }),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

function hello(port: number, servername: string, alpn: string[]) {
  return new Promise<{ cn: string; alpn: string | false; data: string }>((resolve, reject) => {
    let data = "";
    const c = tls.connect({
      host: "127.0.0.1",
      port,
      servername,
      ALPNProtocols: alpn,
      rejectUnauthorized: false,
    });
    let cn = "";
    c.on("secureConnect", () => (cn = String(c.getPeerCertificate().subject?.CN)));
    c.on("data", (d) => (data += d));
    c.on("error", reject);
    c.on("close", () => resolve({ cn, alpn: c.alpnProtocol ?? false, data }));
  });
}

test("acme-tls/1 with a pending name gets the challenge certificate; everything else the listener's", async () => {
  const { server, port } = await serve(selfSigned(["challenge.invalid"]), selfSigned(["site.test"]));
  try {
    const v = await hello(port, "a.test", [ACME_TLS_ALPN]);
    assert.deepEqual(v, { cn: "challenge.invalid", alpn: ACME_TLS_ALPN, data: "" });
    assert.equal((await hello(port, "a.test", ["h2", "http/1.1"])).cn, "site.test", "ordinary client");
    // No challenge for b.test: the listener's own handshake, which speaks no acme-tls/1.
    await assert.rejects(hello(port, "b.test", [ACME_TLS_ALPN]), /no application protocol/);
    assert.equal((await hello(port, "a.test", ["http/1.1"])).data, "site");
  } finally {
    server.close();
  }
});

test("no TLS-ALPN-01 challenge: no gate, nothing pre-read", () => {
  assert.equal(compileAlpnChallenges("l", undefined, 5000), undefined);
  assert.equal(
    compileAlpnChallenges("l", { http01: [{ token: "t", keyAuthorization: "k" }] }, 5000),
    undefined,
  );
});

import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { selfSigned } from "../../../test/support/certs.ts";
import type { Certificate, ClientValidation } from "../../model/ir.ts";
import { clientAllowed, sessionContextOf } from "./client-auth.ts";
import { compileTls } from "./terminate.ts";

test("clientAllowed: AllowValidOnly wants a verified certificate, AllowInsecureFallback takes anyone", () => {
  assert.equal(clientAllowed("AllowValidOnly", true, undefined), true);
  assert.equal(clientAllowed("AllowValidOnly", true, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"), false);
  assert.equal(clientAllowed("AllowValidOnly", false, undefined), false);
  assert.equal(clientAllowed("AllowInsecureFallback", false, undefined), true);
  assert.equal(clientAllowed("AllowInsecureFallback", true, "CERT_HAS_EXPIRED"), true);
});

test("sessionContextOf differs by CA and mode, and fits OpenSSL's 32-byte limit", () => {
  const a = sessionContextOf({ caPem: "A", mode: "AllowValidOnly" });
  assert.equal(a.length, 32);
  assert.notEqual(a, sessionContextOf({ caPem: "B", mode: "AllowValidOnly" }));
  assert.notEqual(a, sessionContextOf({ caPem: "A", mode: "AllowInsecureFallback" }));
});

const server = selfSigned(["mtls.example.com"]);
const good = selfSigned(["client.example.com"]);
const bad = selfSigned(["intruder.example.com"]);

/** handshake serves one connection through compileTls and says what the client got back. */
async function handshake(
  v: ClientValidation | undefined,
  client: Certificate | undefined,
  verifyClients = true,
) {
  const t = compileTls(
    "l:443",
    { sni: [], defaultCertificate: "ns/srv", ...(v ? { clientValidation: v } : {}) },
    {
      "ns/srv": server,
    },
  );
  const srv = net.createServer((s) => {
    s.on("error", () => s.destroy());
    t.wrap(s, (secure) => secure.end("served"), undefined, verifyClients);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  try {
    const port = (srv.address() as net.AddressInfo).port;
    return await new Promise<string>((resolve) => {
      const c = tls.connect({
        host: "127.0.0.1",
        port,
        servername: "mtls.example.com",
        ca: server.certPem,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
      });
      let got = "";
      c.setEncoding("utf8");
      c.on("data", (d: string) => (got += d));
      c.on("error", () => resolve(got || "error"));
      c.on("close", () => resolve(got || "closed"));
    });
  } finally {
    srv.close();
  }
}

test("compileTls with AllowValidOnly serves only clients whose certificate the CA verifies", async () => {
  const v: ClientValidation = { caPem: good.certPem, mode: "AllowValidOnly" };
  assert.equal(await handshake(v, good), "served");
  assert.notEqual(await handshake(v, bad), "served");
  assert.notEqual(await handshake(v, undefined), "served");
});

test("compileTls with AllowInsecureFallback serves every client; without validation nothing is asked", async () => {
  const v: ClientValidation = { caPem: good.certPem, mode: "AllowInsecureFallback" };
  assert.equal(await handshake(v, good), "served");
  assert.equal(await handshake(v, bad), "served");
  assert.equal(await handshake(v, undefined), "served");
  assert.equal(await handshake(undefined, undefined), "served");
});

test("compileTls: verifyClients false (TLSRoute Terminate) skips the listener's validation", async () => {
  const v: ClientValidation = { caPem: good.certPem, mode: "AllowValidOnly" };
  assert.equal(await handshake(v, undefined, false), "served");
});

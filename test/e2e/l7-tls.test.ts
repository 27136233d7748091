// HTTPS listeners end to end: SNI picks the certificate (checked with openssl s_client and curl),
// TLS 1.2/1.3 only, ALPN, session resumption, and requests proxied over TLS.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { once } from "node:events";
import { createHash, randomBytes } from "node:crypto";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import type { HttpListener } from "../../src/model/ir.ts";
import { compileHttp } from "../../src/engine/l7/compile.ts";
import {
  INTERNALS,
  RoundRobinUpstreams,
  catchAllListener,
  listen,
  poolOf,
  proxyErrors,
  snapshotOf,
} from "../../src/engine/l7/testing.ts";
import { selfSigned } from "../support/certs.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "l7-tls-"));
const certs = {
  "ns/exact": selfSigned(["a.example.com"]),
  "ns/wild": selfSigned(["*.example.com"]),
  "ns/default": selfSigned(["default.test"]),
};
const backend = http.createServer((req, res) => {
  if (req.url === "/sum") {
    // Answers the body's length and SHA-256: a body must cross the proxy intact.
    const h = createHash("sha256");
    let n = 0;
    req.on("data", (d: Buffer) => ((n += d.length), h.update(d)));
    req.on("end", () => res.end(`${n} ${h.digest("hex")}`));
    return;
  }
  res.end(`proto=${req.headers["x-forwarded-proto"]} host=${req.headers.host}`);
});
backend.listen(0, "127.0.0.1");
await once(backend, "listening");
const pools = { p: poolOf("p", [(backend.address() as AddressInfo).port]) };
const listener = catchAllListener("tls:443", {
  tls: {
    sni: [
      { hostname: "a.example.com", certificate: "ns/exact" },
      { hostname: "*.example.com", certificate: "ns/wild" },
    ],
    defaultCertificate: "ns/default",
  },
});
const handler = {
  current: compileHttp(listener, {
    snapshot: snapshotOf(listener, pools, certs),
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  }),
};
const { server, port } = await listen(handler);
after(() => {
  server.close();
  backend.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * sClient runs openssl s_client with args; it quits (stdin "Q") at once, or after sending an
 * HTTP request once its output matches until.
 */
function sClient(args: string[], until?: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      if (until !== undefined && !p.stdin.writableEnded && until.test(out)) p.stdin.end();
    };
    p.stdout.on("data", onData);
    p.stderr.on("data", onData);
    p.on("close", () => resolve(out));
    p.stdin.on("error", () => {});
    if (until === undefined) p.stdin.end("Q\n");
    else p.stdin.write("GET / HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n");
  });
}

test("SNI selects exact, wildcard and default certificates (openssl s_client)", async () => {
  assert.match(await sClient(["-servername", "a.example.com"]), /subject=CN ?= ?a\.example\.com/);
  assert.match(await sClient(["-servername", "b.example.com"]), /subject=CN ?= ?\*\.example\.com/);
  assert.match(await sClient(["-servername", "x.y.example.com"]), /subject=CN ?= ?\*\.example\.com/);
  assert.match(await sClient(["-servername", "unknown.test"]), /subject=CN ?= ?default\.test/);
  assert.match(await sClient(["-noservername"]), /subject=CN ?= ?default\.test/);
});

test("TLS 1.3 and 1.2 with ECDHE AEAD ciphers; TLS 1.1 and non-ECDHE ciphers refused; ALPN offers h2", async () => {
  assert.match(await sClient(["-servername", "a.example.com", "-tls1_3"]), /New, TLSv1\.3/);
  const v12 = await sClient(["-servername", "a.example.com", "-tls1_2"]);
  assert.match(v12, /Cipher is ECDHE-ECDSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/);
  assert.doesNotMatch(await sClient(["-servername", "a.example.com", "-tls1_1"]), /Cipher is ECDHE/);
  assert.doesNotMatch(
    await sClient(["-servername", "a.example.com", "-tls1_2", "-cipher", "AES128-SHA"]),
    /Cipher is AES128-SHA/,
  );
  assert.match(await sClient(["-servername", "a.example.com", "-alpn", "h2,http/1.1"]), /ALPN protocol: h2/);
  assert.match(
    await sClient(["-servername", "a.example.com", "-alpn", "http/1.1"]),
    /ALPN protocol: http\/1\.1/,
  );
});

test("sessions resume with tickets", async () => {
  const sess = join(dir, "sess.pem");
  for (const v of ["-tls1_2", "-tls1_3"]) {
    // TLS 1.3 tickets come after the handshake (Node flushes them with the first write): send a
    // request and wait for a ticket before quitting.
    const wait = v === "-tls1_3" ? /Post-Handshake New Session Ticket arrived/ : undefined;
    const first = await sClient(["-servername", "a.example.com", v, "-sess_out", sess], wait);
    assert.match(first, /New, TLSv1/);
    const second = await sClient(["-servername", "a.example.com", v, "-sess_in", sess]);
    assert.match(second, /Reused, TLSv1/, `${v} resumption`);
  }
});

test("requests are proxied over TLS with X-Forwarded-Proto https (curl --resolve)", async () => {
  const cafile = join(dir, "wild.pem");
  writeFileSync(cafile, certs["ns/wild"].certPem);
  const { stdout } = await run("curl", [
    "-sS",
    "--http1.1",
    "--cacert",
    cafile,
    "--resolve",
    `shop.example.com:${port}:127.0.0.1`,
    `https://shop.example.com:${port}/x`,
  ]);
  assert.equal(stdout, `proto=https host=shop.example.com:${port}`);
});

test("re-encryption to backends: verified against caPem and sni, wrong name is a 502", async () => {
  const bcert = selfSigned(["backend.internal"]);
  const hb = https.createServer({ cert: bcert.certPem, key: bcert.keyPem }, (req, res) =>
    res.end(`tls backend saw ${req.headers.host} sni=${(req.socket as TLSSocket).servername}`),
  );
  hb.listen(0, "127.0.0.1");
  await once(hb, "listening");
  after(() => hb.close());
  const bport = (hb.address() as AddressInfo).port;
  const tlsPools = {
    good: { ...poolOf("good", [bport]), tls: { sni: "backend.internal", caPem: bcert.certPem } },
    bad: { ...poolOf("bad", [bport]), tls: { sni: "other.internal", caPem: bcert.certPem } },
    san: {
      ...poolOf("san", [bport]),
      tls: { sni: "x", caPem: bcert.certPem, subjectAltNames: ["backend.internal"] },
    },
  };
  const route = (name: string, path: string) => ({
    name,
    match: { path: { type: "Prefix" as const, value: path } },
    action: { type: "Forward" as const, backends: [{ pool: name, weight: 1 }] },
  });
  const l: HttpListener = {
    name: "reencrypt:80",
    address: "127.0.0.1",
    port: 0,
    virtualHosts: [
      { hostname: "*", routes: [route("good", "/good"), route("bad", "/bad"), route("san", "/san")] },
    ],
    requestTimeoutMs: 5000,
    idleTimeoutMs: 5000,
  };
  const h = {
    current: compileHttp(l, {
      snapshot: snapshotOf(l, tlsPools),
      upstreams: new RoundRobinUpstreams(tlsPools),
      log: () => {},
    }),
  };
  const { server: s2, port: p2 } = await listen(h);
  after(() => s2.close());
  const get = async (path: string) => {
    const { stdout } = await run("curl", ["-sS", "-w", " %{http_code}", `http://127.0.0.1:${p2}${path}`]);
    return stdout;
  };
  assert.equal(await get("/good"), `tls backend saw 127.0.0.1:${p2} sni=backend.internal 200`);
  const errs = proxyErrors();
  const bad = await get("/bad");
  await errs.stop();
  assert.match(bad, / 502$/);
  assert.doesNotMatch(bad, INTERNALS);
  assert.match(errs.errors.join("\n"), /cannot connect to backend .* ERR_TLS_CERT_ALTNAME_INVALID/);
  assert.equal(await get("/san"), `tls backend saw 127.0.0.1:${p2} sni=x 200`);
});

test("request bodies over TLS arrive intact on one keep-alive connection (decrypted reads in a shared buffer)", async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  after(() => agent.destroy());
  const post = (body: Buffer, chunked: boolean) =>
    new Promise<string>((resolve, reject) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port,
          servername: "shop.example.com",
          rejectUnauthorized: false,
          agent,
          method: "POST",
          path: "/sum",
          headers: chunked ? {} : { "content-length": body.length },
        },
        (res) => {
          let out = "";
          res.on("data", (d: Buffer) => (out += d));
          res.on("end", () => resolve(out));
        },
      );
      req.on("error", reject);
      // Several writes: the body crosses many TLS records and reads.
      for (let i = 0; i < body.length; i += 100_000) req.write(body.subarray(i, i + 100_000));
      req.end();
    });
  for (const chunked of [false, true]) {
    const body = randomBytes(2 * 1024 * 1024);
    const want = `${body.length} ${createHash("sha256").update(body).digest("hex")}`;
    assert.equal(await post(body, chunked), want, chunked ? "chunked" : "content-length");
  }
});

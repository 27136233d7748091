// ocsp-stapling.test.ts: issue 18 item 4 end to end. A CA made here, a real `openssl ocsp`
// responder on loopback signing with a delegated OCSP-signing certificate, and `portico run`
// serving Ingress hosts whose certificates name that responder (Authority Information Access):
// `openssl s_client -status` sees a stapled "good" response, a revoked certificate's "revoked",
// ECDSA and RSA certificates of one host each staple their own, and a certificate whose responder
// is down is served without a staple (handshake fine), with the metric and log saying why.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, writeManifest, startPortico, removeDir, run, waitFor, logLines } from "./harness.ts";
import { backendService, httpBackend, ingressClass, pool, tlsSecret } from "./fixtures.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const VIP = "127.0.118.1";
const [HTTP_PORT, HTTPS_PORT, OCSP_PORT] = [18731, 18732, 18733];
const RESPONDER = `http://127.0.118.2:${OCSP_PORT}`;
// Nothing listens here: the responder of "down.test" is unreachable.
const DEAD_RESPONDER = "http://127.0.118.3:18734";

/** openssl runs one openssl command in dir and fails the test with its stderr. */
async function openssl(dir: string, args: string[]): Promise<string> {
  const r = await run(
    "openssl",
    args.map((a) => a.replaceAll("$D", dir)),
  );
  assert.equal(r.code, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
const RSA = ["-newkey", "rsa:2048"];

/** leaf issues a server certificate for host with serial (hex) whose AIA names responder. */
async function leaf(dir: string, name: string, host: string, serial: string, responder: string, key = EC) {
  writeFileSync(
    join(dir, `${name}.ext`),
    `subjectAltName=DNS:${host}\nauthorityInfoAccess=OCSP;URI:${responder}\n` +
      "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(dir, [
    "req",
    ...key,
    "-nodes",
    "-keyout",
    `$D/${name}.key`,
    "-out",
    `$D/${name}.csr`,
    "-subj",
    `/CN=${host}`,
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `$D/${name}.csr`,
    "-CA",
    "$D/ca.pem",
    "-CAkey",
    "$D/ca.key",
    "-set_serial",
    `0x${serial}`,
    "-days",
    "2",
    "-extfile",
    `$D/${name}.ext`,
    "-out",
    `$D/${name}.pem`,
  ]);
  // The chain carries the issuer: the engine needs it to build the request and check the answer.
  return {
    certPem: readFileSync(join(dir, `${name}.pem`), "utf8") + readFileSync(join(dir, "ca.pem"), "utf8"),
    keyPem: readFileSync(join(dir, `${name}.key`), "utf8"),
  };
}

/** status runs `openssl s_client -status` for host and returns its output (extra: more options). */
async function status(host: string, extra: string[] = []): Promise<string> {
  const r = await run(
    "openssl",
    ["s_client", "-connect", `${VIP}:${HTTPS_PORT}`, "-servername", host, "-status", ...extra],
    "Q\n",
  );
  return r.stdout + r.stderr;
}

test("OCSP stapling: good, revoked, per key type, and no staple while the responder is down", async () => {
  const dir = tempDir();
  const certs = tempDir("portico-ocsp-");
  const app = await httpBackend("web");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(certs),
    app.close,
  );
  // The CA, and a delegated responder certificate (id-kp-OCSPSigning) the responder signs with.
  await openssl(certs, [
    "req",
    "-x509",
    ...EC,
    "-nodes",
    "-keyout",
    "$D/ca.key",
    "-out",
    "$D/ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=Portico OCSP test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  writeFileSync(join(certs, "ocsp.ext"), "extendedKeyUsage=OCSPSigning\nbasicConstraints=CA:FALSE\n");
  await openssl(certs, [
    "req",
    ...EC,
    "-nodes",
    "-keyout",
    "$D/ocsp.key",
    "-out",
    "$D/ocsp.csr",
    "-subj",
    "/CN=OCSP signer",
  ]);
  await openssl(certs, [
    "x509",
    "-req",
    "-in",
    "$D/ocsp.csr",
    "-CA",
    "$D/ca.pem",
    "-CAkey",
    "$D/ca.key",
    "-set_serial",
    "0x0fff",
    "-days",
    "2",
    "-extfile",
    "$D/ocsp.ext",
    "-out",
    "$D/ocsp.pem",
  ]);
  const good = await leaf(certs, "good", "good.test", "1001", RESPONDER);
  const revoked = await leaf(certs, "revoked", "revoked.test", "1002", RESPONDER);
  const dualEc = await leaf(certs, "dual-ec", "dual.test", "1003", RESPONDER);
  const dualRsa = await leaf(certs, "dual-rsa", "dual.test", "1004", RESPONDER, RSA);
  const down = await leaf(certs, "down", "down.test", "1005", DEAD_RESPONDER);
  // The responder's database (openssl ca's index.txt): V valid, R revoked (with its time).
  const exp = "301231235959Z";
  writeFileSync(
    join(certs, "index.txt"),
    [
      `V\t${exp}\t\t1001\tunknown\t/CN=good.test`,
      `R\t${exp}\t261201000000Z\t1002\tunknown\t/CN=revoked.test`,
      `V\t${exp}\t\t1003\tunknown\t/CN=dual.test ECDSA`,
      `V\t${exp}\t\t1004\tunknown\t/CN=dual.test RSA`,
      "",
    ].join("\n"),
  );
  const responder: ChildProcess = spawn(
    "openssl",
    [
      "ocsp",
      "-index",
      join(certs, "index.txt"),
      "-CA",
      join(certs, "ca.pem"),
      "-rsigner",
      join(certs, "ocsp.pem"),
      "-rkey",
      join(certs, "ocsp.key"),
      "-port",
      String(OCSP_PORT),
      "-nmin",
      "10",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let responderLog = "";
  responder.stdout!.on("data", (d) => (responderLog += d));
  responder.stderr!.on("data", (d) => (responderLog += d));
  cleanups.push(() => void responder.kill());
  // Not a connect probe: openssl ocsp serves one connection at a time and an empty one stalls it.
  await waitFor("the OCSP responder", () => {
    assert.equal(responder.exitCode, null, `openssl ocsp exited: ${responderLog}`);
    return /waiting for OCSP client connections/i.test(responderLog);
  });

  const rule = (host: string) =>
    `    - host: ${host}\n      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }`;
  const hosts = ["good.test", "revoked.test", "dual.test", "down.test"];
  const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: default }
spec:
  tls:
    - { hosts: [good.test], secretName: good-tls }
    - { hosts: [revoked.test], secretName: revoked-tls }
    - { hosts: [dual.test], secretName: dual-ec }
    - { hosts: [dual.test], secretName: dual-rsa }
    - { hosts: [down.test], secretName: down-tls }
  rules:
${hosts.map(rule).join("\n")}
`;
  writeManifest(
    dir,
    "app.yaml",
    [
      pool("web", [`${VIP}/32`]),
      ingressClass,
      backendService("default", "web", app.port),
      ingress,
      tlsSecret("good-tls", good),
      tlsSecret("revoked-tls", revoked),
      tlsSecret("dual-ec", dualEc),
      tlsSecret("dual-rsa", dualRsa),
      tlsSecret("down-tls", down),
    ].join("---\n"),
  );
  const p = await startPortico([dir], ["--http-port", String(HTTP_PORT), "--https-port", String(HTTPS_PORT)]);
  cleanups.push(() => p.stop());
  const started = Date.now();
  // On failure, what the engine said about OCSP and what the responder saw.
  let passed = false;
  cleanups.push(() => {
    if (!passed) console.log(p.logs.filter((l) => /ocsp/i.test(l)).join("\n"), responderLog);
  });

  const goodOut = await waitFor(
    "a stapled response for good.test",
    async () => {
      const out = await status("good.test");
      return /OCSP Response Status: successful/.test(out) ? out : undefined;
    },
    20_000,
  );
  console.log(`# good.test stapled ${Date.now() - started} ms after portico was ready`);
  assert.match(goodOut, /Cert Status: good/);
  assert.match(goodOut, /Serial Number: 1001/);

  const revokedOut = await waitFor("a stapled response for revoked.test", async () => {
    const out = await status("revoked.test");
    return /OCSP Response Status: successful/.test(out) ? out : undefined;
  });
  assert.match(revokedOut, /Cert Status: revoked/);

  // One host, two key types: each client gets the certificate it can use with that one's response.
  const ecOut = await waitFor("dual.test ECDSA staple", async () => {
    const out = await status("dual.test", ["-sigalgs", "ECDSA+SHA256"]);
    return /Cert Status: good/.test(out) ? out : undefined;
  });
  assert.match(ecOut, /Serial Number: 1003/);
  assert.match(ecOut, /Peer signature type: ECDSA/);
  const rsaOut = await waitFor("dual.test RSA staple", async () => {
    const out = await status("dual.test", ["-sigalgs", "RSA-PSS+SHA256:RSA+SHA256"]);
    return /Cert Status: good/.test(out) ? out : undefined;
  });
  assert.match(rsaOut, /Serial Number: 1004/);
  assert.match(rsaOut, /Peer signature type: RSA/);
  // TLS 1.2 with an RSA-only suite list picks the same way.
  const rsa12 = await status("dual.test", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]);
  assert.match(rsa12, /Serial Number: 1004/);

  // The responder is down for down.test: no staple, and the handshake completes.
  const downOut = await status("down.test");
  assert.match(downOut, /OCSP response: no response sent/);
  assert.match(downOut, /Verification error: unable to get local issuer|Verify return code/);
  assert.match(downOut, /CONNECTED/);
  assert.match(downOut, /Cipher is/);
  assert.doesNotMatch(downOut, /Cipher is \(NONE\)/);
  const metrics = await waitFor("the OCSP metrics", async () => {
    const m = await (await fetch(`${p.adminUrl}/metrics`)).text();
    return /portico_ocsp_fetches_total\{certificate="default\/down-tls",result="unreachable"\} [1-9]/.test(m)
      ? m
      : undefined;
  });
  assert.match(metrics, /portico_ocsp_stapling\{certificate="default\/down-tls"\} 0/);
  assert.match(metrics, /portico_ocsp_stapling\{certificate="default\/good-tls"\} 1/);
  assert.match(
    metrics,
    /portico_ocsp_fetches_total\{certificate="default\/revoked-tls",result="revoked"\} 1/,
  );
  const next = /portico_ocsp_next_update_timestamp_seconds\{certificate="default\/good-tls"\} (\d+)/.exec(
    metrics,
  );
  assert.ok(next && Number(next[1]) * 1000 > Date.now(), "nextUpdate is ahead");
  const logged = logLines(p, "ocsp: fetch failed; retrying");
  assert.ok(logged.some((l) => l["certificate"] === "default/down-tls" && l["result"] === "unreachable"));

  // The responder stops: responses already fetched keep being stapled until their nextUpdate.
  responder.kill();
  await waitFor("the responder gone", () => responder.exitCode !== null || responder.signalCode !== null);
  assert.match(await status("good.test"), /Cert Status: good/);
  passed = true;
});

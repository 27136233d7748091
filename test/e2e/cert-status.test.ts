// cert-status.test.ts: issue 18 item 3 end to end with `portico run`: an Ingress host whose Secret
// holds an expired certificate is served with the default certificate (openssl s_client sees it,
// not the expired one) and the Ingress says why; the other host keeps its own; fixing the Secret
// serves it without a restart; `portico get certificates` lists both states.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { tempDir, writeManifest, startPortico, removeDir, portico, waitFor } from "./harness.ts";
import { backendService, httpBackend, ingressClass, pool, tlsSecret } from "./fixtures.ts";
import { expiredSelfSigned, selfSigned } from "../support/certs.ts";

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** sClient asks openssl s_client which certificate is served for servername; returns its PEM ("" if none). */
function sClient(address: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn("openssl", ["s_client", "-connect", `${address}:${port}`, "-servername", servername], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("close", () =>
      resolve(/-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----\n/.exec(out)?.[0] ?? ""),
    );
    p.stdin.end("Q\n");
  });
}

const fingerprint = (pem: string) => (pem ? new X509Certificate(pem).fingerprint256 : "");

test("an expired Secret: the host gets the default certificate and a condition; a fixed Secret is served without restart", async () => {
  const dir = tempDir();
  const state = tempDir();
  const app = await httpBackend("web");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    app.close,
  );
  const vip = "127.0.95.1";
  const [httpPort, httpsPort] = [18492, 18493];
  const expired = expiredSelfSigned(["bad.test"]);
  const good = selfSigned(["good.test"], "ec", 30);
  const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: default }
spec:
  tls:
    - { hosts: [bad.test], secretName: bad-tls }
    - { hosts: [good.test], secretName: good-tls }
  rules:
    - host: bad.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
    - host: good.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;
  writeManifest(
    dir,
    "app.yaml",
    [
      pool("web", [`${vip}/32`]),
      ingressClass,
      backendService("default", "web", app.port),
      ingress,
      tlsSecret("good-tls", good),
    ].join("---\n"),
  );
  writeManifest(dir, "bad.yaml", tlsSecret("bad-tls", expired));
  const p = await startPortico(
    [dir],
    ["--state-dir", state, "--http-port", String(httpPort), "--https-port", String(httpsPort)],
  );
  cleanups.push(() => p.stop());

  // good.test keeps its own certificate; bad.test gets one that is not the expired one.
  await waitFor("HTTPS up", async () => fingerprint(await sClient(vip, httpsPort, "good.test")) !== "");
  assert.equal(fingerprint(await sClient(vip, httpsPort, "good.test")), fingerprint(good.certPem));
  const served = await sClient(vip, httpsPort, "bad.test");
  assert.notEqual(served, "", "bad.test is still served on HTTPS");
  assert.notEqual(fingerprint(served), fingerprint(expired.certPem), "never the expired certificate");
  assert.notEqual(fingerprint(served), fingerprint(good.certPem));
  assert.ok(Date.parse(new X509Certificate(served).validTo) > Date.now(), "the default certificate is valid");

  const cond = async () =>
    (await p.status())
      .find((s) => s.kind === "Ingress" && s.name === "web")
      ?.status?.conditions?.find((c) => c.type === "portico.dev/CertificatesValid");
  const c = await cond();
  assert.equal(c?.status, "False");
  assert.equal(c?.reason, "CertificateExpired");
  assert.match(
    c?.message ?? "",
    /Secret default\/bad-tls: certificate expired at .*; renew it; bad\.test served with the default certificate meanwhile/,
  );

  const metrics = await (await fetch(`${p.adminUrl}/metrics`)).text();
  assert.match(metrics, /portico_certificate_usable\{namespace="default",secret="bad-tls"\} 0/);
  assert.match(metrics, /portico_certificate_usable\{namespace="default",secret="good-tls"\} 1/);
  const expiry =
    /portico_certificate_expiry_timestamp_seconds\{namespace="default",secret="bad-tls"\} (\d+)/.exec(
      metrics,
    );
  assert.ok(expiry && Number(expiry[1]) * 1000 < Date.now(), "the expiry metric is in the past");

  const admin = p.adminUrl.replace(/^http:\/\//, "").replace(/\/$/, "");
  const table = await portico(["get", "certificates", "--admin", admin]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    /default\s+bad-tls\s+bad\.test\s+bad\.test\s+\S+\s+-?\d+\s+Expired\s+CertificateExpired/,
  );
  assert.match(table.stdout, /default\s+good-tls\s+good\.test\s+good\.test\s+\S+\s+(29|30)\s+OK/);

  // Renewing the Secret serves it on new handshakes, no restart.
  const renewed = selfSigned(["bad.test"], "ec", 30);
  writeManifest(dir, "bad.yaml", tlsSecret("bad-tls", renewed));
  await waitFor(
    "the renewed certificate to be served",
    async () => fingerprint(await sClient(vip, httpsPort, "bad.test")) === fingerprint(renewed.certPem),
    15_000,
  );
  assert.equal((await cond())?.status, "True");
  const after2 = await portico(["get", "certificates", "--admin", admin]);
  assert.match(after2.stdout, /default\s+bad-tls\s+bad\.test\s+bad\.test\s+\S+\s+(29|30)\s+OK/);
  assert.equal(p.proc.exitCode, null, "the same process served both");
});

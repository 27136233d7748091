// tls-options.test.ts: `portico run` on a Gateway HTTPS listener with an ECDSA and an RSA
// certificate for the same name and tls.options limiting the TLS 1.2 suites. Real clients:
// openssl s_client and curl. VIP 127.0.46.1, a static Gateway address, port 18460.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { tempDir, writeManifest, startPortico, run, waitFor, removeDir, type Portico } from "./harness.ts";
import { pool, backendService, httpBackend, type HttpBackend } from "./fixtures.ts";
import { gatewayClass } from "./gateway-helpers.ts";
import { selfSigned } from "../support/certs.ts";

const VIP = "127.0.46.1";
const PORT = 18460;
let dir: string, state: string;
let p: Portico;
let web: HttpBackend;
const b64 = (s: string) => Buffer.from(s).toString("base64");

before(async () => {
  dir = tempDir();
  state = tempDir();
  web = await httpBackend("web");
  const ec = selfSigned(["a.opts.test"], "ec");
  const rsa = selfSigned(["a.opts.test"], "rsa");
  const secret = (name: string, c: { certPem: string; keyPem: string }) => `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: infra }
type: kubernetes.io/tls
data: { tls.crt: ${b64(c.certPem)}, tls.key: ${b64(c.keyPem)} }
---
`;
  writeManifest(dir, "pool.yaml", pool("opts", [`${VIP}-${VIP}`]));
  writeManifest(
    dir,
    "gateway.yaml",
    `${gatewayClass}---
${secret("ec", ec)}${secret("rsa", rsa)}apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: opts, namespace: infra }
spec:
  gatewayClassName: portico
  addresses: [{ type: IPAddress, value: ${VIP} }]
  listeners:
    - name: https
      port: ${PORT}
      protocol: HTTPS
      tls:
        certificateRefs: [{ name: ec }, { name: rsa }]
        options:
          portico.dev/cipher-suites: ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: infra }
spec:
  parentRefs: [{ name: opts }]
  rules: [{ backendRefs: [{ name: web, port: 80 }] }]
`,
  );
  writeManifest(dir, "backends.yaml", backendService("infra", "web", web.port));
  p = await startPortico([dir], ["--state-dir", state]);
  await waitFor("the HTTPS listener", async () => (await curl([])).stdout.startsWith("web GET"));
});

after(async () => {
  await p?.stop();
  web?.close();
  for (const d of [dir, state]) if (d) removeDir(d);
});

function curl(extra: string[]) {
  return run("curl", [
    "-sSk",
    "--max-time",
    "5",
    "--resolve",
    `a.opts.test:${PORT}:${VIP}`,
    ...extra,
    `https://a.opts.test:${PORT}/who`,
  ]);
}

async function sClient(args: string[]): Promise<string> {
  const r = await run("sh", [
    "-c",
    `echo | openssl s_client -connect ${VIP}:${PORT} -servername a.opts.test ${args.join(" ")} 2>&1`,
  ]);
  return r.stdout;
}

test("ECDSA for a client that offers it, RSA for an RSA-only client, both served by curl and openssl", async () => {
  assert.match(await sClient([]), /Peer signature type: ECDSA/);
  assert.match(
    await sClient(["-sigalgs", "rsa_pss_rsae_sha256:RSA+SHA256"]),
    /Server public key is 2048 bit/,
  );
  const rsaOnly = await curl([
    "--tls-max",
    "1.2",
    "--ciphers",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "-w",
    " %{http_code}",
  ]);
  assert.equal(rsaOnly.stdout, "web GET /who\n 200", rsaOnly.stderr);
  const h2 = await curl(["--http2", "-w", " %{http_version}"]);
  assert.equal(h2.stdout, "web GET /who\n 2", h2.stderr);
});

test("TLS 1.1 and a TLS 1.2 suite outside tls.options are refused; one inside is served", async () => {
  assert.match(
    await sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]),
    /alert protocol version|no protocols available/,
  );
  const outside = await sClient(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]);
  assert.match(outside, /handshake failure/);
  assert.match(await sClient(["-tls1_2"]), /Cipher is ECDHE-ECDSA-AES256-GCM-SHA384/);
});

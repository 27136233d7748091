// cert-manager.test.ts: a real cert-manager controller (scripts/cert-manager/build.sh, from the Go
// module proxy) run as a local process against the real kube-apiserver, next to Portico's
// controller. cert-manager's ingress-shim and gateway-shim turn the `cert-manager.io/cluster-issuer`
// annotation into a Certificate, its CA issuer signs it into a Secret, and Portico serves that
// Secret: openssl s_client verifies the chain against the test CA. A renewal (what
// `cmctl renew` does: an Issuing condition) is served on the next handshake while a connection
// opened before it keeps working. cert-manager runs with the admin kubeconfig (its own RBAC is the
// Helm chart's business, not what this test is about).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { certManagerMissing, installCertManager, spawnCertManager } from "./cert-manager-env.ts";
import {
  apply,
  gatewayAddress,
  getJson,
  kubeSkip,
  startController,
  waitFor,
  type RunningController,
} from "./helper.ts";

const run = promisify(execFile);
const NS = "certs";
// A /16 of loopback unique to this process, so parallel runs cannot collide.
const octet = 40 + (process.pid % 150);
const pool = `127.${octet}.0`;

function cmSkip(): string | false {
  const kube = kubeSkip();
  if (kube) return kube;
  const why = certManagerMissing();
  if (!why) return false;
  process.stderr.write(`\n*** SKIPPING cert-manager test: ${why} ***\n\n`);
  return why;
}

const skip = cmSkip();

/** peer is what openssl s_client saw: the leaf's issuer and serial, and whether the chain verified. */
async function peer(
  ip: string,
  port: number,
  host: string,
  caFile: string,
): Promise<{ issuer: string; serial: string; verified: boolean }> {
  const child = run("openssl", [
    "s_client",
    "-connect",
    `${ip}:${port}`,
    "-servername",
    host,
    "-verify_hostname",
    host,
    "-CAfile",
    caFile,
  ]);
  // A refused connection exits before reading stdin; that EPIPE is not the test's failure.
  child.child.stdin?.on("error", () => undefined);
  child.child.stdin?.end("");
  const { stdout } = await child;
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(stdout)?.[0];
  if (!pem) throw new Error(`no certificate from ${ip}:${port} for ${host}`);
  const x = run("openssl", ["x509", "-noout", "-issuer", "-serial", "-nameopt", "RFC2253"]);
  x.child.stdin?.end(pem);
  const out = (await x).stdout;
  return {
    issuer: /issuer=(.*)/.exec(out)?.[1]?.trim() ?? "",
    serial: /serial=(.*)/.exec(out)?.[1]?.trim() ?? "",
    verified: /Verify return code: 0 \(ok\)/.test(stdout),
  };
}

/** certificateReady waits for cert-manager to report Certificate name Ready and returns it. */
function certificateReady(env: KubeEnv, name: string) {
  return waitFor(
    `Certificate ${name} Ready`,
    async () => {
      const c = await getJson(env, "certificate", "-n", NS, name);
      const ready = c?.status?.conditions?.find((x: { type: string }) => x.type === "Ready");
      return ready?.status === "True" && c;
    },
    60_000,
    200,
  );
}

describe("cert-manager issues, Portico serves", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;
  let cm: ChildProcess | undefined;
  let caFile: string;

  before(async () => {
    env = await startKube();
    await installCertManager(env);
    // The CA the ClusterIssuer signs with: a self-signed CA made with openssl, in the cluster
    // resource namespace where cert-manager looks for ClusterIssuer secrets.
    caFile = join(env.dir, "ca.crt");
    const caKey = join(env.dir, "ca.key");
    await run("openssl", [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"],
      ...["-subj", "/CN=Portico Test CA", "-keyout", caKey, "-out", caFile],
      ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ]);
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: v1
kind: Secret
metadata: {name: ca-key-pair, namespace: cert-manager}
type: kubernetes.io/tls
data:
  tls.crt: ${readFileSync(caFile).toString("base64")}
  tls.key: ${readFileSync(caKey).toString("base64")}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: ca}
spec:
  ca: {secretName: ca-key-pair}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: certs-pool}
spec:
  addresses: ["${pool}.1-${pool}.4"]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
`,
    );
    ctl = await startController(env);
    cm = spawnCertManager(env, ["--enable-gateway-api=true"]);
    await waitFor(
      "ClusterIssuer ca Ready",
      async () =>
        (await getJson(env, "clusterissuer", "ca"))?.status?.conditions?.find(
          (c: { type: string }) => c.type === "Ready",
        )?.status === "True",
      60_000,
      200,
    );
  });

  after(async () => {
    if (cm && cm.exitCode === null) {
      const exited = new Promise((r) => cm!.once("exit", r));
      cm.kill("SIGTERM");
      await exited;
    }
    await ctl?.stop();
    if (process.env.PORTICO_TEST_LOG === "1" && env)
      process.stderr.write(readFileSync(join(env.dir, "logs", "cert-manager.log"), "utf8").slice(-8000));
    await env?.stop();
  });

  test("an Ingress annotated cert-manager.io/cluster-issuer gets a Secret from cert-manager and Portico serves it", async () => {
    await apply(
      env,
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: site
  namespace: ${NS}
  annotations: {cert-manager.io/cluster-issuer: ca}
spec:
  ingressClassName: portico
  tls: [{hosts: [site.example], secretName: site-tls}]
  rules:
    - host: site.example
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`,
    );
    // cert-manager's ingress-shim made the Certificate (owned by the Ingress), its CA issuer the Secret.
    const cert = await certificateReady(env, "site-tls");
    assert.deepEqual(cert.spec.dnsNames, ["site.example"]);
    assert.equal(cert.metadata.ownerReferences[0].kind, "Ingress");
    const ip: string = await waitFor("Ingress status", async () => {
      const ing = await getJson(env, "ingress", "-n", NS, "site");
      return ing?.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    const seen = await waitFor(
      "Portico serving cert-manager's certificate",
      async () => {
        const p = await peer(ip, 443, "site.example", caFile);
        return p.verified && p;
      },
      20_000,
      200,
    );
    assert.equal(seen.issuer, "CN=Portico Test CA");
  });

  test("a renewal is served on new handshakes; a connection opened before it keeps working", async () => {
    const ip: string = (await getJson(env, "ingress", "-n", NS, "site"))!.status.loadBalancer.ingress[0].ip;
    const before = await peer(ip, 443, "site.example", caFile);
    // An HTTP/1.1 keep-alive connection on the old certificate.
    const sock: TLSSocket = await new Promise((ok, fail) => {
      const s = tlsConnect(
        { host: ip, port: 443, servername: "site.example", ca: readFileSync(caFile) },
        () => ok(s),
      );
      s.once("error", fail);
    });
    const ask = (): Promise<string> =>
      new Promise((ok, fail) => {
        let buf = "";
        const onData = (d: Buffer) => {
          buf += d.toString("latin1");
          if (/\r\n\r\n/.test(buf)) {
            sock.off("data", onData);
            ok(buf.split("\r\n")[0]!);
          }
        };
        sock.on("data", onData);
        sock.once("error", fail);
        sock.write("GET / HTTP/1.1\r\nHost: site.example\r\n\r\n");
      });
    const first = await ask();
    assert.match(first, /^HTTP\/1\.1 \d{3}/);
    // What `cmctl renew` does: an Issuing condition on the Certificate's status.
    await env.kubectl([
      ...["patch", "certificate", "-n", NS, "site-tls", "--subresource=status", "--type=json", "-p"],
      JSON.stringify([
        {
          op: "add",
          path: "/status/conditions/-",
          value: {
            type: "Issuing",
            status: "True",
            reason: "ManuallyTriggered",
            message: "renewal forced by the test",
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
          },
        },
      ]),
    ]);
    const after = await waitFor(
      "a new serial on a new handshake",
      async () => {
        const p = await peer(ip, 443, "site.example", caFile);
        return p.verified && p.serial !== before.serial && p;
      },
      60_000,
      200,
    );
    assert.equal(after.issuer, "CN=Portico Test CA");
    const secret = await getJson(env, "secret", "-n", NS, "site-tls");
    const x = run("openssl", ["x509", "-noout", "-serial"]);
    x.child.stdin?.end(Buffer.from(secret!.data["tls.crt"], "base64"));
    assert.equal((await x).stdout.trim(), `serial=${after.serial}`);
    // The connection from before the renewal still answers, on its old certificate.
    assert.equal(await ask(), first);
    assert.equal(sock.destroyed, false);
    sock.destroy();
  });

  test("a Gateway annotated cert-manager.io/cluster-issuer gets a Secret from cert-manager and Portico serves it", async () => {
    await apply(
      env,
      `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: ${NS}
  annotations: {cert-manager.io/cluster-issuer: ca}
spec:
  gatewayClassName: portico
  listeners:
    - name: https
      hostname: gw.example
      port: 8443
      protocol: HTTPS
      tls: {mode: Terminate, certificateRefs: [{name: gw-tls}]}
`,
    );
    const cert = await certificateReady(env, "gw-tls");
    assert.deepEqual(cert.spec.dnsNames, ["gw.example"]);
    assert.equal(cert.metadata.ownerReferences[0].kind, "Gateway");
    const ip: string = await gatewayAddress(env, NS, "gw");
    const seen = await waitFor(
      "Portico serving cert-manager's certificate on the Gateway",
      async () => {
        const p = await peer(ip, 8443, "gw.example", caFile);
        return p.verified && p;
      },
      20_000,
      200,
    );
    assert.equal(seen.issuer, "CN=Portico Test CA");
  });
});

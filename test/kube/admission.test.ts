// admission.test.ts: the tenant admission webhook on a real kube-apiserver. `portico controller
// --admission-listen 127.0.0.1:PORT --admission-ca-file FILE` (a child process, as Portico's
// ServiceAccount) makes its certificate and writes the CA; the webhook of deploy/admission.yaml is
// registered with the URL of that port and the CA as caBundle; then `kubectl apply` (admin) of an
// over-quota Service and of an Ingress on another tenant's hostname is refused with the message the
// controller writes on the condition, while compliant objects are created and deletes go through.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect } from "node:tls";
import type { ChildProcess } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { freePort, startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { apply, getJson, kubeSkip, lbService, spawnController, waitFor } from "./helper.ts";

const skip = kubeSkip();

/** refusal is kubectl's stderr when it fails, "" when it succeeds. */
async function refusal(env: KubeEnv, yaml: string, ...extra: string[]): Promise<string> {
  try {
    await env.kubectl(["apply", ...extra, "-f", "-"], { input: yaml });
    return "";
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
}

function ingress(ns: string, name: string, host: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: ${ns}}
spec:
  ingressClassName: portico
  rules:
    - host: ${host}
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}]}
`;
}

describe("the tenant admission webhook on a real API server", { skip }, () => {
  let env: KubeEnv;
  let ctl: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), "portico-admission-"));

  before(async () => {
    env = await startKube();
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ta}
---
apiVersion: v1
kind: Namespace
metadata: {name: tb}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: tenants}
spec: {addresses: ["127.192.0.0/30"]}
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: {name: a}
spec: {namespaces: [ta], domains: ["*.a.example.com"], quotas: {vips: 1}}
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: {name: b}
spec: {namespaces: [tb]}
`,
    );
  });

  after(async () => {
    if (ctl && ctl.exitCode === null) {
      const exited = new Promise((r) => ctl!.once("exit", r));
      ctl.kill("SIGTERM");
      await exited;
    }
    await env?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("over quota and a foreign hostname are refused with the documented message; compliant objects are created", async () => {
    const port = await freePort();
    const caFile = join(dir, "admission-ca.pem");
    ctl = spawnController(env, "admission", [
      `--admission-listen=127.0.0.1:${port}`,
      `--admission-ca-file=${caFile}`,
    ]);
    const ca = await waitFor("the CA file", () => existsSync(caFile) && readFileSync(caFile, "utf8"), 30_000);
    // The webhook answers TLS with a certificate the CA signed for 127.0.0.1.
    await waitFor(
      "the webhook's TLS port",
      () =>
        new Promise<boolean>((done) => {
          const s = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
            s.destroy();
            done(true);
          });
          s.once("error", () => done(false));
        }),
      30_000,
    );

    // deploy/admission.yaml's webhook, its Service reference replaced by the loopback URL.
    const shipped = parseAllDocuments(
      readFileSync(resolve(import.meta.dirname, "../../deploy/admission.yaml"), "utf8"),
    )
      .map((d) => d.toJSON() as { kind: string; webhooks?: { clientConfig: unknown }[] })
      .find((d) => d.kind === "ValidatingWebhookConfiguration")!;
    shipped.webhooks![0]!.clientConfig = {
      url: `https://127.0.0.1:${port}/validate`,
      caBundle: Buffer.from(ca).toString("base64"),
    };
    // Fail, so a webhook that does not answer cannot pass this test by being ignored.
    (shipped.webhooks![0] as Record<string, unknown>).failurePolicy = "Fail";
    await env.kubectl(["apply", "-f", "-"], { input: JSON.stringify(shipped) });

    // A compliant Service is created: the one VIP the quota allows.
    assert.equal(await refusal(env, lbService("ta", "first", 8201)), "");
    // The second: refused once the webhook's view holds the first (a dry run asks without writing).
    const second = lbService("ta", "second", 8202);
    const want =
      /admission webhook "tenants\.portico\.dev" denied the request: tenant a quota vips: 2 of 1 used \(this Service needs 1, older objects hold 1\) \(not served\)/;
    await waitFor(
      "the dry run refused",
      async () => want.test(await refusal(env, second, "--dry-run=server")),
      30_000,
    );
    const started = Date.now();
    const err = await refusal(env, second);
    const refusedMs = Date.now() - started;
    assert.match(err, want);
    assert.equal(await getJson(env, "service", "-n", "ta", "second"), undefined, "not created");

    // Another tenant's hostname.
    const steal = await refusal(env, ingress("tb", "steal", "pay.a.example.com"));
    assert.match(
      steal,
      /denied the request: hostname pay\.a\.example\.com belongs to tenant a \(spec\.domains \*\.a\.example\.com\); namespace tb is in tenant b \(not served\)/,
    );
    assert.equal(await getJson(env, "ingress", "-n", "tb", "steal"), undefined, "not created");

    // Compliant objects: each tenant's own names; a ClusterIP Service is not even sent.
    assert.equal(await refusal(env, ingress("ta", "mine", "www.a.example.com")), "");
    assert.equal(await refusal(env, ingress("tb", "theirs", "shop.example.org")), "");
    assert.equal(
      await refusal(
        env,
        lbService("tb", "internal", 8203).replace(
          /\s+type: LoadBalancer\n\s+loadBalancerClass: portico\.dev\/lb/,
          "",
        ),
      ),
      "",
    );
    // DELETE is never refused; afterwards the second Service fits the quota.
    await env.kubectl(["delete", "service", "-n", "ta", "first"]);
    await waitFor(
      "the second admitted once the first is gone",
      async () => (await refusal(env, second, "--dry-run=server")) === "",
      30_000,
    );
    assert.equal(await refusal(env, second), "");
    process.stderr.write(`admission: refused kubectl apply answered in ${refusedMs} ms\n`);
  });
});

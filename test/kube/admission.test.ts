// admission.test.ts: the tenant admission webhook on a real kube-apiserver. `portico controller
// --admission-listen 127.0.0.1:PORT --admission-ca-file FILE` (a child process, as Portico's
// ServiceAccount) makes its certificate and writes the CA; the webhook of deploy/admission.yaml is
// registered with the URL of that port and the CA as caBundle; then `kubectl apply` (admin) of an
// over-quota Service and of an Ingress on another tenant's hostname is refused with the message the
// controller writes on the condition, an Ingress keeping some hosts is created with kubectl
// printing the refused host as a warning, compliant objects are created and deletes go through;
// a standby replica answers from its own watch.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { request } from "node:https";
import { execFile, type ChildProcess } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { BIN_DIR, freePort, startKube, type KubeEnv } from "../../scripts/kube/env.ts";
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
  const ctls: ChildProcess[] = [];
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
    for (const ctl of ctls)
      if (ctl.exitCode === null) {
        const exited = new Promise((r) => ctl.once("exit", r));
        ctl.kill("SIGTERM");
        await exited;
      }
    await env?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** replica spawns `portico controller` with the webhook on a free loopback port and a generated certificate; resolves once it answers TLS. */
  async function replica(identity: string): Promise<{ port: number; ca: string }> {
    const port = await freePort();
    const caFile = join(dir, `${identity}-ca.pem`);
    ctls.push(
      spawnController(env, identity, [
        `--admission-listen=127.0.0.1:${port}`,
        `--admission-ca-file=${caFile}`,
      ]),
    );
    const ca = await waitFor("the CA file", () => existsSync(caFile) && readFileSync(caFile, "utf8"), 30_000);
    // It answers reviews (TLS with a certificate the CA signed for 127.0.0.1) once it has listed
    // the cluster; before that it answers 503, which failurePolicy Fail would turn into errors.
    await waitFor("the webhook answering", () => review({ port, ca }, {}, "DELETE").then(() => true), 30_000);
    return { port, ca };
  }

  /** applyWithWarnings applies yaml as admin and resolves with kubectl's stderr (its warnings). */
  function applyWithWarnings(yaml: string): Promise<string> {
    return new Promise((done, fail) => {
      const child = execFile(
        join(BIN_DIR, "kubectl"),
        [`--kubeconfig=${env.adminKubeconfig}`, "apply", "-f", "-"],
        (err, _out, stderr) => (err ? fail(new Error(`${err.message}: ${stderr}`)) : done(stderr)),
      );
      child.stdin?.end(yaml);
    });
  }

  /** register applies deploy/admission.yaml's webhook with its Service reference replaced by the replica's loopback URL and CA. */
  async function register(r: { port: number; ca: string }): Promise<void> {
    const shipped = parseAllDocuments(
      readFileSync(resolve(import.meta.dirname, "../../deploy/admission.yaml"), "utf8"),
    )
      .map((d) => d.toJSON() as { kind: string; webhooks?: Record<string, unknown>[] })
      .find((d) => d.kind === "ValidatingWebhookConfiguration")!;
    const hook = shipped.webhooks![0]!;
    hook.clientConfig = {
      url: `https://127.0.0.1:${r.port}/validate`,
      caBundle: Buffer.from(r.ca).toString("base64"),
    };
    // Fail, so a webhook that does not answer cannot pass this test by being ignored.
    hook.failurePolicy = "Fail";
    await env.kubectl(["apply", "-f", "-"], { input: JSON.stringify(shipped) });
  }

  /** review POSTs an AdmissionReview (operation on obj) to a replica's webhook, as the API server does; resolves with its response. */
  function review(
    r: { port: number; ca: string },
    obj: Record<string, unknown>,
    operation = "CREATE",
  ): Promise<Record<string, unknown>> {
    const body = JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: { uid: "standby-1", operation, namespace: "ta", object: obj },
    });
    return new Promise((done, fail) => {
      const req = request(
        { host: "127.0.0.1", port: r.port, path: "/validate", method: "POST", ca: r.ca },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () =>
            res.statusCode === 200
              ? done((JSON.parse(text) as { response: Record<string, unknown> }).response)
              : fail(new Error(`HTTP ${res.statusCode}: ${text}`)),
          );
        },
      );
      req.on("error", fail);
      req.end(body);
    });
  }

  test("over quota and a foreign hostname are refused with the documented message; compliant objects are created", async () => {
    const first = await replica("admission");
    await register(first);

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

    // An Ingress that keeps one of its hosts is created; kubectl prints the refused host's warning.
    const mixed = await applyWithWarnings(
      ingress("tb", "mixed", "shop2.example.org").replace(
        "      http:",
        `      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}]}
    - host: api.a.example.com
      http:`,
      ),
    );
    assert.match(
      mixed,
      /Warning: hostname api\.a\.example\.com belongs to tenant a \(spec\.domains \*\.a\.example\.com\); namespace tb is in tenant b \(its rules for this hostname are not served\)/,
    );
    assert.ok(await getJson(env, "ingress", "-n", "tb", "mixed"), "created");

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

    // A standby replica (the first holds the Lease) answers from its own watch: asked directly
    // (the API server's call could land on either replica), it refuses a third Service while the
    // second holds the quota. Its controller does not lead, so the answer can only come from there.
    const standby = await replica("admission-standby");
    const third = parseAllDocuments(lbService("ta", "third", 8204))[0]!.toJSON() as Record<string, unknown>;
    const answer = await waitFor(
      "the standby refusing the third Service",
      async () => {
        const r = await review(standby, third);
        return r.allowed === false && r;
      },
      30_000,
    );
    assert.deepEqual(answer, {
      uid: "standby-1",
      allowed: false,
      status: {
        code: 403,
        reason: "Forbidden",
        message: "tenant a quota vips: 2 of 1 used (this Service needs 1, older objects hold 1) (not served)",
      },
    });
    const lease = await getJson(env, "lease", "-n", "portico-system", "portico-controller");
    assert.equal(lease?.spec?.holderIdentity, "admission", "the first replica still leads");
  });
});

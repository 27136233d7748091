// cert-manager-http01.test.ts: cert-manager's HTTP-01 solver through Portico against Pebble (the
// Debian `pebble` package, with pebble-challtestsrv as the DNS that points every name at the
// Ingress VIP). cert-manager creates its solver Pod, Service and Ingress; there is no kubelet, so
// the test plays kubelet: it runs the Pod's own command (`cert-manager acmesolver` with the Pod's
// args) in a network namespace and writes the EndpointSlice for the solver Service (the API server
// refuses loopback endpoint addresses). Portico routes Pebble's and cert-manager's validation
// requests to it; the certificate Pebble issues is then served. Needs root for `ip netns`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { CM_BIN, certManagerMissing, installCertManager, spawnCertManager } from "./cert-manager-env.ts";
import {
  apply,
  getJson,
  kubeSkip,
  readySlice,
  startController,
  waitFor,
  type RunningController,
} from "./helper.ts";

const run = promisify(execFile);
const NS = "acme";
const id = process.pid % 10000;
const octet = 100 + ((process.pid + 7) % 150);
const netns = `portico-cm${id}`;
const hostIf = `pcmh${id}`;
const nsIf = `pcmn${id}`;
const solverIp = `10.245.${octet}.2`;
const vipBase = `127.${20 + (process.pid % 150)}.9`;

async function why(): Promise<string | false> {
  const kube = kubeSkip();
  if (kube) return kube;
  const cm = certManagerMissing();
  if (cm) return cm;
  for (const b of ["pebble", "pebble-challtestsrv"])
    if (
      await run("sh", ["-c", `command -v ${b}`]).then(
        () => false,
        () => true,
      )
    )
      return `${b} not installed (apt-get install pebble)`;
  if (process.getuid?.() !== 0) return "needs root for ip netns";
  return false;
}
const skip = await why();
if (skip) process.stderr.write(`\n*** SKIPPING cert-manager HTTP-01 test: ${skip} ***\n\n`);

describe("cert-manager HTTP-01 through Portico against Pebble", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;
  const procs: ChildProcess[] = [];
  let pebbleCa = "";
  let acmeUrl = "";
  let chMgmtPort = 0;

  before(async () => {
    env = await startKube();
    await installCertManager(env);
    await run("ip", ["netns", "add", netns]);
    await run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
    await run("ip", ["link", "set", nsIf, "netns", netns]);
    await run("ip", ["addr", "add", `10.245.${octet}.1/24`, "dev", hostIf]);
    await run("ip", ["link", "set", hostIf, "up"]);
    await run("ip", ["netns", "exec", netns, "ip", "addr", "add", `${solverIp}/24`, "dev", nsIf]);
    await run("ip", ["netns", "exec", netns, "ip", "link", "set", nsIf, "up"]);
    const logs = join(env.dir, "logs");
    const out = (name: string) => openSync(join(logs, `${name}.log`), "a");
    const [dnsPort, acmePort, mgmtPort, chMgmt] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    // Pebble's own HTTPS certificate (cert-manager is told to skip verifying it).
    const [pcrt, pkey] = [join(env.dir, "pebble.crt"), join(env.dir, "pebble.key")];
    await run("openssl", [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
      ...["-subj", "/CN=pebble", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", pkey, "-out", pcrt],
    ]);
    const cfg = join(env.dir, "pebble.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${mgmtPort}`,
          certificate: pcrt,
          privateKey: pkey,
          httpPort: 80,
          tlsPort: 443,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    procs.push(
      spawn(
        "pebble-challtestsrv",
        [
          ...["-defaultIPv4", `${vipBase}.1`, "-defaultIPv6", "", "-dns01", `127.0.0.1:${dnsPort}`],
          ...["-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${chMgmt}`],
        ],
        { stdio: ["ignore", out("challtestsrv"), out("challtestsrv")] },
      ),
      spawn("pebble", ["-config", cfg, "-dnsserver", `127.0.0.1:${dnsPort}`], {
        env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
        stdio: ["ignore", out("pebble"), out("pebble")],
      }),
    );
    acmeUrl = `https://127.0.0.1:${acmePort}/dir`;
    chMgmtPort = chMgmt;
    await waitFor(
      "pebble",
      async () => {
        const r = await run("curl", ["-sk", `https://127.0.0.1:${acmePort}/dir`]);
        return r.stdout.includes("newOrder");
      },
      20_000,
      200,
    );
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: pebble}
spec:
  acme:
    server: ${acmeUrl}
    skipTLSVerify: true
    privateKeySecretRef: {name: pebble-account}
    solvers: [{http01: {ingress: {ingressClassName: portico}}}]
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: acme-pool}
spec:
  addresses: ["${vipBase}.1-${vipBase}.2"]
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
    procs.push(
      spawnCertManager(env, [
        "--enable-gateway-api=true",
        `--acme-http01-solver-nameservers=127.0.0.1:${dnsPort}`,
      ]),
    );
    process.once("exit", () => procs.forEach((p) => p.kill("SIGKILL")));
    pebbleCa = (await run("curl", ["-sk", `https://127.0.0.1:${mgmtPort}/roots/0`])).stdout;
  });

  /**
   * solveAndServe plays kubelet for cert-manager's solver Pod of domain (its own args, in the
   * network namespace, plus the solver Service's EndpointSlice), checks that Portico at ip routes
   * the challenge to it, and waits for Certificate secret to be Ready and served with Pebble's chain.
   */
  async function solveAndServe(domain: string, ip: string, secret: string): Promise<void> {
    const solverSelector = "acme.cert-manager.io/http01-solver=true";
    // Play kubelet for the solver Pod: its own args, in the network namespace, plus its EndpointSlice.
    const pod = await waitFor(
      "the solver Pod",
      async () => {
        const list = await getJson(env, "pods", "-n", NS, "-l", solverSelector);
        return list?.items?.find((p: { spec: { containers: { args: string[] }[] } }) =>
          p.spec.containers[0]!.args.includes(`--domain=${domain}`),
        );
      },
      60_000,
      200,
    );
    const svc = await waitFor(
      "the solver Service",
      async () => {
        const token = pod.metadata.labels["acme.cert-manager.io/http-token"];
        const list = await getJson(
          env,
          "services",
          "-n",
          NS,
          "-l",
          `acme.cert-manager.io/http-token=${token}`,
        );
        return list?.items?.[0];
      },
      30_000,
      200,
    );
    const args: string[] = pod.spec.containers[0].args;
    assert.ok(args.some((a) => a === `--domain=${domain}`));
    // One solver at a time listens on the namespace's port 8089; it stops when its domain is done.
    const solver = spawn("ip", ["netns", "exec", netns, CM_BIN, "acmesolver", ...args], {
      stdio: ["ignore", openSync(join(env.dir, "logs", "acmesolver.log"), "a"), "ignore"],
    });
    procs.push(solver);
    await apply(
      env,
      readySlice(NS, svc.metadata.name, solverIp, 8089, {
        name: `${svc.metadata.name}-test`,
        portName: svc.spec.ports[0].name ?? "",
      }),
    );
    const token = /--token=(.*)/.exec(args.find((a) => a.startsWith("--token="))!)![1]!;
    const key = /--key=(.*)/.exec(args.find((a) => a.startsWith("--key="))!)![1]!;
    // Portico routes the exact challenge path to the solver.
    const answer = await waitFor(
      "Portico routing the challenge to the solver",
      async () => {
        const r = await run("curl", [
          ...["-sS", "--max-time", "5", "-H", `Host: ${domain}`],
          `http://${ip}/.well-known/acme-challenge/${token}`,
        ]);
        return r.stdout === key && r.stdout;
      },
      30_000,
      200,
    );
    assert.equal(answer, key);
    await waitFor(
      `Certificate ${secret} Ready`,
      async () => {
        const c = await getJson(env, "certificate", "-n", NS, secret);
        return c?.status?.conditions?.find((x: { type: string }) => x.type === "Ready")?.status === "True";
      },
      90_000,
      300,
    );
    const caFile = join(env.dir, "pebble-root.pem");
    writeFileSync(caFile, pebbleCa);
    await waitFor(
      "Portico serving Pebble's certificate",
      async () => {
        const c = run("openssl", [
          ...["s_client", "-connect", `${ip}:443`, "-servername", domain],
          ...["-verify_hostname", domain, "-CAfile", caFile],
        ]);
        c.child.stdin?.on("error", () => undefined);
        c.child.stdin?.end("");
        return /Verify return code: 0 \(ok\)/.test((await c).stdout);
      },
      20_000,
      300,
    );
    const exited = new Promise((r) => solver.once("exit", r));
    solver.kill("SIGTERM");
    await exited;
  }

  after(async () => {
    for (const p of procs.reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await exited;
    }
    await ctl?.stop();
    if (process.env.PORTICO_TEST_LOG === "1" && env)
      for (const f of ["cert-manager", "pebble"])
        process.stderr.write(readFileSync(join(env.dir, "logs", `${f}.log`), "utf8").slice(-6000));
    await env?.stop();
    await run("ip", ["link", "del", hostIf]).catch(() => undefined);
    await run("ip", ["netns", "del", netns]).catch(() => undefined);
  });

  test("an Ingress annotated with an ACME ClusterIssuer gets its certificate through cert-manager's solver Ingress", async () => {
    await apply(
      env,
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: site
  namespace: ${NS}
  annotations: {cert-manager.io/cluster-issuer: pebble}
spec:
  ingressClassName: portico
  tls: [{hosts: [acme-site.example], secretName: acme-site-tls}]
  rules:
    - host: acme-site.example
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`,
    );
    await solveAndServe("acme-site.example", `${vipBase}.1`, "acme-site-tls");
  });

  test("a Gateway listener gets its certificate through cert-manager's gatewayHTTPRoute solver (a temporary HTTPRoute)", async () => {
    // The Gateway's own address: challtestsrv answers every other name with the Ingress VIP.
    const gwIp = `${vipBase}.2`;
    await run("curl", [
      ...["-sS", "-X", "POST", `http://127.0.0.1:${chMgmtPort}/add-a`],
      ...["-d", JSON.stringify({ host: "gw-site.example.", addresses: [gwIp] })],
    ]);
    await apply(
      env,
      `apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: pebble-gw, namespace: ${NS}}
spec:
  acme:
    server: ${acmeUrl}
    skipTLSVerify: true
    privateKeySecretRef: {name: pebble-gw-account}
    solvers:
      - http01:
          gatewayHTTPRoute:
            parentRefs: [{name: gw, namespace: ${NS}, kind: Gateway, sectionName: http}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: ${NS}
  annotations: {cert-manager.io/issuer: pebble-gw}
spec:
  gatewayClassName: portico
  addresses: [{type: IPAddress, value: ${gwIp}}]
  listeners:
    - {name: http, port: 80, protocol: HTTP}
    - name: https
      port: 443
      protocol: HTTPS
      hostname: gw-site.example
      tls: {mode: Terminate, certificateRefs: [{name: gw-site-tls}]}
`,
    );
    // cert-manager's gateway-shim made the Certificate for the listener's hostname.
    const route = await waitFor(
      "cert-manager's solver HTTPRoute",
      async () => {
        const list = await getJson(env, "httproutes", "-n", NS);
        return list?.items?.find(
          (r: { metadata: { generateName?: string; labels?: Record<string, string> } }) =>
            r.metadata.labels?.["acme.cert-manager.io/http01-solver"] === "true",
        );
      },
      60_000,
      200,
    );
    assert.deepEqual(route.spec.hostnames, ["gw-site.example"]);
    await solveAndServe("gw-site.example", gwIp, "gw-site-tls");
  });
});

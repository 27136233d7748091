// helper.ts: what every Kubernetes test file shares — the skip-or-fail gate when the control plane
// binaries are missing, an in-process controller wired as `portico controller` wires it, polling
// with a deadline, and reading objects back as JSON.
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { resolve } from "node:path";
import { kubeBinariesMissing, type KubeEnv } from "../../scripts/kube/env.ts";
import { createEnginePort } from "../../src/controller/engine-port.ts";
import { KubeController, type KubeControllerOptions } from "../../src/controller/kube.ts";
import type { LeaseTiming } from "../../src/controller/kube-lease.ts";
import { createLogger, type Logger } from "../../src/controller/log.ts";
import { KubeClient } from "../../src/sources/kube/client.ts";

/**
 * kubeSkip is false when the tests can run, else the reason to skip. With PORTICO_REQUIRE_KUBE=1
 * (set by .ci/run) a missing control plane throws instead, so CI cannot pass by skipping.
 */
export function kubeSkip(): string | false {
  const missing = kubeBinariesMissing();
  if (!missing) return false;
  if (process.env.PORTICO_REQUIRE_KUBE === "1")
    throw new Error(`PORTICO_REQUIRE_KUBE=1 but the Kubernetes test binaries are ${missing}`);
  process.stderr.write(`\n*** SKIPPING Kubernetes tests: ${missing} ***\n\n`);
  return missing;
}

/** waitFor polls check until it returns a value (not undefined/false) or deadlineMs passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  deadlineMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${deadlineMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** accepts tells whether a TCP connection to host:port is accepted now (a backend is up). */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect(port, host, () => {
      s.destroy();
      ok(true);
    });
    s.on("error", () => ok(false));
  });
}

/** getJson reads one object (or list) with kubectl as admin; undefined when it does not exist. */
// Tests read kubectl output ad hoc; typing every object read back would only restate the API.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function getJson<T = Record<string, any>>(
  env: KubeEnv,
  ...args: string[]
): Promise<T | undefined> {
  try {
    return JSON.parse(await env.kubectl(["get", ...args, "-o", "json"])) as T;
  } catch (e) {
    if (/NotFound|not found/.test(String((e as { stderr?: string }).stderr ?? e))) return undefined;
    throw e;
  }
}

/** apply applies YAML as admin. */
export async function apply(env: KubeEnv, yaml: string): Promise<void> {
  await env.kubectl(["apply", "-f", "-"], { input: yaml });
}

/** eventsFor are the events.k8s.io Events (all namespaces) with reason about an object of kind. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function eventsFor(env: KubeEnv, reason: string, kind: string): Promise<Record<string, any>[]> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const list = await getJson<{ items?: Record<string, any>[] }>(env, "events.v1.events.k8s.io", "-A");
  return (list?.items ?? []).filter((e) => e.reason === reason && e.regarding?.kind === kind);
}

/** gatewayAddress waits until Gateway ns/name is Programmed with an address, and returns the first. */
export async function gatewayAddress(env: KubeEnv, ns: string, name: string): Promise<string> {
  return waitFor(
    `Gateway ${ns}/${name} programmed with an address`,
    async () => {
      const g = await getJson(env, "gateway", "-n", ns, name);
      const programmed = g?.status?.conditions?.find((c: { type: string }) => c.type === "Programmed");
      return programmed?.status === "True" && (g!.status.addresses?.[0]?.value as string);
    },
    20_000,
    200,
  );
}

/** ipOf is the first status.loadBalancer.ingress ip of a Service, or undefined. */
export async function ipOf(env: KubeEnv, ns: string, name: string): Promise<string | undefined> {
  const svc = await getJson(env, "service", "-n", ns, name);
  return svc?.status?.loadBalancer?.ingress?.[0]?.ip;
}

/** lbService renders a LoadBalancer Service of Portico's class (or cls) with one TCP port. */
export function lbService(
  ns: string,
  name: string,
  port: number,
  cls = "portico.dev/lb",
  extra = "",
): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  type: LoadBalancer
  loadBalancerClass: ${cls}
  ports:
    - port: ${port}
      targetPort: 8080
      protocol: TCP
${extra}---
`;
}

/**
 * readySlice renders an EndpointSlice for service with one ready IPv4 endpoint at ip:port, as a
 * test registers a backend the API server would otherwise learn from Pods (named NAME-1 unless
 * name is given; portName is the Service port's name).
 */
export function readySlice(
  ns: string,
  service: string,
  ip: string,
  port: number,
  o: { name?: string; portName?: string } = {},
): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${o.name ?? `${service}-1`}
  namespace: ${ns}
  labels:
    kubernetes.io/service-name: ${service}
    endpointslice.kubernetes.io/managed-by: test.portico.dev
addressType: IPv4
ports: [{name: "${o.portName ?? ""}", port: ${port}, protocol: TCP}]
endpoints:
  - addresses: ["${ip}"]
    conditions: {ready: true}
`;
}

/** spawnController runs `portico controller` as Portico's ServiceAccount in a child process with a
 * short lease (3 s) and its admin port on a free loopback port (two replicas on one host would
 * otherwise both want 9901), adding args and environment; PORTICO_TEST_LOG=1 shows its log. */
export function spawnController(
  env: KubeEnv,
  identity: string,
  args: string[] = [],
  vars: Record<string, string> = {},
): ChildProcess {
  return spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      resolve(import.meta.dirname, "../../src/cli/main.ts"),
      "controller",
      `--kubeconfig=${env.porticoKubeconfig}`,
      `--identity=${identity}`,
      "--lease-duration=3",
      "--renew-deadline=2",
      "--retry-period=0.3",
      "--admin=127.0.0.1:0",
      ...args,
    ],
    {
      // Not in a pod, whatever runs the tests: no engine port unless a test asks for one.
      env: { ...process.env, KUBERNETES_SERVICE_HOST: "", ...vars },
      stdio: ["ignore", "ignore", process.env.PORTICO_TEST_LOG === "1" ? "inherit" : "ignore"],
    },
  );
}

/** quietLog keeps test output readable; PORTICO_TEST_LOG=1 shows the controller's lines. */
export function testLog(): Logger {
  return process.env.PORTICO_TEST_LOG === "1" ? createLogger(process.stderr, "debug") : () => undefined;
}

/** RunningController is an in-process controller with its engine and client. */
export interface RunningController {
  controller: KubeController;
  client: KubeClient;
  stop(release?: boolean): Promise<void>;
}

/** startController runs a KubeController as Portico's ServiceAccount, with an in-process engine. */
export async function startController(
  env: KubeEnv,
  opts: {
    identity?: string;
    lease?: LeaseTiming;
    namespaces?: string[];
    log?: Logger;
    engines?: KubeControllerOptions["engines"];
  } = {},
): Promise<RunningController> {
  const log = opts.log ?? testLog();
  const client = await KubeClient.fromFile(env.porticoKubeconfig);
  const engine = await createEnginePort(log);
  const controller = new KubeController({
    client,
    namespaces: opts.namespaces ?? [],
    identity: opts.identity ?? "test-controller",
    ...(opts.lease
      ? { lease: { namespace: "portico-system", name: "portico-controller", timing: opts.lease } }
      : {}),
    engine,
    translate: { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 },
    log,
    holdOffMs: 20,
    maxDelayMs: 200,
    ...(opts.engines ? { engines: opts.engines } : {}),
  });
  controller.start();
  return {
    controller,
    client,
    async stop(release = true) {
      await controller.stop(release);
      await engine.close();
      client.close();
    },
  };
}

// node-agent.test.ts: the test node agent (test/node) with kube-controller-manager on a real
// kube-apiserver. A Deployment of 2 replicas of a real HTTP server (a Node script run by the repo's
// node, standing in for the image "portico.test/hello") becomes two Ready Pods, each in its own
// network namespace with its own pod IP; the server answers with what the Downward API, a
// ConfigMap key and a ConfigMap volume gave it. kube-controller-manager's EndpointSlice for the
// Service lists both. Scaling to 1 and deleting the Deployment remove the Pods' processes,
// namespaces, veths and mount points. An image missing from the map is reported in Pod status.
// Needs root for `ip netns`; skips loudly without it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { kcmMissing, startControllerManager, type ControllerManager } from "../../scripts/kube/kcm.ts";
import { startNodeAgent, type NodeAgent } from "../node/agent.ts";
import { apply, getJson, kubeSkip, waitFor } from "./helper.ts";

const run = promisify(execFile);
const NS = "node-agent";
const IMAGE = "portico.test/hello:1";
const SHELL = "portico.test/shell";
// A host path no other test uses: the agent creates it for the volume mount and must remove it.
const mountRoot = `/tmp/portico-node-test-${process.pid}`;

async function why(): Promise<string | false> {
  const kube = kubeSkip();
  if (kube) return kube;
  const kcm = kcmMissing();
  if (kcm) {
    if (process.env.PORTICO_REQUIRE_KUBE === "1") throw new Error(`PORTICO_REQUIRE_KUBE=1 but ${kcm}`);
    return kcm;
  }
  if (process.getuid?.() !== 0) return "the node agent needs root for ip netns";
  return false;
}
const skip = await why();
if (skip) process.stderr.write(`\n*** SKIPPING node agent test: ${skip} ***\n\n`);

// The server the image stands for: answers / with its identity, /healthz once it can read its
// mounted file (so readiness depends on the volume).
const SERVER = `
const fs = require("node:fs");
const file = process.env.CONF_DIR + "/greeting.txt";
require("node:http").createServer((q, s) => {
  if (q.url === "/healthz") return s.end(fs.existsSync(file) ? "ok" : (s.statusCode = 503, "no file"));
  s.end([process.env.POD_NAME, process.env.NAMESPACE, process.env.POD_IP, process.env.GREETING, fs.readFileSync(file, "utf8")].join(" "));
}).listen(Number(process.env.PORT), process.env.POD_IP);
`;

const deployment = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: ${NS}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: hello
          image: ${IMAGE}
          ports: [{name: http, containerPort: 8080}]
          env:
            - {name: PORT, value: "8080"}
            - {name: CONF_DIR, value: "${mountRoot}/conf"}
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
            - {name: NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
            - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
            - {name: GREETING, valueFrom: {configMapKeyRef: {name: hello, key: greeting}}}
          readinessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 1
          volumeMounts: [{name: conf, mountPath: ${mountRoot}/conf, readOnly: true}]
      volumes:
        - name: conf
          configMap: {name: hello, items: [{key: file, path: greeting.txt}]}
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

async function pods(env: KubeEnv): Promise<Obj[]> {
  return (await getJson<{ items: Obj[] }>(env, "pods", "-n", NS, "-l", "app=hello"))?.items ?? [];
}

const isReady = (p: Obj) => p.status?.conditions?.some((c: Obj) => c.type === "Ready" && c.status === "True");

async function netnsList(): Promise<string[]> {
  return (await run("ip", ["netns", "list"])).stdout.split("\n").map((l) => l.split(" ")[0] ?? "");
}

async function links(): Promise<string[]> {
  return (JSON.parse((await run("ip", ["-j", "link", "show"])).stdout) as { ifname: string }[]).map(
    (l) => l.ifname,
  );
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the test node agent runs a Deployment's Pods as local processes", { skip }, () => {
  let env: KubeEnv;
  let kcm: ControllerManager;
  let agent: NodeAgent;
  let stopped = false;

  before(async () => {
    env = await startKube();
    kcm = await startControllerManager(env);
    const script = join(env.dir, "hello-server.cjs");
    writeFileSync(script, SERVER);
    const map = join(env.dir, "images.json");
    writeFileSync(
      map,
      JSON.stringify({
        [IMAGE]: { entrypoint: [process.execPath, script] },
        [SHELL]: { entrypoint: ["/bin/sh"] },
      }),
    );
    agent = await startNodeAgent({
      kubeconfig: env.adminKubeconfig,
      images: map,
      nodeName: "node-a",
      ...(process.env.PORTICO_TEST_LOG === "1"
        ? { log: (m: string) => process.stderr.write(`agent: ${m}\n`) }
        : {}),
    });
  });

  after(async () => {
    if (!stopped) await agent?.stop();
    await kcm?.stop();
    await env?.stop();
  });

  test("the Node is Ready with the bridge address as its InternalIP and no taint", async () => {
    const node = await getJson(env, "node", "node-a");
    assert.equal(node?.status.conditions.find((c: Obj) => c.type === "Ready")?.status, "True");
    assert.deepEqual(
      node?.status.addresses.find((a: Obj) => a.type === "InternalIP"),
      { type: "InternalIP", address: agent.hostIp },
    );
    assert.equal(node?.spec.taints, undefined);
  });

  test("2 replicas become Ready with distinct pod IPs, listed ready in the Service's EndpointSlice, each answering with its own name", async () => {
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: hello, namespace: ${NS}}
data: {greeting: hi, file: from-volume}
---
apiVersion: v1
kind: Service
metadata: {name: hello, namespace: ${NS}}
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: http}]
---
${deployment(2)}`,
    );
    const ready = await waitFor(
      "2 Ready Pods",
      async () => {
        const ps = await pods(env);
        return ps.length === 2 && ps.every(isReady) && ps;
      },
      60_000,
      200,
    );
    const ips = ready.map((p) => p.status.podIP as string);
    assert.notEqual(ips[0], ips[1]);
    const prefix = agent.podCidr.replace(/\.0\.0\/16$/, ".");
    for (const p of ready) {
      assert.ok(p.status.podIP.startsWith(prefix), `${p.status.podIP} in ${agent.podCidr}`);
      assert.equal(p.spec.nodeName, "node-a");
      assert.equal(p.status.phase, "Running");
      assert.equal(p.status.hostIP, agent.hostIp);
      const cs = p.status.containerStatuses[0];
      assert.deepEqual([cs.ready, cs.started, cs.restartCount], [true, true, 0]);
      for (const t of ["PodScheduled", "Initialized", "ContainersReady", "Ready"])
        assert.equal(p.status.conditions.find((c: Obj) => c.type === t)?.status, "True", t);
    }
    const endpoints = await waitFor(
      "EndpointSlice with both pod IPs ready",
      async () => {
        const slices = await getJson<{ items: Obj[] }>(
          env,
          "endpointslices",
          "-n",
          NS,
          "-l",
          "kubernetes.io/service-name=hello",
        );
        const eps = (slices?.items ?? []).flatMap((s) => s.endpoints ?? []);
        const readyIps = eps.filter((e: Obj) => e.conditions?.ready).flatMap((e: Obj) => e.addresses);
        return readyIps.length === 2 && readyIps.sort();
      },
      30_000,
      200,
    );
    assert.deepEqual(endpoints, [...ips].sort());
    for (const p of ready) {
      const body = await (await fetch(`http://${p.status.podIP}:8080/`)).text();
      assert.equal(body, `${p.metadata.name} ${NS} ${p.status.podIP} hi from-volume`);
    }
    // The volume was bound inside each Pod's mount namespace only: the host's directory is empty.
    assert.ok(!existsSync(`${mountRoot}/conf/greeting.txt`));
  });

  test("scaling to 1 removes one Pod, its process and its network namespace; the other keeps serving", async () => {
    const before = await pods(env);
    const spaces = new Map(
      before.map((p) => [p.metadata.name as string, agent.netnsOf(NS, p.metadata.name)!]),
    );
    const pidsBefore = agent.pids();
    assert.equal(pidsBefore.length, 2);
    await apply(env, deployment(1));
    const left = await waitFor(
      "one Pod left",
      async () => {
        const ps = await pods(env);
        return ps.length === 1 && ps;
      },
      30_000,
      200,
    );
    const gone = before.find((p) => p.metadata.name !== left[0]!.metadata.name)!;
    await waitFor(
      "the removed Pod's namespace gone",
      async () => !(await netnsList()).includes(spaces.get(gone.metadata.name)!),
      10_000,
    );
    assert.ok((await netnsList()).includes(spaces.get(left[0]!.metadata.name)!));
    await waitFor(
      "one container process left",
      () => agent.pids().length === 1 && pidsBefore.filter(alive).length === 1,
    );
    const body = await (await fetch(`http://${left[0]!.status.podIP}:8080/`)).text();
    assert.match(body, new RegExp(`^${left[0]!.metadata.name} `));
  });

  test("an image missing from the map is reported as the container's Waiting reason", async () => {
    await apply(
      env,
      `apiVersion: v1
kind: Pod
metadata: {name: unknown-image, namespace: ${NS}}
spec:
  containers: [{name: c, image: example.invalid/nothing:1}]
`,
    );
    const waiting = await waitFor(
      "ImageNotMapped",
      async () =>
        (await getJson(env, "pod", "-n", NS, "unknown-image"))?.status?.containerStatuses?.[0]?.state
          ?.waiting,
      20_000,
      200,
    );
    assert.equal(waiting.reason, "ImageNotMapped");
    assert.match(waiting.message, /example\.invalid\/nothing:1.*image map/);
    await env.kubectl(["delete", "pod", "-n", NS, "unknown-image", "--wait=true", "--timeout=20s"]);
  });

  test("restartPolicy, init containers, an exec probe, Secret env and volumes", async () => {
    const shellPod = (name: string, policy: string, script: string, extra = "") => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${NS}}
spec:
  restartPolicy: ${policy}
  terminationGracePeriodSeconds: 2
  containers:
    - name: main
      image: ${SHELL}:latest
      command: ["/bin/sh", "-c", ${JSON.stringify(script)}]
${extra}---
`;
    await apply(
      env,
      `apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: ${NS}}
stringData: {token: s3cret}
---
${shellPod("crash", "Always", "exit 3")}${shellPod("fails", "Never", "exit 2")}${shellPod(
        "probed",
        "Always",
        "exec sleep 600",
        `      readinessProbe: {exec: {command: ["/bin/sh", "-c", "test $PROBE_OK = yes"]}, periodSeconds: 1}
      env: [{name: PROBE_OK, value: "yes"}]
`,
      )}${shellPod(
        "once",
        "Never",
        `test "$(cat ${mountRoot}/work/f)" = from-init && test "$TOKEN" = s3cret && test "$(cat ${mountRoot}/sec/token)" = s3cret`,
        `      env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}]
      volumeMounts:
        - {name: work, mountPath: ${mountRoot}/work}
        - {name: sec, mountPath: ${mountRoot}/sec}
  initContainers:
    - name: init
      image: ${SHELL}
      command: ["/bin/sh", "-c", "echo -n from-init > ${mountRoot}/work/f"]
      volumeMounts: [{name: work, mountPath: ${mountRoot}/work}]
  volumes:
    - {name: work, emptyDir: {}}
    - {name: sec, secret: {secretName: creds}}
`,
      )}`,
    );
    try {
      const pod = (name: string) => getJson(env, "pod", "-n", NS, name);
      const crash = await waitFor(
        "crash restarted",
        async () => {
          const cs = (await pod("crash"))?.status?.containerStatuses?.[0];
          return cs?.restartCount >= 1 && cs.lastState?.terminated && cs;
        },
        30_000,
        200,
      );
      assert.equal(crash.lastState.terminated.exitCode, 3);
      // Between runs it backs off; restarted, it runs again (ready: it has no probe).
      assert.ok(
        crash.state.waiting?.reason === "CrashLoopBackOff" || crash.state.running,
        JSON.stringify(crash.state),
      );
      const fails = await waitFor(
        "fails Failed",
        async () => (await pod("fails"))?.status?.phase === "Failed" && pod("fails"),
        20_000,
        200,
      );
      assert.equal(fails?.status.containerStatuses[0].state.terminated.exitCode, 2);
      assert.equal(fails?.status.containerStatuses[0].restartCount, 0);
      const once = await waitFor(
        "once Succeeded (its checks of the init container's file, the Secret env and volume passed)",
        async () => {
          const p = await pod("once");
          if (p?.status?.phase === "Failed") throw new Error(`once failed: ${JSON.stringify(p.status)}`);
          return p?.status?.phase === "Succeeded" && p;
        },
        30_000,
        200,
      );
      assert.equal(once.status.initContainerStatuses[0].state.terminated.exitCode, 0);
      assert.equal(once.status.conditions.find((c: Obj) => c.type === "Initialized")?.status, "True");
      await waitFor("probed Ready", async () => isReady((await pod("probed")) ?? {}), 20_000, 200);
    } finally {
      await env.kubectl([
        "delete",
        "pod",
        "-n",
        NS,
        "crash",
        "fails",
        "once",
        "probed",
        "--wait=true",
        "--timeout=30s",
      ]);
    }
  });

  test("deleting the Deployment leaves no process, namespace, veth or mount point behind", async () => {
    const pids = agent.pids();
    assert.equal(pids.length, 1);
    await env.kubectl(["delete", "deployment", "-n", NS, "hello"]);
    await waitFor("no Pods", async () => (await pods(env)).length === 0, 30_000, 200);
    await waitFor("no container process", () => agent.pids().length === 0 && !pids.some(alive));
    const tag = `pnode-${process.pid.toString(36)}_`;
    await waitFor("no pod namespace", async () => !(await netnsList()).some((n) => n.startsWith(tag)));
    const veth = `pn${process.pid.toString(36)}_`;
    await waitFor("no pod veth", async () => !(await links()).some((l) => l.startsWith(veth)));
    assert.ok(!existsSync(mountRoot), `${mountRoot} removed`);
  });

  test("stop removes the bridge and the Node", async () => {
    stopped = true;
    await agent.stop();
    assert.ok(!(await links()).some((l) => l.startsWith(`pnbr-${process.pid.toString(36)}_`)));
    assert.equal(await getJson(env, "node", "node-a"), undefined);
  });
});

// traffic.test.ts: end to end through a real API server — a LoadBalancer Service and an Ingress
// whose backend is registered by EndpointSlice and runs in a network namespace (the API server
// refuses loopback endpoint addresses), reached by curl on the VIP the controller assigned on
// loopback. Needs root for `ip netns`; skips loudly without it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import {
  accepts,
  apply,
  getJson,
  ipOf,
  kubeSkip,
  lbService,
  readySlice,
  startController,
  waitFor,
  type RunningController,
} from "./helper.ts";

const run = promisify(execFile);
const NS = "traffic";
// Names and a /24 unique to this process, so parallel runs cannot collide.
const id = process.pid % 10000;
const octet = 100 + (process.pid % 150);
const netns = `portico-t${id}`;
const hostIf = `pth${id}`;
const nsIf = `ptn${id}`;
const backendIp = `10.244.${octet}.2`;

async function netnsSkip(): Promise<string | false> {
  if (process.getuid?.() !== 0) return "traffic test needs root for ip netns";
  try {
    await run("ip", ["netns", "list"]);
    return false;
  } catch (e) {
    return `ip netns unavailable: ${String(e)}`;
  }
}

const kube = kubeSkip();
const net = kube ? false : await netnsSkip();
if (net) process.stderr.write(`\n*** SKIPPING traffic test: ${net} ***\n\n`);
const skip = kube || net;

describe("traffic through a VIP to a backend registered by EndpointSlice", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;
  let backend: ChildProcess | undefined;

  before(async () => {
    await run("ip", ["netns", "add", netns]);
    await run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
    await run("ip", ["link", "set", nsIf, "netns", netns]);
    await run("ip", ["addr", "add", `10.244.${octet}.1/24`, "dev", hostIf]);
    await run("ip", ["link", "set", hostIf, "up"]);
    await run("ip", ["netns", "exec", netns, "ip", "addr", "add", `${backendIp}/24`, "dev", nsIf]);
    await run("ip", ["netns", "exec", netns, "ip", "link", "set", nsIf, "up"]);
    await run("ip", ["netns", "exec", netns, "ip", "link", "set", "lo", "up"]);
    const server = `require("node:http").createServer((q, r) => r.end("hello from " + q.socket.localAddress + " path " + q.url)).listen(8080, "${backendIp}", () => console.log("up"))`;
    backend = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", server], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await waitFor("backend in the namespace", () => accepts(backendIp, 8080));
    env = await startKube();
    ctl = await startController(env);
  });

  after(async () => {
    await ctl?.stop();
    await env?.stop();
    backend?.kill("SIGKILL");
    await run("ip", ["link", "del", hostIf]).catch(() => undefined);
    await run("ip", ["netns", "del", netns]).catch(() => undefined);
  });

  test("curl to the Service's VIP reaches the backend in the network namespace", async () => {
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: traffic-pool}
spec:
  addresses: ["127.33.0.1-127.33.0.3"]
---
${lbService(NS, "web", 18090)}${readySlice(NS, "web", backendIp, 8080)}`,
    );
    const vip = await waitFor("VIP of web", () => ipOf(env, NS, "web"));
    assert.equal(vip, "127.33.0.1");
    const { stdout } = await run("curl", ["-sS", "--max-time", "5", `http://${vip}:18090/svc`]);
    assert.equal(stdout, `hello from ${backendIp} path /svc`);
  });

  test("an Ingress of Portico's class gets the shared VIP in status and routes to the backend", async () => {
    await apply(
      env,
      `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: portico}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site, namespace: ${NS}}
spec:
  ingressClassName: portico
  rules:
    - host: site.example
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 18090}}}}
`,
    );
    const ip = await waitFor(
      "Ingress status",
      async () => (await getJson(env, "ingress", "-n", NS, "site"))?.status?.loadBalancer?.ingress?.[0]?.ip,
    );
    assert.equal(ip, "127.33.0.2");
    const { stdout } = await run("curl", [
      "-sS",
      "--max-time",
      "5",
      "-H",
      "Host: site.example",
      `http://${ip}:80/page`,
    ]);
    assert.equal(stdout, `hello from ${backendIp} path /page`);
  });

  test("a Gateway gets a VIP in status.addresses, its HTTPRoute routes to the backend, other controllers' entries stay", async () => {
    await apply(
      env,
      `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${NS}}
spec:
  gatewayClassName: portico
  listeners: [{name: http, port: 8081, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: ${NS}}
spec:
  parentRefs: [{name: gw}]
  hostnames: [gw.example]
  rules: [{backendRefs: [{name: web, port: 18090}]}]
`,
    );
    const gw = await waitFor("Gateway programmed with an address", async () => {
      const g = await getJson(env, "gateway", "-n", NS, "gw");
      const programmed = g?.status?.conditions?.find((c: { type: string }) => c.type === "Programmed");
      return programmed?.status === "True" && g!.status.addresses?.length > 0 && g;
    });
    assert.deepEqual(gw.status.addresses, [{ type: "IPAddress", value: "127.33.0.3" }]);
    assert.equal(gw.status.listeners[0].attachedRoutes, 1);
    const { stdout } = await run("curl", [
      "-sS",
      "--max-time",
      "5",
      "-H",
      "Host: gw.example",
      "http://127.33.0.3:8081/gw",
    ]);
    assert.equal(stdout, `hello from ${backendIp} path /gw`);
    // Another controller's entry in the route's status.parents must survive Portico's writes.
    const foreign = {
      parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "theirs" },
      controllerName: "example.com/other-controller",
      conditions: [
        {
          type: "Accepted",
          status: "False",
          reason: "NotAllowedByListeners",
          message: "",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
    };
    const route = await getJson(env, "httproute", "-n", NS, "route");
    await env.kubectl(["replace", "--subresource=status", "-f", "-"], {
      // Only the foreign entry: Portico must put its own back without dropping the other.
      input: JSON.stringify({ ...route, status: { parents: [foreign] } }),
    });
    const parents = await waitFor("both parents entries", async () => {
      const p = (await getJson(env, "httproute", "-n", NS, "route"))?.status?.parents as
        { controllerName: string; conditions: { type: string; status: string }[] }[] | undefined;
      return p?.length === 2 && p;
    });
    const ours = parents.find((p) => p.controllerName === "portico.dev/gateway-controller")!;
    assert.equal(ours.conditions.find((c) => c.type === "Accepted")!.status, "True");
    assert.ok(parents.some((p) => p.controllerName === "example.com/other-controller"));
  });
});

// held-out-services.test.ts: `portico run` against manifests a reviewer wrote by hand — wrongly typed
// fields, ports the API server would refuse, a Service that stops being a LoadBalancer — checking
// that one bad object never freezes the configuration for everyone else. VIPs on 127.0.41.240/29.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { tempDir, writeManifest, startPortico, waitFor, removeDir, type Portico } from "./harness.ts";
import { httpBackend, pool, type HttpBackend } from "./fixtures.ts";

let dir: string, state: string;
let web: HttpBackend;
let p: Portico;

/** lbService is a LoadBalancer Service asking for `ip`, port 31090 → the web backend. */
function lbService(name: string, ip: string, extraSpec = "", port: number | string = 31090): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  type: LoadBalancer
  loadBalancerIP: ${ip}
  ports: [{ name: http, port: ${port}, targetPort: ${web.port} }]
${extraSpec}---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${web.port}, protocol: TCP }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
`;
}

async function get(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return `${res.status} ${await res.text()}`;
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  web = await httpBackend("web");
  writeManifest(dir, "pool.yaml", pool("held-out", ["127.0.41.240/29"]));
  writeManifest(dir, "a.yaml", lbService("a", "127.0.41.241"));
  p = await startPortico([dir], ["--state-dir", state]);
});

after(async () => {
  await p?.stop();
  web?.close();
  removeDir(dir);
  removeDir(state);
});

test("a bad port, a numeric Ingress host or a bad endpoint never blocks the next change", async () => {
  assert.match(await get("http://127.0.41.241:31090/a"), /^200 web GET \/a/);
  // Each of these once made the whole update fail (snapshot refused, or the translator threw).
  writeManifest(dir, "bad-port.yaml", lbService("bad-port", "127.0.41.242", "", '"eighty"'));
  writeManifest(
    dir,
    "bad-ingress.yaml",
    `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico, annotations: { ingressclass.kubernetes.io/is-default-class: "true" } }
spec: { controller: portico.dev/ingress-controller }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: numeric-host, namespace: default }
spec:
  rules:
    - host: 5
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: a, port: { number: 31090 } } } }] }
`,
  );
  writeManifest(
    dir,
    "bad-endpoint.yaml",
    lbService("bad-endpoint", "127.0.41.243").replace("[127.0.0.1]", "[localhost]"),
  );
  // The change after them is served: a new Service on its own VIP.
  writeManifest(dir, "b.yaml", lbService("b", "127.0.41.244"));
  await waitFor("Service b served", async () => /^200 web/.test(await get("http://127.0.41.244:31090/b")));
  const status = await p.status();
  const of = (name: string) => status.find((s) => s.kind === "Service" && s.name === name)?.status;
  const badPort = of("bad-port")?.conditions?.find((c) => c.type === "portico.dev/Accepted");
  assert.equal(badPort?.status, "False");
  assert.match(badPort?.message ?? "", /port "eighty" is not a number from 1 to 65535/);
  const ing = status.find((s) => s.kind === "Ingress" && s.name === "numeric-host")?.status;
  assert.equal(ing?.conditions?.find((c) => c.type === "portico.dev/Accepted")?.reason, "InvalidHost");
  const errors = (await (await fetch(`${p.adminUrl}/api/v1/errors`)).json()) as { rejected?: unknown };
  assert.equal(errors.rejected, undefined, "no snapshot was refused");
  assert.ok(!p.logs.some((l) => l.includes("update failed")), "no update threw");
});

test("a pending Service gets the address a Service leaving LoadBalancer frees", async () => {
  writeManifest(dir, "c.yaml", lbService("c", "127.0.41.241").replace("port: 31090", "port: 31091"));
  await waitFor("c pending, naming a", async () => {
    const c = (await p.status()).find((s) => s.kind === "Service" && s.name === "c")?.status;
    const cond = c?.conditions?.find((x) => x.type === "portico.dev/VIPAllocated");
    return cond?.reason === "RequestedIPTaken" && /held by Service\/default\/a/.test(cond.message ?? "");
  });
  writeManifest(
    dir,
    "a.yaml",
    lbService("a", "127.0.41.241").replace("type: LoadBalancer", "type: ClusterIP"),
  );
  await waitFor("c served on a's old address", async () =>
    /^200 web/.test(await get("http://127.0.41.241:31091/c")),
  );
  // A fresh connection (fetch would reuse a kept-alive one, which rightly lives on).
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect({ host: "127.0.41.241", port: 31090 }, () => (s.destroy(), resolve(false)));
    s.on("error", () => resolve(true));
  });
  assert.ok(refused, "a no longer listens on its old address");
});

// translate-scale.ts: time and heap of the control-plane pipeline (buildSnapshot: translate →
// IPAM → snapshot) on generated clusters of 500 … 5,000 LoadBalancer Services plus as many
// Ingresses, each Service with an EndpointSlice of 3 pods. Issue 6: well under a second at 5,000.
//   sh scripts/node.sh bench/translate-scale.ts [--sizes=500,1000,2000,5000] [--update-docs]
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildSnapshot } from "../src/controller/pipeline.ts";
import { buildResourceSet, type ResourceSet } from "../src/k8s/resource-set.ts";
import type { AnyObject } from "../src/k8s/types.ts";
import { updateDocs } from "./docs.ts";
import { median } from "./summary.ts";

// Heap figures need a collection before each reading; re-run with --expose-gc if it is missing.
if (typeof globalThis.gc !== "function") {
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", ...process.execArgv, import.meta.filename, ...process.argv.slice(2)],
    {
      stdio: "inherit",
    },
  );
  process.exit(r.status ?? 1);
}
const gc = globalThis.gc as () => void;

const NAMESPACES = 50;
const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };

/** clusterObjects generates n Services (LoadBalancer, Portico's class), n EndpointSlices, n Ingresses. */
export function clusterObjects(n: number): AnyObject[] {
  const out: AnyObject[] = [
    // 198.18.0.0/15 is the benchmarking range (RFC 2544); these addresses only appear in the IR.
    {
      apiVersion: "portico.dev/v1alpha1",
      kind: "VipPool",
      metadata: { name: "bench" },
      spec: { addresses: ["198.18.0.0/15"] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: "portico", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: { controller: "portico.dev/ingress-controller" },
    },
  ];
  for (let k = 0; k < NAMESPACES; k++)
    out.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: `ns-${k}` } });
  for (let i = 0; i < n; i++) {
    const namespace = `ns-${i % NAMESPACES}`;
    const name = `svc-${i}`;
    const ts = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString().replace(".000", "");
    out.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, creationTimestamp: ts },
      spec: {
        type: "LoadBalancer",
        loadBalancerClass: "portico.dev/lb",
        ports: [{ name: "http", port: 80, protocol: "TCP" }],
      },
    });
    out.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${name}-abc`, namespace, labels: { "kubernetes.io/service-name": name } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: [0, 1, 2].map((p) => ({
        addresses: [`10.${(i >> 8) & 255}.${i & 255}.${p + 1}`],
        conditions: { ready: true },
      })),
    });
    out.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: `ing-${i}`, namespace, creationTimestamp: ts },
      spec: {
        ingressClassName: "portico",
        rules: [
          {
            host: `app-${i}.example.com`,
            http: {
              paths: [
                { pathType: "Prefix", path: "/", backend: { service: { name, port: { number: 80 } } } },
                { pathType: "Exact", path: "/healthz", backend: { service: { name, port: { number: 80 } } } },
              ],
            },
          },
        ],
      },
    });
  }
  return out;
}

/** Row is one size's measurements. */
interface Row {
  services: number;
  objects: number;
  setMs: number;
  firstMs: number;
  steadyMs: number;
  heapMiB: number;
  listeners: number;
  routes: number;
}

/** measure builds the set, runs the pipeline cold and then 3 times with the previous allocations. */
function measure(n: number): Row {
  const objects = clusterObjects(n);
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  let t = performance.now();
  const set: ResourceSet = buildResourceSet(objects, new Map(), []);
  const setMs = performance.now() - t;
  t = performance.now();
  const first = buildSnapshot(set, opts, {}, 1);
  const firstMs = performance.now() - t;
  const steady: number[] = [];
  let last = first;
  for (let v = 2; v <= 4; v++) {
    t = performance.now();
    last = buildSnapshot(set, opts, first.allocations.state, v);
    steady.push(performance.now() - t);
  }
  gc();
  // Heap held by the set plus one snapshot with its statuses, what a controller keeps.
  const heapMiB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  const routes = last.snapshot.http.reduce(
    (a, l) => a + l.virtualHosts.reduce((b, vh) => b + vh.routes.length, 0),
    0,
  );
  return {
    services: n,
    objects: objects.length,
    setMs,
    firstMs,
    steadyMs: median(steady),
    heapMiB,
    listeners: last.snapshot.l4.length + last.snapshot.http.length,
    routes,
  };
}

/** renderScale is the markdown table of the rows. */
function renderScale(rows: Row[]): string {
  const lines = [
    "## Control plane: pipeline time and heap by cluster size",
    "",
    "`sh scripts/node.sh bench/translate-scale.ts` — n LoadBalancer Services (3 endpoints each) and n Ingresses (2 paths each) across 50 namespaces; buildSnapshot = translate + IPAM + snapshot; steady = median of 3 rebuilds with the previous allocations.",
    "",
    "| Services + Ingresses | objects | buildResourceSet ms | buildSnapshot first ms | buildSnapshot steady ms | heap MiB (set + snapshot) | listeners | routes |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows)
    lines.push(
      `| ${r.services} + ${r.services} | ${r.objects} | ${r.setMs.toFixed(1)} | ${r.firstMs.toFixed(1)} | ${r.steadyMs.toFixed(1)} | ${r.heapMiB.toFixed(1)} | ${r.listeners} | ${r.routes} |`,
    );
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const { values: v } = parseArgs({
    options: {
      sizes: { type: "string", default: "500,1000,2000,5000" },
      "update-docs": { type: "boolean", default: false },
    },
  });
  const sizes = v.sizes.split(",").map(Number);
  measure(Math.min(...sizes)); // warm-up: JIT the passes before the timed runs
  const rows: Row[] = [];
  for (const n of sizes) {
    const r = measure(n);
    rows.push(r);
    console.log(
      `${n} services + ${n} ingresses: set ${r.setMs.toFixed(1)} ms, pipeline first ${r.firstMs.toFixed(1)} ms, steady ${r.steadyMs.toFixed(1)} ms, heap ${r.heapMiB.toFixed(1)} MiB, ${r.listeners} listeners, ${r.routes} routes`,
    );
  }
  const table = renderScale(rows);
  console.log(`\n${table}`);
  if (v["update-docs"]) {
    updateDocs(resolve(import.meta.dirname, "../docs/performance.md"), table, "scale");
    console.log("docs/performance.md updated");
  }
}

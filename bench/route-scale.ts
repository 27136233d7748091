// route-scale.ts: the data plane at routing scale (issue 6). An Engine applies a snapshot of
// 10,000 routes across 1,000 VIPs (HTTP listeners on 127.20.x.y:8000, 10 routes each: 5 host
// names × 2 paths): time to apply (validate, compile, bind every listener) and to swap to an
// edited copy, and the heap and RSS it holds. Then the per-request routing cost of one listener's
// compiled router at 100, 1,000 and 10,000 routes (host map, then first-segment path index).
//   sh scripts/node.sh bench/route-scale.ts [--vips=1000] [--update-docs]
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine/engine.ts";
import { compileHttp } from "../src/engine/l7/compile.ts";
import { Router } from "../src/engine/l7/router/router.ts";
import type { RequestView } from "../src/engine/l7/router/match.ts";
import type { EngineSnapshot, HttpListener, Pool, Route, VirtualHost } from "../src/model/ir.ts";
import { updateDocs } from "./docs.ts";
import { median } from "./summary.ts";

// Heap figures need a collection before each reading; re-run with --expose-gc if it is missing.
if (import.meta.main && typeof globalThis.gc !== "function") {
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", ...process.execArgv, import.meta.filename, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(r.status ?? 1);
}
const gc = globalThis.gc as () => void;

const HOSTS_PER_VIP = 5;
const PATHS_PER_HOST = 2;

/** vipAddress spreads VIPs over 127.20.0.0/16 (loopback: every address is local). */
function vipAddress(i: number): string {
  return `127.20.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

function route(name: string, path: string, pool: string): Route {
  return {
    name,
    match: { path: { type: "Prefix", value: path } },
    action: { type: "Forward", backends: [{ pool, weight: 1 }] },
  };
}

/** virtualHosts makes hosts × paths routes for VIP v (pool names are per host). */
function virtualHosts(v: number, hosts: number, paths: number, tag = ""): VirtualHost[] {
  return Array.from({ length: hosts }, (_, h) => ({
    hostname: `app${h}.vip${v}.example.test`,
    routes: Array.from({ length: paths }, (_, p) =>
      route(`Ingress/ns${v}/app${h}#${p}${tag}`, `/svc${p}`, `ns${v}/app${h}:80`),
    ),
  }));
}

/** scaleSnapshot is n VIPs with 10 routes each and one pool per host name. */
export function scaleSnapshot(vips: number, version: number, tag = ""): EngineSnapshot {
  const http: HttpListener[] = [];
  const pools: Record<string, Pool> = {};
  for (let v = 0; v < vips; v++) {
    http.push({
      name: `vip${v}:8000`,
      address: vipAddress(v),
      port: 8000,
      virtualHosts: virtualHosts(v, HOSTS_PER_VIP, PATHS_PER_HOST, tag),
      requestTimeoutMs: 60000,
      idleTimeoutMs: 60000,
    });
    for (let h = 0; h < HOSTS_PER_VIP; h++) {
      const name = `ns${v}/app${h}:80`;
      pools[name] = {
        name,
        algorithm: { type: "RoundRobin" },
        endpoints: [1, 2, 3].map((e) => ({
          address: `10.${v % 250}.${h}.${e}`,
          port: 8080,
          weight: 1,
          ready: true,
          serving: true,
          terminating: false,
        })),
        protocol: "http1",
      };
    }
  }
  return { version, l4: [], http, pools, certificates: {} };
}

const mib = (n: number) => n / 1048576;

/** ApplyRow is the engine-level measurement. */
interface ApplyRow {
  vips: number;
  routes: number;
  firstMs: number;
  swapMs: number;
  heapMiB: number;
  rssMiB: number;
  baseRssMiB: number;
}

async function measureApply(vips: number): Promise<ApplyRow> {
  gc();
  const baseRss = process.memoryUsage().rss;
  const baseHeap = process.memoryUsage().heapUsed;
  const engine = new Engine({ compileHttp });
  const first = scaleSnapshot(vips, 1);
  let t = performance.now();
  const r1 = engine.apply(first);
  await engine.settled();
  const firstMs = performance.now() - t;
  if (!r1.ok) throw new Error(r1.error);
  const bad = engine.status().listeners.filter((l) => l.state !== "bound");
  if (bad.length > 0) throw new Error(`${bad.length} listeners not bound: ${bad[0]!.error}`);
  const swaps: number[] = [];
  for (let i = 0; i < 3; i++) {
    const next = scaleSnapshot(vips, 2 + i, `-v${i}`);
    t = performance.now();
    const r = engine.apply(next);
    await engine.settled();
    swaps.push(performance.now() - t);
    if (!r.ok) throw new Error(r.error);
  }
  gc();
  const m = process.memoryUsage();
  const row: ApplyRow = {
    vips,
    routes: vips * HOSTS_PER_VIP * PATHS_PER_HOST,
    firstMs,
    swapMs: median(swaps),
    heapMiB: mib(m.heapUsed - baseHeap),
    rssMiB: mib(m.rss),
    baseRssMiB: mib(baseRss),
  };
  await engine.close();
  return row;
}

/** RouteRow is the router micro-benchmark at one size. */
interface RouteRow {
  routes: number;
  nsPerLookup: number;
}

function view(path: string): RequestView {
  return { method: "GET", path, query: "", header: () => undefined };
}

function measureRouting(routes: number): RouteRow {
  // One listener holding every route: routes / 10 host names with 10 paths each.
  const hosts = routes / 10;
  const vhs: VirtualHost[] = Array.from({ length: hosts }, (_, h) => ({
    hostname: `app${h}.example.test`,
    routes: Array.from({ length: 10 }, (_, p) => route(`r${h}-${p}`, `/svc${p}`, `pool${h}`)),
  }));
  const router = new Router(vhs);
  // Requests spread over every host and path, hits only (a miss would be cheaper).
  const reqs = Array.from({ length: 4096 }, (_, i) => ({
    host: `app${(i * 7919) % hosts}.example.test`,
    req: view(`/svc${i % 10}/items/${i}`),
  }));
  let sink = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const q = reqs[i & 4095]!;
      sink += router.route(q.host, q.req)!.prefixLength;
    }
  };
  run(200_000); // warm-up (JIT)
  const samples: number[] = [];
  for (let k = 0; k < 5; k++) {
    const n = 500_000;
    const t = performance.now();
    run(n);
    samples.push(((performance.now() - t) * 1e6) / n);
  }
  if (sink === 0) throw new Error("no route matched");
  return { routes, nsPerLookup: median(samples) };
}

function render(apply: ApplyRow, routing: RouteRow[]): string {
  const lines = [
    "### Routing scale",
    "",
    `\`sh scripts/node.sh bench/route-scale.ts\` — ${apply.vips.toLocaleString("en")} VIPs (HTTP listeners on 127.20.x.y:8000), ${apply.routes.toLocaleString("en")} routes (5 host names × 2 Prefix paths per VIP, 3 endpoints per pool), one engine process.`,
    "",
    "| VIPs | routes | first apply (validate + compile + bind) ms | swap to an edited snapshot ms (median of 3) | heap held MiB | RSS MiB (before → after) |",
    "|---:|---:|---:|---:|---:|---:|",
    `| ${apply.vips} | ${apply.routes} | ${apply.firstMs.toFixed(0)} | ${apply.swapMs.toFixed(0)} | ${apply.heapMiB.toFixed(1)} | ${apply.baseRssMiB.toFixed(0)} → ${apply.rssMiB.toFixed(0)} |`,
    "",
    "Per-request routing cost of one listener's compiled router (Host map, then the first-segment path index), requests spread over every host and path, median of 5 × 500,000 lookups:",
    "",
    "| routes in the listener | ns per lookup |",
    "|---:|---:|",
    ...routing.map((r) => `| ${r.routes.toLocaleString("en")} | ${r.nsPerLookup.toFixed(0)} |`),
  ];
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const { values: v } = parseArgs({
    options: {
      vips: { type: "string", default: "1000" },
      "update-docs": { type: "boolean", default: false },
    },
  });
  const routing = [100, 1000, 10000].map(measureRouting);
  for (const r of routing) console.log(`${r.routes} routes: ${r.nsPerLookup.toFixed(0)} ns per lookup`);
  const apply = await measureApply(Number(v.vips));
  console.log(
    `${apply.vips} VIPs, ${apply.routes} routes: first apply ${apply.firstMs.toFixed(0)} ms, swap ${apply.swapMs.toFixed(0)} ms, heap ${apply.heapMiB.toFixed(1)} MiB, RSS ${apply.baseRssMiB.toFixed(0)} -> ${apply.rssMiB.toFixed(0)} MiB`,
  );
  const table = render(apply, routing);
  console.log(`\n${table}`);
  if (v["update-docs"]) {
    updateDocs(resolve(import.meta.dirname, "../docs/performance.md"), table, "routes");
    console.log("docs/performance.md updated");
  }
}

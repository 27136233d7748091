// analytics-collector.ts: a CPU microbenchmark of the engine's analytics collector alone
// (src/analytics/collector.ts) — HTTP response events published on the real diagnostics channel,
// as the engine publishes them, spread over R routes (10 per virtual host) and 20 backends, with
// timings, user agents, a client mix and URLs with query strings; 1% are 5xx (kept as records).
// Prints CPU ns per event with the collector subscribed, minus a no-op subscriber's (the channel's
// own dispatch, paid by metrics already), the cost of take() per interval, and the batch's JSON
// size; and, for the Shipper's sliced cut, the detach and a serialise step (CPU, median and p95). --ab=1 sends
// what `npm run bench:analytics` sends instead (one route, one backend, one client, one path, no
// user agent: wrk's keep-alive case). Not a test: figures depend on the machine.
//   sh scripts/node.sh bench/analytics-collector.ts [--routes=100] [--n=200000] [--rounds=7] [--ab=1]
import { channel, subscribe, unsubscribe } from "node:diagnostics_channel";
import { Collector } from "../src/analytics/collector.ts";
import { HTTP_RESPONSE_CHANNEL, type HttpResponseEvent } from "../src/engine/l7/events.ts";

const arg = (name: string, def: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const routes = arg("routes", 100);
const n = arg("n", 200_000);
const rounds = arg("rounds", 7);
const ab = arg("ab", 0) === 1;

const UAS = [
  "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "curl/8.5.0",
];

// events is a fixed pool the rounds cycle through (built once: the engine builds its event anyway).
const events: HttpResponseEvent[] = Array.from({ length: 4096 }, (_, i) => {
  if (ab)
    return {
      listener: "IngressClass/portico:80",
      route: "Ingress/default/bench#0",
      vhost: "*",
      pool: "default/bench:8080",
      backend: "127.0.0.31:8080",
      status: 200,
      durationMs: 0.9 + (i % 50) * 0.01,
      bytesIn: 0,
      bytesOut: 612,
      client: "127.0.0.1",
      method: "GET",
      authority: "127.0.0.32:8080",
      path: "/",
      protocol: "HTTP/1.1",
      timings: { request: 0.02, connect: 0, ttfb: 0.8 + (i % 50) * 0.01, transfer: 0.05 },
      tls: "",
      userAgent: "",
    };
  const r = i % routes;
  const vhost = `h${Math.floor(r / 10)}.example`;
  return {
    listener: "IngressClass/portico:443",
    route: `Ingress/default/app${r}#0`,
    vhost,
    pool: `default/app${r}:80`,
    backend: `10.0.${i % 20}.1:8080`,
    status: i % 100 === 0 ? 503 : 200,
    durationMs: 1 + (i % 50) * 0.37,
    bytesIn: 0,
    bytesOut: 1500,
    client: `198.51.100.${i % 200}`,
    method: "GET",
    authority: vhost,
    path: `/app${r}/item/${i % 64}?session=${i}`,
    protocol: i % 3 === 0 ? "HTTP/2" : "HTTP/1.1",
    timings: { request: 0.05, connect: 0, ttfb: 0.8 + (i % 50) * 0.3, transfer: 0.1 },
    tls: "TLSv1.3",
    userAgent: UAS[i % UAS.length]!,
  };
});

const http = channel(HTTP_RESPONSE_CHANNEL);

// cpuNsPerEvent publishes n events and answers the CPU time per event (user + system).
function cpuNsPerEvent(): number {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) http.publish(events[i & 4095]);
  const d = process.cpuUsage(before);
  return ((d.user + d.system) * 1000) / n;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))]!;
}

function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

// Baseline: the channel's dispatch to a subscriber that does nothing.
const noop = () => {};
subscribe(HTTP_RESPONSE_CHANNEL, noop);
cpuNsPerEvent(); // warm-up
const base = median(Array.from({ length: rounds }, cpuNsPerEvent));
unsubscribe(HTTP_RESPONSE_CHANNEL, noop);

const c = new Collector({ settings: () => undefined }).subscribe();
cpuNsPerEvent();
c.take();
const withCollector: number[] = [];
const takes: number[] = [];
const detaches: number[] = [];
const steps: number[] = [];
let bytes = 0;
for (let r = 0; r < rounds; r++) {
  withCollector.push(cpuNsPerEvent());
  const t0 = process.cpuUsage();
  const batch = c.take();
  const t = process.cpuUsage(t0);
  takes.push((t.user + t.system) / 1000);
  bytes = JSON.stringify(batch).length;
  // The Shipper's way: detach at once, then serialise 32 measures a step (a slice is ≤ 1 ms of steps).
  cpuNsPerEvent();
  const w0 = performance.now();
  const work = c.serialise(c.detach()!, 32);
  detaches.push(performance.now() - w0);
  // CPU time per step (wall time on a shared machine counts other processes' turns).
  const stepTimes: number[] = [];
  for (;;) {
    const s0 = process.cpuUsage();
    const step = work.next();
    const d = process.cpuUsage(s0);
    stepTimes.push((d.user + d.system) / 1000);
    if (step.done) break;
  }
  steps.push(...stepTimes);
}
c.close();

const col = median(withCollector);
console.log(
  JSON.stringify(
    {
      shape: ab ? "bench:analytics (1 route)" : "spread",
      routes: ab ? 1 : routes,
      eventsPerRound: n,
      rounds,
      noopSubscriberNsPerEvent: Math.round(base),
      collectorNsPerEvent: Math.round(col),
      collectorCostNsPerEvent: Math.round(col - base),
      takeMs: Number(median(takes).toFixed(2)),
      slicedDetachMs: Number(median(detaches).toFixed(3)),
      // A slice is steps until 1 ms has passed; a step's p95 bounds how far past 1 ms one runs
      // (the worst step is whichever a garbage collection fell in).
      slicedStepMedianMs: Number(median(steps).toFixed(3)),
      slicedStepP95Ms: Number(quantile(steps, 0.95).toFixed(3)),
      batchJsonBytes: bytes,
    },
    null,
    2,
  ),
);

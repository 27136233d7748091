// analytics-report.ts: the pure parts of `npm run bench:analytics` — the manifests each Portico
// runs, the A/B summary (medians, the on/off ratio, each round's paired ratio) and the report.
import { median, optMedian } from "./summary.ts";

/** Variant names a Portico of the A/B: analytics on (the default) or off (PORTICO_ANALYTICS=off). */
export type Variant = "on" | "off";

/** AbSample is one load run of one variant. */
export interface AbSample {
  caseId: string;
  variant: Variant;
  round: number;
  requestsPerSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  errors: number;
  /** cpuUs is the Portico process's CPU time per request over the run (µs). */
  cpuUs?: number;
}

/** AbStats are one variant's medians over the rounds of a case. */
export interface AbStats {
  requestsPerSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  cpuUs?: number;
  errors: number;
  rounds: number[];
}

/** AbRow is one case: both variants, on ÷ off of the medians, and the spread of the paired ratios. */
export interface AbRow {
  caseId: string;
  on?: AbStats;
  off?: AbStats;
  /** ratio is on ÷ off of the median rates (1.0: no cost; 0.95: 5% fewer requests/s). */
  ratio?: number;
  /** cpuRatio is on ÷ off of the median CPU time per request: the cost with less noise from the machine. */
  cpuRatio?: number;
  /** roundRatios are on ÷ off within each round (the two ran back to back). */
  roundRatios: number[];
  /** meets: ratio ≥ 1 − MAX_LOSS and no errors in either variant. */
  meets: boolean;
}

/** MAX_LOSS is issue 15's budget: analytics on loses at most 5% against off. */
export const MAX_LOSS = 0.05;

function stats(samples: AbSample[]): AbStats | undefined {
  if (samples.length === 0) return undefined;
  return {
    requestsPerSecond: median(samples.map((s) => s.requestsPerSecond)),
    p50Ms: optMedian(samples.map((s) => s.p50Ms)),
    p99Ms: optMedian(samples.map((s) => s.p99Ms)),
    cpuUs: optMedian(samples.map((s) => s.cpuUs)),
    errors: samples.reduce((n, s) => n + s.errors, 0),
    rounds: samples.sort((a, b) => a.round - b.round).map((s) => s.requestsPerSecond),
  };
}

/** summariseAb groups samples by case (in caseIds' order) into rows. */
export function summariseAb(caseIds: readonly string[], samples: readonly AbSample[]): AbRow[] {
  return caseIds.map((caseId) => {
    const of = (v: Variant) => samples.filter((s) => s.caseId === caseId && s.variant === v);
    const on = stats(of("on"));
    const off = stats(of("off"));
    const ratio =
      on && off && off.requestsPerSecond > 0 ? on.requestsPerSecond / off.requestsPerSecond : undefined;
    const roundRatios: number[] = [];
    for (const a of of("on")) {
      const b = of("off").find((x) => x.round === a.round);
      if (b && b.requestsPerSecond > 0) roundRatios.push(a.requestsPerSecond / b.requestsPerSecond);
    }
    const meets = ratio !== undefined && ratio >= 1 - MAX_LOSS && on!.errors === 0 && off!.errors === 0;
    const cpuRatio = on?.cpuUs && off?.cpuUs ? on.cpuUs / off.cpuUs : undefined;
    return { caseId, on, off, ratio, cpuRatio, roundRatios, meets };
  });
}

/** AbReport is everything the report shows. */
export interface AbReport {
  startedAt: string;
  environment: Record<string, string>;
  settings: Record<string, string>;
  rows: AbRow[];
  commands: Record<string, string>;
  /** recorded: what each variant's analytics API counted after the run (the on/off check). */
  recorded: Record<Variant, string>;
  notes: string[];
}

const f0 = (x: number | undefined): string => (x === undefined ? "–" : x.toFixed(0));
const f2 = (x: number | undefined): string => (x === undefined ? "–" : x.toFixed(2));

/** renderAbReport writes the Markdown report. */
export function renderAbReport(r: AbReport): string {
  const lines = [
    `# Analytics on vs off — ${r.startedAt}`,
    "",
    "## Environment",
    "",
    ...Object.entries(r.environment).map(([k, v]) => `- ${k}: ${v}`),
    ...Object.entries(r.settings).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "## Summary",
    "",
    `Target: analytics on loses at most ${MAX_LOSS * 100}% of requests/s against off (ratio ≥ ${1 - MAX_LOSS}).`,
    "",
    "| test | on req/s | off req/s | on ÷ off | rounds (on ÷ off) | on p50/p99 ms | off p50/p99 ms | on/off CPU µs/req | CPU on ÷ off | verdict |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...r.rows.map(
      (w) =>
        `| ${w.caseId} | ${f0(w.on?.requestsPerSecond)} | ${f0(w.off?.requestsPerSecond)} | ${f2(w.ratio)} | ${w.roundRatios.map((x) => x.toFixed(2)).join(" ")} | ${f2(w.on?.p50Ms)}/${f2(w.on?.p99Ms)} | ${f2(w.off?.p50Ms)}/${f2(w.off?.p99Ms)} | ${f2(w.on?.cpuUs)}/${f2(w.off?.cpuUs)} | ${f2(w.cpuRatio)} | ${w.meets ? "meets" : "misses"}${(w.on?.errors ?? 0) + (w.off?.errors ?? 0) > 0 ? ` (errors on ${w.on?.errors ?? 0}, off ${w.off?.errors ?? 0})` : ""} |`,
    ),
    "",
    "## Every round (req/s)",
    "",
    ...r.rows.flatMap((w) => [
      `- ${w.caseId}: on ${w.on?.rounds.map((x) => x.toFixed(0)).join(", ") ?? "–"}; off ${w.off?.rounds.map((x) => x.toFixed(0)).join(", ") ?? "–"}`,
    ]),
    "",
    "## Analytics recorded after the run (the on/off check)",
    "",
    `- on: ${r.recorded.on}`,
    `- off: ${r.recorded.off}`,
    "",
    "## Commands",
    "",
    ...Object.entries(r.commands).map(([k, v]) => `- ${k}: \`${v}\``),
  ];
  if (r.notes.length) lines.push("", "## Notes", "", ...r.notes.map((n) => `- ${n}`));
  return lines.join("\n");
}

/**
 * abManifest is what each Portico serves: its own VipPool address, an Ingress for any host on
 * HTTP and on HTTPS (a tls entry without hosts: the default certificate, as wrk sends no SNI to an
 * address) to one Service whose endpoint is the bench's nginx backend.
 */
export function abManifest(o: {
  vip: string;
  backend: { address: string; port: number };
  certPem: string;
  keyPem: string;
}): string {
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  return `# Written by bench/analytics.ts.
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: bench }
spec: { addresses: ["${o.vip}/32"] }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: portico
  annotations: { ingressclass.kubernetes.io/is-default-class: "true" }
spec: { controller: portico.dev/ingress-controller }
---
apiVersion: v1
kind: Secret
metadata: { name: bench-tls, namespace: bench }
type: kubernetes.io/tls
data: { tls.crt: ${b64(o.certPem)}, tls.key: ${b64(o.keyPem)} }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: bench }
spec: { ports: [{ name: http, port: 80, targetPort: ${o.backend.port} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: bench, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: ${o.backend.port}, protocol: TCP }]
endpoints: [{ addresses: ["${o.backend.address}"], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: bench }
spec:
  tls: [{ secretName: bench-tls }]
  rules:
    - http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;
}

// report.ts: renders a run as markdown: environment, a summary of ratios against the targets,
// then one table per test with the exact command. Pure: everything comes in as arguments.
import type { CaseSummary, ProxyStats } from "./summary.ts";
import type { ProxyName } from "./topology.ts";

/** IdleResult is the RSS of one proxy holding many idle keep-alive connections. */
export interface IdleResult {
  proxy: ProxyName;
  /** requested is how many connections the test tried to hold; connections how many it did. */
  requested: number;
  connections: number;
  failed: number;
  /** baseMiB is RSS before the connections were opened; heldMiB while they are held. */
  baseMiB: number;
  heldMiB: number;
}

/** MulticoreResult compares Portico on one core with Portico on both (load shares the cores). */
export interface MulticoreResult {
  caseId: string;
  workers: number;
  cpus: string;
  oneCore?: number;
  multi?: number;
  /** oneCoreCpuUs and multiCpuUs are Portico's CPU time per request (all workers), medians. */
  oneCoreCpuUs?: number;
  multiCpuUs?: number;
}

/**
 * projectedScaling is what the workers would give over one engine with a core each and the load
 * elsewhere, where CPU is the only limit: each worker serves 1/cpu-per-request, so N workers give
 * N × (one engine's CPU per request ÷ the workers' CPU per request). Sharing a core with the load
 * inflates the workers' CPU per request (cache, switches), so this errs low.
 */
export function projectedScaling(m: MulticoreResult): number | undefined {
  return m.oneCoreCpuUs && m.multiCpuUs ? (m.workers * m.oneCoreCpuUs) / m.multiCpuUs : undefined;
}

/** ReportInput is everything a report shows. */
export interface ReportInput {
  startedAt: string;
  environment: Record<string, string>;
  settings: Record<string, string>;
  summaries: CaseSummary[];
  /** commands maps a test id to its exact command line, with HOST for the proxy address. */
  commands: Record<string, string>;
  idle: IdleResult[];
  idleCommand: string;
  multicore: MulticoreResult[];
  chartFile?: string;
  notes: string[];
}

const PROXIES: ProxyName[] = ["HAProxy", "nginx", "Portico"];

const fmt = (v: number | undefined, digits = 2): string =>
  v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits);
const fmtValue = (v: number, unit: string): string =>
  unit === "Gbit/s" ? v.toFixed(2) : Math.round(v).toLocaleString("en-US");
const ratioText = (v: number | undefined): string => (v === undefined ? "—" : `${v.toFixed(2)}×`);

/** renderReport returns the markdown report. */
export function renderReport(r: ReportInput): string {
  const out: string[] = [`# Portico benchmark — ${r.startedAt}`, ""];
  out.push("| | |", "|---|---|");
  for (const [k, v] of Object.entries({ ...r.environment, ...r.settings })) out.push(`| ${k} | ${v} |`);
  out.push("");
  for (const n of r.notes) out.push(`> ${n}`, "");

  out.push("## Summary", "");
  out.push("| test | unit | HAProxy | nginx | Portico | Portico/HAProxy | Portico/nginx | target | met |");
  out.push("|---|---|---:|---:|---:|---:|---:|---|---|");
  for (const s of r.summaries) {
    const v = (p: ProxyName): string => (s.stats[p] ? fmtValue(s.stats[p].value, s.test.unit) : "—");
    const target =
      s.test.target === undefined
        ? "—"
        : `≥ ${s.test.target}×${s.test.p99Target ? `, p99 ≤ ${s.test.p99Target}×` : ""}`;
    const portErr = s.stats.Portico?.errors ?? 0;
    const errText = portErr > 0 ? ` (${portErr} errors)` : "";
    // A test without a target still shows Portico's errors: a fast wrong answer must stand out.
    const met =
      s.met === undefined ? (portErr > 0 ? `**errors**${errText}` : "—") : s.met ? "yes" : `**no**${errText}`;
    out.push(
      `| ${s.test.title} | ${s.test.unit} | ${v("HAProxy")} | ${v("nginx")} | ${v("Portico")} | ${ratioText(s.ratios.porticoHaproxy)} | ${ratioText(s.ratios.porticoNginx)} | ${target} | ${met} |`,
    );
  }
  for (const i of r.idle.filter((x) => x.proxy === "Portico")) {
    // Connections the proxy dropped or refused fail the test: RSS is only meaningful if all are held.
    const met = i.heldMiB <= 150 && i.failed === 0 && i.connections === i.requested ? "yes" : "**no**";
    out.push(
      `| RSS, ${i.requested.toLocaleString("en-US")} idle keep-alive connections | MiB | ${idleCell(r.idle, "HAProxy")} | ${idleCell(r.idle, "nginx")} | ${fmt(i.heldMiB, 1)} | | | ≤ 150 MiB | ${met} |`,
    );
  }
  out.push("");
  if (r.chartFile) out.push(`![Throughput relative to HAProxy](${r.chartFile})`, "");

  for (const s of r.summaries) {
    out.push(`## ${s.test.title}`, "", s.test.what, "", "```sh", r.commands[s.test.id] ?? "", "```", "");
    const latency =
      s.test.unit === "Gbit/s"
        ? []
        : s.stats.HAProxy?.meanMs !== undefined || s.stats.Portico?.meanMs !== undefined
          ? ["mean ms"]
          : ["p50 ms", "p99 ms"];
    const cpu = s.test.unit === "req/s" ? ["CPU µs/req"] : [];
    out.push(
      `| proxy | median ${s.test.unit} | ${[...latency, ...cpu, "peak RSS MiB", "errors", "all rounds"].join(" | ")} |`,
    );
    out.push(`|---|---:|${[...latency, ...cpu, "x", "x", "x"].map(() => "---:").join("|")}|`);
    for (const p of PROXIES) {
      const st: ProxyStats | undefined = s.stats[p];
      if (!st) {
        out.push(`| ${p} | not run |${[...latency, ...cpu, "x", "x", "x"].map(() => "").join(" |")} |`);
        continue;
      }
      const lat = latency.map((l) =>
        fmt(l === "mean ms" ? st.meanMs : l === "p50 ms" ? st.p50Ms : st.p99Ms, 3),
      );
      const rounds = st.values.map((x) => fmtValue(x, s.test.unit)).join(", ");
      const cpuCell = cpu.map(() => fmt(st.cpuUs, 1));
      out.push(
        `| ${p} | ${fmtValue(st.value, s.test.unit)} | ${[...lat, ...cpuCell, fmt(st.rssMiB, 1), String(st.errors), rounds].join(" | ")} |`,
      );
    }
    out.push("");
    const extra = [
      `Portico/HAProxy ${ratioText(s.ratios.porticoHaproxy)}`,
      `Portico/nginx ${ratioText(s.ratios.porticoNginx)}`,
      `nginx/HAProxy ${ratioText(s.ratios.nginxHaproxy)}`,
    ];
    if (s.p99Ratio !== undefined) extra.push(`p99 Portico/HAProxy ${ratioText(s.p99Ratio)}`);
    out.push(`Ratios: ${extra.join(" · ")}`, "");
  }

  out.push("## Memory with idle keep-alive connections", "");
  out.push(
    "One request on each connection, then all are held open and idle for 15 s before RSS is read (sum over the proxy's processes).",
    "",
  );
  out.push("```sh", r.idleCommand, "```", "");
  out.push(
    "| proxy | tried | held | failed | RSS before MiB | RSS held MiB |",
    "|---|---:|---:|---:|---:|---:|",
  );
  for (const i of r.idle)
    out.push(
      `| ${i.proxy} | ${i.requested} | ${i.connections} | ${i.failed} | ${fmt(i.baseMiB, 1)} | ${fmt(i.heldMiB, 1)} |`,
    );
  if (r.idle.length === 0) out.push("| — | not run | | | | |");
  out.push("");

  if (r.multicore.length > 0) {
    out.push("## Portico on both cores", "");
    out.push(
      "The load generator and backend stay on CPU 0, so with Portico on CPUs 0-1 they share a core: the measured ratio understates what a second core gives when the load comes from elsewhere. The projected ratio is workers × (one engine's CPU per request ÷ the workers' CPU per request): what the workers would serve with a core each, if CPU were their only limit.",
      "",
    );
    out.push(
      "| test | workers | CPUs | one core req/s | both cores req/s | measured ratio | CPU µs/req one / workers | projected ratio |",
      "|---|---:|---|---:|---:|---:|---:|---:|",
    );
    for (const m of r.multicore) {
      const ratio = m.oneCore && m.multi ? m.multi / m.oneCore : undefined;
      out.push(
        `| ${m.caseId} | ${m.workers} | ${m.cpus} | ${fmt(m.oneCore, 0)} | ${fmt(m.multi, 0)} | ${ratioText(ratio)} | ${fmt(m.oneCoreCpuUs, 1)} / ${fmt(m.multiCpuUs, 1)} | ${ratioText(projectedScaling(m))} |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

/** idleCell shows one proxy's held RSS in the summary table. */
function idleCell(idle: IdleResult[], p: ProxyName): string {
  const i = idle.find((x) => x.proxy === p);
  return i ? fmt(i.heldMiB, 1) : "—";
}

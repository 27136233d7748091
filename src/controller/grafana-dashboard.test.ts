// grafana-dashboard.test.ts: deploy/grafana/portico-dashboard.json asks only for series Portico
// exports. Every PromQL expression of every panel (and the template variables' queries) is reduced
// to the metric names it reads, and each must appear in a real exposition: the engine's Metrics
// after synthetic events on its channels, the controller's series after a reload, the fleet's
// engine series — what `/metrics` of a `portico run --engine-listen` answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Metrics } from "../engine/metrics.ts";
import { HTTP_RESPONSE_CHANNEL } from "../engine/l7/events.ts";
import { TLS_HANDSHAKE_CHANNEL } from "../engine/tls/terminate.ts";
import { ControllerMetrics } from "./metrics.ts";
import { fleetMetrics } from "./fleet/fleet-metrics.ts";
import { engineView } from "./fleet/testing.ts";

const FILE = join(import.meta.dirname, "..", "..", "deploy", "grafana", "portico-dashboard.json");

/** PROMQL_WORDS are PromQL's functions, aggregations and keywords: never metric names. */
const PROMQL_WORDS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "count",
  "stddev",
  "topk",
  "bottomk",
  "quantile",
  "group",
  "rate",
  "irate",
  "increase",
  "delta",
  "histogram_quantile",
  "label_values",
  "absent",
  "clamp_min",
  "clamp_max",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "and",
  "or",
  "unless",
  "vector",
  "scalar",
  "time",
  "abs",
  "round",
  "le",
]);

/** metricNames reads the metric names of a PromQL expression: strings, label matchers, grouping
 * clauses and ranges removed, what is left that is not a word of PromQL or a number. */
export function metricNames(expr: string): string[] {
  const bare = expr
    // label_values(METRIC, LABEL): the second argument is a label.
    .replace(/label_values\(([^,)]+),[^)]*\)/g, "($1)")
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "$1")
    .replace(/\[[^\]]*\]/g, "");
  const names = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const w = m[0];
    if (!PROMQL_WORDS.has(w) && !w.startsWith("$")) names.add(w);
  }
  return [...names];
}

/** exposed lists every sample name an exposition text can answer (histograms: _bucket, _sum, _count). */
function exposed(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    out.add(m[1]!);
    if (m[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) out.add(m[1]! + s);
  }
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) out.add(m[1]!);
  return out;
}

function exposition(): string {
  const m = new Metrics().subscribe();
  try {
    channel(HTTP_RESPONSE_CHANNEL).publish({
      listener: "L:80",
      route: "Ingress/d/a#0.0",
      vhost: "a.example",
      pool: "p",
      backend: "10.0.0.1:80",
      status: 200,
      durationMs: 12,
      bytesIn: 1,
      bytesOut: 2,
      timings: { request: 1, connect: 1, ttfb: 8, transfer: 2 },
    });
    channel(TLS_HANDSHAKE_CHANNEL).publish({ listener: "L:443", version: "TLSv1.3" });
    const engine = m.render();
    const c = new ControllerMetrics();
    c.reloaded(true, 1, undefined);
    return engine + c.render([]) + fleetMetrics([engineView("e1", true, 0.5)]);
  } finally {
    m.close();
  }
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

test("every metric a dashboard expression reads is one Portico exports", () => {
  const dash = JSON.parse(readFileSync(FILE, "utf8")) as {
    panels: Panel[];
    templating: { list: { name: string; query?: string | { query: string } }[] };
  };
  const have = exposed(exposition());
  const exprs: { where: string; expr: string }[] = [];
  const walk = (ps: readonly Panel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating.list) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    if (q?.startsWith("label_values")) exprs.push({ where: `variable ${v.name}`, expr: q });
  }
  assert.ok(exprs.length >= 20, `only ${exprs.length} expressions`);
  const missing: string[] = [];
  let names = 0;
  for (const { where, expr } of exprs) {
    const found = metricNames(expr);
    assert.ok(found.length > 0, `${where}: no metric in ${expr}`);
    names += found.length;
    for (const n of found) if (!have.has(n)) missing.push(`${where}: ${n}`);
  }
  assert.deepEqual(missing, []);
  assert.ok(names >= exprs.length);
});

test("metricNames finds the metrics and nothing else", () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (phase, le) (rate(portico_http_phase_duration_seconds_bucket{listener=~"$listener"}[$__rate_interval])))',
    ),
    ["portico_http_phase_duration_seconds_bucket"],
  );
  assert.deepEqual(
    metricNames(
      'sum by (pool) (portico_backend_healthy) / count by (pool) (portico_backend_healthy{pool="a b"})',
    ),
    ["portico_backend_healthy"],
  );
  assert.deepEqual(metricNames("label_values(portico_http_requests_total, listener)"), [
    "portico_http_requests_total",
  ]);
  // A name Portico does not export is caught (the test above would list it as missing).
  assert.deepEqual(metricNames("rate(nginx_ingress_controller_requests[5m])"), [
    "nginx_ingress_controller_requests",
  ]);
});

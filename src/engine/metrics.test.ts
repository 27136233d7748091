import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { test } from "node:test";
import { HealthRegistry } from "./health/registry.ts";
import { CONNECTION_CHANNEL, HTTP2_CUT_CHANNEL, HTTP_RESPONSE_CHANNEL } from "./l7/events.ts";
import { Metrics, OVERFLOW_LABEL } from "./metrics.ts";
import { l4Session } from "./l4/events.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** parse reads exposition text strictly: every sample's family has HELP and TYPE first. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith("\n"));
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.trimEnd().split("\n")) {
    let m = /^# HELP (\w+) .+$/.exec(line);
    if (m) {
      helps.add(m[1]!);
      continue;
    }
    m = /^# TYPE (\w+) (counter|gauge|histogram)$/.exec(line);
    if (m) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `bad line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[k!] = v!.replace(/\\(.)/g, "$1");
    const family = m[1]!.replace(/_(bucket|sum|count)$/, "");
    const fam = types.has(m[1]!) ? m[1]! : family;
    assert.ok(types.has(fam) && helps.has(fam), `no HELP/TYPE before ${line}`);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

test("metrics: http, connection, l4 and health events become Prometheus series", () => {
  const metrics = new Metrics().subscribe();
  try {
    const http = channel(HTTP_RESPONSE_CHANNEL);
    const conn = channel(CONNECTION_CHANNEL);
    const base = {
      listener: "web:80",
      route: "r",
      pool: "ns/svc:80",
      backend: "10.0.0.1:8080",
      bytesIn: 10,
      bytesOut: 100,
    };
    http.publish({ ...base, status: 200, durationMs: 3 });
    http.publish({ ...base, status: 204, durationMs: 30 });
    http.publish({ ...base, status: 503, durationMs: 2000 });
    http.publish({ ...base, backend: "", pool: "", status: 404, durationMs: 0.5 });
    conn.publish({ listener: "web:80", event: "open" });
    conn.publish({ listener: "web:80", event: "open" });
    conn.publish({ listener: "web:80", event: "close" });
    const l4 = {
      listener: "dns:53",
      protocol: "UDP",
      pool: "ns/dns:53",
      backend: "10.0.0.9:53",
      durationMs: 0,
    };
    l4Session.publish({ ...l4, event: "open", bytesIn: 0, bytesOut: 0 });
    l4Session.publish({ ...l4, event: "close", bytesIn: 40, bytesOut: 400, durationMs: 5000 });
    l4Session.publish({ ...l4, event: "reject", backend: "", bytesIn: 40, bytesOut: 0 });
    const health = new HealthRegistry();
    health.active("ns/svc:80", "10.0.0.1:8080", false, 1, 1);

    const { samples, types } = parse(metrics.render());
    assert.equal(types.get("portico_http_requests_total"), "counter");
    assert.equal(types.get("portico_http_request_duration_seconds"), "histogram");
    assert.equal(types.get("portico_active_connections"), "gauge");
    const web = { listener: "web:80" };
    assert.equal(value(samples, "portico_http_requests_total", web), 4);
    assert.equal(value(samples, "portico_http_responses_total", { ...web, class: "2xx" }), 2);
    assert.equal(value(samples, "portico_http_responses_total", { ...web, class: "5xx" }), 1);
    assert.equal(value(samples, "portico_http_responses_total", { ...web, class: "4xx" }), 1);
    assert.equal(value(samples, "portico_http_request_duration_seconds_bucket", { ...web, le: "0.005" }), 2);
    assert.equal(value(samples, "portico_http_request_duration_seconds_bucket", { ...web, le: "1" }), 3);
    assert.equal(value(samples, "portico_http_request_duration_seconds_bucket", { ...web, le: "+Inf" }), 4);
    assert.equal(value(samples, "portico_http_request_duration_seconds_count", web), 4);
    assert.ok(Math.abs(value(samples, "portico_http_request_duration_seconds_sum", web)! - 2.0335) < 1e-9);
    assert.equal(value(samples, "portico_received_bytes_total", web), 40);
    assert.equal(value(samples, "portico_sent_bytes_total", web), 400);
    assert.equal(value(samples, "portico_active_connections", web), 1);
    assert.equal(value(samples, "portico_connections_total", web), 2);
    const be = { pool: "ns/svc:80", backend: "10.0.0.1:8080" };
    assert.equal(value(samples, "portico_backend_requests_total", be), 3);
    assert.equal(value(samples, "portico_backend_responses_total", { ...be, class: "5xx" }), 1);
    assert.equal(value(samples, "portico_backend_healthy", be), 0);
    const dns = { listener: "dns:53" };
    assert.equal(value(samples, "portico_connections_total", dns), 1);
    assert.equal(value(samples, "portico_active_connections", dns), 0);
    assert.equal(value(samples, "portico_received_bytes_total", dns), 40);
    assert.equal(value(samples, "portico_l4_rejected_total", dns), 1);
    assert.equal(value(samples, "portico_l4_session_duration_seconds_bucket", { ...dns, le: "10" }), 1);
    assert.equal(
      value(samples, "portico_backend_requests_total", { pool: "ns/dns:53", backend: "10.0.0.9:53" }),
      1,
    );
  } finally {
    metrics.close();
  }
});

test("metrics: cardinality is capped and label values are escaped", () => {
  const metrics = new Metrics({ maxListeners: 2, maxBackends: 1 }).subscribe();
  try {
    const http = channel(HTTP_RESPONSE_CHANNEL);
    for (const listener of ['a"quote', "b\\slash", "c", "d"]) {
      http.publish({
        listener,
        route: "",
        pool: "p",
        backend: `${listener}:1`,
        status: 200,
        durationMs: 1,
        bytesIn: 0,
        bytesOut: 0,
      });
    }
    const text = metrics.render();
    assert.ok(text.includes('portico_http_requests_total{listener="a\\"quote"} 1'));
    assert.ok(text.includes('portico_http_requests_total{listener="b\\\\slash"} 1'));
    const { samples } = parse(text);
    assert.equal(value(samples, "portico_http_requests_total", { listener: OVERFLOW_LABEL }), 2);
    assert.equal(value(samples, "portico_backend_requests_total", { pool: OVERFLOW_LABEL }), 3);
  } finally {
    metrics.close();
  }
});

test("metrics: listeners and backends past the cap share the overflow's series, cached once, counts exact", () => {
  const metrics = new Metrics({ maxListeners: 2, maxBackends: 2 }).subscribe();
  try {
    const http = channel(HTTP_RESPONSE_CHANNEL);
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      http.publish({
        listener: `l${i}`,
        route: "",
        pool: "p",
        backend: `10.0.${i >> 8}.${i & 255}:80`,
        status: 200,
        durationMs: 1,
        bytesIn: 0,
        bytesOut: 0,
      });
    }
    // The caches themselves are private; their size is what bounds memory, so the test reads it.
    const m = metrics as unknown as {
      listenerSeries: Map<string, unknown>;
      backendSeries: Map<string, Map<string, unknown>>;
    };
    assert.equal(m.listenerSeries.size, 2);
    assert.equal(m.backendSeries.get("p")?.size, 2);
    const { samples } = parse(metrics.render());
    assert.equal(value(samples, "portico_http_requests_total", { listener: OVERFLOW_LABEL }), n - 2);
    assert.equal(value(samples, "portico_http_requests_total", { listener: "l1" }), 1);
    assert.equal(value(samples, "portico_backend_requests_total", { pool: OVERFLOW_LABEL }), n - 2);
    assert.equal(value(samples, "portico_backend_requests_total", { backend: "10.0.0.0:80" }), 1);
  } finally {
    metrics.close();
  }
});

test("metrics: HTTP/2 cuts are counted per listener and reason", () => {
  const m = new Metrics().subscribe();
  try {
    const cut = channel(HTTP2_CUT_CHANNEL);
    cut.publish({ listener: "L", reason: "rapid_reset" });
    cut.publish({ listener: "L", reason: "rapid_reset" });
    cut.publish({ listener: "L", reason: "ping_flood" });
    const { samples, types } = parse(m.render());
    assert.equal(types.get("portico_http2_cut_connections_total"), "counter");
    const cuts = samples.filter((s) => s.name === "portico_http2_cut_connections_total");
    assert.deepEqual(cuts.map((s) => [s.labels.reason, s.value]).sort(), [
      ["ping_flood", 1],
      ["rapid_reset", 2],
    ]);
  } finally {
    m.close();
  }
});

test("metrics: close unsubscribes", () => {
  const metrics = new Metrics().subscribe();
  metrics.close();
  channel(CONNECTION_CHANNEL).publish({ listener: "x", event: "open" });
  assert.ok(!metrics.render().includes('listener="x"'));
});

test("metrics: the endpoints source sets the health gauge at render time", () => {
  let healthy = true;
  const metrics = new Metrics({ endpoints: () => [{ pool: "p", backend: "10.0.0.1:80", healthy }] });
  const { samples } = parse(metrics.render());
  assert.equal(value(samples, "portico_backend_healthy", { pool: "p", backend: "10.0.0.1:80" }), 1);
  healthy = false;
  assert.equal(value(parse(metrics.render()).samples, "portico_backend_healthy", { pool: "p" }), 0);
});

// base is an l7 response event without route, host and status.
const base = {
  listener: "web:80",
  pool: "p",
  backend: "10.0.0.1:80",
  bytesIn: 0,
  bytesOut: 0,
  durationMs: 1,
};

test("metrics: per-route and per-host series stop at their caps and count the rest as __overflow__", () => {
  const metrics = new Metrics({ maxRoutes: 3, maxHosts: 2 }).subscribe();
  try {
    const http = channel(HTTP_RESPONSE_CHANNEL);
    for (let i = 0; i < 10; i++)
      http.publish({
        ...base,
        route: `Ingress/ns/app${i}#0.0`,
        authority: `App${i}.example.:8080`,
        vhost: `app${i}.example`,
        status: 200,
      });
    http.publish({ ...base, route: "", authority: "junk.invalid", vhost: "", status: 404 });
    const { samples } = parse(metrics.render());
    const routes = samples.filter((s) => s.name === "portico_http_route_requests_total");
    assert.deepEqual(
      routes.map((s) => [s.labels.route, s.labels.class, s.value]),
      [
        ["Ingress/ns/app0#0.0", "2xx", 1],
        ["Ingress/ns/app1#0.0", "2xx", 1],
        ["Ingress/ns/app2#0.0", "2xx", 1],
        [OVERFLOW_LABEL, "2xx", 7],
        ["none", "4xx", 1],
      ],
    );
    const hosts = samples.filter((s) => s.name === "portico_http_host_requests_total");
    assert.deepEqual(
      hosts.map((s) => [s.labels.host, s.value]),
      [
        [OVERFLOW_LABEL, 8],
        ["app0.example", 1],
        ["app1.example", 1],
      ],
    );
    assert.equal(
      value(samples, "portico_http_route_request_duration_seconds_count", { route: OVERFLOW_LABEL }),
      7,
    );
  } finally {
    metrics.close();
  }
});

test("metrics: the host label is the configured hostname that routed, never the client's Host", () => {
  const metrics = new Metrics({ maxHosts: 1000 }).subscribe();
  try {
    const http = channel(HTTP_RESPONSE_CHANNEL);
    // A catch-all route sees 1,000 made-up Host values: one series, "*", not 1,000.
    for (let i = 0; i < 1000; i++)
      http.publish({
        ...base,
        route: "Ingress/ns/any#0.0",
        authority: `junk${i}.invalid`,
        vhost: "*",
        status: 200,
      });
    // One route serving two hostnames (alternating), and a wildcard, across status classes.
    for (let i = 0; i < 6; i++)
      http.publish({
        ...base,
        route: "HTTPRoute/ns/two#0",
        authority: i % 2 ? "b.test" : "a.test",
        vhost: i % 2 ? "b.test" : "a.test",
        status: i < 4 ? 200 : 503,
      });
    http.publish({
      ...base,
      route: "HTTPRoute/ns/wild#0",
      authority: "x.w.test",
      vhost: "*.w.test",
      status: 302,
    });
    const { samples } = parse(metrics.render());
    const hosts = samples.filter((s) => s.name === "portico_http_host_requests_total");
    assert.deepEqual(
      hosts.map((s) => [s.labels.host, s.labels.class, s.value]),
      [
        ["*", "2xx", 1000],
        ["*.w.test", "3xx", 1],
        ["a.test", "2xx", 2],
        ["a.test", "5xx", 1],
        ["b.test", "2xx", 2],
        ["b.test", "5xx", 1],
      ],
    );
    const two = samples.filter(
      (s) => s.name === "portico_http_route_requests_total" && s.labels.route === "HTTPRoute/ns/two#0",
    );
    assert.deepEqual(
      two.map((s) => [s.labels.class, s.value]),
      [
        ["2xx", 4],
        ["5xx", 2],
      ],
    );
    assert.equal(
      value(samples, "portico_http_route_request_duration_seconds_count", { route: "Ingress/ns/any#0.0" }),
      1000,
    );
  } finally {
    metrics.close();
  }
});

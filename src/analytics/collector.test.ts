import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { test } from "node:test";
import { L4_SESSION_CHANNEL, type L4SessionEvent } from "../engine/l4/events.ts";
import {
  ACCESS_DENIED_CHANNEL,
  CONNECTION_CHANNEL,
  HTTP_RESPONSE_CHANNEL,
  type HttpResponseEvent,
} from "../engine/l7/events.ts";
import { TLS_FAILURE_CHANNEL } from "../engine/tls/handshake-failures.ts";
import { TLS_HANDSHAKE_CHANNEL } from "../engine/tls/terminate.ts";
import { Collector, OVERFLOW_KEY, Shipper, startCollector } from "./collector.ts";
import { Sketch } from "./sketch.ts";
import { MAX_QUEUED } from "./batch-queue.ts";
import { httpEvent } from "./event-testing.ts";
import { ANALYTICS_ENV, type AnalyticsSettings } from "./types.ts";

const http = channel(HTTP_RESPONSE_CHANNEL);
const conn = channel(CONNECTION_CHANNEL);
const l4 = channel(L4_SESSION_CHANNEL);
const shake = channel(TLS_HANDSHAKE_CHANNEL);
const shakeFailed = channel(TLS_FAILURE_CHANNEL);
const denied = channel(ACCESS_DENIED_CHANNEL);

// collector subscribes a collector with a settable clock and settings; close it after the test.
function collector(
  settings?: AnalyticsSettings,
  opts: { maxLogs?: number; maxServices?: number; maxRoutes?: number; maxBackends?: number } = {},
) {
  const clock = { now: 1_000_000 };
  const s = { current: settings };
  const c = new Collector({
    now: () => clock.now,
    settings: () => s.current,
    engine: "e1",
    group: "g",
    ...opts,
  }).subscribe();
  return { c, clock, s };
}

test("HTTP responses on the real channel: exact counts per service, route and backend; sketch quantiles per timing part; top lists", (t) => {
  const { c, clock } = collector();
  t.after(() => c.close());
  // 100 requests on vhost a: durations 1..100 ms, ttfb = duration - 1; every 10th a 404 on route r2.
  for (let i = 1; i <= 100; i++) {
    const ev: HttpResponseEvent = httpEvent({
      durationMs: i,
      status: i % 10 === 0 ? 404 : 200,
      route: i % 10 === 0 ? "r2" : "r1",
      backend: i % 2 === 0 ? "127.0.0.2:80" : "127.0.0.3:80",
      path: `/p${i % 3}?id=${i}`,
      client: i <= 60 ? "127.0.0.9" : "127.0.0.8",
      userAgent: "curl/8.5.0",
      protocol: i <= 80 ? "HTTP/1.1" : "HTTP/2",
      bytesIn: 1,
      bytesOut: 10,
      timings: { request: 0.5, ttfb: i - 1, transfer: 0.5 },
    });
    http.publish(ev);
  }
  http.publish(httpEvent({ vhost: "b.example", route: "rb", status: 200 }));
  clock.now += 1000;
  const b = c.take();
  assert.equal(b.engine, "e1");
  assert.equal(b.group, "g");
  assert.equal(b.at, 1_001_000);
  assert.equal(b.intervalMs, 1000);
  assert.deepEqual(Object.keys(b.services).sort(), ["L a.example", "L b.example"]);
  const a = b.services["L a.example"]!;
  assert.equal(a.kind, "http");
  assert.equal(a.listener, "L");
  assert.equal(a.vhost, "a.example");
  assert.equal(a.total.requests, 100);
  assert.deepEqual(a.total.codes, { "200": 90, "404": 10 });
  assert.deepEqual(a.total.http, { "HTTP/1.1": 80, "HTTP/2": 20 });
  assert.equal(a.total.bytesIn, 100);
  assert.equal(a.total.bytesOut, 1000);
  assert.equal(a.routes.r1!.requests, 90);
  assert.deepEqual(a.routes.r2!.codes, { "404": 10 });
  assert.equal(a.backends["default/web:80 127.0.0.2:80"]!.requests, 50);
  assert.equal(a.backends["default/web:80 127.0.0.3:80"]!.requests, 50);
  const total = Sketch.fromData(a.total.latency.total!);
  assert.equal(total.count, 100);
  assert.equal(total.max, 100);
  // Rank rule of sketch.ts: p50 is the 50th value (50 ms), p99 the 99th (99 ms), within 1%.
  assert.ok(Math.abs(total.quantile(0.5) - 50) <= 0.5, `p50 ${total.quantile(0.5)}`);
  assert.ok(Math.abs(total.quantile(0.99) - 99) <= 0.99, `p99 ${total.quantile(0.99)}`);
  assert.equal(a.total.latency.ttfb!.count, 100);
  assert.equal(a.total.latency.request!.count, 100);
  assert.equal(a.total.latency.connect, undefined, "a part that never happened has no sketch");
  assert.equal(Sketch.fromData(a.routes.r2!.latency.total!).max, 100);
  assert.deepEqual(a.top.urls, { "/p0": 33, "/p1": 34, "/p2": 33 });
  assert.deepEqual(a.top.clients, { "127.0.0.9": 60, "127.0.0.8": 40 });
  assert.deepEqual(a.top.userAgents, { "curl/8.5.0": 100 });
  assert.deepEqual(a.top.codes, { "200": 90, "404": 10 });
  assert.deepEqual(a.top.routes, { r1: 90, r2: 10 });
  assert.deepEqual(a.top.backends, { "default/web:80 127.0.0.2:80": 50, "default/web:80 127.0.0.3:80": 50 });
  assert.equal(b.logs.length, 0, "nothing significant: nothing kept");
  // The next interval starts empty.
  clock.now += 500;
  const next = c.take();
  assert.deepEqual(next.services, {});
  assert.equal(next.intervalMs, 500);
});

test("significant requests are kept with their reasons; slow follows the service's target; full logs until the deadline", (t) => {
  const { c, clock, s } = collector({ targetsMs: { "L a.example": 10 } });
  t.after(() => c.close());
  http.publish(httpEvent({ durationMs: 39 }));
  http.publish(httpEvent({ durationMs: 41, path: "/slow" }));
  http.publish(httpEvent({ status: 502, error: "backend refused" }));
  http.publish(httpEvent({ status: 0, outcome: "reset" }));
  http.publish(httpEvent({ status: 504, outcome: "timeout" }));
  http.publish(httpEvent({ vhost: "b.example", durationMs: 41 }));
  let b = c.take();
  assert.deepEqual(
    b.logs.map((r) => [r.path, r.reasons]),
    [
      ["/slow", ["slow"]],
      ["/x?q", ["5xx"]],
      ["/x?q", ["reset"]],
      ["/x?q", ["5xx", "timeout"]],
    ],
  );
  assert.equal(b.logs[0]!.vs, "L a.example");
  assert.equal(b.logs[0]!.engine, "e1");
  assert.equal(b.logs[0]!.at, clock.now);
  assert.equal(b.services["L a.example"]!.total.resets, 1);
  assert.equal(b.services["L a.example"]!.total.timeouts, 1);
  // Full logs: a new settings object (a new snapshot) is read at once.
  s.current = { fullLogsUntil: { "L b.example": clock.now + 1000 } };
  http.publish(httpEvent({ vhost: "b.example" }));
  http.publish(httpEvent());
  clock.now += 1000;
  http.publish(httpEvent({ vhost: "b.example" }));
  b = c.take();
  assert.deepEqual(
    b.logs.map((r) => [r.vs, r.reasons]),
    [["L b.example", ["full"]]],
  );
});

test("the log cap: at most maxLogs records, the rest dropped; a failure takes a full-log record's place", (t) => {
  const { c, clock } = collector({ fullLogsUntil: { "L a.example": 2_000_000 } }, { maxLogs: 3 });
  t.after(() => c.close());
  for (let i = 0; i < 5; i++) http.publish(httpEvent({ path: `/ok${i}` }));
  http.publish(httpEvent({ status: 500, path: "/boom" }));
  clock.now += 1;
  const b = c.take();
  assert.equal(b.logs.length, 3);
  assert.equal(b.dropped, 3);
  assert.deepEqual(
    b.logs.map((r) => r.path),
    ["/ok0", "/ok1", "/boom"],
  );
  assert.equal(b.services["L a.example"]!.total.requests, 6, "counting is never capped");
});

test("connections: connNew per interval and the open gauge at the listener's own service, kept across intervals", (t) => {
  const { c } = collector();
  t.after(() => c.close());
  for (let i = 0; i < 3; i++) conn.publish({ listener: "L", event: "open" });
  conn.publish({ listener: "L", event: "close" });
  http.publish(httpEvent());
  let b = c.take();
  assert.equal(b.services.L!.kind, "http");
  assert.equal(b.services.L!.vhost, undefined);
  assert.equal(b.services.L!.total.connNew, 3);
  assert.equal(b.services.L!.total.connOpen, 2);
  assert.equal(b.services.L!.total.requests, 0, "requests count at the vhost's service");
  assert.equal(b.services["L a.example"]!.total.connNew, 0);
  b = c.take();
  assert.deepEqual(
    Object.keys(b.services),
    ["L"],
    "an idle listener with open connections still reports its gauge",
  );
  assert.equal(b.services.L!.total.connNew, 0);
  assert.equal(b.services.L!.total.connOpen, 2);
  conn.publish({ listener: "L", event: "close" });
  conn.publish({ listener: "L", event: "close" });
  conn.publish({ listener: "L", event: "close" });
  b = c.take();
  assert.equal(b.services.L?.total.connOpen ?? 0, 0, "never below zero");
  assert.deepEqual(c.take().services, {});
});

test("TLS: handshakes by version with their duration, failures, at the listener's service", (t) => {
  const { c } = collector();
  t.after(() => c.close());
  shake.publish({ listener: "L", version: "TLSv1.3", handshakeMs: 4 });
  shake.publish({ listener: "L", version: "TLSv1.2", handshakeMs: 6 });
  shake.publish({ listener: "L" });
  shakeFailed.publish({ listener: "L", reason: "protocol_version" });
  const m = c.take().services.L!.total;
  assert.deepEqual(m.tls, { "TLSv1.3": 1, "TLSv1.2": 1, TLS: 1 });
  assert.equal(m.tlsFailures, 1);
  assert.equal(m.latency.handshake!.count, 2);
  assert.equal(m.latency.handshake!.max, 6);
});

test("access denials: the refused request counts as denied and is kept with reason policy; a WAF block with reason waf", (t) => {
  const { c } = collector();
  t.after(() => c.close());
  denied.publish({ listener: "L", policy: "AccessPolicy/default/p", reason: "deny" });
  http.publish(httpEvent({ status: 200, path: "/other" }));
  http.publish(
    httpEvent({
      status: 403,
      error: "denied by AccessPolicy/default/p: client 127.0.0.9 is in the deny list",
    }),
  );
  http.publish(
    httpEvent({
      status: 403,
      waf: {
        policy: "WafPolicy/default/w",
        action: "block",
        ruleIds: [942100],
        hits: [],
        inbound: 5,
        outbound: 0,
        elapsedMs: 1,
      },
    }),
  );
  const b = c.take();
  const a = b.services["L a.example"]!;
  assert.equal(a.total.denied, 2);
  assert.equal(a.routes["Ingress/default/web#0"]!.denied, 2);
  assert.deepEqual(
    b.logs.map((r) => r.reasons),
    [["policy"], ["waf"]],
  );
  assert.deepEqual(b.logs[1]!.waf, { policy: "WafPolicy/default/w", action: "block", ruleIds: [942100] });
});

test("L4 sessions: TCP/UDP per listener (kind l4), an SNI passthrough route its own service (kind tls), refusals as broken", (t) => {
  const { c } = collector();
  t.after(() => c.close());
  const ev = (over: Partial<L4SessionEvent>): L4SessionEvent => ({
    listener: "Service/default/db:5432/TCP",
    protocol: "TCP",
    pool: "default/db:5432",
    backend: "127.0.0.5:5432",
    event: "open",
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 0,
    ...over,
  });
  l4.publish(ev({}));
  l4.publish(ev({}));
  l4.publish(ev({ event: "close", bytesIn: 100, bytesOut: 2000, durationMs: 250 }));
  l4.publish(ev({ event: "reject", backend: "" }));
  l4.publish(ev({ listener: "L TLSRoute/default/pt", event: "open" }));
  const b = c.take();
  const db = b.services["Service/default/db:5432/TCP"]!;
  assert.equal(db.kind, "l4");
  assert.equal(db.total.connNew, 3);
  assert.equal(db.total.connOpen, 1);
  assert.equal(db.total.requests, 2);
  assert.deepEqual(db.total.codes, { "0": 1 });
  assert.equal(db.total.bytesOut, 2000);
  assert.equal(db.total.latency.total!.max, 250);
  assert.equal(db.backends["default/db:5432 127.0.0.5:5432"]!.requests, 1);
  assert.equal(b.services["L TLSRoute/default/pt"]!.kind, "tls");
  // The next interval has no open or close: the long-lived sessions keep their listener's kind.
  const quiet = c.take();
  assert.equal(quiet.services["Service/default/db:5432/TCP"]!.kind, "l4");
  assert.equal(quiet.services["Service/default/db:5432/TCP"]!.total.connOpen, 1);
  assert.equal(quiet.services["L TLSRoute/default/pt"]!.kind, "tls");
});

test("bounded cardinality: services and routes past their caps count under __overflow__", (t) => {
  const { c } = collector(undefined, { maxServices: 2, maxRoutes: 3 });
  t.after(() => c.close());
  for (let i = 0; i < 5; i++) http.publish(httpEvent({ vhost: `h${i}.example`, route: `r${i}` }));
  for (let i = 0; i < 5; i++) http.publish(httpEvent({ vhost: "h0.example", route: `x${i}` }));
  const b = c.take();
  assert.deepEqual(Object.keys(b.services).sort(), [OVERFLOW_KEY, "L h0.example", "L h1.example"].sort());
  assert.equal(b.services[OVERFLOW_KEY]!.total.requests, 3);
  const h0 = b.services["L h0.example"]!;
  assert.equal(h0.total.requests, 6);
  // Routes r0, r1 and the overflow service's r2 took the 3 slots; h0's later routes overflow.
  assert.equal(h0.routes[OVERFLOW_KEY]!.requests, 5);
  assert.equal(h0.routes.r0!.requests, 1);
});

test("Shipper: cuts hold their batches until taken, one per interval with its own end; startCollector honours PORTICO_ANALYTICS=off", (t) => {
  const { c, clock } = collector();
  const shipper = new Shipper(c);
  t.after(() => shipper.close());
  const start = clock.now;
  conn.publish({ listener: "L", event: "open" });
  http.publish(httpEvent());
  clock.now += 5000;
  shipper.cut(clock.now);
  http.publish(httpEvent({ status: 500 }));
  clock.now += 5000;
  shipper.cut(clock.now);
  clock.now += 5000;
  shipper.cut(clock.now);
  // Nobody took them (the controller unreachable): each interval still comes out on its own.
  const b1 = shipper.take()!;
  assert.equal(b1.at, start + 5000);
  assert.deepEqual(b1.services["L a.example"]!.total.codes, { "200": 1 });
  const b2 = shipper.take()!;
  assert.equal(b2.at, start + 10_000);
  assert.equal(b2.intervalMs, 5000);
  assert.deepEqual(b2.services["L a.example"]!.total.codes, { "500": 1 });
  assert.equal(b2.logs.length, 1);
  const b3 = shipper.take()!;
  assert.equal(b3.at, start + 15_000);
  assert.equal(b3.services.L!.total.connOpen, 1, "the gauge as of its cut");
  assert.equal(shipper.take(), undefined, "taken once");
  assert.equal(
    startCollector(() => undefined, { [ANALYTICS_ENV]: "off" }),
    undefined,
  );
  const on = startCollector(() => undefined, {});
  assert.ok(on instanceof Shipper);
  on.close();
});

test("Shipper: batches held over time stay within the collector's caps; names past them fold into __overflow__", (t) => {
  const { c, clock } = collector(undefined, { maxServices: 2, maxRoutes: 3, maxBackends: 2 });
  const shipper = new Shipper(c);
  t.after(() => shipper.close());
  // Each interval is within the caps; their union over a long outage is not. The first six
  // intervals merge once the queue passes its bound (MAX_QUEUED intervals apart).
  for (let i = 0; i < 6; i++) {
    http.publish(httpEvent({ vhost: `h${i}.example`, route: `r${i}`, backend: `127.0.0.${i + 1}:80` }));
    clock.now += 5000;
    shipper.cut(clock.now);
  }
  for (let i = 0; i < MAX_QUEUED - 1; i++) {
    conn.publish({ listener: "L", event: "open" });
    clock.now += 5000;
    shipper.cut(clock.now);
  }
  const b = shipper.take()!;
  const services = Object.values(b.services);
  assert.ok(services.length <= 3, `${services.length} services`);
  assert.ok(services.flatMap((s) => Object.keys(s.routes)).length <= 4);
  assert.ok(services.flatMap((s) => Object.keys(s.backends)).length <= 3);
  // Nothing is lost: every request still counts, past the caps under __overflow__.
  assert.equal(
    services.reduce((n, s) => n + s.total.requests, 0),
    6,
  );
  assert.equal(b.services[OVERFLOW_KEY]!.total.requests, 4);
  // Routes r0, r1 and the overflow service's first (r2) took the 3 slots.
  assert.equal(b.services[OVERFLOW_KEY]!.routes.r2!.requests, 1);
  assert.equal(b.services[OVERFLOW_KEY]!.routes[OVERFLOW_KEY]!.requests, 3);
});

test("route slots: a route name on two listeners and vhosts, a route a snapshot moved, a new interval — each request counts where its names say", (t) => {
  const { c } = collector(undefined, { maxRoutes: 4 });
  t.after(() => c.close());
  // One route name on two listeners (an Ingress on :80 and :443) and two backends, interleaved.
  for (let i = 0; i < 30; i++)
    http.publish(
      httpEvent({
        listener: i % 3 === 0 ? "L443" : "L",
        route: "r",
        backend: i % 2 === 0 ? "127.0.0.2:80" : "127.0.0.3:80",
      }),
    );
  // A new snapshot moves route r to vhost b.example: its requests now belong there.
  for (let i = 0; i < 7; i++) http.publish(httpEvent({ route: "r", vhost: "b.example" }));
  assert.ok(c.slotCount <= 4, `slots ${c.slotCount} within the route cap`);
  let b = c.take();
  assert.equal(b.services["L443 a.example"]!.routes.r!.requests, 10);
  assert.equal(b.services["L a.example"]!.routes.r!.requests, 20);
  assert.equal(b.services["L a.example"]!.backends["default/web:80 127.0.0.2:80"]!.requests, 10);
  assert.equal(b.services["L a.example"]!.backends["default/web:80 127.0.0.3:80"]!.requests, 10);
  assert.equal(b.services["L443 a.example"]!.backends["default/web:80 127.0.0.2:80"]!.requests, 5);
  assert.equal(b.services["L b.example"]!.routes.r!.requests, 7);
  assert.equal(b.services["L b.example"]!.total.requests, 7);
  assert.equal(c.slotCount, 0, "slots end with their interval");
  // The next interval's requests land in the next batch, never in the one already cut.
  http.publish(httpEvent({ route: "r" }));
  const first = b.services["L a.example"]!.routes.r!.requests;
  b = c.take();
  assert.equal(first, 20);
  assert.equal(b.services["L a.example"]!.routes.r!.requests, 1);
  assert.equal(
    b.services["L b.example"],
    undefined,
    "the moved route's old vhost holds nothing it did not serve",
  );
});

test("route slots are bounded by the route cap: past it, routes resolve per request and still count exactly", (t) => {
  const { c } = collector(undefined, { maxRoutes: 3 });
  t.after(() => c.close());
  for (let i = 0; i < 50; i++) http.publish(httpEvent({ route: `r${i % 10}` }));
  assert.equal(c.slotCount, 3);
  const vs = c.take().services["L a.example"]!;
  assert.equal(vs.total.requests, 50);
  assert.equal(vs.routes.r0!.requests, 5);
  assert.equal(vs.routes[OVERFLOW_KEY]!.requests, 35);
});

test("Shipper.cutInSlices: the interval is detached at once and serialised over event-loop turns into the same batch take() gives", async (t) => {
  const { c, clock } = collector();
  const ref = new Collector({ now: () => clock.now, engine: "e1", group: "g" });
  const shipper = new Shipper(c);
  t.after(() => shipper.close());
  for (let i = 0; i < 3000; i++) {
    const ev = httpEvent({
      vhost: `h${i % 7}.example`,
      route: `r${i % 300}`,
      backend: `127.0.0.${i % 20}:80`,
      durationMs: 1 + (i % 97),
      status: i % 50 === 0 ? 503 : 200,
    });
    http.publish(ev);
    ref.onHttp(ev);
  }
  clock.now += 5000;
  shipper.cutInSlices(clock.now);
  // Counted after the cut: the next interval's, never the sliced batch's.
  http.publish(httpEvent({ route: "late" }));
  let b = shipper.take();
  for (let turns = 0; b === undefined && turns < 10_000; turns++) {
    await new Promise((r) => setImmediate(r));
    b = shipper.take();
  }
  assert.ok(b !== undefined, "the sliced cut finished");
  assert.deepEqual(b, ref.take(clock.now));
  assert.equal(c.take().services["L a.example"]!.routes.late!.requests, 1);
});

// h2-abuse.test.ts: the HTTP/2 front end under abuse (docs/http2.md). Raw frames over cleartext
// and TLS: rapid reset, CONTINUATION, SETTINGS and PING floods, too many streams and invalid
// frames each end with GOAWAY ENHANCE_YOUR_CALM and a closed connection, counted in
// portico_http2_cut_connections_total and logged once per interval; a client that cancels some
// of its requests now and then is left alone.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { compileHttpWith } from "../../src/engine/l7/compile.ts";
import { defaultH2Limits } from "../../src/engine/l7/h2-guard.ts";
import { defaultLimits } from "../../src/engine/l7/runtime.ts";
import {
  RoundRobinUpstreams,
  catchAllListener,
  listen,
  poolOf,
  snapshotOf,
} from "../../src/engine/l7/testing.ts";
import { Metrics } from "../../src/engine/metrics.ts";
import { selfSigned } from "../support/certs.ts";
import {
  ENHANCE_YOUR_CALM,
  FRAME,
  RawH2,
  flood,
  frame,
  getBlock,
  ping,
  rapidReset,
  settings,
} from "./h2-raw.ts";

const cert = selfSigned(["*.example.com"]);
let backendConnections = 0;
// dropSeen and dropGone count backend requests under /drop and those that ended without an answer.
let dropSeen = 0;
let dropGone = 0;
const backend = http.createServer((req, res) => {
  if (req.url?.startsWith("/drop")) {
    dropSeen++;
    res.on("close", () => void (res.writableFinished || dropGone++));
  }
  req.resume();
  const slow = /[?&]ms=(\d+)/.exec(req.url ?? "");
  req.on("end", () => setTimeout(() => res.end("ok\n"), slow ? Number(slow[1]) : 0));
});
backend.on("connection", () => backendConnections++);
backend.listen(0, "127.0.0.1");
await once(backend, "listening");
const pools = { p: poolOf("p", [(backend.address() as AddressInfo).port]) };
const metrics = new Metrics().subscribe();
const logs: { msg: string; fields: Record<string, unknown> | undefined }[] = [];

async function start(name: string, tls: boolean) {
  const l = catchAllListener(name, tls ? { tls: { sni: [], defaultCertificate: "ns/cert" } } : {});
  const deps = {
    snapshot: snapshotOf(l, pools, { "ns/cert": cert }),
    upstreams: new RoundRobinUpstreams(pools),
    log: (_level: string, msg: string, fields?: Record<string, unknown>) => logs.push({ msg, fields }),
  };
  // The default limits but a 1 s window, so the frame-bytes sweep runs within the test's time.
  const handler = compileHttpWith(l, deps, { ...defaultLimits, h2: { ...defaultH2Limits, windowMs: 1000 } });
  return listen({ current: handler });
}
const plain = await start("plain", false);
const secure = await start("secure", true);
after(() => {
  metrics.close();
  plain.server.close();
  secure.server.close();
  backend.close();
  backend.closeAllConnections();
});

function cuts(listener: string, reason: string): number {
  const m = new RegExp(
    `^portico_http2_cut_connections_total\\{listener="${listener}",reason="${reason}"\\} (\\d+)$`,
    "m",
  );
  return Number(m.exec(metrics.render())?.[1] ?? 0);
}

// Each abusive connection comes from its own loopback address: three cuts of one address within
// the window put it in the penalty box (h2-penalty.ts), which has a test of its own below.
let nextSource = 0;
const source = () => `127.0.5.${++nextSource}`;

// expectCut opens a connection, runs the abuse and asserts GOAWAY ENHANCE_YOUR_CALM then close.
async function expectCut(
  abuse: (c: RawH2) => Promise<unknown>,
  reason: string,
  opts: { tls?: boolean; from?: string } = {},
): Promise<RawH2> {
  const listener = opts.tls ? "secure" : "plain";
  const before = cuts(listener, reason);
  const from = opts.from ?? source();
  const c = opts.tls
    ? await RawH2.open(secure.port, { servername: "a.example.com", ca: cert.certPem }, "127.0.0.1", from)
    : await RawH2.open(plain.port, undefined, "127.0.0.1", from);
  await abuse(c);
  await c.until("GOAWAY and close", () => c.goaway() !== undefined && c.closed);
  assert.equal(c.goaway(), ENHANCE_YOUR_CALM, `GOAWAY code for ${reason}`);
  assert.equal(cuts(listener, reason), before + 1, `portico_http2_cut_connections_total{reason="${reason}"}`);
  return c;
}

test("rapid reset (HEADERS then RST_STREAM) is cut, and opens next to no backend connections", async () => {
  const conns = backendConnections;
  await expectCut((c) => rapidReset(c, "a.test"), "rapid_reset");
  // The first few resets may reach a backend; once suspect, streams wait a turn and die unforwarded.
  assert.ok(backendConnections - conns <= 20, `backend connections opened: ${backendConnections - conns}`);
});

test("rapid reset over TLS (ALPN h2) is cut", async () => {
  await expectCut((c) => rapidReset(c, "a.example.com"), "rapid_reset", { tls: true });
});

test("rapid reset in one burst (nghttp2's own limit trips first) is still counted as rapid_reset", async () => {
  const before = cuts("plain", "rapid_reset");
  const c = await RawH2.open(plain.port, undefined, "127.0.0.1", source());
  await rapidReset(c, "a.test", 3000, 3000);
  await c.until("close", () => c.closed);
  assert.notEqual(c.goaway(), undefined);
  await assertEventually(() => cuts("plain", "rapid_reset") === before + 1, "rapid_reset counted");
});

test("CONTINUATION flood is cut", async () => {
  await expectCut(async (c) => {
    c.write(frame(FRAME.HEADERS, 0x1, 1, getBlock("a.test")));
    // Each CONTINUATION adds a header "x: y": the block never ends.
    await flood(c, () => frame(FRAME.CONTINUATION, 0, 1, Buffer.from([0x40, 1, 0x78, 1, 0x79])), 20, 5000);
  }, "frame_flood");
});

test("SETTINGS flood (a client that reads its ACKs) is cut", async () => {
  await expectCut((c) => flood(c, () => settings()), "settings_flood");
});

test("PING flood (a client that reads its ACKs) is cut", async () => {
  await expectCut((c) => flood(c, (i) => ping(i)), "ping_flood");
});

test("PING flood in one write (ACKs pile up unread) is cut", async () => {
  await expectCut(
    async (c) => c.write(Buffer.concat(Array.from({ length: 20_000 }, (_, i) => ping(i)))),
    "ping_flood",
  );
});

test("opening streams far past SETTINGS_MAX_CONCURRENT_STREAMS is cut", async () => {
  await expectCut(async (c) => {
    const out: Buffer[] = [];
    // HEADERS without END_STREAM on a slow path: every stream stays open; 250 are allowed.
    for (let i = 0; i < 1000; i++)
      out.push(frame(FRAME.HEADERS, 0x4, 1 + 2 * i, getBlock("a.test", "/slow?ms=5000")));
    c.write(Buffer.concat(out));
  }, "frame_flood");
});

test("WINDOW_UPDATE abuse (a flood of tiny window increments) is cut", async () => {
  const one = Buffer.alloc(4);
  one.writeUInt32BE(1);
  // 13 bytes a frame, nothing node reports: caught by the bytes-beyond-payload sweep.
  await expectCut(
    (c) => flood(c, () => frame(FRAME.WINDOW_UPDATE, 0, 0, one), 1000, 10_000_000),
    "frame_flood",
  );
});

test("a zero WINDOW_UPDATE increment on a stream is a protocol error, not abuse", async () => {
  const c = await RawH2.open(plain.port);
  c.write(frame(FRAME.HEADERS, 0x4, 1, getBlock("a.test", "/slow?ms=100")));
  c.write(frame(FRAME.WINDOW_UPDATE, 0, 1, Buffer.alloc(4)));
  await c.until("GOAWAY or RST_STREAM", () => c.closed || c.frames.some((f) => f.type === FRAME.RST_STREAM));
  assert.notEqual(c.goaway(), ENHANCE_YOUR_CALM);
  c.close();
});

test("a client that cancels some of its requests is not cut", async () => {
  const client = http2.connect(`http://127.0.0.1:${plain.port}`);
  let goaway = false;
  client.on("goaway", () => (goaway = true));
  client.on("error", () => {});
  for (let i = 0; i < 400; i++) {
    const req = client.request({ ":path": i % 4 === 0 ? "/slow?ms=1000" : "/", ":authority": "a.test" });
    req.on("error", () => {});
    req.resume();
    // One in four is cancelled before its answer: a browser navigating away, a gRPC deadline.
    if (i % 4 === 0) req.close(http2.constants.NGHTTP2_CANCEL);
    else await once(req, "end");
  }
  const res = client.request({ ":path": "/", ":authority": "a.test" });
  res.resume();
  const [headers] = (await once(res, "response")) as [http2.IncomingHttpHeaders];
  assert.equal(headers[":status"], 200);
  assert.equal(goaway, false);
  client.close();
});

test("a client that drops its TCP connection with 150 streams open is not taken for a rapid reset", async () => {
  const from = "127.0.7.1";
  const before = cuts("plain", "rapid_reset") + cuts("plain", "penalty");
  // Three times from one address: were each counted as a cut, the address would be in the penalty box.
  for (let round = 0; round < 3; round++) {
    const c = await RawH2.open(plain.port, undefined, "127.0.0.1", from);
    const seen = dropSeen;
    const gone = dropGone;
    const out: Buffer[] = [];
    for (let i = 0; i < 150; i++)
      out.push(frame(FRAME.HEADERS, 0x5, 2 * i + 1, getBlock("a.test", "/drop?ms=10000")));
    c.write(Buffer.concat(out));
    await assertEventually(() => dropSeen === seen + 150, "150 requests at the backend");
    c.close(); // TCP gone: every stream dies with its session
    // Portico drops each backend request when its stream closes (after the guard heard of it).
    await assertEventually(() => dropGone === gone + 150, "150 backend requests dropped");
  }
  assert.equal(cuts("plain", "rapid_reset") + cuts("plain", "penalty"), before);
  const again = await RawH2.open(plain.port, undefined, "127.0.0.1", from);
  again.write(frame(FRAME.HEADERS, 0x5, 1, getBlock("a.test", "/")));
  await again.until("a HEADERS answer", () => again.frames.some((f) => f.type === FRAME.HEADERS));
  again.close();
});

test("an address cut three times within the window has its next HTTP/2 connections closed at once", async () => {
  const from = "127.0.6.1";
  for (let i = 0; i < 3; i++) await expectCut((c) => flood(c, (j) => ping(j)), "ping_flood", { from });
  const before = cuts("plain", "penalty");
  const c = await RawH2.open(plain.port, undefined, "127.0.0.1", from);
  await c.until("close", () => c.closed);
  assert.deepEqual(c.frames, [], "closed before any HTTP/2 frame");
  assert.equal(cuts("plain", "penalty"), before + 1);
  // Other addresses, and HTTP/1.1 from this one, are served.
  const other = http2.connect(`http://127.0.0.1:${plain.port}`);
  const res = other.request({ ":path": "/", ":authority": "a.test" });
  res.resume();
  const [headers] = (await once(res, "response")) as [http2.IncomingHttpHeaders];
  assert.equal(headers[":status"], 200);
  other.close();
  const h1 = await new Promise<number>((resolve, reject) =>
    http
      .get(
        { host: "127.0.0.1", port: plain.port, localAddress: from, path: "/", headers: { host: "a.test" } },
        (r) => {
          r.resume();
          resolve(r.statusCode!);
        },
      )
      .on("error", reject),
  );
  assert.equal(h1, 200);
});

test("cuts are logged once per interval with a count of the ones left unlogged", async () => {
  const cutLogs = () =>
    logs.filter((l) => l.msg.startsWith("HTTP/2 connection cut") && l.fields?.listener === "plain");
  const before = cutLogs().length;
  for (let i = 0; i < 3; i++) await expectCut((c) => flood(c, (j) => ping(j)), "ping_flood");
  // Earlier tests cut connections on this listener within the minute: at most one line was written.
  assert.ok(cutLogs().length <= 1, `cut log lines: ${cutLogs().length}`);
  assert.ok(before <= 1);
  const first = cutLogs()[0]!;
  assert.match(String(first.fields?.reason), /_/);
  assert.match(String(first.fields?.client), /^127\.0\.5\.\d+$/);
});

async function assertEventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

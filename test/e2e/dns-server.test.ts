// dns-server.test.ts: the engine's authoritative DNS server through real clients (dig, kdig) and
// real sockets on 127.0.0.x: every record type and error case over UDP and TCP, EDNS sizes, a
// 2,000-record zone that truncates, TCP pipelining and idle close, hitless zone swaps, records
// withdrawn by real health checks, response-rate limiting, forwarding, metrics and bind errors.
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import { after, before, test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import { Metrics } from "../../src/engine/metrics.ts";
import { TCP_IDLE_TIMEOUT_MS } from "../../src/engine/dns/server.ts";
import { decodeMessage, encodeQuery } from "../../src/engine/dns/message.ts";
import { RCODE, TYPE } from "../../src/engine/dns/wire.ts";
import type { DnsRecord, DnsServer, EngineSnapshot } from "../../src/model/ir.ts";
import { ask, dig, dnsServer, dnsSnapshot, dnsZone, Prober, query, rec, toolSkip } from "./dns-helpers.ts";
import { waitFor } from "./harness.ts";
import { endpoint, freePort, l4, pool, until } from "./l4-helpers.ts";

const VIP = "127.0.0.81";
const BACKEND = "127.0.0.82";
const skip = toolSkip("dig", "kdig");
const engine = new Engine({ bindRetryMs: 50 });
const metrics = new Metrics().subscribe();
let port = 0;
let fwdPort = 0;
let rrlPort = 0;
let backend: Server;
let backendPort = 0;
let version = 1;

function records(extra: DnsRecord[] = []): DnsRecord[] {
  return [
    rec("ns1.example.test", "A", VIP),
    rec("www.example.test", "A", "192.0.2.1"),
    rec("www.example.test", "AAAA", "2001:db8::1"),
    rec("txt.example.test", "TXT", "v=spf1 -all"),
    rec("alias.example.test", "CNAME", "www.example.test"),
    rec("*.wild.example.test", "A", "192.0.2.7"),
    rec("app.example.test", "A", "192.0.2.50", { pools: ["app"] }),
    rec("safe.example.test", "A", "192.0.2.51", { pools: ["app"], fallback: true }),
    ...Array.from({ length: 40 }, (_, i) => rec("mid.example.test", "A", `198.51.100.${i + 1}`)),
    ...extra,
  ];
}

// big.test has 2,000 records: 1,000 hosts with one address each and one name with 1,000.
const big = dnsZone("big.test", [
  ...Array.from({ length: 1000 }, (_, i) => rec(`h${i}.big.test`, "A", `10.${i >> 8}.${i & 255}.1`)),
  ...Array.from({ length: 1000 }, (_, i) => rec("all.big.test", "A", `10.9.${i >> 8}.${i & 255}`)),
]);

function snap(extra: DnsRecord[] = [], over: Partial<DnsServer> = {}): EngineSnapshot {
  const appPool = pool("app", [endpoint(BACKEND, backendPort)], {
    healthCheck: { type: "TCP", intervalMs: 50, timeoutMs: 200, rise: 1, fall: 1 },
  });
  const other = dnsZone("other.test", [rec("www.other.test", "A", "192.0.2.99")]);
  return dnsSnapshot(
    version++,
    [
      dnsServer("DnsZone/example.test", VIP, port, [dnsZone("example.test", records(extra)), big], {
        forward: [`${VIP}:${fwdPort}`],
        ...over,
      }),
      // The resolver the first one forwards other names to.
      dnsServer("DnsZone/other.test", VIP, fwdPort, [other]),
      dnsServer("DnsZone/limited.test", VIP, rrlPort, [dnsZone("limited.test", [])], {
        rateLimit: { responsesPerSecond: 5, slip: 2 },
      }),
    ],
    [appPool],
  );
}

before(async () => {
  if (skip) return;
  backend = createServer((s) => s.end());
  await new Promise<void>((r) => backend.listen(0, BACKEND, r));
  backendPort = (backend.address() as { port: number }).port;
  port = await freePort(VIP, "UDP");
  fwdPort = await freePort(VIP, "UDP");
  rrlPort = await freePort(VIP, "UDP");
  assert.deepEqual(engine.apply(snap()), { ok: true });
  await engine.settled();
  assert.ok(
    engine.status().listeners.every((l) => l.state === "bound"),
    JSON.stringify(engine.status().listeners),
  );
});

after(async () => {
  metrics.close();
  await engine.close();
  backend?.close();
});

const opts = { skip };

test(
  "dns e2e: every record type over UDP (dig) and TCP (kdig), AA set, RA clear, query case kept",
  opts,
  async () => {
    for (const tool of ["dig", "kdig"] as const) {
      const o = { tool, tcp: tool === "kdig" };
      const a = await dig(VIP, port, "WWW.Example.Test", "A", o);
      assert.equal(a.rcode, "NOERROR");
      assert.ok(a.flags.includes("aa") && !a.flags.includes("ra"), a.flags.join(" "));
      // kdig sends names in lower case; dig as typed.
      assert.deepEqual(a.answer, [
        `${tool === "dig" ? "WWW.Example.Test" : "www.example.test"}. 300 A 192.0.2.1`,
      ]);
      assert.deepEqual((await dig(VIP, port, "www.example.test", "AAAA", o)).answer, [
        "www.example.test. 300 AAAA 2001:db8::1",
      ]);
      assert.deepEqual((await dig(VIP, port, "txt.example.test", "TXT", o)).answer, [
        'txt.example.test. 300 TXT "v=spf1 -all"',
      ]);
      assert.deepEqual((await dig(VIP, port, "alias.example.test", "A", o)).answer, [
        "alias.example.test. 300 CNAME www.example.test.",
        "www.example.test. 300 A 192.0.2.1",
      ]);
      assert.deepEqual((await dig(VIP, port, "alias.example.test", "CNAME", o)).answer, [
        "alias.example.test. 300 CNAME www.example.test.",
      ]);
      assert.deepEqual((await dig(VIP, port, "x.y.wild.example.test", "A", o)).answer, [
        "x.y.wild.example.test. 300 A 192.0.2.7",
      ]);
      const ns = await dig(VIP, port, "example.test", "NS", o);
      assert.deepEqual(
        [ns.answer, ns.additional],
        [["example.test. 3600 NS ns1.example.test."], [`ns1.example.test. 300 A ${VIP}`]],
      );
      assert.deepEqual((await dig(VIP, port, "example.test", "SOA", o)).answer, [
        "example.test. 3600 SOA ns1.example.test. hostmaster.example.test. 2026120601 3600 600 604800 300",
      ]);
    }
  },
);

test("dns e2e: NXDOMAIN and NODATA with the SOA, REFUSED outside, FORMERR and NOTIMP", opts, async () => {
  const soa =
    "example.test. 300 SOA ns1.example.test. hostmaster.example.test. 2026120601 3600 600 604800 300";
  for (const tcp of [false, true]) {
    const nx = await dig(VIP, port, "nope.example.test", "A", { tcp });
    assert.deepEqual([nx.rcode, nx.answer, nx.authority], ["NXDOMAIN", [], [soa]]);
    const nodata = await dig(VIP, port, "www.example.test", "MX", { tcp });
    assert.deepEqual([nodata.rcode, nodata.answer, nodata.authority], ["NOERROR", [], [soa]]);
    const refused = await dig(VIP, port, "example.org", "A", { tcp });
    assert.equal(refused.rcode, "REFUSED");
    assert.ok(!refused.flags.includes("aa"));
  }
  const notimp = await dig(VIP, port, "www.example.test", "A", { extra: ["+opcode=status"] });
  assert.equal(notimp.rcode, "NOTIMP");
  const two = encodeQuery("www.example.test", TYPE.A);
  two.writeUInt16BE(2, 4);
  assert.equal(decodeMessage((await ask(VIP, port, two))!).rcode, RCODE.FORMERR);
  assert.equal(decodeMessage((await ask(VIP, port, two, "tcp"))!).rcode, RCODE.FORMERR);
});

test(
  "dns e2e: EDNS(0): the OPT record comes back (1232); a 40-record set fits with EDNS only",
  opts,
  async () => {
    const edns = await dig(VIP, port, "mid.example.test", "A", { bufsize: 1232, ignore: true });
    assert.deepEqual([edns.udpSize, edns.answer.length, edns.flags.includes("tc")], [1232, 40, false]);
    const plain = await dig(VIP, port, "mid.example.test", "A", { noEdns: true, ignore: true });
    assert.deepEqual([plain.udpSize, plain.answer.length, plain.flags.includes("tc")], [undefined, 0, true]);
    const small = await dig(VIP, port, "mid.example.test", "A", { bufsize: 512, ignore: true, tool: "kdig" });
    assert.deepEqual([small.answer.length, small.flags.includes("tc")], [0, true]);
  },
);

test("dns e2e: a 2,000-record zone truncates over UDP and answers in full over TCP", opts, async () => {
  const udp = await dig(VIP, port, "all.big.test", "A", { ignore: true });
  assert.deepEqual([udp.flags.includes("tc"), udp.answer.length], [true, 0]);
  // dig without +ignore retries over TCP by itself, as a resolver does.
  const retried = await dig(VIP, port, "all.big.test", "A");
  assert.deepEqual([retried.flags.includes("tc"), retried.answer.length], [false, 1000]);
  for (const tool of ["dig", "kdig"] as const) {
    const tcp = await dig(VIP, port, "all.big.test", "A", { tcp: true, tool });
    assert.equal(tcp.answer.length, 1000);
  }
  assert.deepEqual((await dig(VIP, port, "h999.big.test", "A")).answer, ["h999.big.test. 300 A 10.3.231.1"]);
});

test("dns e2e: TCP carries several queries per connection and closes an idle one", opts, async () => {
  const s = connect({ host: VIP, port });
  const frames = ["www.example.test", "txt.example.test", "nope.example.test"].map((n, i) => {
    const q = encodeQuery(n, n.startsWith("txt") ? TYPE.TXT : TYPE.A, { id: i + 1 });
    const head = Buffer.alloc(2);
    head.writeUInt16BE(q.length);
    return Buffer.concat([head, q]);
  });
  s.write(Buffer.concat(frames)); // pipelined in one segment
  let buf = Buffer.alloc(0);
  let closed = false;
  s.on("data", (d: Buffer) => (buf = Buffer.concat([buf, d])));
  s.on("close", () => (closed = true));
  const replies = (): Buffer[] => {
    const out: Buffer[] = [];
    for (let off = 0; off + 2 <= buf.length;) {
      const len = buf.readUInt16BE(off);
      if (off + 2 + len > buf.length) break;
      out.push(buf.subarray(off + 2, off + 2 + len));
      off += 2 + len;
    }
    return out;
  };
  await until(() => replies().length === 3, "three answers on one connection");
  assert.deepEqual(
    replies().map((r) => [decodeMessage(r).id, decodeMessage(r).rcode]),
    [
      [1, 0],
      [2, 0],
      [3, 3],
    ],
  );
  const started = Date.now();
  await until(() => closed, "idle connection closed by the server", TCP_IDLE_TIMEOUT_MS + 10_000);
  process.stderr.write(`dns e2e: idle TCP connection closed after ${Date.now() - started} ms\n`);
  assert.ok(Date.now() - started >= TCP_IDLE_TIMEOUT_MS - 500);
});

test(
  "dns e2e: a new snapshot answers from the next query, on the same sockets and connections",
  opts,
  async () => {
    const s = connect({ host: VIP, port });
    let buf = Buffer.alloc(0);
    let closed = false;
    s.on("data", (d: Buffer) => (buf = Buffer.concat([buf, d])));
    s.on("close", () => (closed = true));
    const askTcp = async (name: string): Promise<string[]> => {
      buf = Buffer.alloc(0);
      const q = encodeQuery(name, TYPE.A);
      const head = Buffer.alloc(2);
      head.writeUInt16BE(q.length);
      s.write(Buffer.concat([head, q]));
      await until(() => buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0), `tcp answer for ${name}`);
      return decodeMessage(buf.subarray(2)).answer;
    };
    try {
      assert.deepEqual(await askTcp("new.example.test"), []);
      assert.deepEqual(engine.apply(snap([rec("new.example.test", "A", "192.0.2.77")])), { ok: true });
      // No wait: the swap is synchronous, the next query sees it.
      assert.deepEqual(await askTcp("new.example.test"), ["new.example.test. 300 A 192.0.2.77"]);
      assert.deepEqual((await query(VIP, port, "new.example.test", TYPE.A)).answer, [
        "new.example.test. 300 A 192.0.2.77",
      ]);
      assert.equal(closed, false, "the TCP connection survived the swap");
      assert.ok(engine.status().listeners.every((l) => l.state === "bound"));
      // A rejected snapshot (a record outside its zone) leaves the last good one answering.
      const bad = engine.apply(snap([rec("x.example.org", "A", "192.0.2.1")]));
      assert.equal(bad.ok, false);
      assert.deepEqual(await askTcp("new.example.test"), ["new.example.test. 300 A 192.0.2.77"]);
    } finally {
      s.destroy();
    }
  },
);

test(
  "dns e2e: a health-aware record is withdrawn while its pool is down and returns when it is up",
  opts,
  async () => {
    const answers = async (name: string) => (await query(VIP, port, name, TYPE.A)).answer;
    await waitFor("app answered", async () => (await answers("app.example.test")).length === 1);
    // The backend goes away: the TCP health check fails, the record is withdrawn (NODATA).
    await new Promise((r) => backend.close(r));
    const downAt = Date.now();
    await waitFor("app withdrawn", async () => (await answers("app.example.test")).length === 0);
    process.stderr.write(`dns e2e: record withdrawn ${Date.now() - downAt} ms after its backend stopped\n`);
    const nodata = await query(VIP, port, "app.example.test", TYPE.A);
    assert.deepEqual([nodata.rcode, nodata.authority.length], [RCODE.NOERROR, 1]);
    // fallback: answered even now.
    assert.deepEqual(await answers("safe.example.test"), ["safe.example.test. 300 A 192.0.2.51"]);
    backend = createServer((s) => s.end());
    await new Promise<void>((r) => backend.listen(backendPort, BACKEND, r));
    const upAt = Date.now();
    await waitFor("app back", async () => (await answers("app.example.test")).length === 1);
    process.stderr.write(`dns e2e: record back ${Date.now() - upAt} ms after its backend returned\n`);
  },
);

test(
  "dns e2e: response-rate limiting drops most responses past the rate, slips some truncated, spares TCP",
  opts,
  async () => {
    const p = await Prober.open();
    try {
      const q = encodeQuery("limited.test", TYPE.SOA);
      const got = await Promise.all(Array.from({ length: 40 }, () => p.send(VIP, rrlPort, q, 1000)));
      const full = got.filter((m) => m !== undefined && !decodeMessage(m).flags.tc).length;
      const slipped = got.filter((m) => m !== undefined && decodeMessage(m).flags.tc);
      process.stderr.write(
        `dns e2e: 40 queries at once: ${full} answered, ${slipped.length} truncated, ${40 - full - slipped.length} dropped\n`,
      );
      assert.ok(full >= 5 && full <= 7, `about 5 full answers (the bucket, plus a refill), got ${full}`);
      assert.ok(
        slipped.length >= 15 && slipped.length <= 20,
        `every second limited one slips, got ${slipped.length}`,
      );
      // A slipped answer is bare: no records, so no amplification.
      for (const m of slipped) assert.deepEqual(decodeMessage(m!).answer, []);
      // TCP is never limited: the client proved its address.
      const tcp = decodeMessage((await ask(VIP, rrlPort, q, "tcp"))!);
      assert.deepEqual([tcp.rcode, tcp.answer.length], [RCODE.NOERROR, 1]);
      assert.match(
        metrics.render(),
        /portico_dns_rate_limited_total\{server="DnsZone\/limited.test",action="drop"\} \d+/,
      );
    } finally {
      p.close();
    }
  },
);

test(
  "dns e2e: names outside every zone go to the forward resolvers; SERVFAIL when none answers",
  opts,
  async () => {
    const fwd = await dig(VIP, port, "www.other.test", "A");
    assert.deepEqual([fwd.rcode, fwd.answer], ["NOERROR", ["www.other.test. 300 A 192.0.2.99"]]);
    const viaTcp = await dig(VIP, port, "www.other.test", "A", { tcp: true });
    assert.deepEqual(viaTcp.answer, ["www.other.test. 300 A 192.0.2.99"]);
    // The resolver's own REFUSED comes back as it is.
    assert.equal((await dig(VIP, port, "example.org", "A")).rcode, "REFUSED");
    // A resolver that never answers.
    const silent = createSocket("udp4");
    await new Promise<void>((r) => silent.bind(0, "127.0.0.83", r));
    try {
      assert.deepEqual(engine.apply(snap([], { forward: [`127.0.0.83:${silent.address().port}`] })), {
        ok: true,
      });
      const m = await query(VIP, port, "www.other.test", TYPE.A, { timeoutMs: 8000 });
      assert.equal(m.rcode, RCODE.SERVFAIL);
    } finally {
      silent.close();
      assert.deepEqual(engine.apply(snap()), { ok: true });
    }
  },
);

test("dns e2e: queries are counted per server, response code and type", opts, async () => {
  await query(VIP, port, "nope.example.test", TYPE.AAAA);
  const text = metrics.render();
  assert.match(
    text,
    /portico_dns_queries_total\{server="DnsZone\/example.test",rcode="NOERROR",qtype="A"\} \d+/,
  );
  assert.match(
    text,
    /portico_dns_queries_total\{server="DnsZone\/example.test",rcode="NXDOMAIN",qtype="AAAA"\} \d+/,
  );
});

test("dns e2e: a port already taken shows as a listener error, retried until free", opts, async () => {
  const taken = createSocket("udp4");
  const busyPort = await freePort("127.0.0.84", "UDP");
  await new Promise<void>((r) => taken.bind(busyPort, "127.0.0.84", r));
  const s = snap();
  s.dns!.push(dnsServer("DnsZone/busy.test", "127.0.0.84", busyPort, [dnsZone("busy.test", [])]));
  assert.deepEqual(engine.apply(s), { ok: true });
  await engine.settled();
  const udp = () =>
    engine.status().listeners.find((l) => l.name === "DnsZone/busy.test" && l.protocol === "UDP");
  await until(() => udp()?.state === "error", "bind error shown");
  assert.equal(udp()?.code, "EADDRINUSE");
  taken.close();
  await until(() => udp()?.state === "bound", "bound once the port is free", 10_000);
  assert.equal((await query("127.0.0.84", busyPort, "busy.test", TYPE.SOA)).answer.length, 1);
  assert.deepEqual(engine.apply(snap()), { ok: true });
});

test("dns e2e: a server on an IPv6 address answers over UDP and TCP", opts, async () => {
  const v6port = await freePort("127.0.0.85", "UDP"); // any port; ::1 has its own space
  const s = snap();
  s.dns!.push(
    dnsServer("DnsZone/v6.test", "::1", v6port, [
      dnsZone("v6.test", [rec("www.v6.test", "AAAA", "2001:db8::6")]),
    ]),
  );
  assert.deepEqual(engine.apply(s), { ok: true });
  await engine.settled();
  try {
    for (const tcp of [false, true])
      assert.deepEqual((await dig("::1", v6port, "www.v6.test", "AAAA", { tcp })).answer, [
        "www.v6.test. 300 AAAA 2001:db8::6",
      ]);
  } finally {
    assert.deepEqual(engine.apply(snap()), { ok: true });
  }
});

test("dns e2e: an L4 UDP listener's port taken over by a DNS server answers DNS at once", opts, async () => {
  const shared = await freePort("127.0.0.87", "UDP");
  const proxied = snap();
  proxied.l4.push(l4("Service/x/udp:53", "127.0.0.87", shared, "app", { protocol: "UDP" }));
  assert.deepEqual(engine.apply(proxied), { ok: true });
  await engine.settled();
  const dns = snap();
  dns.dns!.push(dnsServer("DnsZone/moved.test", "127.0.0.87", shared, [dnsZone("moved.test", [])]));
  assert.deepEqual(engine.apply(dns), { ok: true });
  await engine.settled();
  try {
    const m = await waitFor("the DNS server answers on the former proxy port", () =>
      query("127.0.0.87", shared, "moved.test", TYPE.SOA, { timeoutMs: 500 }).catch(() => undefined),
    );
    assert.equal(m.answer.length, 1);
  } finally {
    assert.deepEqual(engine.apply(snap()), { ok: true });
  }
});

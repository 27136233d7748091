// answer.test.ts: the authoritative answer, case by case, through respond() (bytes in, bytes out)
// so header flags, sections and sizes are checked as a client reads them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DnsRecord, DnsZoneData } from "../../model/ir.ts";
import { respond, type PoolUp } from "./answer.ts";
import { decodeMessage, encodeQuery, type Message } from "./message.ts";
import { RCODE, TYPE } from "./wire.ts";
import { compileZones } from "./zone.ts";

const r = (
  name: string,
  type: DnsRecord["type"],
  value: string,
  over: Partial<DnsRecord> = {},
): DnsRecord => ({
  name,
  type,
  value,
  ttl: 300,
  ...over,
});

function zone(name: string, records: DnsRecord[]): DnsZoneData {
  return {
    name,
    soa: {
      mname: `ns1.${name}`,
      rname: `hostmaster.${name}`,
      serial: 7,
      refresh: 3600,
      retry: 600,
      expire: 604800,
      minimum: 60,
      ttl: 3600,
    },
    ns: [`ns1.${name}`, "ns.elsewhere.example"],
    nsTtl: 3600,
    records,
  };
}

const zones = compileZones([
  zone("example.com", [
    r("ns1.example.com", "A", "192.0.2.53"),
    r("ns1.example.com", "AAAA", "2001:db8::53"),
    r("www.example.com", "A", "192.0.2.1"),
    r("www.example.com", "A", "192.0.2.2"),
    r("www.example.com", "AAAA", "2001:db8::1"),
    r("txt.example.com", "TXT", "hello world"),
    r("long.example.com", "TXT", "y".repeat(300)),
    r("*.wild.example.com", "A", "192.0.2.9", { ttl: 77 }),
    r("exists.wild.example.com", "TXT", "real"),
    r("deep.ent.wild.example.com", "A", "192.0.2.10"),
    r("alias.example.com", "CNAME", "www.example.com"),
    r("chain.example.com", "CNAME", "alias.example.com"),
    r("out.example.com", "CNAME", "www.example.org"),
    r("dangling.example.com", "CNAME", "gone.example.com"),
    r("loop-a.example.com", "CNAME", "loop-b.example.com"),
    r("loop-b.example.com", "CNAME", "loop-a.example.com"),
    r("*.cw.example.com", "CNAME", "www.example.com"),
    r("app.example.com", "A", "192.0.2.21", { pools: ["p-up"] }),
    r("app.example.com", "A", "192.0.2.22", { pools: ["p-down"] }),
    r("gone.app.example.com", "A", "192.0.2.23", { pools: ["p-down"] }),
    r("kept.example.com", "A", "192.0.2.24", { pools: ["p-down"], fallback: true }),
    ...Array.from({ length: 60 }, (_, i) => r("big.example.com", "A", `198.51.100.${i}`)),
  ]),
  zone("sub.example.com", [r("www.sub.example.com", "A", "192.0.2.99")]),
]);

const poolUp: PoolUp = (p) => p === "p-up";

function ask(name: string, type: number, opts: Parameters<typeof encodeQuery>[2] = {}, tcp = false): Message {
  return send(encodeQuery(name, type, opts), tcp);
}

function send(wire: Buffer, tcp = false): Message {
  const reply = respond(
    wire,
    zones,
    poolUp,
    { transport: tcp ? "tcp" : "udp", address: "192.0.2.200" },
    false,
  );
  assert.equal(reply.kind, "send");
  return decodeMessage((reply as { bytes: Buffer }).bytes);
}

const SOA_NEG = "example.com. 60 SOA ns1.example.com. hostmaster.example.com. 7 3600 600 604800 60";

test("answer: an exact name: AA set, RA clear, the whole set, RD copied", () => {
  const m = ask("www.example.com", TYPE.A, { rd: true });
  assert.equal(m.rcode, RCODE.NOERROR);
  assert.deepEqual(m.flags, { qr: true, aa: true, tc: false, rd: true, ra: false });
  assert.deepEqual(m.answer, ["www.example.com. 300 A 192.0.2.1", "www.example.com. 300 A 192.0.2.2"]);
  assert.deepEqual([m.authority, m.additional], [[], []]);
  assert.deepEqual(ask("www.example.com", TYPE.AAAA).answer, [
    "www.example.com. 300 AAAA 2001:db8:0:0:0:0:0:1",
  ]);
  assert.deepEqual(ask("txt.example.com", TYPE.TXT).answer, ['txt.example.com. 300 TXT "hello world"']);
  // A TXT value over 255 bytes is two character strings.
  assert.deepEqual(ask("long.example.com", TYPE.TXT).answer, [
    `long.example.com. 300 TXT "${"y".repeat(255)}" "${"y".repeat(45)}"`,
  ]);
});

test("answer: names match without letter case and the answer keeps the query's case", () => {
  const m = ask("WwW.ExAmPlE.CoM", TYPE.A);
  assert.equal(m.question[0]!.name, "WwW.ExAmPlE.CoM.");
  assert.deepEqual(m.answer, ["WwW.ExAmPlE.CoM. 300 A 192.0.2.1", "WwW.ExAmPlE.CoM. 300 A 192.0.2.2"]);
});

test("answer: the apex answers SOA and NS, with the in-zone name server's addresses as glue", () => {
  assert.deepEqual(ask("example.com", TYPE.SOA).answer, [SOA_NEG.replace(" 60 SOA", " 3600 SOA")]);
  const ns = ask("example.com", TYPE.NS);
  assert.deepEqual(ns.answer, [
    "example.com. 3600 NS ns.elsewhere.example.",
    "example.com. 3600 NS ns1.example.com.",
  ]);
  assert.deepEqual(ns.additional, [
    "ns1.example.com. 300 A 192.0.2.53",
    "ns1.example.com. 300 AAAA 2001:db8:0:0:0:0:0:53",
  ]);
  // ANY: one set, the lowest type's (RFC 8482), with glue when that is the apex NS set.
  assert.deepEqual(ask("www.example.com", TYPE.ANY).answer, [
    "www.example.com. 300 A 192.0.2.1",
    "www.example.com. 300 A 192.0.2.2",
  ]);
  assert.equal(ask("example.com", TYPE.ANY).additional.length, 2);
  // NS below the apex is no delegation: NODATA.
  assert.deepEqual(ask("www.example.com", TYPE.NS).authority, [SOA_NEG]);
});

test("answer: NODATA and NXDOMAIN carry the SOA with TTL min(SOA TTL, minimum)", () => {
  const nodata = ask("www.example.com", TYPE.MX);
  assert.deepEqual(
    [nodata.rcode, nodata.answer, nodata.authority, nodata.flags.aa],
    [RCODE.NOERROR, [], [SOA_NEG], true],
  );
  const nx = ask("nope.example.com", TYPE.A);
  assert.deepEqual([nx.rcode, nx.answer, nx.authority, nx.flags.aa], [RCODE.NXDOMAIN, [], [SOA_NEG], true]);
});

test("answer: the most specific zone answers (sub.example.com inside example.com)", () => {
  assert.deepEqual(ask("www.sub.example.com", TYPE.A).answer, ["www.sub.example.com. 300 A 192.0.2.99"]);
  assert.match(ask("nope.sub.example.com", TYPE.A).authority[0]!, /^sub\.example\.com\. .* SOA /);
});

test("answer: wildcards synthesise for names that do not exist, never for names that do (RFC 4592)", () => {
  assert.deepEqual(ask("Any.Wild.example.com", TYPE.A).answer, ["Any.Wild.example.com. 77 A 192.0.2.9"]);
  // Several labels below the closest encloser are covered too.
  assert.deepEqual(ask("a.b.wild.example.com", TYPE.A).answer, ["a.b.wild.example.com. 77 A 192.0.2.9"]);
  // A name that exists is answered from its own records: NODATA for A.
  const exists = ask("exists.wild.example.com", TYPE.A);
  assert.deepEqual([exists.rcode, exists.answer, exists.authority], [RCODE.NOERROR, [], [SOA_NEG]]);
  // An empty non-terminal exists too: NODATA, not the wildcard.
  const ent = ask("ent.wild.example.com", TYPE.A);
  assert.deepEqual([ent.rcode, ent.answer], [RCODE.NOERROR, []]);
  // Below the empty non-terminal the closest encloser is ent.wild, which has no wildcard child.
  assert.equal(ask("x.ent.wild.example.com", TYPE.A).rcode, RCODE.NXDOMAIN);
  // A wildcard asked for literally is an exact name.
  assert.deepEqual(ask("*.wild.example.com", TYPE.A).answer, ["*.wild.example.com. 77 A 192.0.2.9"]);
  // NODATA from a wildcard: the name exists by synthesis.
  assert.deepEqual(ask("q.wild.example.com", TYPE.TXT).authority, [SOA_NEG]);
});

test("answer: a label holding a dot is one label: no zone or wildcard of the dotted spelling answers it", () => {
  // encodeQuery splits on dots; these questions carry "x.wild" and "www.example" as single labels.
  const question = (labels: string[]): Buffer => {
    const parts = [Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])];
    for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, "latin1"));
    parts.push(Buffer.from([0, 0, TYPE.A, 0, 1]));
    return Buffer.concat(parts);
  };
  // x\.wild.example.com's closest encloser is example.com, which has no wildcard: NXDOMAIN,
  // not *.wild.example.com's address.
  const inside = send(question(["x.wild", "example", "com"]));
  assert.deepEqual([inside.rcode, inside.answer], [RCODE.NXDOMAIN, []]);
  // www\.example.com is a child of com, a zone not served here: REFUSED, not example.com's NXDOMAIN.
  const outside = send(question(["www.example", "com"]));
  assert.deepEqual([outside.rcode, outside.flags.aa, outside.authority], [RCODE.REFUSED, false, []]);
});

test("answer: CNAME chains are followed inside the zone, with the target's records", () => {
  assert.deepEqual(ask("chain.example.com", TYPE.A).answer, [
    "chain.example.com. 300 CNAME alias.example.com.",
    "alias.example.com. 300 CNAME www.example.com.",
    "www.example.com. 300 A 192.0.2.1",
    "www.example.com. 300 A 192.0.2.2",
  ]);
  // Asked for the CNAME itself: only it.
  assert.deepEqual(ask("alias.example.com", TYPE.CNAME).answer, [
    "alias.example.com. 300 CNAME www.example.com.",
  ]);
  // Out of the zone: the CNAME alone, NOERROR, no authority.
  const out = ask("out.example.com", TYPE.A);
  assert.deepEqual(
    [out.rcode, out.answer, out.authority],
    [RCODE.NOERROR, ["out.example.com. 300 CNAME www.example.org."], []],
  );
  // A dangling target: NXDOMAIN for the last name (RFC 6604), the CNAME kept.
  const dangling = ask("dangling.example.com", TYPE.A);
  assert.deepEqual(
    [dangling.rcode, dangling.answer.length, dangling.authority],
    [RCODE.NXDOMAIN, 1, [SOA_NEG]],
  );
  // A target with no record of the type: NODATA after the CNAME.
  assert.deepEqual(ask("alias.example.com", TYPE.TXT).authority, [SOA_NEG]);
  // A loop stops once every name was seen.
  assert.equal(ask("loop-a.example.com", TYPE.A).answer.length, 2);
  // A wildcard CNAME takes the query's name.
  assert.deepEqual(ask("x.cw.example.com", TYPE.A).answer[0], "x.cw.example.com. 300 CNAME www.example.com.");
});

test("answer: health-aware records: answered while one of their pools is up, or with fallback", () => {
  assert.deepEqual(ask("app.example.com", TYPE.A).answer, ["app.example.com. 300 A 192.0.2.21"]);
  // Every record withdrawn: NODATA (the name still exists), so AAAA and other types stay cacheable.
  const gone = ask("gone.app.example.com", TYPE.A);
  assert.deepEqual([gone.rcode, gone.answer, gone.authority], [RCODE.NOERROR, [], [SOA_NEG]]);
  assert.deepEqual(ask("kept.example.com", TYPE.A).answer, ["kept.example.com. 300 A 192.0.2.24"]);
  // The same zone with every pool up answers both.
  const all = respond(
    encodeQuery("app.example.com", TYPE.A),
    zones,
    () => true,
    { transport: "udp", address: "" },
    false,
  );
  assert.equal(decodeMessage((all as { bytes: Buffer }).bytes).answer.length, 2);
});

test("answer: outside every zone REFUSED without AA; class CH and zone transfers too; forward when configured", () => {
  for (const m of [
    ask("www.example.org", TYPE.A),
    ask("com", TYPE.NS),
    ask("www.example.com", TYPE.A, { klass: 3 }),
  ]) {
    assert.deepEqual([m.rcode, m.flags.aa, m.answer, m.authority], [RCODE.REFUSED, false, [], []]);
  }
  assert.equal(ask("example.com", TYPE.AXFR, {}, true).rcode, RCODE.REFUSED);
  const fwd = respond(
    encodeQuery("www.example.org", TYPE.A),
    zones,
    poolUp,
    { transport: "udp", address: "" },
    true,
  );
  assert.equal(fwd.kind, "forward");
  // Names inside a zone are never forwarded.
  assert.equal(
    respond(encodeQuery("nope.example.com", TYPE.A), zones, poolUp, { transport: "udp", address: "" }, true)
      .kind,
    "send",
  );
});

test("answer: FORMERR, NOTIMP, BADVERS, and silence for what cannot be answered", () => {
  const q = encodeQuery("www.example.com", TYPE.A);
  const two = Buffer.from(q);
  two.writeUInt16BE(2, 4);
  assert.equal(send(two).rcode, RCODE.FORMERR);
  const none = Buffer.from(q.subarray(0, 12));
  none.writeUInt16BE(0, 4);
  assert.equal(send(none).rcode, RCODE.FORMERR);
  for (const opcode of [1, 2, 5]) {
    const op = Buffer.from(q);
    op.writeUInt16BE(opcode << 11, 2);
    const m = send(op);
    assert.deepEqual([m.rcode, m.opcode], [RCODE.NOTIMP, opcode]);
  }
  const truncatedName = Buffer.from(q.subarray(0, 20));
  assert.equal(send(truncatedName).rcode, RCODE.FORMERR);
  const v1 = encodeQuery("www.example.com", TYPE.A, { udpSize: 1232 });
  v1.writeUInt8(1, v1.length - 5); // EDNS version 1 (OPT: name, type, class, ext rcode, version)
  const bad = send(v1);
  assert.deepEqual([bad.rcode, bad.answer, bad.opt?.version], [RCODE.BADVERS, [], 0]);
  for (const silent of [Buffer.alloc(5), Buffer.from(q).fill(0x80, 2, 3)]) {
    assert.equal(respond(silent, zones, poolUp, { transport: "udp", address: "" }, false).kind, "drop");
  }
});

test("answer: EDNS(0): OPT echoed with 1232, DO copied; 512 bytes without EDNS; whole record sets or TC=1", () => {
  const e = ask("www.example.com", TYPE.A, { udpSize: 4096 });
  assert.deepEqual(e.opt, { udpSize: 1232, dnssecOk: false, version: 0 });
  assert.equal(ask("www.example.com", TYPE.A).opt, undefined);
  // 60 A records: 60 * 16 + header > 512 but < 1232.
  const plain = ask("big.example.com", TYPE.A);
  assert.deepEqual([plain.flags.tc, plain.answer.length], [true, 0]);
  const edns = ask("big.example.com", TYPE.A, { udpSize: 1232 });
  assert.deepEqual([edns.flags.tc, edns.answer.length], [false, 60]);
  // A size under 512 counts as 512; over TCP there is no truncation.
  assert.equal(ask("big.example.com", TYPE.A, { udpSize: 100 }).flags.tc, true);
  const tcp = ask("big.example.com", TYPE.A, {}, true);
  assert.deepEqual([tcp.flags.tc, tcp.answer.length], [false, 60]);
  // A CNAME that fits stays when its target's set does not (sets are whole).
  const chained = respond(
    encodeQuery("big.example.com", TYPE.A),
    zones,
    poolUp,
    { transport: "udp", address: "" },
    false,
  );
  assert.ok((chained as { bytes: Buffer }).bytes.length <= 512);
});

test("answer: mangled queries never throw; whatever is sent decodes and fits the limit", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const base = encodeQuery("www.wild.example.com", TYPE.A, { udpSize: 1232 });
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.from(base.subarray(0, Math.floor(rand() * (base.length + 4))));
    for (let k = 0; k < 3; k++) if (b.length > 0) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    const reply = respond(b, zones, poolUp, { transport: "udp", address: "" }, false);
    if (reply.kind !== "send") continue;
    assert.ok(reply.bytes.length <= 1232);
    decodeMessage(reply.bytes);
  }
});

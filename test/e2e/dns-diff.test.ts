// dns-diff.test.ts: differential test. The same generated zones are served by Portico's engine
// and by knotd (Debian's Knot DNS, a child on another loopback address); 10,000 generated queries
// (names that exist, don't, wildcards, empty non-terminals, CNAME chains, case variants, other
// zones; types A/AAAA/TXT/CNAME/NS/SOA/MX; with and without EDNS, UDP and TCP) must get the same
// answer from both: flags, rcode, every section record by record, the OPT record. The differences
// docs/dns.md documents are normalised by `documented` below, each with its reason there.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Engine } from "../../src/engine/engine.ts";
import { decodeMessage, encodeQuery, type Message } from "../../src/engine/dns/message.ts";
import { ask, dnsServer, dnsSnapshot, Prober, startKnot, toolSkip, type Knot } from "./dns-helpers.ts";
import { diffQueries, diffZones, type DiffQuery } from "./dns-zones.ts";
import { freePort } from "./l4-helpers.ts";

const PORTICO = "127.0.0.71";
const KNOT = "127.0.0.72";
const skip = toolSkip("knotd");
const zones = diffZones();
const engine = new Engine();
let knot: Knot | undefined;
let pport = 0;
let kport = 0;

before(async () => {
  if (skip) return;
  pport = await freePort(PORTICO, "UDP");
  kport = await freePort(KNOT, "UDP");
  assert.deepEqual(engine.apply(dnsSnapshot(1, [dnsServer("DnsZone/diff", PORTICO, pport, zones)])), {
    ok: true,
  });
  await engine.settled();
  knot = await startKnot(KNOT, kport, zones);
});

after(async () => {
  await engine.close();
  await knot?.stop();
});

/**
 * view is what is compared: everything a client reads, id aside, with the documented differences
 * (docs/dns.md) normalised: names other than the question are compared without letter case
 * (knot writes them in the zone's case, Portico may compress them against the question's), and
 * the TTL of ttls.diff.test, a set whose records ask for two TTLs (knot answers the last one
 * loaded, Portico the lowest).
 */
function view(m: Message): unknown {
  const qname = m.question[0]?.name.toLowerCase();
  const fold = (line: string) => {
    const sp = line.indexOf(" ");
    const owner = line.slice(0, sp);
    const rest = line.slice(sp).toLowerCase();
    const ttlFree = owner.toLowerCase() === "ttls.diff.test." ? rest.replace(/^ \d+/, " TTL") : rest;
    return (owner.toLowerCase() === qname ? owner : owner.toLowerCase()) + ttlFree;
  };
  return {
    flags: m.flags,
    opcode: m.opcode,
    rcode: m.rcode,
    q: m.question,
    an: m.answer.map(fold),
    ns: m.authority.map(fold),
    ar: m.additional.map(fold),
    opt: m.opt,
  };
}

async function both(p: Prober, q: DiffQuery): Promise<[Buffer | undefined, Buffer | undefined]> {
  const wire = encodeQuery(q.name, q.type, q.udpSize !== undefined ? { udpSize: q.udpSize } : {});
  if (q.transport === "tcp")
    return Promise.all([ask(PORTICO, pport, wire, "tcp"), ask(KNOT, kport, wire, "tcp")]);
  return Promise.all([p.send(PORTICO, pport, wire), p.send(KNOT, kport, wire)]);
}

test("differential: 10,000 queries answered as knotd answers them", { skip, timeout: 300_000 }, async () => {
  const queries = diffQueries(zones, 10_000);
  const p = await Prober.open();
  const diffs: string[] = [];
  let truncated = 0;
  let nx = 0;
  let wild = 0;
  try {
    // Batches keep both servers' socket buffers from overflowing on a shared 2-core machine.
    for (let i = 0; i < queries.length; i += 50) {
      const batch = queries.slice(i, i + 50);
      const results = await Promise.all(batch.map((q) => both(p, q)));
      results.forEach(([a, b], j) => {
        const q = batch[j]!;
        const what = `${q.name}/${q.type} ${q.transport} edns=${q.udpSize ?? "none"}`;
        if (a === undefined || b === undefined) {
          diffs.push(`${what}: no answer from ${a === undefined ? "portico" : "knot"}`);
          return;
        }
        const pa = decodeMessage(a);
        const kb = decodeMessage(b);
        if (pa.flags.tc) truncated++;
        if (pa.rcode === 3) nx++;
        if (/wild/i.test(q.name)) wild++;
        const x = JSON.stringify(view(pa));
        const y = JSON.stringify(view(kb));
        if (x !== y) diffs.push(`${what}\n  portico ${x}\n  knot    ${y}`);
      });
    }
  } finally {
    p.close();
  }
  process.stderr.write(
    `dns-diff: ${queries.length} queries, ${truncated} truncated, ${nx} NXDOMAIN, ${wild} wildcard names, ${diffs.length} differences\n`,
  );
  assert.equal(diffs.length, 0, diffs.slice(0, 10).join("\n"));
  assert.ok(truncated > 0 && nx > 0 && wild > 0, "the queries reach truncation, NXDOMAIN and wildcards");
});

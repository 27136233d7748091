// dns-workers.test.ts: with several engine worker processes (WorkerGroup, SO_REUSEPORT) every
// worker serves the DNS servers of the snapshot: UDP queries from many source ports, spread by the
// kernel, all get answers, the merged metrics count them, and a new snapshot reaches every worker.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { WorkerGroup } from "../../src/engine/workers/group.ts";
import { TYPE } from "../../src/engine/dns/wire.ts";
import { dnsServer, dnsSnapshot, dnsZone, query, rec } from "./dns-helpers.ts";
import { waitFor } from "./harness.ts";
import { freePort } from "./l4-helpers.ts";

const VIP = "127.0.0.86";
let port = 0;
let group: WorkerGroup;

const snap = (version: number, address: string) =>
  dnsSnapshot(version, [
    dnsServer("DnsZone/workers.test", VIP, port, [
      dnsZone("workers.test", [rec("www.workers.test", "A", address)]),
    ]),
  ]);

before(async () => {
  port = await freePort(VIP, "UDP");
  group = await WorkerGroup.start({ workers: 2, log: () => {}, restartDelayMs: 20 });
});

after(async () => {
  await group.close();
});

test("dns workers: every worker answers; a new zone reaches them all; metrics are summed", async () => {
  assert.deepEqual(await group.apply(snap(1, "192.0.2.1")), { ok: true });
  assert.ok(group.status()!.listeners.every((l) => l.state === "bound"));
  // Each query comes from a new socket (a new source port), so the kernel spreads them.
  const answers = await Promise.all(
    Array.from({ length: 40 }, () => query(VIP, port, "www.workers.test", TYPE.A)),
  );
  assert.ok(answers.every((m) => m.answer[0] === "www.workers.test. 300 A 192.0.2.1"));
  assert.deepEqual(await group.apply(snap(2, "192.0.2.2")), { ok: true });
  const after = await Promise.all(
    Array.from({ length: 40 }, () => query(VIP, port, "www.workers.test", TYPE.A)),
  );
  assert.ok(after.every((m) => m.answer[0] === "www.workers.test. 300 A 192.0.2.2"));
  const counted = (text: string) =>
    Number(
      /portico_dns_queries_total\{server="DnsZone\/workers.test",rcode="NOERROR",qtype="A"\} (\d+)/.exec(
        text,
      )?.[1] ?? 0,
    );
  await waitFor("metrics of both workers summed", () => counted(group.metrics()) === 80);
  const perWorker = [0, 1].map((i) => counted(group.metricsOf(i)));
  process.stderr.write(`dns workers: queries answered per worker ${perWorker.join(" / ")}\n`);
  assert.ok(
    perWorker.every((n) => n > 0),
    "both workers answered some",
  );
});

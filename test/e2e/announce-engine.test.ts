// announce-engine.test.ts: the engine port announcing its VIP (controller/announce-port.ts) in
// network namespaces on one bridge: a client and two engines. The address is there before the
// listener binds (a non-local VIP would fail with EADDRNOTAVAIL), the client reaches the VIP, a
// second engine that takes the VIP after the first is SIGKILLed serves the client at once (its
// gratuitous ARP), and a drained engine withdraws, waits, drains and removes its address on close.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AnnounceStatus } from "../../src/announce/types.ts";
import type { ListenerStatus } from "../../src/engine/listeners.ts";
import { addresses, segmentSkip, useSegment, type SegmentHost } from "./announce-topo.ts";
import { waitFor } from "./harness.ts";

const childFile = join(import.meta.dirname, "announce-engine-child.ts");
const skip = segmentSkip({ "/usr/bin/arping": "iputils-arping", "/usr/bin/curl": "curl" });
const VIP = "198.51.100.100";

interface Line {
  applied?: { ok: boolean };
  listeners?: ListenerStatus[];
  announce?: AnnounceStatus;
  metrics?: string;
  drained?: boolean;
}

const seg = useSegment(["client", "e1", "e2"], skip);

function startEngine(host: SegmentHost, name: string) {
  const child = seg.spawn<Line>(host, childFile, [name, VIP]);
  const line = (what: string, pred: (l: Line) => boolean) =>
    waitFor(`${name}: ${what} (stderr: ${child.stderr()})`, () => child.lines.find(pred), 20_000);
  return { ...child, line };
}

async function get(client: SegmentHost): Promise<string> {
  return client.run("curl", ["-s", "--max-time", "1", `http://${VIP}:8080/`]).catch(() => "");
}

test(
  "an engine announces its VIP: bound at the first attempt, reached by the client, taken over at once after a SIGKILL, drained and removed",
  { skip },
  async (t) => {
    const { client, e1, e2 } = seg.hosts;
    const one = startEngine(e1!, "e1");
    const first = await one.line("the snapshot applied", (l) => l.applied !== undefined);
    assert.deepEqual(first.applied, { ok: true });
    assert.deepEqual(
      first.listeners?.map((l) => [l.address, l.port, l.state, l.attempts ?? 0]),
      [[VIP, 8080, "bound", 0]],
      "the VIP's address was in place before the listener bound it",
    );
    assert.equal(first.announce?.vips[0]?.state, "Announced");
    assert.match(
      first.metrics!,
      /portico_announce_vip_state\{vip="198\.51\.100\.100",mode="L2",state="Announced"\} 1/,
    );
    assert.match(
      first.metrics!,
      /portico_announce_vip_state\{vip="198\.51\.100\.100",mode="L2",state="Failed"\} 0/,
    );
    assert.equal(
      await waitFor("the client to reach e1", async () => (await get(client!)) || undefined),
      "served by e1\n",
    );

    // The first engine dies; the controller gives the VIP to the second (here: it starts with it).
    one.proc.kill("SIGKILL");
    const started = performance.now();
    const two = startEngine(e2!, "e2");
    await two.line("the snapshot applied", (l) => l.applied !== undefined);
    const applied = performance.now();
    await waitFor("the client to reach e2", async () => (await get(client!)) === "served by e2\n", 10_000);
    const served = performance.now();
    t.diagnostic(
      `takeover: e2 started→applied ${(applied - started).toFixed(0)} ms; applied→client served by e2 ${(served - applied).toFixed(0)} ms (e1's address still leased on e1 meanwhile)`,
    );

    // Drain: withdraw (L2 keeps the address for the open connections), wait, drain, close removes it.
    two.proc.kill("SIGTERM");
    const withdrawn = await two.line("the withdrawal", (l) => l.announce?.vips[0]?.state === "Withdrawn");
    assert.equal(withdrawn.announce?.vips[0]?.reason, "Draining");
    assert.equal(await two.exited, 0);
    assert.deepEqual(two.lines.at(-1), { drained: true });
    const left = (await addresses(e2!)).filter((a) => a.local === VIP);
    assert.deepEqual(left, [], "close removed the address at once, not a lease later");
  },
);

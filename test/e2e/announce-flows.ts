// announce-flows.ts: who broke a failed request of the BGP tests. A plain ECMP route hashes flows
// over its next hops by thresholds (hash-threshold): when one next hop goes or comes back, flows of
// the OTHER engines move too, and the engine that now gets a flow's packets never accepted it and
// answers with a RST; the withdrawn engine's own in-flight flows go the same way. Portico cannot
// prevent either (docs/networking.md: resilient hashing). So a failed request counts against
// Portico unless the packets on the wire prove the router moved its flow while it was open: the
// router saw one engine accept it (SYN-ACK), another reset it, and its route to the VIP changed in
// between. Everything else — refused, timed out, closed or reset by the engine that accepted it —
// is Portico's. The router's route changes are recorded too, so a test can check it saw only the
// withdrawals and returns it caused.
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { waitFor } from "./harness.ts";
import { CLIENT_WAN, LAN_IF, now, type Node, type Rec } from "./announce-topology.ts";

const sniffer = resolve(import.meta.dirname, "announce-flows.py");
// A probe route the watcher must see before it counts as watching (a blackhole: no traffic).
const PROBE = "192.0.2.255";

/** FlowEvent is a SYN-ACK or RST an engine sent the client: when (wall ms), the engine's MAC, the client's port. */
export interface FlowEvent {
  t: number;
  mac: string;
  port: number;
  kind: "SA" | "R";
}

/** RouteChange is the router's route to the VIP after a change (next hops, sorted; [] deleted). */
export interface RouteChange {
  t: number;
  hops: string[];
}

/** FlowWatch is what the router saw: the engines' SYN-ACKs and RSTs to the client, and its VIP route's changes. */
export interface FlowWatch {
  events: FlowEvent[];
  routes: RouteChange[];
}

/** watchFlows starts the packet watcher and a route monitor in router's namespace (ended with the topology). */
export async function watchFlows(router: Node, vip: string, vipPort: number): Promise<FlowWatch> {
  const w: FlowWatch = { events: [], routes: [] };
  const py = router.spawn("python3", [sniffer, LAN_IF, String(vipPort), CLIENT_WAN], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let ready = false;
  let errors = "";
  py.stderr!.on("data", (d: Buffer) => (errors += d.toString()));
  createInterface({ input: py.stdout! }).on("line", (line) => {
    const m = JSON.parse(line) as { ready: true } | [number, string, number, "SA" | "R"];
    if (!Array.isArray(m)) ready = true;
    else w.events.push({ t: m[0], mac: m[1], port: m[2], kind: m[3] });
  });
  // -ts: ip stamps each event when the kernel tells it, not when this busy process reads the line.
  const mon = router.spawn("ip", ["-ts", "monitor", "route"], { stdio: ["ignore", "pipe", "ignore"] });
  let mine = false;
  let probed = false;
  createInterface({ input: mon.stdout! }).on("line", (line) => {
    const m = /^\[(\S+)\]\s?(.*)$/.exec(line);
    const text = m ? m[2]! : line;
    const via = / via (\S+)/.exec(text)?.[1];
    if (/^\s/.test(text)) {
      // A next hop of a multipath route, under the line that named it.
      if (mine && via) w.routes.at(-1)!.hops = [...w.routes.at(-1)!.hops, via].sort();
      return;
    }
    if (text.includes(PROBE)) probed = true;
    const dst = /^(?:Deleted )?(\S+)/.exec(text)?.[1];
    mine = dst === vip || dst === `${vip}/32`;
    if (!mine) return;
    const t = m ? Date.parse(m[1]!.slice(0, 23)) : now();
    w.routes.push({ t, hops: text.startsWith("Deleted") || !via ? [] : [via] });
  });
  await waitFor(
    "the router's packet watcher and route monitor",
    async () => {
      if (py.exitCode !== null) throw new Error(`announce-flows.py exited ${py.exitCode}: ${errors}`);
      await router.ip("route", "replace", "blackhole", `${PROBE}/32`);
      await router.ip("route", "del", "blackhole", `${PROBE}/32`);
      return ready && probed;
    },
    10_000,
  );
  return w;
}

/** Blame is a load's failed requests, sorted: stray ones the router moved to another engine, the rest Portico's. */
export interface Blame {
  stray: Rec[];
  portico: Rec[];
}

/**
 * blame sorts the requests of recs that failed after t. slackMs allows for the clocks of three
 * processes (the client, the packet watcher, ip monitor) on a loaded machine.
 */
export function blame(recs: readonly Rec[], w: FlowWatch, t: number, slackMs = 250): Blame {
  const out: Blame = { stray: [], portico: [] };
  for (const r of recs) {
    if (r[1] < t || r[2] === 1) continue;
    const [t0, t1, , why, , port] = r;
    const seen = w.events.filter((e) => e.port === port && e.t >= t0 - slackMs && e.t <= t1 + slackMs);
    const accepted = seen.find((e) => e.kind === "SA");
    const resets = seen.filter((e) => e.kind === "R");
    const moved =
      why === "ECONNRESET" &&
      accepted !== undefined &&
      resets.length > 0 &&
      resets.every((e) => e.mac !== accepted.mac) &&
      w.routes.some((c) => c.t >= accepted.t - slackMs && c.t <= resets[0]!.t + slackMs);
    (moved ? out.stray : out.portico).push(r);
  }
  return out;
}

/** hopSets lists the router's next-hop sets for the VIP after t, repeats folded ("a,b" each). */
export function hopSets(w: FlowWatch, t: number): string[] {
  const sets: string[] = [];
  for (const c of w.routes) {
    const s = c.hops.join();
    if (c.t >= t && sets.at(-1) !== s) sets.push(s);
  }
  return sets;
}

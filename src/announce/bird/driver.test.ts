// driver.test.ts: BirdDriver against a real BIRD router, in network namespaces this test creates.
//
//   router (BIRD 2, AS 64512, kernel protocol with `merge paths on`)
//     ├─ veth 198.51.100.1/30 ── 198.51.100.2/30  engine e1 (AS 64513, TCP-MD5), VIP on lo
//     └─ veth 198.51.100.5/30 ── 198.51.100.6/30  engine e2 (AS 64513, BFD), VIP on lo
//             2001:db8:ff:1::1/64 ── 2001:db8:ff:1::2/64   (a second, IPv6 session for the IPv6 VIP)
//
// Each engine's driver runs in a child Node process (testdata/driver-child.ts) inside its
// namespace, so "the engine" can be SIGKILLed. Figures (withdrawal times) are printed as
// `figure:` lines; bounds are generous (a shared 2-core machine), the targets are in the report.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { BgpPeer, BgpSpeaker } from "../../model/ir.ts";
import type { AnnounceStatus, BgpPeerStatus, BgpRoute } from "../types.ts";
import { BirdDriver } from "./driver.ts";

const exec = promisify(execFile);
const child = join(import.meta.dirname, "testdata/driver-child.ts");
const tag = `pb${process.pid % 100000}`;
const ns = { r: `${tag}-r`, e1: `${tag}-e1`, e2: `${tag}-e2` };
const VIP = "192.0.2.10";
const VIP6 = "2001:db8:10::10";
const PASSWORD = "portico-md5-Sekr1t";

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return "needs root for ip netns";
  if (!existsSync("/usr/sbin/bird") || !existsSync("/usr/sbin/birdc"))
    return "BIRD missing (Debian package bird2)";
  return false;
}

const ip = (...args: string[]) => exec("ip", args);
const inNs = (name: string, cmd: string, ...args: string[]) =>
  exec("ip", ["netns", "exec", name, cmd, ...args]).then((r) => r.stdout);

/** waitFor polls cond every 20 ms until it returns a value other than undefined/false, or fails after ms. */
async function waitFor<T>(
  what: string,
  ms: number,
  cond: () => Promise<T | undefined | false> | T | undefined | false,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** routerRoute is the router's kernel route to prefix ("" when there is none). */
const routerRoute = (prefix: string) => ip("-n", ns.r, "route", "show", prefix).then((r) => r.stdout.trim());

/** Engine is one driver child process and the last status it reported. */
class Engine {
  readonly proc: ChildProcess;
  readonly runDir: string;
  peers: BgpPeerStatus[] = [];
  daemon: AnnounceStatus["daemon"];
  pid: number | undefined;
  output = "";
  private waiting: ((m: { ok: boolean; error?: string }) => void)[] = [];

  constructor(netns: string) {
    this.runDir = mkdtempSync(`/tmp/${tag}-`);
    this.proc = spawn("ip", ["netns", "exec", netns, process.execPath, child, this.runDir], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.proc.stderr!.on("data", (d: Buffer) => (this.output += d.toString()));
    createInterface({ input: this.proc.stdout! }).on("line", (line) => {
      this.output += line + "\n";
      const m = JSON.parse(line) as {
        type: string;
        ok: boolean;
        error?: string;
        peers: BgpPeerStatus[];
        daemon: AnnounceStatus["daemon"];
        pid?: number;
      };
      if (m.type === "status") {
        this.peers = m.peers;
        this.daemon = m.daemon;
        this.pid = m.pid;
      } else if (m.type === "set")
        this.waiting.shift()?.(m.ok ? { ok: true } : { ok: false, error: m.error });
    });
  }

  async set(speaker: BgpSpeaker | undefined, routes: BgpRoute[]): Promise<{ ok: boolean; error?: string }> {
    const done = new Promise<{ ok: boolean; error?: string }>((r) => this.waiting.push(r));
    this.proc.stdin!.write(JSON.stringify({ op: "set", speaker, routes }) + "\n");
    return done;
  }

  established(): BgpPeerStatus | undefined {
    return this.peers.find((p) => p.state === "Established");
  }

  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGKILL");
    await gone;
  }

  cleanup(): void {
    rmSync(this.runDir, { recursive: true, force: true });
  }
}

const routerPeer = (address: string, password?: string): BgpPeer => ({
  name: "EngineGroup/edge/router",
  address,
  asn: 64512,
  holdTimeSeconds: 9,
  bfd: false,
  ...(password ? { password } : {}),
});
const speaker = (...peers: BgpPeer[]): BgpSpeaker => ({ asn: 64513, peers });
const vipRoute: BgpRoute = { prefix: `${VIP}/32`, communities: ["64512:100"], localPref: 200 };
const e2Peer: BgpPeer = { ...routerPeer("198.51.100.5"), bfd: true };
const e2Peer6: BgpPeer = { ...routerPeer("2001:db8:ff:1::1"), name: "EngineGroup/edge/router-v6" };

// The router is the network team's side: a neighbor per engine node, multipath into the kernel, and
// short error/retry timers (BIRD's default error wait of 60 s would keep an engine out for a minute
// after a BFD or hold-timer failure; docs/networking.md).
function routerConfig(): string {
  return `log stderr all;
router id 198.51.100.1;
timeformat protocol "%s";
protocol device {}
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
protocol kernel { ipv6 { import none; export all; }; merge paths on; }
protocol bfd { interface "*" { interval 100 ms; multiplier 3; }; }
template bgp engine {
  local as 64512;
  hold time 9;
  keepalive time 3;
  connect retry time 2;
  error wait time 1, 10;
  ipv4 { import all; export none; };
}
protocol bgp e1 from engine { neighbor 198.51.100.2 as 64513; password "${PASSWORD}"; }
protocol bgp e2 from engine { neighbor 198.51.100.6 as 64513; bfd on; }
protocol bgp e2v6 {
  local as 64512;
  neighbor 2001:db8:ff:1::2 as 64513;
  hold time 9;
  ipv6 { import all; export none; };
}
`;
}

describe("BirdDriver with real BIRD on both sides", { skip: skipReason(), timeout: 240_000 }, () => {
  const work = mkdtempSync(`/tmp/${tag}-r`);
  const engines: Engine[] = [];
  let router: ChildProcess | undefined;
  const figures: string[] = [];

  const startRouter = async () => {
    router = spawn(
      "ip",
      ["netns", "exec", ns.r, "bird", "-f", "-c", join(work, "r.conf"), "-s", join(work, "r.ctl")],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    router.stderr!.resume();
    await waitFor("router BIRD's control socket", 10_000, () =>
      exec("birdc", ["-s", join(work, "r.ctl"), "show", "status"]).then(
        () => true,
        () => false,
      ),
    );
  };
  const stopRouter = async () => {
    const r = router;
    if (!r || r.exitCode !== null || r.signalCode !== null) return;
    const gone = new Promise((res) => r.once("exit", res));
    r.kill("SIGTERM");
    await gone;
  };
  /** routerSince is the Since column (Unix seconds) of the router's protocol name: it moves when a session restarts. */
  const routerSince = async (name: string) =>
    (await exec("birdc", ["-s", join(work, "r.ctl"), "show", "protocols", name])).stdout
      .split("\n")
      .find((l) => l.startsWith(name + " "))
      ?.trim()
      .split(/\s+/)[4];
  const engine = (netns: string) => {
    const e = new Engine(netns);
    engines.push(e);
    return e;
  };

  before(async () => {
    await ip("netns", "add", ns.r);
    await ip("netns", "add", ns.e1);
    await ip("netns", "add", ns.e2);
    for (const [i, e] of [ns.e1, ns.e2].entries()) {
      const rIf = `${tag}r${i}`;
      const eIf = `${tag}e${i}`;
      await ip("link", "add", rIf, "netns", ns.r, "type", "veth", "peer", "name", eIf, "netns", e);
      await ip("-n", ns.r, "addr", "add", `198.51.100.${1 + 4 * i}/30`, "dev", rIf);
      await ip("-n", e, "addr", "add", `198.51.100.${2 + 4 * i}/30`, "dev", eIf);
      await ip("-n", ns.r, "link", "set", rIf, "up");
      await ip("-n", e, "link", "set", eIf, "up");
      await ip("-n", e, "link", "set", "lo", "up");
      await ip("-n", e, "addr", "add", `${VIP}/32`, "dev", "lo");
      await ip("-n", ns.r, "addr", "add", `2001:db8:ff:${i}::1/64`, "dev", rIf, "nodad");
      await ip("-n", e, "addr", "add", `2001:db8:ff:${i}::2/64`, "dev", eIf, "nodad");
    }
    await ip("-n", ns.e2, "addr", "add", `${VIP6}/128`, "dev", "lo", "nodad");
    await ip("-n", ns.r, "link", "set", "lo", "up");
    writeFileSync(join(work, "r.conf"), routerConfig());
    await startRouter();
  });

  after(async () => {
    for (const e of engines) {
      await e.kill();
      // pdeathsig should have ended it; if a regression did not, the test does not leave it running.
      if (e.pid && alive(e.pid)) process.kill(e.pid, "SIGKILL");
    }
    await stopRouter();
    for (const n of Object.values(ns)) await ip("netns", "del", n).catch(() => {});
    for (const e of engines) e.cleanup();
    rmSync(work, { recursive: true, force: true });
    if (figures.length) console.log(figures.map((f) => `figure: ${f}`).join("\n"));
  });

  let e1: Engine;
  let e2: Engine;

  it("two engines announce the VIP: one ECMP route on the router with both next hops; TCP-MD5 session up", async () => {
    e1 = engine(ns.e1);
    e2 = engine(ns.e2);
    assert.deepEqual(await e1.set(speaker(routerPeer("198.51.100.1", PASSWORD)), [vipRoute]), { ok: true });
    assert.deepEqual(await e2.set(speaker(e2Peer), [vipRoute]), { ok: true });
    const route = await waitFor("ECMP route with both engines", 30_000, async () => {
      const r = await routerRoute(VIP);
      return r.includes("nexthop via 198.51.100.2") && r.includes("nexthop via 198.51.100.6") && r;
    });
    assert.match(route, /^192\.0\.2\.10 proto bird/);
    await waitFor("both drivers report Established with one exported route", 10_000, () =>
      [e1, e2].every((e) => e.established()?.routesExported === 1),
    );
    assert.deepEqual(e1.daemon, { state: "Running", restarts: 0 });
    // The attributes reach the router: the community the export filter adds.
    const shown = await exec("birdc", ["-s", join(work, "r.ctl"), "show", "route", "all", `${VIP}/32`]);
    assert.match(shown.stdout, /BGP\.community: \(64512,100\)/);
    // The configuration holds the password: owner-only.
    const { mode } = await import("node:fs").then((fs) => fs.statSync(join(e1.runDir, "bird.conf")));
    assert.equal(mode & 0o777, 0o600);
  });

  it("set(routes=[]) withdraws; the session itself stays up (graceful reconfigure)", async () => {
    const before = e2.established()!;
    const routerSide = await routerSince("e2");
    const unchanged = await e2.set(speaker(e2Peer), [vipRoute]);
    assert.deepEqual(unchanged, { ok: true });
    assert.deepEqual(await e2.set(speaker(e2Peer), []), { ok: true });
    await waitFor("route with e1 only", 10_000, async () => {
      const r = await routerRoute(VIP);
      return r === `${VIP} via 198.51.100.2 dev ${tag}r0 proto bird metric 32`;
    });
    await waitFor("e2 exports nothing", 5000, () => e2.established()?.routesExported === 0);
    assert.equal(e2.established()!.since, before.since, "the session was not restarted");
    assert.equal(await routerSince("e2"), routerSide, "the router saw no new session");
  });

  it("the lease: when the lo address expires, the route goes without the engine doing anything", async () => {
    await ip(
      "-n",
      ns.e1,
      "addr",
      "replace",
      `${VIP}/32`,
      "dev",
      "lo",
      "valid_lft",
      "2",
      "preferred_lft",
      "2",
    );
    const t0 = Date.now();
    await waitFor("the route to leave with the address", 15_000, async () => (await routerRoute(VIP)) === "");
    figures.push(`lease: address with valid_lft 2 s → router route gone after ${Date.now() - t0} ms`);
    // The address back (the engine renewing) brings the route back, with no call to the driver.
    await ip("-n", ns.e1, "addr", "add", `${VIP}/32`, "dev", "lo");
    await waitFor("the route back", 15_000, async () => (await routerRoute(VIP)) !== "");
  });

  it("an aggregate (192.0.2.64/26) is exported only while a VIP/26 noprefixroute address on lo backs it", async () => {
    const agg: BgpRoute = { prefix: "192.0.2.64/26", communities: [] };
    await ip("-n", ns.e2, "addr", "add", "192.0.2.70/26", "dev", "lo", "noprefixroute");
    // Before: a /32 alone does not make the aggregate (fail-safe).
    await ip("-n", ns.e2, "addr", "add", "192.0.2.80/32", "dev", "lo");
    assert.deepEqual(await e2.set(speaker(e2Peer), [agg]), { ok: true });
    await waitFor("the aggregate on the router", 10_000, async () =>
      (await routerRoute("192.0.2.64/26")).includes("via 198.51.100.6"),
    );
    assert.equal(await routerRoute("192.0.2.80"), "", "a host route not listed is not exported");
    await ip("-n", ns.e2, "addr", "del", "192.0.2.70/26", "dev", "lo");
    await waitFor(
      "the aggregate gone with its address",
      10_000,
      async () => (await routerRoute("192.0.2.64/26")) === "",
    );
    assert.deepEqual(await e2.set(speaker(e2Peer), [vipRoute]), { ok: true });
    await waitFor("ECMP again", 10_000, async () =>
      (await routerRoute(VIP)).includes("nexthop via 198.51.100.6"),
    );
  });

  it("IPv6: a second peer over IPv6 carries the IPv6 VIP; adding and removing it leaves the IPv4 session up", async () => {
    const v4 = () => e2.peers.find((p) => p.name === e2Peer.name);
    const since = v4()!.since;
    const routerSide = await routerSince("e2");
    const v6Route: BgpRoute = { prefix: `${VIP6}/128`, communities: [] };
    assert.deepEqual(await e2.set(speaker(e2Peer, e2Peer6), [vipRoute, v6Route]), { ok: true });
    const route = await waitFor("the IPv6 route on the router", 30_000, async () => {
      const r = (await ip("-6", "-n", ns.r, "route", "show", VIP6)).stdout.trim();
      return r.includes(`dev ${tag}r1 proto bird`) && r;
    });
    assert.match(route, /^2001:db8:10::10 via /);
    // The driver polls every second: its report may trail the router's table.
    await waitFor(
      "the driver to report the IPv6 session",
      5000,
      () => e2.peers.find((p) => p.name === e2Peer6.name)?.state === "Established",
    );
    assert.deepEqual(await e2.set(speaker(e2Peer), [vipRoute]), { ok: true });
    await waitFor(
      "the IPv6 route gone with its peer",
      10_000,
      async () => (await ip("-6", "-n", ns.r, "route", "show", VIP6)).stdout.trim() === "",
    );
    assert.equal(v4()!.since, since, "the IPv4 session was not restarted");
    assert.equal(await routerSince("e2"), routerSide, "the router saw no new IPv4 session");
    assert.equal(v4()!.state, "Established");
  });

  it("SIGKILL of the engine kills its BIRD (pdeathsig) and the router drops its next hop at once", async () => {
    const bird = e1.pid!;
    assert.ok(bird > 0);
    const t0 = Date.now();
    await e1.kill();
    // 5 s: far above the measured tens of ms, below the 9 s hold time a surviving BIRD would need.
    await waitFor("e1's next hop gone", 5000, async () => !(await routerRoute(VIP)).includes("198.51.100.2"));
    figures.push(`SIGKILL engine → next hop withdrawn on the router after ${Date.now() - t0} ms`);
    await waitFor("e1's BIRD gone", 5000, () => !alive(bird));
    assert.match(await routerRoute(VIP), /via 198\.51\.100\.6/, "e2 still carries the VIP");
  });

  it("BIRD killed alone: the driver reports it, restarts it, and the session comes back", async () => {
    const bird = e2.pid!;
    const t0 = Date.now();
    process.kill(bird, "SIGKILL");
    await waitFor("daemon Failed", 10_000, () => e2.daemon?.state === "Failed");
    assert.match(e2.daemon!.message!, /bird exited \(SIGKILL\)/);
    await waitFor("daemon Running again", 20_000, () => e2.daemon?.state === "Running" && e2.pid !== bird);
    assert.equal(e2.daemon!.restarts, 1);
    await waitFor("session Established again", 30_000, () => e2.established());
    await waitFor("route back", 10_000, async () => (await routerRoute(VIP)).includes("via 198.51.100.6"));
    figures.push(
      `BIRD SIGKILLed → restarted, session Established and route back after ${Date.now() - t0} ms`,
    );
  });

  it("the router's BIRD restarted: the session and the route come back", async () => {
    await stopRouter();
    await waitFor("e2 sees the session down", 20_000, () => !e2.established());
    const t0 = Date.now();
    await startRouter();
    await waitFor("session Established again", 30_000, () => e2.established());
    await waitFor("route back in the router's kernel", 10_000, async () =>
      (await routerRoute(VIP)).includes("via 198.51.100.6"),
    );
    figures.push(`router BIRD restarted → session and route back ${Date.now() - t0} ms after it started`);
  });

  it("BFD: a path that dies silently is noticed by the router in well under the hold time", async () => {
    await waitFor("the router's BFD session with e2 Up", 10_000, async () =>
      /198\.51\.100\.6\s+\S+\s+Up/.test(
        (await exec("birdc", ["-s", join(work, "r.ctl"), "show", "bfd", "sessions"])).stdout,
      ),
    );
    // e2's frames to the router go to a MAC nobody has (a permanent wrong neighbour entry), so the
    // router's veth drops them: no link event, no FIN, no notification — a silently dead path.
    // (A blackhole route would not do: BIRD's single-hop sockets are bound to the interface.)
    const eIf = `${tag}e1`;
    const session = e2.established()!.since;
    const t0 = Date.now();
    await ip(
      "-n",
      ns.e2,
      "neigh",
      "replace",
      "198.51.100.5",
      "lladdr",
      "02:00:00:00:00:01",
      "dev",
      eIf,
      "nud",
      "permanent",
    );
    // 5 s: above the 300 ms BFD detection with headroom, below the 9 s hold time that would be the cause without BFD.
    await waitFor("the router to drop e2's route", 5000, async () => (await routerRoute(VIP)) === "");
    figures.push(`BFD: e2's path dead → router route withdrawn after ${Date.now() - t0} ms (hold time 9 s)`);
    await ip("-n", ns.e2, "neigh", "del", "198.51.100.5", "dev", eIf);
    await waitFor(
      "a new e2 session Established",
      30_000,
      () => e2.established() && e2.established()!.since !== session,
    );
    await waitFor("route back", 10_000, async () => (await routerRoute(VIP)).includes("via 198.51.100.6"));
    figures.push(`BFD: path repaired → route back after ${Date.now() - t0} ms from the failure`);
  });

  it("a wrong TCP-MD5 password keeps the session down; the right one brings it up", async () => {
    e1 = engine(ns.e1);
    const md5Failures = async () =>
      Number(
        /TcpExtTCPMD5Failure\s+(\d+)/.exec(await inNs(ns.r, "nstat", "-az", "TcpExtTCPMD5Failure"))?.[1] ?? 0,
      );
    const failuresBefore = await md5Failures();
    assert.deepEqual(await e1.set(speaker(routerPeer("198.51.100.1", "wrong-password")), [vipRoute]), {
      ok: true,
    });
    await waitFor(
      "the router's kernel to drop e1's unsigned-correctly SYNs",
      20_000,
      async () => (await md5Failures()) > failuresBefore,
    );
    assert.equal(e1.established(), undefined);
    assert.ok(!(await routerRoute(VIP)).includes("198.51.100.2"));
    assert.deepEqual(await e1.set(speaker(routerPeer("198.51.100.1", PASSWORD)), [vipRoute]), { ok: true });
    await waitFor("Established with the right password", 30_000, () => e1.established());
    await waitFor("ECMP again", 10_000, async () =>
      (await routerRoute(VIP)).includes("nexthop via 198.51.100.2"),
    );
  });

  it("set(undefined) stops BIRD and close() removes the password file; no log line carries a password", async () => {
    const bird = e1.pid!;
    assert.deepEqual(await e1.set(undefined, []), { ok: true });
    await waitFor("BIRD stopped", 5000, () => !alive(bird));
    assert.equal(e1.daemon, undefined);
    assert.deepEqual(e1.peers, []);
    await waitFor(
      "e1's next hop gone",
      10_000,
      async () => !(await routerRoute(VIP)).includes("198.51.100.2"),
    );
    const closed = new Promise((r) => e2.proc.once("exit", r));
    e2.proc.stdin!.write(JSON.stringify({ op: "close" }) + "\n");
    await closed;
    assert.ok(!existsSync(join(e2.runDir, "bird.conf")));
    await waitFor(
      "route gone after the last engine closed",
      10_000,
      async () => (await routerRoute(VIP)) === "",
    );
    for (const e of engines) {
      assert.ok(e.output.length > 0);
      assert.ok(
        !e.output.includes(PASSWORD) && !e.output.includes("wrong-password"),
        "a log line carries a password",
      );
    }
    // The router's log is ours too: it must not leak the engines' secret either.
    assert.ok(!readFileSync(join(work, "r.conf"), "utf8").includes("wrong-password"));
  });
});

describe("BirdDriver without BIRD", () => {
  it("a missing bird binary is the daemon Failed with a message naming the Debian package; bad input throws", async () => {
    const runDir = mkdtempSync(`/tmp/${tag}-n`);
    const lines: string[] = [];
    const d = new BirdDriver({
      runDir,
      path: join(runDir, "no-such-dir"),
      log: (_l, msg) => lines.push(msg),
    });
    let changes = 0;
    d.onChange(() => changes++);
    try {
      await d.set(speaker(routerPeer("198.51.100.1", PASSWORD)), [vipRoute]);
      assert.equal(d.daemon()?.state, "Failed");
      assert.match(d.daemon()!.message!, /Debian package bird2/);
      assert.deepEqual(
        d.peers().map((p) => [p.name, p.state]),
        [["EngineGroup/edge/router", "Down"]],
      );
      assert.equal(changes, 1);
      await assert.rejects(
        d.set(speaker(routerPeer("198.51.100.1", 'x"; }')), []),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, "InvalidPassword");
          return true;
        },
      );
      assert.ok(!lines.join("\n").includes(PASSWORD));
    } finally {
      await d.close();
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// announcer.ts: the Announcer an engine runs (types.ts) — L2 and BGP over one lease manager.
// L2 VIP: VIP/32 (/128) on the chosen interface, then gratuitous ARP / unsolicited NA (l2.ts).
// BGP VIP: its address on lo (bgp-routes.ts), then the route handed to the BgpDriver (BIRD).
// Order for a new VIP: address (prepare) → the engine binds → announce (commit); for a VIP that
// goes: stop exporting → remove the address (commit). A refused snapshot is committed back to the
// previous announcement, which removes what prepare added.
import { isIP } from "node:net";
import { addressKey, type InterfaceChoice, type LeasedAddress } from "./ip.ts";
import {
  announceNeighbours,
  l2Address,
  l2Interface,
  readInterfaces,
  type NeighbourAnnouncement,
  type NodeInterfaces,
} from "./l2.ts";
import { bgpAddress, bgpRoutes, needsPromoteSecondaries } from "./bgp-routes.ts";
import { LeaseManager } from "./lease.ts";
import { ToolMissing, Tools } from "./tools.ts";
import type { AnnounceStatus, Announcer, BgpDriver, VipAnnounceStatus } from "./types.ts";
import type { AnnouncedVip, Announcement } from "../model/ir.ts";

/** AnnounceLogger writes one structured log line (the controller's Logger fits). */
export type AnnounceLogger = (
  level: "debug" | "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** KernelAnnouncerOptions: bgp makes the engine's BGP driver (absent: BGP VIPs fail with DaemonUnreachable). */
export interface KernelAnnouncerOptions {
  log?: AnnounceLogger;
  bgp?: () => BgpDriver;
  /** netns runs every tool inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** now is the monotonic clock of the lease (ms); wall is the clock of `since`. */
  now?: () => number;
  wall?: () => Date;
}

// Entry is one VIP this engine holds: where its address went and how its announcement stands.
interface Entry {
  vip: AnnouncedVip;
  /** addr is the leased address; undefined when the VIP could not be placed (status says why). */
  addr?: LeasedAddress;
  status: VipAnnounceStatus;
  neighbours?: NeighbourAnnouncement;
}

type Problem = { reason: string; message: string };

/** KernelAnnouncer announces VIPs with iproute2, arping/na6 and a BgpDriver. */
export class KernelAnnouncer implements Announcer {
  readonly #o: KernelAnnouncerOptions;
  readonly #log: AnnounceLogger;
  readonly #tools: Tools;
  readonly #lease: LeaseManager;
  readonly #wall: () => Date;
  #entries = new Map<string, Entry>();
  /** #pending are the entries prepare() placed that no commit took yet (so commit does not place them again). */
  #pending = new Map<string, Entry>();
  #committed: Announcement | undefined;
  #driver: BgpDriver | undefined;
  #withdrawn: Problem | undefined;
  #listeners: (() => void)[] = [];
  #said = "";
  #promoted = false;
  #driverError: string | undefined;
  /** #busy counts prepare/commit calls running: their intermediate states are not reported. */
  #busy = 0;

  constructor(o: KernelAnnouncerOptions = {}) {
    this.#o = o;
    this.#log = o.log ?? (() => {});
    this.#wall = o.wall ?? (() => new Date());
    this.#tools = new Tools(o.netns);
    this.#lease = new LeaseManager({
      tools: this.#tools,
      now: o.now,
      onFrozen: (ms) => void this.#frozen(ms),
      onErrors: () => this.#refresh(),
    });
  }

  async prepare(next: Announcement | undefined): Promise<void> {
    if (!next) return;
    this.#busy++;
    try {
      await this.#prepare(next);
    } finally {
      this.#busy--;
    }
  }

  async commit(next: Announcement | undefined): Promise<void> {
    this.#busy++;
    try {
      await this.#commit(next);
    } finally {
      this.#busy--;
    }
    this.#refresh();
  }

  async #prepare(next: Announcement): Promise<void> {
    this.#withdrawn = undefined;
    const entries = await this.#place(next.vips);
    this.#pending = new Map(entries.map((e) => [e.vip.address, e]));
    const adding = entries.flatMap((e) => (e.addr && !this.#lease.has(e.addr) ? [e.addr] : []));
    if (adding.length === 0) return;
    await this.#lease.set([...this.#lease.current(), ...adding], next.leaseMs);
  }

  async #commit(next: Announcement | undefined): Promise<void> {
    this.#withdrawn = undefined;
    const vips = next?.vips ?? [];
    const leaseMs = next?.leaseMs ?? 3000;
    const entries = await this.#place(vips);
    const keep = entries.flatMap((e) => (e.addr ? [e.addr] : []));
    // Addresses first (a commit without prepare: the first snapshot of a fleet engine, a rollback).
    if (keep.some((a) => !this.#lease.has(a)))
      await this.#lease.set([...this.#lease.current(), ...keep], leaseMs);
    const nextEntries = new Map(entries.map((e) => [e.vip.address, e]));
    for (const [k, e] of this.#entries) if (nextEntries.get(k) !== e) e.neighbours?.cancel();
    this.#entries = nextEntries;
    this.#pending = new Map();
    this.#committed = next;
    // Stop exporting what goes (and start exporting what came) before its address is removed.
    await this.#setRoutes(next);
    await this.#lease.set(keep, leaseMs);
    const errors = this.#lease.errors();
    for (const e of entries)
      if (e.vip.mode === "L2" && e.addr && e.status.state !== "Announced" && !errors.has(addressKey(e.addr)))
        await this.#announceL2(e);
  }

  async withdrawAll(): Promise<void> {
    this.#withdrawn = {
      reason: "Draining",
      message: "the engine is draining: BGP routes withdrawn, addresses kept until open connections finish",
    };
    for (const e of this.#entries.values()) e.neighbours?.cancel();
    if (this.#driver)
      await this.#driver.set(this.#committed?.bgp, []).catch((err) => this.#driverFailed(err));
    this.#refresh();
  }

  /**
   * releaseL2 removes the L2 addresses of a draining engine once the controller has had the
   * withdraw delay to give its VIPs to other engines: kept any longer, the draining engine's kernel
   * would answer ARP/NDP for them beside the new owner, and a client that asks then could be sent to
   * an engine whose listeners have closed. BGP addresses stay: the routes are already withdrawn, and
   * the open connections still arriving on them finish.
   */
  async releaseL2(): Promise<void> {
    const l2 = new Set(
      [...this.#entries.values()].flatMap((e) => (e.vip.mode === "L2" && e.addr ? [addressKey(e.addr)] : [])),
    );
    if (l2.size === 0) return;
    await this.#lease.set(
      this.#lease.current().filter((a) => !l2.has(addressKey(a))),
      this.#committed?.leaseMs ?? 3000,
    );
    this.#refresh();
  }

  status(): AnnounceStatus {
    return {
      vips: [...this.#entries.values()]
        .map((e) => ({ ...e.status }))
        .sort((a, b) => (a.address < b.address ? -1 : 1)),
      peers: this.#driver?.peers() ?? [],
      ...(this.#driver ? { daemon: this.#driver.daemon() } : {}),
    };
  }

  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  async close(): Promise<void> {
    for (const e of this.#entries.values()) e.neighbours?.cancel();
    await this.#driver?.close();
    await this.#lease.close();
    this.#entries.clear();
    this.#emit();
  }

  /** #place gives each VIP its address: the one it has, or a new placement (interface choice, lo). */
  async #place(vips: readonly AnnouncedVip[]): Promise<Entry[]> {
    let node: NodeInterfaces | undefined;
    let nodeError: string | undefined;
    const out: Entry[] = [];
    for (const vip of vips) {
      const had = this.#entries.get(vip.address) ?? this.#pending.get(vip.address);
      if (had && sameSpec(had.vip, vip) && had.addr) {
        had.vip = vip;
        out.push(had);
        continue;
      }
      const e: Entry = { vip, status: this.#fresh(vip, had?.status) };
      if (vip.mode === "BGP") {
        e.addr = bgpAddress(vip);
        e.status.interface = "lo";
      } else {
        if (node === undefined && nodeError === undefined)
          node = await readInterfaces(this.#tools).catch(
            (err: Error) => ((nodeError = message(err)), undefined),
          );
        const choice: InterfaceChoice = node
          ? l2Interface(vip, node)
          : { reason: "InterfaceNotFound", message: `cannot list this node's interfaces: ${nodeError}` };
        if (choice.dev === undefined) this.#fail(e, { reason: choice.reason, message: choice.message });
        else {
          e.addr = l2Address(vip.address, choice.dev);
          e.status.interface = choice.dev;
          this.#log("info", "VIP interface chosen", {
            vip: vip.address,
            interface: choice.dev,
            why: choice.why,
          });
        }
      }
      out.push(e);
    }
    if (!this.#promoted && needsPromoteSecondaries(vips)) {
      this.#promoted = true;
      const r = await this.#tools
        .run("sysctl", ["-qw", "net.ipv4.conf.lo.promote_secondaries=1"])
        .catch((err: Error) => ({ code: -1, stderr: err.message }));
      if (r.code !== 0)
        this.#log(
          "warn",
          "cannot set net.ipv4.conf.lo.promote_secondaries=1: removing one aggregated VIP may remove the others of its prefix",
          { error: r.stderr.trim() },
        );
    }
    return out;
  }

  async #announceL2(e: Entry): Promise<void> {
    try {
      const n = await announceNeighbours(this.#tools, e.vip.address, e.addr!.dev);
      e.neighbours = n;
      this.#set(e, "Announced");
      void n.done.then((err) => {
        if (err === undefined || this.#entries.get(e.vip.address) !== e) return;
        this.#fail(e, {
          reason: "ToolFailed",
          message: `announcing ${e.vip.address} on ${e.addr!.dev} failed: ${err}`,
        });
        this.#refresh();
      });
    } catch (err) {
      this.#fail(e, {
        reason: err instanceof ToolMissing ? "ToolMissing" : "ToolFailed",
        message: `${message(err)} (needed to announce ${isIP(e.vip.address) === 6 ? "IPv6 VIPs with unsolicited neighbour advertisements" : "IPv4 VIPs with gratuitous ARP"})`,
      });
    }
  }

  async #setRoutes(next: Announcement | undefined): Promise<void> {
    const routes = bgpRoutes(next?.vips ?? []);
    if (!this.#driver && routes.length > 0 && this.#o.bgp) {
      this.#driver = this.#o.bgp();
      this.#driver.onChange(() => this.#refresh());
    }
    if (!this.#driver) return;
    try {
      await this.#driver.set(next?.bgp, routes);
      this.#driverError = undefined;
    } catch (err) {
      this.#driverFailed(err);
    }
  }

  #driverFailed(err: unknown): void {
    this.#log("error", "BGP driver failed", { error: message(err) });
    this.#driverError = message(err);
  }

  // A freeze: the lease manager already removed every address; stop exporting, say why, and wait
  // for the controller's next snapshot (commit) before announcing anything again.
  async #frozen(ms: number): Promise<void> {
    this.#withdrawn = {
      reason: "EngineFrozen",
      message: `this engine did not run for ${(ms / 1000).toFixed(1)} s, more than its lease: its addresses may have expired and another engine taken its VIPs, so it withdrew them all until the controller sends a snapshot`,
    };
    this.#log("error", "engine was frozen longer than its lease; every VIP withdrawn", {
      ms: Math.round(ms),
    });
    for (const e of this.#entries.values()) e.neighbours?.cancel();
    if (this.#driver)
      await this.#driver.set(this.#committed?.bgp, []).catch((err) => this.#driverFailed(err));
    this.#refresh();
  }

  /** #refresh recomputes every VIP's state from the lease, the driver and the withdrawal, and emits. */
  #refresh(): void {
    const errors = this.#lease.errors();
    for (const e of this.#entries.values()) {
      if (this.#withdrawn) {
        this.#set(e, "Withdrawn", this.#withdrawn);
        continue;
      }
      if (!e.addr) continue; // placement failed: its problem stands until the next commit
      const addrError = errors.get(addressKey(e.addr));
      if (addrError !== undefined) {
        this.#fail(e, {
          reason: "AddressFailed",
          message: `ip address ${e.addr.cidr} on ${e.addr.dev}: ${addrError}`,
        });
        continue;
      }
      if (e.vip.mode === "BGP") {
        const p = this.#bgpProblem();
        if (p) this.#fail(e, p);
        else this.#set(e, "Announced");
      } else if (e.status.reason === "AddressFailed" && this.#lease.has(e.addr)) {
        // The address is back after failing: tell the segment again.
        void this.#announceL2(e).then(() => this.#emit());
      }
    }
    this.#emit();
  }

  #bgpProblem(): Problem | undefined {
    if (!this.#driver)
      return {
        reason: "DaemonUnreachable",
        message: "this engine has no BGP daemon driver; BGP VIPs get their address on lo but no route",
      };
    const d = this.#driver.daemon();
    if (this.#driverError !== undefined || d?.state === "Failed")
      return { reason: "DaemonUnreachable", message: `BIRD: ${d?.message ?? this.#driverError}` };
    const peers = this.#driver.peers();
    if (!peers.some((p) => p.state === "Established"))
      return {
        reason: "NoPeerEstablished",
        message: `no BGP session is Established: ${peers.map((p) => `${p.name} ${p.state}${p.message ? ` (${p.message})` : ""}`).join(", ") || "no peers configured"}`,
      };
    return undefined;
  }

  #fresh(vip: AnnouncedVip, prev: VipAnnounceStatus | undefined): VipAnnounceStatus {
    return {
      address: vip.address,
      mode: vip.mode,
      state: prev?.state ?? "Withdrawn",
      since: prev?.since ?? this.#wall().toISOString(),
    };
  }

  #fail(e: Entry, p: Problem): void {
    this.#set(e, "Failed", p);
  }

  #set(e: Entry, state: VipAnnounceStatus["state"], p?: Problem): void {
    const s = e.status;
    if (s.state !== state || s.reason !== p?.reason) s.since = this.#wall().toISOString();
    s.state = state;
    delete s.reason;
    delete s.message;
    if (p) Object.assign(s, p);
  }

  #emit(): void {
    if (this.#busy > 0) return;
    const now = JSON.stringify(this.status());
    if (now === this.#said) return;
    this.#said = now;
    for (const fn of this.#listeners) fn();
  }
}

// sameSpec says whether a VIP still goes where it went (a changed interface list or aggregation moves it).
function sameSpec(a: AnnouncedVip, b: AnnouncedVip): boolean {
  return (
    a.mode === b.mode &&
    a.aggregationLength === b.aggregationLength &&
    JSON.stringify(a.interfaces ?? []) === JSON.stringify(b.interfaces ?? [])
  );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

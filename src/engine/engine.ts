// engine.ts: the service engine. apply() validates a snapshot, builds its upstreams and compiles
// every listener; only when all of that succeeded does it swap, in one synchronous step, the
// handlers the listener manager dispatches to. A rejected snapshot leaves the last good one serving.
import { validateSnapshot } from "../model/validate.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import { EngineConfigError, type CompileDeps, type CompileHttp } from "./contracts.ts";
import { HealthChecker, type CheckerOptions } from "./health/checker.ts";
import { HealthRegistry, type HealthOptions } from "./health/registry.ts";
import { compileDns, type DnsService } from "./dns/server.ts";
import { compileTcp } from "./l4/tcp.ts";
import { compileHttp as defaultCompileHttp } from "./l7/compile.ts";
import { compileUdp } from "./l4/udp.ts";
import type { BalancerOptions } from "./lb/index.ts";
import { defaultEngineLimits, type EngineLimits } from "./limits.ts";
import { ListenerManager, type ListenerSpec, type ListenerStatus } from "./listeners.ts";
import { acceptPath } from "./net/accept-path.ts";
import { ownCodec } from "./l7/h2-own.ts";
import { Admission } from "./net/admission.ts";
import { OcspStapler } from "./tls/ocsp/stapler.ts";
import { InFlight, UpstreamSet, type EndpointStatus } from "./upstreams.ts";
import { tuneV8 } from "./v8-tuning.ts";
import { unwatchIdleHeap, watchIdleHeap, type ActivityProbe } from "./idle-gc.ts";
import { exchangesBegun } from "./l7/attempt.ts";
import { sharedPool } from "./l7/upstream.ts";

/**
 * ApplyResult is the ACK or NACK of a snapshot. code is "InvalidSnapshot" (validation), an
 * EngineConfigError's code, or "CompileFailed" for any other exception while compiling; listener
 * names the listener an EngineConfigError was about (the controller maps it to its object).
 */
export type ApplyResult = { ok: true } | { ok: false; error: string; code: string; listener?: string };

/** EngineStatus is what `portico status` and the admin API show about an engine. */
export interface EngineStatus {
  /** version of the snapshot serving now; -1 before the first successful apply. */
  version: number;
  listeners: ListenerStatus[];
  /** endpoints are the current snapshot's backends with their health. */
  endpoints: EndpointStatus[];
  /** lastError is the reason the latest rejected snapshot was rejected. */
  lastError?: { version: number; error: string };
}

/** EngineOptions wire the engine; everything has a default except what L7 brings. */
export interface EngineOptions {
  /** compileHttp compiles HTTP listeners; defaults to l7's compileHttp. */
  compileHttp?: CompileHttp;
  log?: CompileDeps["log"];
  /** reusePort lets several engine processes bind the same VIP:port (SO_REUSEPORT). */
  reusePort?: boolean;
  bindRetryMs?: number;
  /** onListenerChange runs when a listener's bind state changed (workers push their status). */
  onListenerChange?: () => void;
  health?: HealthOptions;
  checker?: CheckerOptions;
  balancer?: BalancerOptions;
  /** limits override the engine-wide defaults (limits.ts): connection caps, request-body buffering. */
  limits?: Partial<EngineLimits>;
  /** ocspStapling off stops OCSP fetching and stapling (default on; env PORTICO_OCSP_STAPLING=off). */
  ocspStapling?: boolean;
  /**
   * ownSockets: plain HTTP/1.1 connections on Portico's own socket layer (net/own-socket.ts)
   * rather than a net.Socket each (default on where Node allows it; env PORTICO_OWN_SOCKETS=on|off).
   */
  ownSockets?: boolean;
}

const noLog: CompileDeps["log"] = () => {};

/** drainWithin drains engine and resolves true if its connections ended within deadlineMs. */
export async function drainWithin(engine: Engine, deadlineMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), deadlineMs)));
  try {
    return await Promise.race([engine.drain().then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Engine serves one snapshot at a time and swaps to the next atomically. */
export class Engine {
  /** health is shared by every snapshot, so endpoint state survives swaps. */
  readonly health: HealthRegistry;
  private readonly inflight = new InFlight();
  private readonly checker: HealthChecker;
  private readonly listeners: ListenerManager;
  private readonly admission: Admission;
  /** limits are the engine-wide limits in force (defaults plus EngineOptions.limits). */
  readonly limits: EngineLimits;
  private readonly opts: EngineOptions;
  private readonly log: CompileDeps["log"];
  private current:
    { snapshot: EngineSnapshot; upstreams: UpstreamSet; dns: Map<string, DnsService> } | undefined;
  private lastError: EngineStatus["lastError"];
  private readonly ocsp: OcspStapler | undefined;
  // activity is what the idle heap check reads: requests begun (process-wide) and in flight.
  private readonly activity: ActivityProbe = () => ({
    begun: exchangesBegun(),
    inFlight: this.inflight.busy(),
  });

  constructor(opts: EngineOptions = {}) {
    tuneV8();
    watchIdleHeap(this.activity);
    this.opts = opts;
    this.log = opts.log ?? noLog;
    this.health = new HealthRegistry(opts.health);
    this.checker = new HealthChecker(this.health, opts.checker);
    this.limits = { ...defaultEngineLimits(), ...opts.limits };
    this.admission = new Admission(this.limits, this.log);
    const stapling = opts.ocspStapling ?? process.env["PORTICO_OCSP_STAPLING"] !== "off";
    this.ocsp = stapling ? new OcspStapler({ log: this.log }) : undefined;
    this.log("info", "engine limits", { ...this.limits });
    // Which accept path plain HTTP/1.1 connections take, said once (a bad PORTICO_OWN_SOCKETS throws).
    const path = acceptPath(opts.ownSockets);
    this.log("info", "client connections accept path", { ownSockets: path.own, path: path.why });
    // Which HTTP/2 codec serves, said once (a bad PORTICO_H2_CODEC throws, as above).
    this.log("info", "HTTP/2 codec", { codec: ownCodec() ? "own" : "node" });
    this.listeners = new ListenerManager({
      reusePort: opts.reusePort,
      bindRetryMs: opts.bindRetryMs,
      log: this.log,
      onChange: opts.onListenerChange,
      admission: this.admission,
      ownSockets: path.own,
    });
    // A backend problem is logged when it appears and when it clears, not per request.
    this.health.on("change", (c) => {
      if (c.reason === "removed") return;
      if (c.healthy) this.log("info", "backend back in service", { pool: c.pool, backend: c.backend });
      else
        this.log("warn", "backend taken out of service", { pool: c.pool, backend: c.backend, by: c.reason });
    });
  }

  /** apply validates and compiles snapshot, then swaps to it; on any error the current one stays. */
  apply(snapshot: EngineSnapshot): ApplyResult {
    const result = this.build(snapshot);
    // Responses of certificates no longer served are dropped; a rejected snapshot's are too.
    if (this.current !== undefined || !("error" in result))
      this.ocsp?.retain(("error" in result ? this.current! : { snapshot }).snapshot.certificates);
    if ("error" in result) {
      this.lastError = { version: snapshot.version, error: result.error };
      this.log("error", "snapshot rejected", {
        version: snapshot.version,
        code: result.code,
        error: result.error,
      });
      return { ok: false, ...result };
    }
    // Everything compiled: swap. Nothing below throws for user input.
    this.current = { snapshot, upstreams: result.upstreams, dns: result.dns };
    this.listeners.sync(result.specs);
    this.checker.sync(snapshot.pools);
    this.health.retain(result.upstreams.keys());
    // The controller logs the applied snapshot with what changed; this line is for engine debugging.
    this.log("debug", "engine swapped snapshot", { version: snapshot.version });
    return { ok: true };
  }

  /** status reports the serving version and every listener's bind state. */
  status(): EngineStatus {
    return {
      version: this.current?.snapshot.version ?? -1,
      listeners: this.listeners.status(),
      endpoints: this.current?.upstreams.endpoints() ?? [],
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** listenerStatus is status().listeners alone (no endpoints): cheap enough to send every second. */
  listenerStatus(): ListenerStatus[] {
    return this.listeners.status();
  }

  /** snapshot is the one serving now. */
  get snapshot(): EngineSnapshot | undefined {
    return this.current?.snapshot;
  }

  /** connections is the engine's connection count (HTTP and L4 TCP) and its cap (0: none). */
  connections(): { active: number; max: number } {
    return { active: this.admission.active, max: this.limits.maxConnections };
  }

  /** settled resolves once every listener made its first bind attempt. */
  settled(): Promise<void> {
    return this.listeners.settled();
  }

  /**
   * drain closes every listener (no new connections; keep-alive clients are told to go) and
   * resolves once the connections they accepted have ended. close() afterwards ends the rest.
   */
  drain(): Promise<void> {
    return this.listeners.drain();
  }

  /** close stops health checks and listeners and destroys open connections. */
  async close(): Promise<void> {
    unwatchIdleHeap(this.activity);
    this.checker.close();
    this.admission.close();
    this.ocsp?.close();
    await this.listeners.close();
    // Parked backend connections too: they would stay for the pool's idle timeout (a minute).
    // The pool is the process's; another engine in it (tests) opens new ones as it needs them.
    sharedPool.close();
  }

  private build(
    snapshot: EngineSnapshot,
  ):
    | { specs: ListenerSpec[]; upstreams: UpstreamSet; dns: Map<string, DnsService> }
    | { error: string; code: string; listener?: string } {
    const current = this.current?.snapshot.version;
    // Not rejected: a restarted controller starts counting again, and the engine must follow it.
    if (current !== undefined && snapshot.version < current) {
      this.log("warn", "snapshot version went back", { version: snapshot.version, serving: current });
    }
    const problems = validateSnapshot(snapshot);
    if (problems.length > 0) return { error: problems.join("; "), code: "InvalidSnapshot" };
    try {
      const upstreams = new UpstreamSet(snapshot.pools, {
        health: this.health,
        inflight: this.inflight,
        balancer: this.opts.balancer,
        previous: this.current?.upstreams,
      });
      const deps: CompileDeps = {
        snapshot,
        upstreams,
        log: this.log,
        limits: this.limits,
        ...(this.ocsp !== undefined ? { ocsp: this.ocsp } : {}),
      };
      const specs: ListenerSpec[] = [];
      for (const l of snapshot.l4) {
        const base = { name: l.name, address: l.address, port: l.port };
        if (l.protocol === "TCP") specs.push({ ...base, protocol: "TCP", handler: compileTcp(l, deps) });
        else specs.push({ ...base, protocol: "UDP", udp: compileUdp(l, deps) });
      }
      const compileHttp = this.opts.compileHttp ?? defaultCompileHttp;
      for (const l of snapshot.http) {
        const handler = compileHttp(l, deps);
        const spec: ListenerSpec = {
          name: l.name,
          address: l.address,
          port: l.port,
          protocol: "TCP",
          handler,
        };
        if (l.maxConnections !== undefined) spec.maxConnections = l.maxConnections;
        specs.push(spec);
      }
      const dns = new Map<string, DnsService>();
      for (const d of snapshot.dns ?? []) {
        // Records with pools answer while one of them has an endpoint up: the same view as traffic's.
        const deps = { poolUp: (pool: string) => upstreams.up(pool) };
        let svc: DnsService;
        try {
          svc = compileDns(d, deps, this.current?.dns.get(d.name));
        } catch (err) {
          throw new EngineConfigError(
            "INVALID_DNS_ZONE",
            d.name,
            err instanceof Error ? err.message : String(err),
          );
        }
        dns.set(d.name, svc);
        const base = { name: d.name, address: d.address, port: d.port };
        specs.push(
          { ...base, protocol: "UDP", datagram: svc.udp },
          { ...base, protocol: "TCP", handler: svc.tcp },
        );
      }
      return { specs, upstreams, dns };
    } catch (err) {
      if (err instanceof EngineConfigError)
        return { error: err.message, code: err.code, listener: err.listener };
      return { error: err instanceof Error ? err.message : String(err), code: "CompileFailed" };
    }
  }
}

// kube-lease.ts: leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection
// does it. A candidate takes the Lease when it is free or when its holder has not renewed it for
// leaseDuration — measured on *our* clock from when we last saw the record change, never by
// comparing the holder's renewTime with our clock (clocks of two machines disagree). Updates carry
// resourceVersion, so two candidates racing for one expired Lease cannot both win.
// Each acquisition starts a new term (leaseTransitions + 1 as written when taking the Lease): the
// epoch of the engine link, so an engine never takes a snapshot from a leader older than the last.
import { KubeApiError, type KubeClient } from "../sources/kube/client.ts";
import type { Logger } from "./log.ts";

/** LeaseTiming tunes election; the defaults are client-go's (15 s / 10 s / 2 s). */
export interface LeaseTiming {
  /** leaseDurationMs: how long a non-renewed Lease blocks other candidates. */
  leaseDurationMs: number;
  /** renewDeadlineMs: the leader steps down when it could not renew for this long. */
  renewDeadlineMs: number;
  /** retryPeriodMs: how often candidates try and the leader renews. */
  retryPeriodMs: number;
}

/** DEFAULT_LEASE_TIMING is client-go's default timing. */
export const DEFAULT_LEASE_TIMING: LeaseTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** LeaderElector campaigns for one Lease and keeps it renewed while leading. */
export class LeaderElector {
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #ns: string;
  readonly #name: string;
  readonly #identity: string;
  readonly #t: LeaseTiming;
  readonly #log: Logger;
  #observed = "";
  #observedAt = 0;
  #leading = false;
  #term: number | undefined;
  #holder = "";
  #apiAt = 0;
  #stopped = false;
  #wake: (() => void) | undefined;

  /** constructor names the Lease (namespace/name) and this candidate's identity. */
  constructor(
    client: KubeClient,
    namespace: string,
    name: string,
    identity: string,
    log: Logger,
    timing = DEFAULT_LEASE_TIMING,
  ) {
    this.#client = client;
    this.#ns = namespace;
    this.#name = name;
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
    this.#identity = identity;
    this.#t = timing;
    this.#log = log;
  }

  /** leading tells whether this candidate holds the Lease now. */
  leading(): boolean {
    return this.#leading;
  }

  /**
   * term is the term this replica leads in — the Lease's leaseTransitions as this replica wrote it
   * when it acquired the Lease, plus one (so the first term is 1) — or undefined while not leading.
   * A replica that takes over always writes a higher count than its predecessor's.
   */
  term(): number | undefined {
    return this.#leading ? this.#term : undefined;
  }

  /** holder is the identity the Lease named when last read ("" when free or not read yet). */
  holder(): string {
    return this.#holder;
  }

  /** lastContactMs is how long ago the API last answered a Lease request (Infinity: never). */
  lastContactMs(now = Date.now()): number {
    return this.#apiAt === 0 ? Infinity : now - this.#apiAt;
  }

  /**
   * run campaigns until elected, calls onLead, renews until renewal fails for renewDeadline (then
   * calls onLost and campaigns again) or stop() is called. Resolves after stop().
   */
  async run(onLead: () => void, onLost: () => void): Promise<void> {
    while (!this.#stopped) {
      if (!(await this.#tryAcquireOrRenew())) {
        await this.#sleep(this.#t.retryPeriodMs * (1 + Math.random() * 0.2));
        continue;
      }
      this.#leading = true;
      this.#log("info", "leader election: leading", {
        lease: `${this.#ns}/${this.#name}`,
        identity: this.#identity,
      });
      onLead();
      let lastRenew = Date.now();
      while (!this.#stopped) {
        await this.#sleep(this.#t.retryPeriodMs);
        if (this.#stopped) break;
        if (await this.#tryAcquireOrRenew()) lastRenew = Date.now();
        else if (Date.now() - lastRenew > this.#t.renewDeadlineMs) break;
      }
      this.#leading = false;
      if (this.#stopped) return;
      this.#log("warn", "leader election: lost the lease", { identity: this.#identity });
      onLost();
    }
  }

  /** stop ends run(); when leading, the Lease is released so a successor need not wait for it to expire. */
  async stop(release = true): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    if (!release || !this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.#client.request<Lease>("GET", `${this.#path}/${this.#name}`);
      if (lease.spec?.holderIdentity !== this.#identity) return;
      const now = microTime(new Date());
      // client-go's ReleaseOnCancel: an empty holder with a 1 s duration lets the next candidate in.
      lease.spec = { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now };
      await this.#client.request("PUT", `${this.#path}/${this.#name}`, lease);
    } catch (e) {
      this.#log("warn", "leader election: could not release the lease", { error: String(e) });
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** #tryAcquireOrRenew makes one attempt; true when we hold the Lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const spec: LeaseSpec = {
      holderIdentity: this.#identity,
      leaseDurationSeconds: Math.ceil(this.#t.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let lease: Lease;
    try {
      lease = await this.#client.request<Lease>("GET", `${this.#path}/${this.#name}`);
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) return this.#failed(e);
      try {
        await this.#client.request("POST", this.#path, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.#name, namespace: this.#ns },
          spec,
        });
        this.#took(spec);
        return true;
      } catch (err) {
        return this.#failed(err);
      }
    }
    this.#apiAt = Date.now();
    const cur = lease.spec ?? {};
    this.#holder = cur.holderIdentity ?? "";
    const record = JSON.stringify([cur.holderIdentity, cur.renewTime, cur.leaseDurationSeconds]);
    if (record !== this.#observed) {
      this.#observed = record;
      this.#observedAt = Date.now();
    }
    const mine = cur.holderIdentity === this.#identity;
    const held = !!cur.holderIdentity && !mine;
    const durationMs = (cur.leaseDurationSeconds ?? 0) * 1000;
    if (held && this.#observedAt + durationMs > Date.now()) return false;
    // Still ours from before (a restart with the same identity, or a retake after stepping down)
    // is a new term all the same: this process's pushes start again at seq 1.
    if (mine && this.#leading) {
      spec.acquireTime = cur.acquireTime ?? spec.acquireTime;
      spec.leaseTransitions = cur.leaseTransitions ?? 0;
    } else spec.leaseTransitions = (cur.leaseTransitions ?? 0) + 1;
    try {
      await this.#client.request("PUT", `${this.#path}/${this.#name}`, { ...lease, spec });
      if (!this.#leading) this.#took(spec);
      this.#apiAt = Date.now();
      this.#observed = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
      this.#observedAt = Date.now();
      return true;
    } catch (e) {
      return this.#failed(e);
    }
  }

  /** #took records a fresh acquisition: the term and who holds the Lease. */
  #took(spec: LeaseSpec): void {
    this.#term = (spec.leaseTransitions ?? 0) + 1;
    this.#holder = this.#identity;
    this.#apiAt = Date.now();
  }

  #failed(e: unknown): false {
    // A conflict is an answer too: the API is there, another candidate wrote first.
    if (e instanceof KubeApiError && e.status === 409) this.#apiAt = Date.now();
    else this.#log("warn", "leader election: lease request failed", { error: String(e) });
    return false;
  }
}

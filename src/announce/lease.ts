// lease.ts: the kernel is the lease. Every address the announcer keeps is added with valid_lft and
// preferred_lft = the lease and renewed every lease/3 by ONE `ip -batch -` process for all of them,
// so the addresses of an engine that dies or freezes leave the kernel within a lease on their own,
// with nobody cleaning up. A tick that finds more than a lease passed since the last renewal means
// this process was frozen (SIGSTOP, a stalled VM, a blocked loop): the kernel may already have
// dropped the addresses and the controller moved the VIPs, so re-adding them could make two owners.
// The manager then removes every address and reports it; it adds nothing until set() is called again.
import { addressKey, batchErrors, batchLines, type LeasedAddress } from "./ip.ts";
import type { Tools } from "./tools.ts";
import { serializer } from "./serial.ts";

/** LeaseOptions wire a lease manager; now is a monotonic clock in ms (performance.now by default). */
export interface LeaseOptions {
  tools: Tools;
  /** onFrozen runs after the manager withdrew everything because a renewal came lateMs too late. */
  onFrozen(sinceRenewalMs: number): void;
  /** onErrors runs after each batch with the addresses that failed (key → ip's message); empty when all went in. */
  onErrors?(errors: ReadonlyMap<string, string>): void;
  now?: () => number;
}

/** LeaseManager keeps a set of addresses in the kernel, leased and renewed. */
export class LeaseManager {
  readonly #o: LeaseOptions;
  readonly #now: () => number;
  #want = new Map<string, LeasedAddress>();
  #gone = new Map<string, LeasedAddress>();
  #errors = new Map<string, string>();
  #leaseMs = 3000;
  #timer: NodeJS.Timeout | undefined;
  /** #renewedAt is when the last batch that renewed every address started (monotonic ms). */
  #renewedAt: number | undefined;
  readonly #serial = serializer();
  #closed = false;

  constructor(o: LeaseOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => performance.now());
  }

  /** errors are the addresses whose last add or renewal failed, by addressKey. */
  errors(): ReadonlyMap<string, string> {
    return this.#errors;
  }

  /** current is the leased set (empty after a freeze until the next set()). */
  current(): LeasedAddress[] {
    return [...this.#want.values()];
  }

  /** has says whether the manager keeps a after the last set(). */
  has(a: LeasedAddress): boolean {
    return this.#want.has(addressKey(a));
  }

  /**
   * set makes addrs the leased set: adds the new ones, renews the rest and removes the ones no
   * longer listed, in one batch that has run when the promise resolves.
   */
  set(addrs: readonly LeasedAddress[], leaseMs: number): Promise<void> {
    return this.#serial(async () => {
      await this.#checkFrozen();
      this.#leaseMs = leaseMs;
      const next = new Map(addrs.map((a) => [addressKey(a), a]));
      for (const [k, a] of this.#want) if (!next.has(k)) this.#gone.set(k, a);
      for (const k of next.keys()) this.#gone.delete(k);
      this.#want = next;
      await this.#batch();
    });
  }

  /** clear removes every address now (a freeze, close); set() starts again from nothing. */
  clear(): Promise<void> {
    return this.#serial(() => this.#clear());
  }

  /** close removes every address and stops renewing for good. */
  async close(): Promise<void> {
    await this.clear();
    this.#closed = true;
  }

  async #clear(): Promise<void> {
    for (const [k, a] of this.#want) this.#gone.set(k, a);
    this.#want = new Map();
    await this.#batch();
  }

  // A renewal that comes more than a lease after the previous one may find its addresses expired
  // and owned elsewhere: withdraw instead of renewing.
  async #checkFrozen(): Promise<boolean> {
    if (this.#renewedAt === undefined || this.#want.size === 0) return false;
    const since = this.#now() - this.#renewedAt;
    if (since <= this.#leaseMs) return false;
    await this.#clear();
    this.#o.onFrozen(since);
    return true;
  }

  async #batch(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    const keep = [...this.#want.values()];
    const remove = [...this.#gone.values()];
    this.#gone = new Map();
    if (keep.length + remove.length === 0) {
      this.#renewedAt = undefined;
      return;
    }
    const started = this.#now();
    const lines = batchLines(keep, remove, this.#leaseMs);
    // -force goes on past a failed line, so one bad address never stops the others' renewal.
    const r = await this.#o.tools
      .run("ip", ["-force", "-batch", "-"], lines.join("\n") + "\n")
      .catch((err: Error) => ({ code: -1, stdout: "", stderr: err.message })); // ip itself missing
    const failed = batchErrors(r.stderr);
    if (r.code !== 0 && failed.size === 0)
      for (let i = 0; i < keep.length; i++) failed.set(i, r.stderr.trim() || `ip exited ${r.code}`);
    // A failed `del` is an address already gone (expired or removed by hand): nothing to report.
    this.#errors = new Map(
      [...failed].filter(([i]) => i < keep.length).map(([i, m]) => [addressKey(keep[i]!), m]),
    );
    if (keep.length > 0) this.#renewedAt = started;
    this.#o.onErrors?.(this.#errors);
    if (keep.length > 0 && !this.#closed) {
      const period = this.#leaseMs / 3;
      this.#timer = setTimeout(
        () => void this.#serial(() => this.#tick()),
        Math.max(0, started + period - this.#now()),
      );
      this.#timer.unref();
    }
  }

  async #tick(): Promise<void> {
    if (await this.#checkFrozen()) return;
    await this.#batch();
  }
}

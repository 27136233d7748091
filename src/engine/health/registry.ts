// registry.ts: the health of every pool endpoint, shared by all snapshots so that state survives
// a swap for endpoints that remain (keyed by pool + "address:port"). Two inputs decide it:
// active checks (rise/fall thresholds) and passive outcomes (consecutive failures eject the
// endpoint for a backoff that doubles with each ejection; an active pass re-admits it early).
import { channel } from "node:diagnostics_channel";
import { EventEmitter } from "node:events";

/** HEALTH_CHANNEL carries HealthChange events for metrics and logs. */
export const HEALTH_CHANNEL = "portico:health";

/** HealthChange says an endpoint became usable or unusable, and why. */
export interface HealthChange {
  pool: string;
  backend: string;
  healthy: boolean;
  reason: "active" | "passive" | "readmit" | "removed";
}

/** HealthOptions tune passive ejection; now is injectable for tests. */
export interface HealthOptions {
  now?: () => number;
  /** passiveFailures consecutive failed outcomes eject an endpoint (default 5). */
  passiveFailures?: number;
  /** ejectBaseMs is the first ejection's length, doubled each time up to ejectMaxMs. */
  ejectBaseMs?: number;
  ejectMaxMs?: number;
}

/** EndpointHealth is the state of one endpoint; exported for status pages. */
export interface EndpointHealth {
  activeUp: boolean;
  rises: number;
  falls: number;
  failures: number;
  ejections: number;
  /** ejectedUntil is a timestamp of now(); 0 when not ejected. */
  ejectedUntil: number;
}

const healthChannel = channel(HEALTH_CHANNEL);

/** healthKey joins pool and backend id into the registry key. */
export function healthKey(pool: string, backend: string): string {
  return `${pool}|${backend}`;
}

/** HealthRegistry holds endpoint health; emits "change" with a HealthChange. */
export class HealthRegistry extends EventEmitter<{ change: [HealthChange] }> {
  private readonly states = new Map<string, EndpointHealth>();
  private readonly now: () => number;
  private readonly passiveFailures: number;
  private readonly ejectBaseMs: number;
  private readonly ejectMaxMs: number;

  constructor(opts: HealthOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    this.passiveFailures = opts.passiveFailures ?? 5;
    this.ejectBaseMs = opts.ejectBaseMs ?? 10_000;
    this.ejectMaxMs = opts.ejectMaxMs ?? 300_000;
  }

  /** usable says whether an endpoint may take traffic; unknown endpoints are healthy. key: healthKey(pool, backend). */
  usable(pool: string, backend: string, key = healthKey(pool, backend)): boolean {
    const s = this.states.get(key);
    if (!s) return true;
    if (s.ejectedUntil !== 0) {
      if (this.now() < s.ejectedUntil) return false;
      s.ejectedUntil = 0;
      s.failures = 0;
      if (s.activeUp) this.emitChange(pool, backend, true, "readmit");
    }
    return s.activeUp;
  }

  /** state returns an endpoint's state, creating it healthy on first use. */
  state(pool: string, backend: string, key = healthKey(pool, backend)): EndpointHealth {
    let s = this.states.get(key);
    if (!s) {
      s = { activeUp: true, rises: 0, falls: 0, failures: 0, ejections: 0, ejectedUntil: 0 };
      this.states.set(key, s);
    }
    return s;
  }

  /** active records an active check result against the check's rise/fall thresholds. */
  active(pool: string, backend: string, ok: boolean, rise: number, fall: number): void {
    const s = this.state(pool, backend);
    if (ok) {
      s.falls = 0;
      s.rises++;
      const wasEjected = s.ejectedUntil !== 0;
      if (wasEjected) {
        s.ejectedUntil = 0;
        s.failures = 0;
      }
      if (!s.activeUp && s.rises >= rise) {
        s.activeUp = true;
        this.emitChange(pool, backend, true, "active");
      } else if (wasEjected && s.activeUp) this.emitChange(pool, backend, true, "readmit");
    } else {
      s.rises = 0;
      s.falls++;
      if (s.activeUp && s.falls >= fall) {
        s.activeUp = false;
        if (s.ejectedUntil === 0) this.emitChange(pool, backend, false, "active");
      }
    }
  }

  /** passive records a request/connection outcome; enough consecutive failures eject. */
  passive(pool: string, backend: string, ok: boolean, key = healthKey(pool, backend)): void {
    const s = this.state(pool, backend, key);
    if (ok) {
      s.failures = 0;
      if (s.ejectedUntil === 0) s.ejections = 0;
      return;
    }
    if (++s.failures < this.passiveFailures || s.ejectedUntil !== 0) return;
    s.ejections++;
    const backoff = Math.min(this.ejectBaseMs * 2 ** (s.ejections - 1), this.ejectMaxMs);
    s.ejectedUntil = this.now() + backoff;
    if (s.activeUp) this.emitChange(pool, backend, false, "passive");
  }

  /** retain forgets endpoints whose key is not in keys (they left every pool). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.states.keys()) if (!keys.has(key)) this.states.delete(key);
  }

  /** entries lists every known endpoint's state. */
  entries(): IterableIterator<[string, EndpointHealth]> {
    return this.states.entries();
  }

  private emitChange(pool: string, backend: string, healthy: boolean, reason: HealthChange["reason"]): void {
    const ev: HealthChange = { pool, backend, healthy, reason };
    if (healthChannel.hasSubscribers) healthChannel.publish(ev);
    this.emit("change", ev);
  }
}

// recheck.ts: a certificate expires, becomes valid or enters its last fortnight with no input
// changing; both controllers (`portico run` and the Kubernetes one) rebuild at that instant so the
// default-certificate fallback, conditions, Events and metrics follow on time.

/** RecheckTimer runs fire once at the next instant given to schedule (a later schedule replaces it). */
export class RecheckTimer {
  #timer: NodeJS.Timeout | undefined;
  readonly #fire: () => void;

  constructor(fire: () => void) {
    this.#fire = fire;
  }

  /** schedule arms the timer for atMs (Unix ms; at least a second from now); undefined disarms it. */
  schedule(atMs: number | undefined): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (atMs === undefined) return;
    // setTimeout holds at most ~24.8 days; a later instant is reached by rescheduling after a rebuild.
    const wait = Math.min(Math.max(atMs - Date.now(), 1000), 2 ** 31 - 1);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#fire();
    }, wait);
    this.#timer.unref();
  }

  /** stop disarms the timer. */
  stop(): void {
    this.schedule(undefined);
  }
}

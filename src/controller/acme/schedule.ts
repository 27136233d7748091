// schedule.ts: when the built-in ACME issuer renews and retries. Renewal at two thirds of the
// certificate's lifetime, minus up to 1/20 of it in jitter so certificates issued together do not
// renew together; failed orders retry with exponential backoff, capped.

/** BACKOFF_MIN_MS and BACKOFF_MAX_MS bound the wait after a failed order. */
export const BACKOFF_MIN_MS = 2_000;
export const BACKOFF_MAX_MS = 60 * 60_000;

/** renewAt is when a certificate valid from notBefore to notAfter (ms) is renewed; rand in [0, 1). */
export function renewAt(notBefore: number, notAfter: number, rand: number): number {
  const life = Math.max(0, notAfter - notBefore);
  return notBefore + (life * 2) / 3 - (life / 20) * rand;
}

/** backoffMs is the wait after the n-th consecutive failure (n ≥ 1), with up to 25% jitter. */
export function backoffMs(failures: number, rand: number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (1 - 0.25 * rand));
}

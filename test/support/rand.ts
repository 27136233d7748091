// rand.ts: a small seeded generator (mulberry32) for tests that draw inputs, so a failure
// reproduces with the same sequence on every run.

/** rand returns a generator of numbers in [0, 1), the same sequence for the same seed. */
export function rand(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// hash.ts: a fast, well-mixed 32-bit string hash (FNV-1a followed by murmur3's finaliser),
// so that similar keys ("10.0.0.1", "10.0.0.2") land far apart.

/** hash32 hashes a string with a seed to an unsigned 32-bit integer. */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

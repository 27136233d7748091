// sticky.ts: the tokens a session-affinity cookie carries (Route.affinity, l7/affinity.ts). A token
// names a backend without showing its address: the first 16 hex digits of SHA-256 over
// "address:port". It is the same in every engine and across snapshots, so a client keeps its
// endpoint through reloads and whichever engine it reaches. Tokens are cached per backend id (ids
// repeat across snapshots; the cache is bounded).
import { createHash } from "../node-crypto.ts";
import type { Backend } from "../contracts.ts";

// MAX_CACHED bounds the cache; past it, it starts over (a token costs one hash to remake).
const MAX_CACHED = 10_000;
const cache = new Map<string, string>();

/** stickyToken is the cookie value naming the backend whose id ("address:port") is id. */
export function stickyToken(id: string): string {
  let t = cache.get(id);
  if (t === undefined) {
    t = createHash("sha256").update(id).digest("hex").slice(0, 16);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(id, t);
  }
  return t;
}

/** stickyIndex maps the tokens of backends to them (built once per pool and snapshot, on first use). */
export function stickyIndex(backends: readonly Backend[]): Map<string, Backend> {
  const out = new Map<string, Backend>();
  for (const b of backends) out.set(stickyToken(b.id), b);
  return out;
}

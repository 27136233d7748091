// consistent-hash.ts: Maglev hashing (Eisenbud et al., NSDI 2016). Each backend fills a prime-sized
// lookup table following its own permutation, in turns proportional to its weight; a key maps to
// table[hash(key) % M]. When a backend leaves, mostly only its own slots change owner.
// An unusable backend (unhealthy, excluded) is skipped by rehashing the key with a salt, so keys
// of healthy backends never move because another backend is down.
import type { Algorithm } from "../../model/ir.ts";
import type { Backend, PickContext } from "../contracts.ts";
import type { Balancer, PickInput } from "./balancer.ts";
import { hash32 } from "./hash.ts";

/** MAGLEV_TABLE_SIZES are primes; a pool gets the first at least 100× its size (M >> N, as the paper advises). */
export const MAGLEV_TABLE_SIZES = [1021, 4093, 16381, 65537];

/** maglevTableSize picks the table size for n backends; small pools build in well under a millisecond. */
export function maglevTableSize(n: number): number {
  return MAGLEV_TABLE_SIZES.find((m) => m >= 100 * n) ?? MAGLEV_TABLE_SIZES[MAGLEV_TABLE_SIZES.length - 1]!;
}

/** HashKey is the part of Algorithm that says where the key comes from. */
export type HashKey = Extract<Algorithm, { type: "ConsistentHash" }>;

/** hashKeyOf reads the key from the client; falls back to the source IP when header/cookie is absent. */
export function hashKeyOf(on: HashKey, ctx: PickContext): string {
  if (on.on === "Header") return ctx.header?.(on.name.toLowerCase()) ?? ctx.sourceIp;
  if (on.on === "Cookie") return ctx.cookie?.(on.name) ?? ctx.sourceIp;
  if (on.on === "RequestUri") return ctx.uri?.() ?? ctx.sourceIp;
  return ctx.sourceIp;
}

/** buildMaglevTable returns, for each of M slots, the index of the backend owning it (-1 if none). */
export function buildMaglevTable(
  backends: readonly Backend[],
  size = maglevTableSize(backends.length),
): Int32Array {
  const table = new Int32Array(size).fill(-1);
  const live: number[] = [];
  for (let i = 0; i < backends.length; i++) if (backends[i]!.endpoint.weight > 0) live.push(i);
  if (live.length === 0) return table;
  const maxWeight = Math.max(...live.map((i) => backends[i]!.endpoint.weight));
  const offset = live.map((i) => hash32(backends[i]!.id, 0x9e3779b9) % size);
  const skip = live.map((i) => (hash32(backends[i]!.id, 0x7f4a7c15) % (size - 1)) + 1);
  const next = new Array<number>(live.length).fill(0);
  const credit = new Array<number>(live.length).fill(0);
  let filled = 0;
  for (;;) {
    for (let k = 0; k < live.length; k++) {
      credit[k]! += backends[live[k]!]!.endpoint.weight / maxWeight;
      while (credit[k]! >= 1) {
        credit[k]! -= 1;
        let slot = (offset[k]! + next[k]! * skip[k]!) % size;
        while (table[slot] !== -1) {
          next[k]!++;
          slot = (offset[k]! + next[k]! * skip[k]!) % size;
        }
        table[slot] = live[k]!;
        next[k]!++;
        if (++filled === size) return table;
      }
    }
  }
}

/** ConsistentHash is Maglev over the pool's backends, keyed by source IP, header or cookie. */
export class ConsistentHash implements Balancer {
  private readonly backends: readonly Backend[];
  private readonly table: Int32Array;
  private readonly on: HashKey;

  constructor(backends: readonly Backend[], on: HashKey, tableSize = maglevTableSize(backends.length)) {
    this.backends = backends;
    this.on = on;
    this.table = buildMaglevTable(backends, tableSize);
  }

  pick(input: PickInput): Backend | undefined {
    if (this.table[0] === -1) return undefined;
    const key = hashKeyOf(this.on, input.ctx);
    const m = this.table.length;
    for (let salt = 0; salt < 16; salt++) {
      const b = this.backends[this.table[hash32(key, salt) % m]!]!;
      if (input.usable(b)) return b;
    }
    // Most backends are down: walk the table from the key's slot, still deterministic per key.
    const start = hash32(key) % m;
    for (let k = 0; k < this.backends.length * 64 && k < m; k++) {
      const b = this.backends[this.table[(start + k) % m]!]!;
      if (input.usable(b)) return b;
    }
    for (const b of this.backends) if (b.endpoint.weight > 0 && input.usable(b)) return b;
    return undefined;
  }
}

// status.ts: the status Portico reports on each VipPool — counts per family and conditions.
// No timestamps here (allocate() has no clock); the status writer stamps lastTransitionTime.
import type { Condition } from "../k8s/types.ts";
import type { VipPoolStatus } from "../k8s/vip-pool.ts";
import { parseIp } from "./address.ts";
import type { CompiledPool } from "./pools.ts";
import { rangesContain } from "./ranges.ts";
import type { AllocationState, IpFamily } from "./types.ts";
import type { Usage } from "./usage.ts";

/** saturate turns a count into a number, capped where doubles stop being exact. */
function saturate(n: bigint): number {
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** poolStatus computes status for one pool: what it handed out, what is still free, and why not Ready. */
export function poolStatus(pool: CompiledPool, state: AllocationState, usage: Usage): VipPoolStatus {
  const assigned: Record<IpFamily, Set<bigint>> = { IPv4: new Set(), IPv6: new Set() };
  for (const a of Object.values(state)) {
    a.addresses.forEach((addr, i) => {
      const ip = parseIp(addr);
      if (ip && a.pools[i] === pool.name) assigned[ip.family].add(ip.value);
    });
  }
  // Available counts every held address inside the pool, whichever pool it was drawn from:
  // an address of an overlap held via the other pool is not free here either.
  const held: Record<IpFamily, bigint> = { IPv4: 0n, IPv6: 0n };
  for (const family of ["IPv4", "IPv6"] as const) {
    for (const v of usage.used(family))
      if (rangesContain(pool.ranges, pool.avoidBuggy, family, v)) held[family]++;
  }
  const generation = pool.generation !== undefined ? { observedGeneration: pool.generation } : {};
  const conditions: Condition[] = [
    pool.invalid !== undefined
      ? { type: "Ready", status: "False", reason: "InvalidAddresses", message: pool.invalid, ...generation }
      : {
          type: "Ready",
          status: "True",
          reason: "AddressesValid",
          message: `${pool.size.IPv4} IPv4 and ${pool.size.IPv6} IPv6 addresses`,
          ...generation,
        },
  ];
  if (pool.overlaps.length > 0) {
    conditions.push({
      type: "Overlapping",
      status: "True",
      reason: "Overlapping",
      message: pool.overlaps
        .map((o) => `shares ${o.range} with pool "${o.pool}"`)
        .join("; ")
        .concat("; each shared address is assigned once"),
      ...generation,
    });
  }
  return {
    assignedIPv4: assigned.IPv4.size,
    assignedIPv6: assigned.IPv6.size,
    availableIPv4: saturate(pool.size.IPv4 - held.IPv4),
    availableIPv6: saturate(pool.size.IPv6 - held.IPv6),
    conditions,
  };
}

// pools.ts: VipPool objects compiled into what the allocator reads (merged ranges, sizes, overlaps),
// and the per-request eligibility check that yields the refusal codes of `portico explain`.
import type { VipPool, VipPoolSpec } from "../k8s/vip-pool.ts";
import { DEFAULT_ENGINE_GROUP } from "../k8s/engine-group.ts";
import { formatRange, mergeRanges, parseEntry, rangeSize, rangesContain, type IpRange } from "./ranges.ts";
import { matchesAny } from "./selector.ts";
import type { IpFamily, RefusalReason, VipRequest } from "./types.ts";

/** CompiledPool is one VipPool as the allocator sees it. */
export interface CompiledPool {
  name: string;
  generation?: number;
  /** ranges are merged and sorted; empty when the pool is invalid. */
  ranges: IpRange[];
  /** invalid names the first bad spec.addresses entry; an invalid pool serves nobody. */
  invalid?: string;
  autoAssign: boolean;
  avoidBuggy: boolean;
  /** engineGroup is the EngineGroup serving the pool's addresses for owners that name none (spec.engineGroup, else "default"). */
  engineGroup: string;
  priority: number;
  /** allocation is spec.serviceAllocation as given (read, never written). */
  allocation: NonNullable<VipPoolSpec["serviceAllocation"]>;
  /** hasSelectors: the pool restricts namespaces or services, so a match ranks it first. */
  hasSelectors: boolean;
  /** size is the count of usable addresses per family. */
  size: Record<IpFamily, bigint>;
  /** overlaps names the other pools sharing at least one address, and one shared range. */
  overlaps: { pool: string; range: string }[];
}

/** compilePool parses one VipPool; a bad entry makes the whole pool invalid, never half-used. */
function compilePool(pool: VipPool): CompiledPool {
  const spec = pool.spec ?? { addresses: [] };
  const alloc = spec.serviceAllocation ?? {};
  const out: CompiledPool = {
    name: pool.metadata.name,
    ranges: [],
    autoAssign: spec.autoAssign ?? true,
    engineGroup: spec.engineGroup?.trim() || DEFAULT_ENGINE_GROUP,
    avoidBuggy: spec.avoidBuggyIPs ?? false,
    priority: Number.isInteger(spec.priority) ? (spec.priority as number) : 0,
    allocation: alloc,
    hasSelectors:
      alloc.namespaces !== undefined ||
      alloc.namespaceSelectors !== undefined ||
      alloc.serviceSelectors !== undefined,
    size: { IPv4: 0n, IPv6: 0n },
    overlaps: [],
  };
  if (pool.metadata.generation !== undefined) out.generation = pool.metadata.generation;
  const entries = Array.isArray(spec.addresses) ? spec.addresses : [];
  if (entries.length === 0) return { ...out, invalid: "spec.addresses is empty" };
  const parsed: IpRange[] = [];
  for (const entry of entries) {
    const r = typeof entry === "string" ? parseEntry(entry) : `${JSON.stringify(entry)} is not a string`;
    if (typeof r === "string") return { ...out, invalid: `spec.addresses: ${r}` };
    parsed.push(r);
  }
  out.ranges = mergeRanges(parsed);
  for (const r of out.ranges) out.size[r.family] += rangeSize(r, out.avoidBuggy);
  return out;
}

/** poolProblem says why a VipPool cannot be used (its first bad spec.addresses entry), or undefined. */
export function poolProblem(pool: VipPool): string | undefined {
  return compilePool(pool).invalid;
}

/** compilePools compiles every pool (first of a duplicated name wins), sorted by name, with overlaps found. */
export function compilePools(pools: readonly VipPool[]): CompiledPool[] {
  const byName = new Map<string, CompiledPool>();
  for (const p of pools) if (!byName.has(p.metadata.name)) byName.set(p.metadata.name, compilePool(p));
  const out = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 0; i < out.length; i++) {
    for (let j = i + 1; j < out.length; j++) {
      const a = out[i] as CompiledPool;
      const b = out[j] as CompiledPool;
      const shared = firstOverlap(a.ranges, b.ranges);
      if (shared === undefined) continue;
      a.overlaps.push({ pool: b.name, range: shared });
      b.overlaps.push({ pool: a.name, range: shared });
    }
  }
  return out;
}

/** firstOverlap returns the first range two sorted range lists share, as text. */
function firstOverlap(a: readonly IpRange[], b: readonly IpRange[]): string | undefined {
  for (const x of a) {
    for (const y of b) {
      if (x.family !== y.family || x.end < y.start || y.end < x.start) continue;
      const start = x.start > y.start ? x.start : y.start;
      const end = x.end < y.end ? x.end : y.end;
      return formatRange({ family: x.family, start, end });
    }
  }
  return undefined;
}

/** Eligibility is whether a pool may serve one family of a request. */
export type Eligibility = { ok: true } | { ok: false; reason: RefusalReason; detail: string };

/** checkPool applies the pool's rules to one family of a request; requested is that family's wanted address. */
export function checkPool(
  pool: CompiledPool,
  req: VipRequest,
  nsLabels: Readonly<Record<string, string>>,
  family: IpFamily,
  requested: bigint | undefined,
): Eligibility {
  if (pool.invalid !== undefined) return { ok: false, reason: "PoolInvalid", detail: pool.invalid };
  if (req.allowedPools !== undefined && !req.allowedPools.includes(pool.name)) {
    const list = req.allowedPools.join(", ") || "none";
    return {
      ok: false,
      reason: "PoolNotAllowed",
      detail: `not among tenant ${req.tenant ?? ""}'s vipPools (${list})`,
    };
  }
  if (req.allowedGroups !== undefined && !req.allowedGroups.includes(pool.engineGroup)) {
    const list = req.allowedGroups.join(", ") || "none";
    return {
      ok: false,
      reason: "PoolNotAllowed",
      detail: `serves EngineGroup ${pool.engineGroup} (spec.engineGroup), not among tenant ${req.tenant ?? ""}'s engineGroups (${list})`,
    };
  }
  const reservedFor = req.reservedPools?.[pool.name];
  if (reservedFor !== undefined) {
    const owner = req.tenant ? `tenant ${req.tenant}` : "no tenant";
    return {
      ok: false,
      reason: "PoolNotAllowed",
      detail: `reserved for tenant ${reservedFor.join(", ")} (spec.vipPools); the request is of ${owner}`,
    };
  }
  if (req.pool !== undefined && req.pool !== pool.name) {
    return { ok: false, reason: "PoolNotRequested", detail: `the request names pool "${req.pool}"` };
  }
  const alloc = pool.allocation;
  if (alloc.namespaces !== undefined || alloc.namespaceSelectors !== undefined) {
    // The namespace list and the namespace selectors are alternatives: either one admits.
    const listed = (alloc.namespaces ?? []).includes(req.namespace);
    if (!listed && !matchesAny(alloc.namespaceSelectors ?? [], nsLabels)) {
      return { ok: false, reason: "NamespaceMismatch", detail: `namespace "${req.namespace}" not selected` };
    }
  }
  if (alloc.serviceSelectors !== undefined && !matchesAny(alloc.serviceSelectors, req.labels)) {
    return { ok: false, reason: "SelectorMismatch", detail: "labels do not match serviceSelectors" };
  }
  if (pool.size[family] === 0n) {
    return { ok: false, reason: "FamilyMismatch", detail: `pool has no ${family} addresses` };
  }
  if (!pool.autoAssign && req.pool !== pool.name) {
    const inside = requested !== undefined && rangesContain(pool.ranges, pool.avoidBuggy, family, requested);
    if (!inside) {
      return {
        ok: false,
        reason: "NotAutoAssign",
        detail: "autoAssign is false and the pool was not asked for",
      };
    }
  }
  return { ok: true };
}

/** comparePools is the trial order: pools whose selectors matched first, then by priority (lower
 * first), then by name. Only eligible pools are compared, so "has selectors" means "selectors matched". */
export function comparePools(a: CompiledPool, b: CompiledPool): number {
  if (a.hasSelectors !== b.hasSelectors) return a.hasSelectors ? -1 : 1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

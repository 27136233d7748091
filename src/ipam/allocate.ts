// allocate.ts: the pure VIP allocator. Every call re-evaluates every request against the pools:
// first each request keeps what it held if that is still valid (sticky), then requests without an
// address are served in `order` (oldest first). Keys absent from the input are released, so their
// addresses can go to pending requests in the same call. No clock, no I/O, inputs never mutated.
import { formatIp, parseIp } from "./address.ts";
import { failure, mergeVerdicts } from "./explain.ts";
import { checkPool, comparePools, compilePools, type CompiledPool } from "./pools.ts";
import { lowestFree, rangesContain } from "./ranges.ts";
import { poolStatus } from "./status.ts";
import type {
  AllocateInput,
  AllocateOutput,
  AllocationResult,
  Assignment,
  IpFamily,
  PoolVerdict,
  VipRequest,
} from "./types.ts";
import { clashWith, Usage, type Holder } from "./usage.ts";

/** Plan is one request while it is being served. */
interface Plan {
  req: VipRequest;
  holder: Holder;
  nsLabels: Readonly<Record<string, string>>;
  /** families to serve: the first only for SingleStack. */
  families: IpFamily[];
  requested: Partial<Record<IpFamily, bigint>>;
  got: Partial<Record<IpFamily, { value: bigint; pool: string }>>;
  verdicts: Partial<Record<IpFamily, PoolVerdict[]>>;
  failed?: Extract<AllocationResult, { ok: false }>;
}

/** plan validates a request and sets up its Plan, or returns why the request itself is wrong. */
function plan(req: VipRequest, nsLabels: Readonly<Record<string, string>>): Plan | string {
  if (req.families.length === 0) return "the request names no IP family";
  if (new Set(req.families).size !== req.families.length) return "the request repeats an IP family";
  const families = req.familyPolicy === "SingleStack" ? req.families.slice(0, 1) : [...req.families];
  const requested: Partial<Record<IpFamily, bigint>> = {};
  for (const text of req.requested) {
    const ip = parseIp(text);
    if (ip === undefined) return `requested address "${text}" is not an IP address`;
    if (requested[ip.family] !== undefined) return `more than one ${ip.family} address requested`;
    if (!families.includes(ip.family))
      return `requested ${text} is ${ip.family}, but the request is for ${families.join(" and ")} only (spec.ipFamilies / ipFamilyPolicy)`;
    requested[ip.family] = ip.value;
  }
  const holder: Holder = { key: req.key, ports: req.ports.map((p) => ({ ...p })) };
  if (req.sharingKey !== undefined) holder.sharingKey = req.sharingKey;
  return { req, holder, nsLabels, families, requested, got: {}, verdicts: {} };
}

/** keep tries to keep the previous address of one family; true when it is still valid. The pool it
 * came from is tried first; if that pool is gone or no longer eligible, any eligible pool that holds
 * the address keeps it (a renamed or split pool does not re-IP anyone). */
function keep(
  p: Plan,
  family: IpFamily,
  prev: Assignment | undefined,
  byName: Map<string, CompiledPool>,
  pools: readonly CompiledPool[],
  usage: Usage,
): boolean {
  if (prev === undefined) return false;
  const i = prev.addresses.findIndex((a) => parseIp(a)?.family === family);
  const ip = i < 0 ? undefined : parseIp(prev.addresses[i] ?? "");
  if (ip === undefined) return false;
  const wanted = p.requested[family];
  if (wanted !== undefined && wanted !== ip.value) return false;
  if (clashWith(formatIp(ip), p.holder, usage.holders(family, ip.value))) return false;
  const recorded = byName.get(prev.pools[i] ?? "");
  // A pool whose spec stopped parsing hands out nothing new, but keeps what it handed out: an
  // address moves only when its holder is removed, never because an input turned invalid.
  if (recorded?.invalid !== undefined && (p.req.pool === undefined || p.req.pool === recorded.name)) {
    usage.add(family, ip.value, p.holder);
    p.got[family] = { value: ip.value, pool: recorded.name };
    return true;
  }
  const candidates = [...(recorded ? [recorded] : []), ...[...pools].sort(comparePools)];
  const pool = candidates.find(
    (o) =>
      rangesContain(o.ranges, o.avoidBuggy, family, ip.value) &&
      checkPool(o, p.req, p.nsLabels, family, wanted).ok,
  );
  if (pool === undefined) return false;
  usage.add(family, ip.value, p.holder);
  p.got[family] = { value: ip.value, pool: pool.name };
  return true;
}

/** triage splits pools into eligible ones (in trial order) and refusal verdicts for the rest. */
function triage(p: Plan, family: IpFamily, pools: readonly CompiledPool[]) {
  const eligible: CompiledPool[] = [];
  const refused: PoolVerdict[] = [];
  for (const pool of pools) {
    const e = checkPool(pool, p.req, p.nsLabels, family, p.requested[family]);
    if (e.ok) eligible.push(pool);
    else refused.push({ pool: pool.name, chosen: false, reason: e.reason, detail: e.detail });
  }
  return { eligible: eligible.sort(comparePools), refused };
}

/** serve finds an address of one family for a request; records verdicts either way. */
function serve(p: Plan, family: IpFamily, pools: readonly CompiledPool[], usage: Usage): boolean {
  const { eligible, refused } = triage(p, family, pools);
  const tried: PoolVerdict[] = [];
  const take = (pool: CompiledPool, value: bigint, detail: string) => {
    usage.add(family, value, p.holder);
    p.got[family] = { value, pool: pool.name };
    const rest = eligible.slice(tried.length + 1).map((o) => ({
      pool: o.name,
      chosen: false,
      detail: `eligible; pool "${pool.name}" comes first`,
    }));
    p.verdicts[family] = [...tried, { pool: pool.name, chosen: true, detail }, ...rest, ...refused];
    return true;
  };
  const wanted = p.requested[family];
  if (wanted !== undefined) {
    const text = formatIp({ family, value: wanted });
    const home = eligible.find((pool) => rangesContain(pool.ranges, pool.avoidBuggy, family, wanted));
    const names = eligible.map((o) => `"${o.name}"`).join(", ");
    for (const pool of eligible) {
      if (pool === home) break;
      tried.push({
        pool: pool.name,
        chosen: false,
        reason: "RequestedIPOutsidePool",
        detail: `${text} is not in this pool`,
      });
    }
    if (home === undefined) {
      const detail = `${text} is outside every eligible pool (tried ${names})`;
      p.verdicts[family] = [...tried.map((v) => ({ ...v, detail })), ...refused];
      return false;
    }
    const clash = clashWith(text, p.holder, usage.holders(family, wanted));
    if (clash === undefined) return take(home, wanted, `${text} as requested`);
    const others = eligible
      .slice(tried.length + 1)
      .map((o) => ({ pool: o.name, chosen: false, detail: "not tried" }));
    p.verdicts[family] = [...tried, { pool: home.name, chosen: false, ...clash }, ...others, ...refused];
    return false;
  }
  // A request with a sharing key first joins an address its key already uses, in pool order.
  if (p.holder.sharingKey !== undefined) {
    const shared = usage.sharedBy(p.holder.sharingKey, family);
    for (const pool of eligible) {
      for (const value of shared) {
        if (!rangesContain(pool.ranges, pool.avoidBuggy, family, value)) continue;
        const text = formatIp({ family, value });
        if (clashWith(text, p.holder, usage.holders(family, value))) continue;
        return take(pool, value, `${text} shared under sharing key "${p.holder.sharingKey}"`);
      }
    }
  }
  for (const pool of eligible) {
    const value = lowestFree(
      pool.ranges,
      pool.avoidBuggy,
      family,
      (v) => usage.holders(family, v).length > 0,
      usage.cursor,
    );
    if (value !== undefined)
      return take(pool, value, `${formatIp({ family, value })} was the lowest free address`);
    const n = pool.size[family];
    tried.push({
      pool: pool.name,
      chosen: false,
      reason: "Exhausted",
      detail: `exhausted: ${n}/${n} addresses assigned`,
    });
  }
  p.verdicts[family] = [...tried, ...refused];
  return false;
}

/** keptVerdicts explains a family kept from the previous state, for `portico explain`. */
function keptVerdicts(p: Plan, family: IpFamily, pools: readonly CompiledPool[]): PoolVerdict[] {
  const { eligible, refused } = triage(p, family, pools);
  const got = p.got[family];
  const text = got ? formatIp({ family, value: got.value }) : "";
  const chosen = eligible.filter((o) => o.name === got?.pool);
  const rest = eligible.filter((o) => o.name !== got?.pool);
  return [
    ...chosen.map((o) => ({
      pool: o.name,
      chosen: true,
      detail: `${text} kept from the previous assignment`,
    })),
    ...rest.map((o) => ({ pool: o.name, chosen: false, detail: "eligible; the request keeps its address" })),
    ...refused.map((v) =>
      v.pool === got?.pool
        ? { pool: v.pool, chosen: true, detail: `${text} kept from the previous assignment (${v.detail})` }
        : v,
    ),
  ];
}

/** byOrder sorts requests by `order`, then key, so results never depend on input order. */
function byOrder(a: VipRequest, b: VipRequest): number {
  if (a.order !== b.order) return a.order < b.order ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** allocate assigns VIP addresses to requests from pools, keeping previous assignments that are still valid. */
export function allocate(input: AllocateInput): AllocateOutput {
  const pools = compilePools(input.pools);
  const poolsByName = new Map(pools.map((o) => [o.name, o]));
  const labels = new Map(input.namespaces.map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
  const usage = new Usage();
  const results: Record<string, AllocationResult> = {};
  const plans: Plan[] = [];
  const seen = new Set<string>();
  for (const req of [...input.requests].sort(byOrder)) {
    // A key seen twice keeps its first (oldest) request; the duplicate cannot have its own result.
    if (seen.has(req.key)) continue;
    seen.add(req.key);
    const p = plan(req, labels.get(req.namespace) ?? {});
    if (typeof p === "string")
      results[req.key] = { ok: false, reason: "InvalidRequest", message: p, verdicts: [] };
    else plans.push(p);
  }
  // Pass 1: sticky. Everything still valid is placed before anything new, so nothing valid is re-IP'd.
  for (const p of plans) {
    for (const family of p.families) {
      if (keep(p, family, input.previous[p.req.key], poolsByName, pools, usage))
        p.verdicts[family] = keptVerdicts(p, family, pools);
    }
  }
  // Pass 2: serve missing families, oldest request first.
  for (const p of plans) {
    for (const family of p.families) {
      if (p.got[family] !== undefined || serve(p, family, pools, usage)) continue;
      const served = p.families.filter((f) => p.got[f] !== undefined).length;
      const fatal = p.req.familyPolicy === "RequireDualStack" || p.families.length === 1;
      if (fatal || (family === p.families[p.families.length - 1] && served === 0)) {
        // PreferDualStack that got nothing reports its first family, the one it wanted most.
        const headline = fatal ? family : (p.families[0] ?? family);
        const verdicts = p.verdicts[headline] ?? [];
        p.failed = failure(verdicts, headline, p.families.length > 1, p.req.pool);
        usage.release(p.req.key);
        p.got = {};
        break;
      }
    }
  }
  const state: Record<string, Assignment> = {};
  for (const p of [...plans].sort((a, b) => (a.req.key < b.req.key ? -1 : 1))) {
    if (p.failed) {
      results[p.req.key] = p.failed;
      continue;
    }
    const served = p.families.filter((f) => p.got[f] !== undefined);
    const addresses = served.map((f) => formatIp({ family: f, value: p.got[f]?.value ?? 0n }));
    const poolNames = served.map((f) => p.got[f]?.pool ?? "");
    const verdicts = mergeVerdicts(p.families.map((f) => [f, p.verdicts[f] ?? []]));
    results[p.req.key] = { ok: true, addresses, pools: poolNames, verdicts };
    const a: Assignment = { addresses, pools: poolNames, ports: p.holder.ports.map((x) => ({ ...x })) };
    if (p.holder.sharingKey !== undefined) a.sharingKey = p.holder.sharingKey;
    state[p.req.key] = a;
  }
  const poolStatusOut: AllocateOutput["poolStatus"] = Object.fromEntries(
    pools.map((o) => [o.name, poolStatus(o, state, usage)]),
  );
  return { state, results: sortKeys(results), poolStatus: poolStatusOut };
}

/** sortKeys rebuilds a record with sorted keys so serialised output is stable. */
function sortKeys<T>(rec: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(rec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

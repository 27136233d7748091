// explain.ts: turning per-pool verdicts into a result's headline reason and one-line message, and
// merging the verdicts of a dual-stack request's families into one line per pool.
import type { AllocationResult, IpFamily, PoolVerdict, RefusalReason } from "./types.ts";

/** TELLING ranks refusal codes, most telling first: a clash on a named address says more than
 * exhaustion, which says more than a pool that was never a candidate. */
const TELLING: readonly RefusalReason[] = [
  "PortClash",
  "SharingKeyMismatch",
  "RequestedIPTaken",
  "RequestedIPOutsidePool",
  "Exhausted",
  "FamilyMismatch",
  "NotAutoAssign",
  "SelectorMismatch",
  "NamespaceMismatch",
  "PoolInvalid",
  // Another tenant's pool is less telling than anything the tenant's own pools said.
  "PoolNotAllowed",
  "PoolNotRequested",
];

/** describe writes one verdict for a message: `pool "blue" exhausted (16/16 assigned)`. */
function describe(v: PoolVerdict): string {
  if (v.reason === "Exhausted") {
    const counts = /(\d+\/\d+)/.exec(v.detail)?.[1] ?? "";
    return `pool "${v.pool}" exhausted (${counts} assigned)`;
  }
  return `pool "${v.pool}": ${v.detail}`;
}

/** group describes verdicts, folding pools refused with the same words into one clause:
 * `pools "a", "b": namespace "dev" not selected`. Exhaustion stays per pool (its counts differ). */
function group(verdicts: readonly PoolVerdict[]): string[] {
  const clauses: (string | { detail: string; pools: string[] })[] = [];
  const byDetail = new Map<string, { detail: string; pools: string[] }>();
  for (const v of verdicts) {
    const same = byDetail.get(v.detail);
    if (v.reason === "Exhausted") clauses.push(describe(v));
    else if (same) same.pools.push(v.pool);
    else {
      const clause = { detail: v.detail, pools: [v.pool] };
      byDetail.set(v.detail, clause);
      clauses.push(clause);
    }
  }
  return clauses.map((c) => {
    if (typeof c === "string") return c;
    const names = c.pools.map((p) => `"${p}"`).join(", ");
    return `${c.pools.length === 1 ? "pool" : "pools"} ${names}: ${c.detail}`;
  });
}

/** failure builds the ok:false result for one family that could not be served. */
export function failure(
  verdicts: PoolVerdict[],
  family: IpFamily,
  multiFamily: boolean,
  namedPool: string | undefined,
): Extract<AllocationResult, { ok: false }> {
  const head = multiFamily ? `no ${family} address` : "no address";
  if (verdicts.length === 0) {
    return { ok: false, reason: "NoPools", message: `${head}: no VipPool exists`, verdicts };
  }
  if (namedPool !== undefined && !verdicts.some((v) => v.pool === namedPool)) {
    return { ok: false, reason: "NoPools", message: `${head}: pool "${namedPool}" does not exist`, verdicts };
  }
  const refusals = verdicts.filter((v) => v.reason !== undefined);
  let reason: RefusalReason = "PoolNotRequested";
  for (const r of TELLING) {
    if (refusals.some((v) => v.reason === r)) {
      reason = r;
      break;
    }
  }
  // Pools the request did not name are noise once it named one.
  const shown = refusals.filter((v) => v.reason !== "PoolNotRequested");
  const message = `${head}: ${group(shown.length > 0 ? shown : refusals).join("; ")}`;
  return { ok: false, reason, message, verdicts };
}

/** mergeVerdicts folds per-family verdict lists into one per pool; details carry the family when
 * more than one was evaluated. A pool is chosen if it served any family. */
export function mergeVerdicts(byFamily: ReadonlyArray<[IpFamily, PoolVerdict[]]>): PoolVerdict[] {
  if (byFamily.length === 1) return byFamily[0]?.[1] ?? [];
  const order: string[] = [];
  const lines = new Map<string, { family: IpFamily; v: PoolVerdict }[]>();
  for (const [family, verdicts] of byFamily) {
    for (const v of verdicts) {
      if (!lines.has(v.pool)) {
        order.push(v.pool);
        lines.set(v.pool, []);
      }
      lines.get(v.pool)?.push({ family, v });
    }
  }
  return order.map((pool) => {
    const entries = lines.get(pool) ?? [];
    const chosen = entries.some((e) => e.v.chosen);
    const refusal = entries.find((e) => e.v.reason !== undefined)?.v.reason;
    const detail = entries.map((e) => `${e.family}: ${e.v.detail}`).join("; ");
    const out: PoolVerdict = { pool, chosen, detail };
    if (!chosen && refusal !== undefined) out.reason = refusal;
    return out;
  });
}

// view.ts: one pool as an operator asks about it — its addresses, who holds each, what is still
// free, and which requests wait on it — computed from allocate()'s output. Pure, like the rest of
// ipam: the same answer offline (`portico explain vippool/NAME DIR`) and from a running Portico.
import type { VipPool, VipPoolStatus } from "../k8s/vip-pool.ts";
import { compareIps, formatIp, parseIp } from "./address.ts";
import { compilePools } from "./pools.ts";
import { formatRange, isBuggy, rangesContain, type IpRange } from "./ranges.ts";
import type { AllocateOutput, IpFamily, RefusalReason, VipRequest } from "./types.ts";

/** WAITING are the refusals a request may outwait on a pool: an address freed, or more added. */
const WAITING: ReadonlySet<RefusalReason> = new Set([
  "Exhausted",
  "RequestedIPTaken",
  "SharingKeyMismatch",
  "PortClash",
]);

/** MAX_FREE_RANGES bounds the free ranges listed per family; counts stay exact. */
const MAX_FREE_RANGES = 16;

/** PoolHolder is one request holding an address of the pool. */
export interface PoolHolder {
  key: string;
  /** pool is the pool the address was drawn from (another one when two pools overlap). */
  pool: string;
  sharingKey?: string;
  ports: string[];
}

/** PoolWaiter is a request without its VIP that this pool could serve once addresses free up. */
export interface PoolWaiter {
  key: string;
  families: IpFamily[];
  reason: string;
  detail: string;
}

/** PoolView is everything `portico explain vippool/NAME` says about one pool. */
export interface PoolView {
  name: string;
  /** addresses are spec.addresses as written. */
  addresses: string[];
  invalid?: string;
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  priority: number;
  /** held lists each held address of the pool, lowest first, with its holders. */
  held: { address: string; holders: PoolHolder[] }[];
  /** free is, per family, the count of unheld usable addresses and the first ranges of them. */
  free: Record<IpFamily, { count: string; ranges: string[]; more: boolean }>;
  waiting: PoolWaiter[];
  status?: VipPoolStatus;
}

/** poolView describes pool `name` of `pools` after allocate() produced `alloc`; undefined when no such pool. */
export function poolView(
  name: string,
  pools: readonly VipPool[],
  alloc: AllocateOutput,
  requests: readonly VipRequest[],
): PoolView | undefined {
  const pool = compilePools(pools).find((p) => p.name === name);
  const raw = pools.find((p) => p.metadata.name === name);
  if (!pool || !raw) return undefined;
  const held = new Map<string, { ip: NonNullable<ReturnType<typeof parseIp>>; holders: PoolHolder[] }>();
  for (const [key, a] of Object.entries(alloc.state)) {
    a.addresses.forEach((address, i) => {
      const ip = parseIp(address);
      if (!ip || !rangesContain(pool.ranges, pool.avoidBuggy, ip.family, ip.value)) return;
      const h: PoolHolder = {
        key,
        pool: a.pools[i] ?? name,
        ports: a.ports.map((p) => `${p.port}/${p.protocol}`),
      };
      if (a.sharingKey !== undefined) h.sharingKey = a.sharingKey;
      const entry = held.get(address) ?? { ip, holders: [] };
      entry.holders.push(h);
      held.set(address, entry);
    });
  }
  const heldSorted = [...held.entries()].sort((a, b) => compareIps(a[1].ip, b[1].ip));
  const free = {
    IPv4: freeRanges(
      pool.ranges,
      pool.avoidBuggy,
      "IPv4",
      heldSorted.map(([, h]) => h.ip),
    ),
    IPv6: freeRanges(
      pool.ranges,
      pool.avoidBuggy,
      "IPv6",
      heldSorted.map(([, h]) => h.ip),
    ),
  };
  const waiting = waitingOn(name, alloc, requests);
  const view: PoolView = {
    name,
    addresses: [...(raw.spec?.addresses ?? [])],
    autoAssign: pool.autoAssign,
    avoidBuggyIPs: pool.avoidBuggy,
    priority: pool.priority,
    held: heldSorted.map(([address, h]) => ({ address, holders: h.holders })),
    free,
    waiting,
  };
  if (pool.invalid !== undefined) view.invalid = pool.invalid;
  const status = alloc.poolStatus[name];
  if (status) view.status = status;
  return view;
}

/** waitingOn lists the requests without their VIP that pool `name` refused for a reason that can
 * pass (exhausted, requested address or port taken): MetalLB's "pending" for that pool. */
export function waitingOn(
  name: string,
  alloc: Pick<AllocateOutput, "results">,
  requests: readonly VipRequest[],
): PoolWaiter[] {
  const wanted = new Map(requests.map((r) => [r.key, r.families]));
  const waiting: PoolWaiter[] = [];
  for (const [key, r] of Object.entries(alloc.results)) {
    if (r.ok) continue;
    const v = r.verdicts.find((v) => v.pool === name);
    if (!v?.reason || !WAITING.has(v.reason)) continue;
    waiting.push({ key, families: wanted.get(key) ?? [], reason: v.reason, detail: v.detail });
  }
  return waiting;
}

/** freeRanges walks a family's ranges around the held addresses (and .0/.255 when avoided). */
function freeRanges(
  ranges: readonly IpRange[],
  avoidBuggy: boolean,
  family: IpFamily,
  held: readonly { family: IpFamily; value: bigint }[],
): { count: string; ranges: string[]; more: boolean } {
  const holes = held.filter((h) => h.family === family).map((h) => h.value);
  let count = 0n;
  const out: IpRange[] = [];
  let more = false;
  const emit = (start: bigint, end: bigint) => {
    // Split a run at the buggy addresses it crosses; count them out arithmetically, list lazily.
    let s = start;
    while (s <= end) {
      if (avoidBuggy && isBuggy(family, s)) {
        s++;
        continue;
      }
      let e = s;
      if (avoidBuggy && family === "IPv4") {
        const blockEnd = (s | 0xffn) - 1n; // x.254
        e = blockEnd < end ? blockEnd : end;
      } else e = end;
      count += e - s + 1n;
      if (out.length < MAX_FREE_RANGES) out.push({ family, start: s, end: e });
      else {
        more = true;
        if (!avoidBuggy) break;
      }
      s = e + 1n;
    }
  };
  for (const r of ranges) {
    if (r.family !== family) continue;
    let cursor = r.start;
    for (const h of holes) {
      if (h < r.start || h > r.end) continue;
      if (h > cursor) emit(cursor, h - 1n);
      cursor = h + 1n;
    }
    if (cursor <= r.end) emit(cursor, r.end);
  }
  return {
    count: count.toString(),
    ranges: out.map((r) => (r.start === r.end ? formatIp({ family, value: r.start }) : formatRange(r))),
    more,
  };
}

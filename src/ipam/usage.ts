// usage.ts: who holds which address during one allocate() call, and whether a newcomer may join.
// Keyed by address, not by pool, so an address in two overlapping pools is handed out once.
import type { IpFamily, PortClaim, RefusalReason } from "./types.ts";
import type { IpRange } from "./ranges.ts";

/** Holder is a request holding an address: its key, sharing key and ports. */
export interface Holder {
  key: string;
  sharingKey?: string;
  ports: readonly PortClaim[];
}

/** Clash is why a newcomer may not use a held address. */
export interface Clash {
  reason: Extract<RefusalReason, "RequestedIPTaken" | "SharingKeyMismatch" | "PortClash">;
  detail: string;
}

/** clashWith says why `req` may not share `ip` with its holders, or undefined when it may. Requests
 * share only with the same sharing key and no equal (port, protocol): a TCP and a UDP 53 coexist. */
export function clashWith(ip: string, req: Holder, holders: readonly Holder[]): Clash | undefined {
  for (const h of holders) {
    if (h.key === req.key) continue;
    if (req.sharingKey === undefined || h.sharingKey === undefined) {
      return { reason: "RequestedIPTaken", detail: `${ip} is held by ${h.key}` };
    }
    if (req.sharingKey !== h.sharingKey) {
      return {
        reason: "SharingKeyMismatch",
        detail: `${ip} is held by ${h.key} with sharing key "${h.sharingKey}", not "${req.sharingKey}"`,
      };
    }
    const clash = req.ports.find((p) => h.ports.some((q) => q.port === p.port && q.protocol === p.protocol));
    if (clash !== undefined) {
      return { reason: "PortClash", detail: `${clash.port}/${clash.protocol} on ${ip} is used by ${h.key}` };
    }
  }
  return undefined;
}

/** Usage indexes holders by address, one map per family (BigInt keys compare by value). */
export class Usage {
  private readonly maps: Record<IpFamily, Map<bigint, Holder[]>> = { IPv4: new Map(), IPv6: new Map() };
  /** cursor is lowestFree's memory of where each range's free addresses start; see lowestFree. */
  readonly cursor = new Map<IpRange, bigint>();

  /** holders lists who holds an address (empty when free). */
  holders(family: IpFamily, value: bigint): readonly Holder[] {
    return this.maps[family].get(value) ?? [];
  }

  /** add records a holder on an address. */
  add(family: IpFamily, value: bigint, holder: Holder): void {
    const list = this.maps[family].get(value);
    if (list) list.push(holder);
    else this.maps[family].set(value, [holder]);
  }

  /** release drops every address a request key holds (a RequireDualStack request that failed half-way). */
  release(key: string): void {
    this.cursor.clear(); // freed addresses may lie below a cursor
    for (const map of Object.values(this.maps)) {
      for (const [value, list] of map) {
        const rest = list.filter((h) => h.key !== key);
        if (rest.length === 0) map.delete(value);
        else if (rest.length !== list.length) map.set(value, rest);
      }
    }
  }

  /** sharedBy lists, lowest first, addresses of a family already held under a sharing key. */
  sharedBy(sharingKey: string, family: IpFamily): bigint[] {
    const out: bigint[] = [];
    for (const [value, list] of this.maps[family])
      if (list.some((h) => h.sharingKey === sharingKey)) out.push(value);
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** used lists every held address of a family. */
  used(family: IpFamily): IterableIterator<bigint> {
    return this.maps[family].keys();
  }
}

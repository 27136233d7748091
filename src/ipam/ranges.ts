// ranges.ts: a pool's addresses as sorted, merged [start, end] ranges per family. Everything here
// counts and walks lazily: an IPv6 /64 is two BigInts, never 2^64 strings.
import { BITS, formatIp, parseIp } from "./address.ts";
import type { IpFamily } from "./types.ts";

/** IpRange is the inclusive range [start, end] of one family. */
export interface IpRange {
  family: IpFamily;
  start: bigint;
  end: bigint;
}

/** parseEntry reads one spec.addresses entry ("192.0.2.0/28" or "192.0.2.10-192.0.2.20"). */
export function parseEntry(entry: string): IpRange | string {
  const text = entry.trim();
  if (text.includes("/")) {
    const [addr = "", bits = ""] = text.split("/");
    const ip = parseIp(addr);
    if (ip === undefined || !/^\d{1,3}$/.test(bits)) return `"${entry}" is not a valid CIDR`;
    const prefix = Number(bits);
    const width = BITS[ip.family];
    if (prefix > width) return `"${entry}" has a prefix longer than /${width}`;
    const size = 1n << BigInt(width - prefix);
    // Host bits are masked off, as net.ParseCIDR does: "192.0.2.7/24" means 192.0.2.0/24.
    const start = (ip.value / size) * size;
    return { family: ip.family, start, end: start + size - 1n };
  }
  if (text.includes("-")) {
    const parts = text.split("-");
    const from = parts.length === 2 ? parseIp(parts[0] ?? "") : undefined;
    const to = parts.length === 2 ? parseIp(parts[1] ?? "") : undefined;
    if (from === undefined || to === undefined) return `"${entry}" is not a valid range`;
    if (from.family !== to.family) return `"${entry}" mixes IPv4 and IPv6`;
    if (from.value > to.value) return `"${entry}" ends before it starts`;
    return { family: from.family, start: from.value, end: to.value };
  }
  const single = parseIp(text);
  if (single !== undefined) {
    return `"${entry}" is a single address: write "${text}/${BITS[single.family]}" (a CIDR) or a from-to range`;
  }
  return `"${entry}" is neither a CIDR nor a from-to range`;
}

/** mergeRanges sorts ranges and joins those that overlap or touch, so counts never double up. */
export function mergeRanges(ranges: readonly IpRange[]): IpRange[] {
  const sorted = [...ranges].sort((a, b) =>
    a.family !== b.family
      ? a.family === "IPv4"
        ? -1
        : 1
      : a.start < b.start
        ? -1
        : a.start > b.start
          ? 1
          : 0,
  );
  const out: IpRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.family === r.family && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** isBuggy says whether an IPv4 address ends in .0 or .255, which some clients mishandle. */
export function isBuggy(family: IpFamily, value: bigint): boolean {
  if (family !== "IPv4") return false;
  const last = value & 0xffn;
  return last === 0n || last === 255n;
}

/** floorDiv is floor(a / b) for b > 0; BigInt division truncates toward zero. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** countResidue counts x in [start, end] with x mod m == r. */
function countResidue(start: bigint, end: bigint, m: bigint, r: bigint): bigint {
  return floorDiv(end - r, m) - floorDiv(start - 1n - r, m);
}

/** rangeSize counts the usable addresses of a range (less .0/.255 when avoidBuggy). */
export function rangeSize(r: IpRange, avoidBuggy: boolean): bigint {
  const all = r.end - r.start + 1n;
  if (!avoidBuggy || r.family !== "IPv4") return all;
  return all - countResidue(r.start, r.end, 256n, 0n) - countResidue(r.start, r.end, 256n, 255n);
}

/** rangesContain says whether a usable address of the ranges equals (family, value). */
export function rangesContain(
  ranges: readonly IpRange[],
  avoidBuggy: boolean,
  family: IpFamily,
  value: bigint,
): boolean {
  if (avoidBuggy && isBuggy(family, value)) return false;
  return ranges.some((r) => r.family === family && r.start <= value && value <= r.end);
}

/** lowestFree walks the ranges upwards and returns the first usable address `taken` refuses.
 * It stops after at most |taken| + buggy skips + 1 steps per range, so huge pools cost nothing.
 * cursor, when given, remembers per range where the last walk stopped: every address below it
 * was taken. That holds only while addresses are added, never freed — whoever frees one must
 * clear the cursor. Without it, n allocations from one pool would cost O(n²) steps. */
export function lowestFree(
  ranges: readonly IpRange[],
  avoidBuggy: boolean,
  family: IpFamily,
  taken: (value: bigint) => boolean,
  cursor?: Map<IpRange, bigint>,
): bigint | undefined {
  for (const r of ranges) {
    if (r.family !== family) continue;
    const from = cursor?.get(r) ?? r.start;
    for (let v = from; v <= r.end; v++) {
      if (avoidBuggy && isBuggy(family, v)) continue;
      if (!taken(v)) {
        cursor?.set(r, v);
        return v;
      }
    }
    cursor?.set(r, r.end + 1n);
  }
  return undefined;
}

/** formatRange writes a range for messages ("192.0.2.0-192.0.2.15"). */
export function formatRange(r: IpRange): string {
  return `${formatIp({ family: r.family, value: r.start })}-${formatIp({ family: r.family, value: r.end })}`;
}

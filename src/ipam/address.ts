// address.ts: IPv4 and IPv6 addresses as BigInt, so one arithmetic serves both families and a
// /64 is counted, not materialised. Parsing is strict (no zones, no leading-zero octets) because
// an address that means two things to two tools must not reach a VIP.
import type { IpFamily } from "./types.ts";

/** Ip is a parsed address: its family and its value as an unsigned integer. */
export interface Ip {
  family: IpFamily;
  value: bigint;
}

/** BITS is the width of each family's addresses. */
export const BITS: Readonly<Record<IpFamily, number>> = { IPv4: 32, IPv6: 128 };

/** parseIPv4 reads dotted-quad text, or undefined when it is not exactly four decimal octets. */
function parseIPv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused: some tools read "010" as octal, others as decimal.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

/** parseGroups reads colon-separated hex groups (one side of "::"), with an optional trailing IPv4. */
function parseGroups(text: string, allowV4Tail: boolean): bigint[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: bigint[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (allowV4Tail && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIPv4(part);
      if (v4 === undefined) return undefined;
      groups.push(v4 >> 16n, v4 & 0xffffn);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      groups.push(BigInt(`0x${part}`));
    }
  }
  return groups;
}

/** parseIPv6 reads RFC 4291 text (with "::" and an optional dotted IPv4 tail). */
function parseIPv6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? "", halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "", true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** parseIp reads an IPv4 or IPv6 address, or returns undefined when the text is not one. */
export function parseIp(text: string): Ip | undefined {
  const trimmed = text.trim();
  if (trimmed.includes(":")) {
    const value = parseIPv6(trimmed);
    return value === undefined ? undefined : { family: "IPv6", value };
  }
  const value = parseIPv4(trimmed);
  return value === undefined ? undefined : { family: "IPv4", value };
}

/** formatIp writes the canonical text of an address (RFC 5952 for IPv6: lower case, longest zero run as "::"). */
export function formatIp(ip: Ip): string {
  if (ip.family === "IPv4") {
    return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join(".");
  }
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((ip.value >> s) & 0xffffn));
  // Find the longest run of zero groups (leftmost on ties); only runs of two or more are compressed.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** canonicalIp rewrites address text in canonical form, or returns undefined when it does not parse. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip === undefined ? undefined : formatIp(ip);
}

/** compareIps orders IPv4 before IPv6, then numerically; the order "lowest free address" means. */
export function compareIps(a: Ip, b: Ip): number {
  if (a.family !== b.family) return a.family === "IPv4" ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

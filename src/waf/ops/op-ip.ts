// op-ip.ts: @ipMatch / @ipMatchFromFile: is the value (REMOTE_ADDR) inside one of the listed
// addresses or CIDR blocks, IPv4 or IPv6. An IPv4-mapped IPv6 value (::ffff:192.0.2.1, what a
// dual-stack socket reports for an IPv4 client) is tested against the IPv4 blocks too. A value
// that is not an address matches nothing.
import type { Operator } from "../lang/model.ts";
import type { CompiledOperator, OperatorResult } from "./types.ts";

/** parseV4 reads a dotted-quad address; -1 when s is not one. */
export function parseV4(s: string): number {
  const parts = s.split(".");
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return -1;
    v = v * 256 + Number(p);
  }
  return v;
}

/** parseV6 reads an IPv6 address (with ::, an IPv4 tail, a %zone) into 8 groups; null when s is not one. */
export function parseV6(s: string): Uint16Array | null {
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(":")) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    const items = h.split(":");
    for (let k = 0; k < items.length; k++) {
      const it = items[k]!;
      if (k === items.length - 1 && it.includes(".")) {
        const v4 = parseV4(it);
        if (v4 < 0) return null;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(it)) out.push(parseInt(it, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  const out = new Uint16Array(8);
  out.set(head, 0);
  out.set(tail, 8 - tail.length);
  return out;
}

interface Block6 {
  addr: Uint16Array;
  bits: number;
}

function inBlock6(a: Uint16Array, b: Block6): boolean {
  let bits = b.bits;
  for (let g = 0; g < 8 && bits > 0; g++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((a[g]! & mask) !== (b.addr[g]! & mask)) return false;
  }
  return true;
}

/** compileIp compiles the (already validated) address list of op. */
export function compileIp(op: Operator): CompiledOperator {
  const v4: [number, number][] = [];
  const v6: Block6[] = [];
  for (const item of op.arg.kind === "ips" ? op.arg.ips : []) {
    const [addr = "", b] = item.split("/");
    const a4 = parseV4(addr);
    if (a4 >= 0) {
      const bits = b === undefined ? 32 : Number(b);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      v4.push([(a4 & mask) >>> 0, mask]);
    } else {
      const a6 = parseV6(addr);
      if (a6 !== null) v6.push({ addr: a6, bits: b === undefined ? 128 : Number(b) });
    }
  }
  const test4 = (a: number) => v4.some(([net, mask]) => (a & mask) >>> 0 === net);
  return {
    name: op.name,
    // The networks are read at load (the argument or the file): the answer is the address's.
    pure: true,
    test(value: string): OperatorResult {
      const a4 = parseV4(value);
      if (a4 >= 0) return test4(a4) ? { matched: value } : false;
      const a6 = parseV6(value);
      if (a6 === null) return false;
      if (v6.some((b) => inBlock6(a6, b))) return { matched: value };
      const mapped = a6[5] === 0xffff && a6.subarray(0, 5).every((g) => g === 0);
      return mapped && test4(a6[6]! * 65536 + a6[7]!) ? { matched: value } : false;
    },
  };
}

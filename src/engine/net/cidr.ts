// cidr.ts: client-address lists for access policies (l7/access.ts). A list of CIDRs compiles once
// per snapshot into sorted, merged ranges per family; a lookup parses the address without
// allocating (a scratch array) and binary-searches the ranges, so a list of thousands costs a
// dozen comparisons. IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack socket reports for an
// IPv4 peer) is the IPv4 address, in lists and in lookups alike; an IPv6 CIDR shorter than /96
// does not cover IPv4 clients ("::/0" is every IPv6 address, not every address).
// The engine imports only the model, so this does not share src/ipam's BigInt parser: that one
// allocates per call, fine for configuration, not for every request.

/** Family is what parseAddress found: 4, 6, or 0 for text that is not an address. */
export type Family = 0 | 4 | 6;

const COLON = 58;
const DOT = 46;

/**
 * parseAddress reads an IPv4 or IPv6 address into out (4 words, big-endian: an IPv4 address is
 * out[3]) and says which family it is. Strict, like Go's netip: no leading zeros in IPv4 octets,
 * no zone, at most one "::". IPv4-mapped IPv6 comes back as family 4, like an IPv4 address.
 */
export function parseAddress(text: string, out: Uint32Array): Family {
  if (text.indexOf(":") < 0) {
    const v4 = parseV4(text, 0);
    if (v4 < 0) return 0;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0;
    out[3] = v4;
    return 4;
  }
  if (!parseV6(text, out)) return 0;
  if (out[0] !== 0 || out[1] !== 0 || out[2] !== 0xffff) return 6;
  out[2] = 0;
  return 4;
}

// parseV4 reads dotted-quad text from start to the end of s; -1 when it is not exactly that.
function parseV4(s: string, start: number): number {
  let v = 0;
  let octets = 0;
  let i = start;
  const len = s.length;
  while (octets < 4) {
    const first = i;
    let octet = 0;
    while (i < len) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      octet = octet * 10 + d;
      i++;
    }
    const digits = i - first;
    // Leading zeros are refused: some tools read "010" as octal, others as decimal.
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && s.charCodeAt(first) === 48)) return -1;
    v = v * 256 + octet;
    octets++;
    if (octets < 4) {
      if (i >= len || s.charCodeAt(i) !== DOT) return -1;
      i++;
    }
  }
  return i === len ? v : -1;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

// groups is parseV6's scratch: the 16-bit groups read so far.
const groups = new Uint32Array(8);

// parseV6 reads RFC 4291 text (with "::" and an optional dotted IPv4 tail) into out.
function parseV6(s: string, out: Uint32Array): boolean {
  const len = s.length;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === COLON) {
    if (s.charCodeAt(1) !== COLON) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    let j = i;
    let v = 0;
    while (j < len && j - i < 4) {
      const d = hexDigit(s.charCodeAt(j));
      if (d < 0) break;
      v = v * 16 + d;
      j++;
    }
    if (j < len && s.charCodeAt(j) === DOT) {
      // A dotted IPv4 tail is the last two groups.
      if (n > 6) return false;
      const v4 = parseV4(s, i);
      if (v4 < 0) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      break;
    }
    if (j === i || n === 8) return false;
    groups[n++] = v;
    if (j === len) break;
    if (s.charCodeAt(j) !== COLON) return false;
    j++;
    if (j < len && s.charCodeAt(j) === COLON) {
      if (gap >= 0) return false;
      gap = n;
      j++;
    } else if (j === len) return false;
    i = j;
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  // Expand "::": the groups after the gap move to the end, zeros fill it.
  if (gap >= 0) {
    const tail = n - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  for (let k = 0; k < 4; k++) out[k] = ((groups[2 * k]! << 16) | groups[2 * k + 1]!) >>> 0;
  return true;
}

/** CidrError says which entry of a list is not a CIDR, and why. */
export class CidrError extends Error {
  readonly code = "InvalidCidr";
}

// Range is one CIDR as an inclusive [start, end] of its family (IPv6 as a BigInt: compile time only).
interface Range {
  family: 4 | 6;
  start: bigint;
  end: bigint;
}

const scratch = new Uint32Array(4);

// parseCidr reads "addr/len", or a bare address (one host: /32 or /128); host bits are masked off.
function parseCidr(entry: string): Range {
  const slash = entry.indexOf("/");
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  let family = parseAddress(addr, scratch);
  if (family === 0) throw new CidrError(`"${entry}" is not a CIDR (an address, "/", a prefix length)`);
  const written = addr.includes(":") ? 6 : 4;
  const width = written === 6 ? 128 : 32;
  let prefix = width;
  if (slash >= 0) {
    const bits = entry.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(bits) || Number(bits) > width)
      throw new CidrError(`"${entry}" has an invalid prefix length (0 to ${width})`);
    prefix = Number(bits);
  }
  if (written === 6 && family === 4) {
    // ::ffff:a.b.c.d/96 and longer are IPv4 prefixes; shorter ones cover IPv6 only.
    if (prefix >= 96) prefix -= 96;
    else {
      family = 6;
      scratch[2] = 0xffff;
    }
  }
  const value =
    family === 4
      ? BigInt(scratch[3]!)
      : (BigInt(scratch[0]!) << 96n) |
        (BigInt(scratch[1]!) << 64n) |
        (BigInt(scratch[2]!) << 32n) |
        BigInt(scratch[3]!);
  const size = 1n << BigInt((family === 4 ? 32 : 128) - prefix);
  const start = (value / size) * size;
  return { family, start, end: start + size - 1n };
}

// merge sorts ranges of one family and joins those that overlap or touch.
function merge(ranges: Range[]): Range[] {
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Range[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else out.push({ ...r });
  }
  return out;
}

/** CidrSet answers whether a parsed address is in a list of CIDRs. */
export class CidrSet {
  /** size is the number of merged ranges (both families). */
  readonly size: number;
  // v4 and v6 hold 8 words per range, start's 4 then end's 4, sorted (IPv4 in the last word).
  private readonly v4: Uint32Array;
  private readonly v6: Uint32Array;

  /** CidrSet.of compiles a list of CIDRs; a bad entry throws a CidrError naming it. */
  static of(cidrs: readonly string[]): CidrSet {
    const ranges = cidrs.map((c) => parseCidr(c.trim()));
    return new CidrSet(
      merge(ranges.filter((r) => r.family === 4)),
      merge(ranges.filter((r) => r.family === 6)),
    );
  }

  private constructor(v4: Range[], v6: Range[]) {
    this.size = v4.length + v6.length;
    this.v4 = toWords(v4);
    this.v6 = toWords(v6);
  }

  /** has says whether the address parseAddress left in words (of family) is in the set. */
  has(family: Family, words: Uint32Array): boolean {
    if (family === 4) return within(this.v4, words);
    return family === 6 && within(this.v6, words);
  }
}

function toWords(ranges: Range[]): Uint32Array {
  const out = new Uint32Array(ranges.length * 8);
  ranges.forEach((r, i) => {
    for (let k = 0; k < 4; k++) {
      const shift = BigInt(96 - 32 * k);
      out[8 * i + k] = Number((r.start >> shift) & 0xffffffffn);
      out[8 * i + 4 + k] = Number((r.end >> shift) & 0xffffffffn);
    }
  });
  return out;
}

// within binary-searches the last range starting at or below words: the only one that can hold it.
function within(r: Uint32Array, words: Uint32Array): boolean {
  let lo = 0;
  let hi = r.length / 8 - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(r, 8 * mid, words) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found >= 0 && compare(r, 8 * found + 4, words) >= 0;
}

// compare orders the 4 words of r at off against words: negative, zero or positive.
function compare(r: Uint32Array, off: number, words: Uint32Array): number {
  for (let k = 0; k < 4; k++) {
    const d = r[off + k]! - words[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

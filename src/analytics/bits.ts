// bits.ts: a bit-level code for ring pages (ring.ts): adaptive Rice codes. A page's values are
// deltas whose size is steady per field (a minute's p50 moves by a few 0.5% steps, its p99 by tens,
// its byte counters by thousands): a byte-aligned varint spends 8 or 16 bits on a delta that needs
// 4–7, while a Rice code of parameter k spends k + 1 bits and a few more for outliers. k adapts per
// context (each counter, each quantile code) to the mean of the context's recent values, as
// JPEG-LS (LOCO-I) does, so nothing about it is stored: the decoder tracks the same means. The
// first value of a context in a page, and any value whose quotient would pass LIMIT, is written
// in full (its bit length and bits). Exact for every integer below 2^53; other numbers (a
// fractional or huge counter) go as a Float64. Measured: docs/analytics.md (Memory and disk).

/** LIMIT is the longest unary quotient; a value past it is escaped and written in full. */
const LIMIT = 12;
/** RESET halves a context's sums once it has seen this many values (recent values weigh more). */
const RESET = 16;
/** CONTEXTS bounds the contexts a page uses (ring.ts: 2 masks and a head, 30 counters, 30 parts × 4). */
export const CONTEXTS = 160;

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

/** Contexts are running sums per context: the values' (a) and their number (n; 0: not seen yet). */
class Contexts {
  readonly a = new Float64Array(CONTEXTS);
  readonly n = new Float64Array(CONTEXTS);

  /** k is the Rice parameter of ctx: the bit length of the ceiling of its mean, less one (0 at most 1). */
  k(ctx: number): number {
    const r = Math.ceil(this.a[ctx]! / this.n[ctx]!);
    if (r < 2 ** 31) return r <= 1 ? 0 : 32 - Math.clz32(r - 1);
    let k = 31;
    while (2 ** k < r && k < 52) k++;
    return k;
  }

  /** reset forgets every context (a new page). */
  reset(): void {
    this.a.fill(0);
    this.n.fill(0);
  }

  learn(ctx: number, u: number): void {
    const n = this.n[ctx]! + 1;
    const a = this.a[ctx]! + u;
    // Halved now and then, so that recent values weigh more.
    this.n[ctx] = n >= RESET ? n / 2 : n;
    this.a[ctx] = n >= RESET ? Math.floor(a / 2) : a;
  }
}

// One set of contexts for writing and one for reading, reset per page: a page is written or read
// whole before the next one starts (ring.ts), and two arrays per page were a tenth of the time.
const WRITING = new Contexts();
const READING = new Contexts();

/** BitWriter writes bits high first into bytes, read back as a one-byte string. */
export class BitWriter {
  readonly #out: number[] = [];
  readonly #ctx = WRITING;
  #acc = 0;
  #n = 0;

  /**
   * A new writer, or one that goes on where `from` stopped reading (its bytes up to there and its
   * contexts): appending to a page writes only the new record, not the page again.
   */
  constructor(from?: BitReader) {
    if (!from) {
      WRITING.reset();
      return;
    }
    WRITING.a.set(READING.a);
    WRITING.n.set(READING.n);
    const { s, pos } = from.where();
    for (let i = 0; i < pos >> 3; i++) this.#out.push(s.charCodeAt(i));
    this.#n = pos & 7;
    this.#acc = this.#n > 0 ? s.charCodeAt(pos >> 3) >> (8 - this.#n) : 0;
  }

  /** bits writes the low n bits of v (an integer, 0 ≤ v < 2^n, n ≤ 53). */
  bits(v: number, n: number): void {
    while (n > 16) {
      n -= 16;
      const hi = Math.floor(v / 2 ** n);
      this.#put(hi, 16);
      v -= hi * 2 ** n;
    }
    this.#put(v, n);
  }

  // #put writes n ≤ 16 bits; the accumulator holds fewer than 8 pending, so at most 23: exact.
  #put(v: number, n: number): void {
    this.#acc = (this.#acc << n) | v;
    this.#n += n;
    while (this.#n >= 8) {
      this.#n -= 8;
      this.#out.push((this.#acc >>> this.#n) & 0xff);
    }
    this.#acc &= (1 << this.#n) - 1;
  }

  /** full writes a non-negative integer below 2^53 as its bit length (6 bits) and its bits. */
  full(u: number): void {
    let l = 0;
    while (l < 53 && 2 ** l <= u) l++;
    this.#put(l, 6);
    if (l > 0) this.bits(u - 2 ** (l - 1), l - 1); // the leading 1 is implied
  }

  /** uint writes a non-negative integer below 2^53 in context ctx (adaptive Rice). */
  uint(ctx: number, u: number): void {
    if (this.#ctx.n[ctx] === 0) this.full(u);
    else {
      const k = this.#ctx.k(ctx);
      const q = Math.floor(u / 2 ** k);
      if (q < LIMIT) {
        this.#put((1 << (q + 1)) - 2, q + 1); // q ones and a zero
        this.bits(u - q * 2 ** k, k);
      } else {
        this.#put((1 << LIMIT) - 1, LIMIT);
        this.full(u);
      }
    }
    this.#ctx.learn(ctx, u);
  }

  /** float writes a Float64's 64 bits (the platform's byte order: pages never leave the process). */
  float(v: number): void {
    F64[0] = v;
    for (let k = 0; k < 8; k++) this.#put(F64_BYTES[k]!, 8);
  }

  /** patch rewrites the first byte (a header written first: ring.ts's record count), once 8 bits are written. */
  patch(first: (byte: number) => number): void {
    if (this.#out.length === 0) throw new Error("bits: patch before the first byte is written");
    this.#out[0] = first(this.#out[0]!) & 0xff;
  }

  /** done answers the bytes written (the last byte padded with zeros) as a one-byte string. */
  done(): string {
    if (this.#n > 0) this.#out.push((this.#acc << (8 - this.#n)) & 0xff);
    this.#n = 0;
    let s = "";
    for (let k = 0; k < this.#out.length; k += 8192)
      s += String.fromCharCode(...this.#out.slice(k, k + 8192));
    return s;
  }
}

/** BitReader reads what a BitWriter wrote, with the same contexts. */
export class BitReader {
  readonly #s: string;
  readonly #ctx = READING;
  #pos = 0;

  constructor(s: string) {
    this.#s = s;
    READING.reset();
  }

  /** where answers the string read and the position reached (in bits), for a writer to go on from. */
  where(): { s: string; pos: number } {
    return { s: this.#s, pos: this.#pos };
  }

  // #peek answers the next 16 bits (zeros past the end: charCodeAt answers NaN there, and NaN << x is 0).
  #peek(): number {
    const i = this.#pos >> 3;
    const s = this.#s;
    const w = (s.charCodeAt(i) << 16) | (s.charCodeAt(i + 1) << 8) | s.charCodeAt(i + 2);
    return (w >>> (8 - (this.#pos & 7))) & 0xffff;
  }

  /** bits reads n bits (n ≤ 53). */
  bits(n: number): number {
    let v = 0;
    while (n > 16) {
      v = v * 65_536 + this.#peek();
      this.#pos += 16;
      n -= 16;
    }
    v = v * 2 ** n + (this.#peek() >>> (16 - n));
    this.#pos += n;
    return v;
  }

  /** full reads what BitWriter.full wrote. */
  full(): number {
    const l = this.bits(6);
    return l === 0 ? 0 : 2 ** (l - 1) + this.bits(l - 1);
  }

  /** uint reads what BitWriter.uint wrote in context ctx. */
  uint(ctx: number): number {
    let u: number;
    if (this.#ctx.n[ctx] === 0) u = this.full();
    else {
      const k = this.#ctx.k(ctx);
      // The quotient's ones, counted at once in the next 16 bits (LIMIT < 16).
      const q = Math.min(LIMIT, Math.clz32(~(this.#peek() << 16)));
      this.#pos += q < LIMIT ? q + 1 : q;
      u = q < LIMIT ? q * 2 ** k + this.bits(k) : this.full();
    }
    this.#ctx.learn(ctx, u);
    return u;
  }

  /** float reads a Float64. */
  float(): number {
    for (let k = 0; k < 8; k++) F64_BYTES[k] = this.bits(8);
    return F64[0]!;
  }
}

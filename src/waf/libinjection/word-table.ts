// word-table.ts: a read-only, ASCII-case-insensitive map from short byte strings to a small
// number, looked up straight from a byte buffer. Why not a Map<string, number>: every SQL word
// token and every HTML tag/attribute name is looked up, and building an upper-cased string for
// each would allocate on the hot path; here a lookup hashes and compares bytes in place.

/** upper folds an ASCII lower-case letter to upper case and leaves every other byte alone. */
export function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
}

/** WordTable is an open-addressing hash table of upper-case ASCII keys, built once. */
export class WordTable {
  private readonly slots: Int32Array; // entry index + 1; 0 = empty
  private readonly mask: number;
  private readonly keys: Uint8Array; // all keys, back to back
  private readonly offs: Int32Array;
  private readonly lens: Uint8Array;
  private readonly vals: Int32Array;

  constructor(entries: ReadonlyArray<readonly [string, number]>) {
    let size = 16;
    while (size < entries.length * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    this.offs = new Int32Array(entries.length);
    this.lens = new Uint8Array(entries.length);
    this.vals = new Int32Array(entries.length);
    this.keys = new Uint8Array(entries.reduce((n, [k]) => n + k.length, 0));
    let off = 0;
    entries.forEach(([key, val], i) => {
      if (key.length > 255) throw new Error(`WordTable: key of ${key.length} bytes: ${key.slice(0, 40)}`);
      for (let j = 0; j < key.length; j++) this.keys[off + j] = upper(key.charCodeAt(j));
      this.offs[i] = off;
      this.lens[i] = key.length;
      this.vals[i] = val;
      let h = this.hash(this.keys, off, key.length) & this.mask;
      while (this.slots[h] !== 0) {
        if (this.equals(this.slots[h]! - 1, this.keys, off, key.length)) {
          throw new Error(`WordTable: duplicate key ${key}`);
        }
        h = (h + 1) & this.mask;
      }
      this.slots[h] = i + 1;
      off += key.length;
    });
  }

  /** get answers the value of buf[start, start+len) compared case-insensitively, or 0 if absent. */
  get(buf: Uint8Array, start: number, len: number): number {
    let h = this.hash(buf, start, len) & this.mask;
    for (;;) {
      const e = this.slots[h]!;
      if (e === 0) return 0;
      if (this.equals(e - 1, buf, start, len)) return this.vals[e - 1]!;
      h = (h + 1) & this.mask;
    }
  }

  /** hash is FNV-1a over the upper-cased bytes. */
  private hash(buf: Uint8Array, start: number, len: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < start + len; i++) h = Math.imul(h ^ upper(buf[i]!), 0x01000193);
    return h >>> 0;
  }

  private equals(entry: number, buf: Uint8Array, start: number, len: number): boolean {
    if (this.lens[entry] !== len) return false;
    const off = this.offs[entry]!;
    for (let i = 0; i < len; i++) if (this.keys[off + i] !== upper(buf[start + i]!)) return false;
    return true;
  }
}

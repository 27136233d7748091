// hpack-encoder.ts: encodes header lists (RFC 7541) for responses. A field that matches a static
// entry exactly is one byte; a static name is referenced by index; values go Huffman-coded when
// that is shorter. With the dynamic table on, fields other than the sensitive ones are added to
// it, so a response header repeated on a connection (server, content-type) costs a byte after
// its first time.
import { DynamicTable } from "./dynamic-table.ts";
import { huffmanEncode, huffmanLength } from "./huffman.ts";
import { STATIC_TABLE } from "./tables.ts";

// Static index of each name (its first entry) and of each name + value pair.
const staticName = new Map<string, number>();
const staticPair = new Map<string, number>();
STATIC_TABLE.forEach(([n, v], i) => {
  if (!staticName.has(n)) staticName.set(n, i + 1);
  if (v !== "") staticPair.set(n + "\0" + v, i + 1);
});

// Values that change every response, or must not be kept: never put in the dynamic table.
const NOT_INDEXED = new Set([
  "content-length",
  "date",
  "etag",
  "last-modified",
  "set-cookie",
  "authorization",
  "cookie",
  ":path",
  "age",
  "expires",
  "location",
]);

/** HpackEncoder encodes one connection's header blocks, in order. */
export class HpackEncoder {
  private readonly table: DynamicTable | undefined;
  // pendingResize: a size to announce at the start of the next block (the peer lowered its limit).
  private pendingResize = -1;
  private out = Buffer.allocUnsafe(4096);
  private pos = 0;

  /** dynamicSize 0 encodes with the static table only. */
  constructor(dynamicSize = 0) {
    this.table = dynamicSize > 0 ? new DynamicTable(dynamicSize) : undefined;
  }

  /** setPeerTableSize applies the peer's SETTINGS_HEADER_TABLE_SIZE. */
  setPeerTableSize(size: number): void {
    if (this.table === undefined || size >= this.table.max) return;
    this.table.resize(size);
    this.pendingResize = size;
  }

  /** encode returns the header block of fields [name, value, ...] (names in lower case). */
  encode(fields: readonly string[]): Buffer {
    this.pos = 0;
    if (this.pendingResize >= 0) {
      this.integer(this.pendingResize, 5, 0x20);
      this.pendingResize = -1;
    }
    for (let i = 0; i < fields.length; i += 2) this.field(fields[i]!, fields[i + 1]!);
    return Buffer.from(this.out.subarray(0, this.pos));
  }

  private field(name: string, value: string): void {
    const exact = staticPair.get(name + "\0" + value);
    if (exact !== undefined) return this.integer(exact, 7, 0x80);
    const t = this.table;
    if (t !== undefined) {
      for (let i = 0; i < t.length; i++) {
        if (t.name(i) === name && t.value(i) === value)
          return this.integer(STATIC_TABLE.length + 1 + i, 7, 0x80);
      }
    }
    const nameIndex = staticName.get(name) ?? 0;
    if (t !== undefined && !NOT_INDEXED.has(name)) {
      this.integer(nameIndex, 6, 0x40);
      t.add(name, value);
    } else this.integer(nameIndex, 4, 0x00);
    if (nameIndex === 0) this.string(name);
    this.string(value);
  }

  private integer(v: number, prefix: number, flags: number): void {
    this.room(8);
    const mask = (1 << prefix) - 1;
    if (v < mask) {
      this.out[this.pos++] = flags | v;
      return;
    }
    this.out[this.pos++] = flags | mask;
    v -= mask;
    while (v >= 128) {
      this.out[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.out[this.pos++] = v;
  }

  private string(s: string): void {
    const h = huffmanLength(s);
    if (h < s.length) {
      this.integer(h, 7, 0x80);
      this.room(h);
      this.pos = huffmanEncode(s, this.out, this.pos);
    } else {
      this.integer(s.length, 7, 0);
      this.room(s.length);
      this.pos += this.out.write(s, this.pos, "latin1");
    }
  }

  private room(n: number): void {
    if (this.pos + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + n));
    this.out.copy(bigger, 0, 0, this.pos);
    this.out = bigger;
  }
}

// hpack-encoder.ts: encodes header lists (RFC 7541) for responses. A field that matches a static
// entry exactly is one byte; a static name is referenced by index; values go Huffman-coded when
// that is shorter. With the dynamic table on, fields other than the sensitive ones are added to
// it, so a response header repeated on a connection (server, content-type, and date within its
// second) costs a byte after its first time. The literal encoding of a short string is kept in
// a process-wide cache, so the values that repeat across connections (content-length, date) are
// Huffman-coded once, not per response.
import { DynamicTable } from "./dynamic-table.ts";
import { huffmanEncode, huffmanLength } from "./huffman.ts";
import { STATIC_TABLE } from "./tables.ts";

// Static index of each name (its first entry) and of each name + value pair. Pairs are looked up
// name first, then value (here and in the dynamic map): no key string built per field.
const staticName = new Map<string, number>();
const staticPair = new Map<string, Map<string, number>>();
STATIC_TABLE.forEach(([n, v], i) => {
  if (!staticName.has(n)) staticName.set(n, i + 1);
  if (v === "") return;
  let values = staticPair.get(n);
  if (values === undefined) staticPair.set(n, (values = new Map()));
  values.set(v, i + 1);
});

// Values that change every response, or must not be kept: never put in the dynamic table. date
// is indexed: it changes once a second, and a connection sends many responses within one.
const NOT_INDEXED = new Set([
  "content-length",
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

// literals caches the encoded string literal (length prefix and bytes, Huffman-coded when shorter)
// of short strings, for every connection: a value such as content-length "13" or this second's
// date is coded once instead of per response. Cleared when full (a simple bound: the values that
// matter come back at once).
const LITERAL_MAX_LENGTH = 64;
const LITERALS_MAX = 1024;
const literals = new Map<string, Buffer>();

/** HpackEncoder encodes one connection's header blocks, in order. */
export class HpackEncoder {
  private readonly table: DynamicTable | undefined;
  // pendingResize: a size to announce at the start of the next block (the peer lowered its limit).
  private pendingResize = -1;
  private out = Buffer.allocUnsafe(4096);
  private pos = 0;
  // indexed maps name, then value, to the table entry's insertion number (adds counts them): the
  // entry's index is adds - 1 - number while it is still in the table. Entries evicted since stay
  // (indexedCount of them in all) until the map outgrows the table and is rebuilt from it.
  private readonly indexed = new Map<string, Map<string, number>>();
  private indexedCount = 0;
  private adds = 0;

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
    return Buffer.from(this.block(-1, fields));
  }

  /**
   * block encodes a response head (status first, unless status < 0) and returns a view of the
   * encoder's buffer, valid until the next call: the caller copies it into its frame.
   */
  block(status: number, fields: readonly string[]): Buffer {
    this.pos = 0;
    if (this.pendingResize >= 0) {
      this.integer(this.pendingResize, 5, 0x20);
      this.pendingResize = -1;
    }
    if (status === 200)
      this.out[this.pos++] = 0x88; // static entry 8, ":status: 200"
    else if (status >= 0) this.field(":status", String(status));
    for (let i = 0; i < fields.length; i += 2) this.field(fields[i]!, fields[i + 1]!);
    return this.out.subarray(0, this.pos);
  }

  private field(name: string, value: string): void {
    const exact = staticPair.get(name)?.get(value);
    if (exact !== undefined) return this.integer(exact, 7, 0x80);
    const t = this.table;
    if (t !== undefined) {
      const values = this.indexed.get(name);
      const n = values?.get(value);
      if (n !== undefined) {
        const i = this.adds - 1 - n;
        if (i < t.length) return this.integer(STATIC_TABLE.length + 1 + i, 7, 0x80);
        values!.delete(value);
        this.indexedCount--;
      }
    }
    const nameIndex = staticName.get(name) ?? 0;
    if (t !== undefined && !NOT_INDEXED.has(name)) {
      this.integer(nameIndex, 6, 0x40);
      this.index(t, name, value);
    } else this.integer(nameIndex, 4, 0x00);
    if (nameIndex === 0) this.string(name);
    this.string(value);
  }

  // index adds a field to the dynamic table and to the lookup map.
  private index(t: DynamicTable, name: string, value: string): void {
    t.add(name, value);
    if (t.length === 0) return; // larger than the table: it emptied
    this.remember(name, value, this.adds++);
    if (this.indexedCount <= 2 * t.length + 16) return;
    // Rebuild from what the table holds (entry i, newest first, has number adds - 1 - i).
    this.indexed.clear();
    this.indexedCount = 0;
    for (let i = t.length - 1; i >= 0; i--) this.remember(t.name(i), t.value(i), this.adds - 1 - i);
  }

  private remember(name: string, value: string, n: number): void {
    let values = this.indexed.get(name);
    if (values === undefined) this.indexed.set(name, (values = new Map()));
    if (!values.has(value)) this.indexedCount++;
    values.set(value, n);
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
    if (s.length > LITERAL_MAX_LENGTH) return this.literal(s);
    const known = literals.get(s);
    if (known !== undefined) {
      this.room(known.length);
      this.out.set(known, this.pos);
      this.pos += known.length;
      return;
    }
    const at = this.pos;
    this.literal(s);
    if (literals.size >= LITERALS_MAX) literals.clear();
    literals.set(s, Buffer.from(this.out.subarray(at, this.pos)));
  }

  // literal writes s as a string literal, Huffman-coded when that is shorter.
  private literal(s: string): void {
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

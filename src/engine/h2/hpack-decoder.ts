// hpack-decoder.ts: decodes HPACK header blocks (RFC 7541) into a flat [name, value, ...] list.
// Any violation of RFC 7541 is a COMPRESSION_ERROR of the connection (RFC 9113 §4.3), thrown as
// HpackError. A block whose fields exceed the header list size limit is still decoded to the end,
// so the dynamic table stays in step with the peer's; the caller refuses the request (tooLarge).
import { DynamicTable, ENTRY_OVERHEAD } from "./dynamic-table.ts";
import { HuffmanError, huffmanDecode } from "./huffman.ts";
import { STATIC_TABLE } from "./tables.ts";

/** HpackError is a header block RFC 7541 forbids: the connection ends with COMPRESSION_ERROR. */
export class HpackError extends Error {}

// An integer longer than this is an attack or garbage; nothing legitimate (a length, an index,
// a table size) comes near it.
const MAX_INTEGER = 1 << 28;

/** HpackDecoderOptions bound what a peer may make the decoder hold. */
export interface HpackDecoderOptions {
  /** tableSize is SETTINGS_HEADER_TABLE_SIZE as advertised: a size update above it is an error. */
  tableSize: number;
  /** maxListSize bounds the decoded fields (name + value + 32 each, RFC 9113 SETTINGS_MAX_HEADER_LIST_SIZE). */
  maxListSize: number;
}

/** HpackDecoder decodes one connection's header blocks, in order. */
export class HpackDecoder {
  /** tooLarge is set by decode when the last block exceeded maxListSize (its list is cut short). */
  tooLarge = false;
  /** table is the dynamic table (read by tests). */
  readonly table: DynamicTable;
  private readonly opts: HpackDecoderOptions;
  private pos = 0;

  constructor(opts: HpackDecoderOptions) {
    this.opts = opts;
    this.table = new DynamicTable(opts.tableSize);
  }

  /** decode decodes block[start, end) and appends its fields to out; throws HpackError. */
  decode(block: Uint8Array, start: number, end: number, out: string[]): void {
    this.pos = start;
    this.tooLarge = false;
    let listSize = 0;
    let first = true;
    while (this.pos < end) {
      const b = block[this.pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        const index = this.integer(block, end, 7);
        name = this.name(index);
        value = this.value(index);
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update: only before the first field (RFC 7541 §4.2).
        if (!first) throw new HpackError("dynamic table size update after a header field");
        const size = this.integer(block, end, 5);
        if (size > this.opts.tableSize)
          throw new HpackError(
            `dynamic table size update to ${size} above the ${this.opts.tableSize} allowed`,
          );
        this.table.resize(size);
        continue;
      } else {
        // Literal: with incremental indexing (01), without (0000) or never indexed (0001).
        const indexing = (b & 0xc0) === 0x40;
        const index = this.integer(block, end, indexing ? 6 : 4);
        name = index === 0 ? this.string(block, end) : this.name(index);
        value = this.string(block, end);
        if (indexing) this.table.add(name, value);
      }
      first = false;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > this.opts.maxListSize) this.tooLarge = true;
      else out.push(name, value);
    }
  }

  private name(index: number): string {
    if (index === 0) throw new HpackError("header field index 0");
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]![0];
    const i = index - STATIC_TABLE.length - 1;
    if (i >= this.table.length) throw new HpackError(`header field index ${index} beyond the tables`);
    return this.table.name(i);
  }

  private value(index: number): string {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]![1];
    return this.table.value(index - STATIC_TABLE.length - 1);
  }

  // integer reads an N-bit-prefix integer (RFC 7541 §5.1) at pos.
  private integer(block: Uint8Array, end: number, prefix: number): number {
    const mask = (1 << prefix) - 1;
    let v = block[this.pos++]! & mask;
    if (v < mask) return v;
    // At most four continuation bytes: 2^28 needs no more, and a fifth would reach 2^35 — without
    // this bound, 0x80 bytes (value 0) run the shift to 2^1024 = Infinity and v to NaN, which
    // passes every comparison below.
    for (let shift = 0; shift <= 21; shift += 7) {
      if (this.pos >= end) throw new HpackError("integer truncated by the end of the header block");
      const b = block[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (v > MAX_INTEGER) throw new HpackError("integer too large");
      if ((b & 0x80) === 0) return v;
    }
    throw new HpackError("integer longer than 4 continuation bytes");
  }

  // string reads a string literal (RFC 7541 §5.2) at pos.
  private string(block: Uint8Array, end: number): string {
    if (this.pos >= end) throw new HpackError("string literal truncated by the end of the header block");
    const huffman = (block[this.pos]! & 0x80) !== 0;
    const len = this.integer(block, end, 7);
    const start = this.pos;
    if (len > end - start) throw new HpackError("string literal longer than the header block");
    this.pos += len;
    if (!huffman) return latin1(block, start, start + len);
    try {
      return huffmanDecode(block, start, start + len);
    } catch (e) {
      if (e instanceof HuffmanError) throw new HpackError(e.message);
      throw e;
    }
  }
}

function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("latin1");
}

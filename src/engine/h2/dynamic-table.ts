// dynamic-table.ts: the HPACK dynamic table (RFC 7541 §2.3.2, §4): a FIFO of header fields,
// newest first, whose size (name + value + 32 per entry) stays within a maximum; adding an entry
// evicts the oldest until it fits. A ring of two string arrays: no allocation per entry once grown.

/** ENTRY_OVERHEAD is the 32 octets RFC 7541 §4.1 adds to each entry's size. */
export const ENTRY_OVERHEAD = 32;

/** DynamicTable is one direction's dynamic table. */
export class DynamicTable {
  /** size is the current size in octets (RFC 7541 §4.1). */
  size = 0;
  /** max is the current maximum size (changed by a dynamic table size update). */
  max: number;
  private names: string[] = new Array<string>(16);
  private values: string[] = new Array<string>(16);
  // head: index of the newest entry; count: entries held.
  private head = 0;
  private count = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** length is the number of entries. */
  get length(): number {
    return this.count;
  }

  /** name is the name of entry i (0 = newest); the caller checks i < length. */
  name(i: number): string {
    return this.names[(this.head + i) & (this.names.length - 1)]!;
  }

  /** value is the value of entry i (0 = newest). */
  value(i: number): string {
    return this.values[(this.head + i) & (this.values.length - 1)]!;
  }

  /** add inserts a field as the newest entry, evicting as needed; a field larger than max empties the table. */
  add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.max) {
      this.count = 0;
      this.size = 0;
      return;
    }
    while (this.size + size > this.max) this.evict();
    if (this.count === this.names.length) this.grow();
    this.head = (this.head - 1) & (this.names.length - 1);
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.count++;
    this.size += size;
  }

  /** resize sets a new maximum, evicting as needed. */
  resize(max: number): void {
    // A NaN maximum would never evict (size > NaN is false) and let the table grow without bound.
    if (!Number.isSafeInteger(max) || max < 0)
      throw new RangeError(`dynamic table size ${max} is not a size`);
    this.max = max;
    while (this.size > max) this.evict();
  }

  private evict(): void {
    const i = (this.head + this.count - 1) & (this.names.length - 1);
    this.size -= this.names[i]!.length + this.values[i]!.length + ENTRY_OVERHEAD;
    this.count--;
  }

  private grow(): void {
    const cap = this.names.length * 2;
    const names = new Array<string>(cap);
    const values = new Array<string>(cap);
    for (let i = 0; i < this.count; i++) {
      names[i] = this.name(i);
      values[i] = this.value(i);
    }
    this.names = names;
    this.values = values;
    this.head = 0;
  }
}

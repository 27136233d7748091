// bit-flags.ts: the booleans of a per-connection class as bits of one numeric field (`bits`),
// read and written under their own names through accessors on the prototype. Each boolean field
// is 8 bytes of every object, held as long as an idle keep-alive client stays (docs/performance.md,
// "Idle connections: one compaction per burst"); the accessors cost nothing per object.

/** BitFlagged is an object whose flags live in bits (a number field it initialises to 0). */
export interface BitFlagged {
  bits: number;
}

/**
 * bitFlags defines on proto one boolean accessor per name, each a bit of the object's `bits` (the
 * first name bit 0, …; at most 31). The class declares the names (`declare name: boolean`) and
 * initialises `bits = 0`; every flag then starts false.
 */
export function bitFlags<T extends BitFlagged>(proto: T, names: readonly (keyof T & string)[]): void {
  if (names.length > 31) throw new Error(`bitFlags: ${names.length} flags, at most 31 fit`);
  names.forEach((name, i) => {
    const bit = 1 << i;
    Object.defineProperty(proto, name, {
      get(this: BitFlagged): boolean {
        return (this.bits & bit) !== 0;
      },
      set(this: BitFlagged, v: boolean): void {
        this.bits = v ? this.bits | bit : this.bits & ~bit;
      },
      configurable: true,
    });
  });
}

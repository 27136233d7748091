// guard.ts: the epoch/sequence rule an engine applies to every snapshot (docs/engines.md). The
// epoch is the controller's leader term, the sequence its push counter within that term. An old
// leader that still pushes must never overwrite what a newer one sent, and a snapshot the engine
// already serves is answered again (re-acked) without applying it twice. Pure: no clock, no I/O.

/** Applied is the epoch, sequence and snapshot version an engine serves now. */
export interface Applied {
  epoch: number;
  seq: number;
  version: number;
}

/** Verdict is what to do with a snapshot: apply it, ack it again unapplied, or nack it as stale. */
export type Verdict = "apply" | "reack" | { stale: string };

/** SnapshotGuard remembers the highest epoch seen and the last snapshot applied. */
export class SnapshotGuard {
  #highest = 0;
  #applied: Applied | undefined;

  /**
   * accept judges a snapshot of (epoch, seq). An epoch below the highest seen is stale; within the
   * epoch of the last applied snapshot, a lower sequence is stale and the same one is re-acked; a
   * higher epoch starts its sequence afresh. "apply" raises the highest epoch seen at once, so a
   * snapshot NACKed for its content still shuts out the older leader.
   */
  accept(epoch: number, seq: number): Verdict {
    if (epoch < this.#highest)
      return { stale: `epoch ${epoch} is older than epoch ${this.#highest} already seen` };
    const a = this.#applied;
    if (a !== undefined && epoch === a.epoch) {
      if (seq === a.seq) return "reack";
      if (seq < a.seq)
        return { stale: `sequence ${seq} of epoch ${epoch} is older than ${a.seq}, already applied` };
    }
    this.#highest = epoch;
    return "apply";
  }

  /** applied records a snapshot that the engine now serves. */
  applied(a: Applied): void {
    this.#applied = { ...a };
  }

  /** current is the snapshot served now (undefined before the first): the Hello's `have`. */
  current(): Applied | undefined {
    return this.#applied && { ...this.#applied };
  }

  /** highestEpoch is the newest epoch any accepted snapshot carried (0 before the first). */
  highestEpoch(): number {
    return this.#highest;
  }
}

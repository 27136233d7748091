// out-batch.ts: one socket write per connection per event-loop turn. Frames made while handling a
// turn's reads (many streams' HEADERS and DATA, ACKs) collect in the connection's list and leave
// together in setImmediate, as write-batch.ts does for HTTP/1.1 (see there for the measurements:
// fewer wake-ups of the reader, fewer interrupts). One Buffer.concat and one write instead of a
// writev of many small buffers: the frames are small and the copy is cheaper than the iovecs.

/** Outgoing is a connection with frames waiting. */
export interface Outgoing {
  /** flushOut writes what the connection holds. */
  flushOut(): void;
}

let pending: Outgoing[] = [];
let spare: Outgoing[] = [];
let scheduled = false;

/** queueFlush flushes c at the end of this turn (c keeps itself from being queued twice). */
export function queueFlush(c: Outgoing): void {
  pending.push(c);
  if (scheduled) return;
  scheduled = true;
  setImmediate(release);
}

function release(): void {
  scheduled = false;
  const list = pending;
  pending = spare;
  for (let i = 0; i < list.length; i++) list[i]!.flushOut();
  list.length = 0;
  spare = list;
}

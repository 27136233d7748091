// out-batch.ts: one socket write per connection per event-loop turn. Frames made while handling a
// turn's reads (many streams' HEADERS and DATA, ACKs) collect in the connection's list and leave
// together at the end of the turn, as write-batch.ts does for HTTP/1.1 (see there for the
// measurements: fewer wake-ups of the reader, fewer interrupts). One Buffer.concat and one write
// instead of a writev of many small buffers: the frames are small and the copy is cheaper than the
// iovecs. The release is write-batch.ts's own: HTTP/1.1's held writes and HTTP/2's frames leave in
// one setImmediate, before that turn's response events are published (an exchange's analytics
// event follows its bytes, whichever protocol carried them).
import { flushAtRelease, type Flushing } from "../net/write-batch.ts";

/** Outgoing is a connection with frames waiting. */
export type Outgoing = Flushing;

/** queueFlush flushes c at the end of this turn (c keeps itself from being queued twice). */
export function queueFlush(c: Outgoing): void {
  flushAtRelease(c);
}

// relay.ts: moves bytes between two connected sockets for the L4 proxy. Each direction reads
// into one reused 64 KiB buffer (Node's `onread`, adopted through ../net/onread.ts) instead of a
// fresh allocation per read: at gigabits per second those allocations are external memory that
// V8 answers with a mark-compact every ~80 ms (12 per second measured under iperf3), and they
// cost page faults and copies on top. With reused buffers the relay spends ~40 % less CPU per
// byte (docs/performance.md). Where adoption is not possible the relay falls back to pipe().
import type { Socket } from "node:net";
import { adoptReads, userReads } from "../net/onread.ts";

const READ_SIZE = 64 * 1024;

/** reusedBuffers says whether relay() reads through reused buffers on this Node (else pipe()). */
export const reusedBuffers = userReads;

/**
 * relay forwards src's bytes to dst until src ends, then ends dst (half-close), with
 * backpressure. Both sockets must be connected; bytes src already buffered go first.
 */
export function relay(src: Socket, dst: Socket): void {
  let buf = Buffer.allocUnsafe(READ_SIZE);
  const resume = () => src.resume();
  const onRead = (data: Buffer): boolean => {
    const ok = dst.write(data);
    // A write the kernel did not take at once still points into buf: buf now belongs to that
    // write, and reading goes on in a new buffer.
    if (dst.writableLength > 0) buf = Buffer.allocUnsafe(READ_SIZE);
    if (ok) return true;
    // false makes Node stop reading src; 'drain' starts it again.
    dst.once("drain", resume);
    return false;
  };
  // A socket someone else reads ("data" listeners) keeps its stream: both would see the bytes.
  if (!adoptReads(src, buf, onRead, () => buf)) {
    src.pipe(dst);
    return;
  }
  for (let c: Buffer | null = src.read(); c !== null; c = src.read()) dst.write(c);
  // pipe() would end dst when src ends; with onread the stream still sees the end, not the data.
  // A FIN that came while the backend connected has already emitted 'end' (nothing was reading).
  if (src.readableEnded) dst.end();
  else src.once("end", () => dst.end());
  src.resume();
}

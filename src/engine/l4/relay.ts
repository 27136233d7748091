// relay.ts: moves bytes between two connected sockets for the L4 proxy. Each direction reads
// into one reused 64 KiB buffer (Node's `onread`) instead of a fresh allocation per read: at
// gigabits per second those allocations are external memory that V8 answers with a mark-compact
// every ~80 ms (12 per second measured under iperf3), and they cost page faults and copies on
// top. With reused buffers the relay spends ~40 % less CPU per byte (docs/performance.md).
//
// Node offers `onread` only to sockets it connects, not to accepted ones. The accepted side
// adopts it the same way Node's own constructor does — through the three symbol-keyed fields a
// socket made with `onread` carries, found on a probe socket at load time. That is not a
// documented API, so it lives here alone; relay.test.ts pins it, and if the fields are ever
// missing the relay falls back to pipe().
import net, { type Socket } from "node:net";

const READ_SIZE = 64 * 1024;

interface ReadHooks {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

/** hooks are the symbol keys of Node's onread fields, or undefined where this Node lacks them. */
const hooks: ReadHooks | undefined = findHooks();

function findHooks(): ReadHooks | undefined {
  // onread is typed for connect() only; the constructor is where Node reads it.
  const opts = {
    onread: { buffer: Buffer.alloc(1), callback: () => {} },
  } as unknown as net.SocketConstructorOpts;
  const probe = new net.Socket(opts);
  const syms = Object.getOwnPropertySymbols(probe);
  probe.destroy();
  const by = (d: string) => syms.find((s) => s.description === d);
  const buffer = by("kBuffer");
  const callback = by("kBufferCb");
  const generator = by("kBufferGen");
  if (buffer === undefined || callback === undefined || generator === undefined) return undefined;
  return { buffer, callback, generator };
}

/** reusedBuffers says whether relay() reads through reused buffers on this Node (else pipe()). */
export const reusedBuffers = hooks !== undefined;

interface ReadHandle {
  useUserBuffer?(buf: Uint8Array): void;
}

/**
 * relay forwards src's bytes to dst until src ends, then ends dst (half-close), with
 * backpressure. Both sockets must be connected; bytes src already buffered go first.
 */
export function relay(src: Socket, dst: Socket): void {
  const handle = (src as unknown as { _handle?: ReadHandle | null })._handle;
  // A socket someone else reads ("data" listeners) keeps its stream: both would see the bytes.
  if (hooks === undefined || typeof handle?.useUserBuffer !== "function" || src.listenerCount("data") > 0) {
    src.pipe(dst);
    return;
  }
  for (let c: Buffer | null = src.read(); c !== null; c = src.read()) dst.write(c);
  let buf = Buffer.allocUnsafe(READ_SIZE);
  const resume = () => src.resume();
  const fields = src as unknown as Record<symbol, unknown>;
  fields[hooks.generator] = () => buf;
  fields[hooks.callback] = (n: number, b: Buffer): boolean => {
    const ok = dst.write(b.subarray(0, n));
    // A write the kernel did not take at once still points into b: b now belongs to that write,
    // and reading goes on in a new buffer.
    if (dst.writableLength > 0) buf = Buffer.allocUnsafe(READ_SIZE);
    if (ok) return true;
    // false makes Node stop reading src; 'drain' starts it again.
    dst.once("drain", resume);
    return false;
  };
  fields[hooks.buffer] = buf;
  handle.useUserBuffer(buf);
  // pipe() would end dst when src ends; with onread the stream still sees the end, not the data.
  // A FIN that came while the backend connected has already emitted 'end' (nothing was reading).
  if (src.readableEnded) dst.end();
  else src.once("end", () => dst.end());
  src.resume();
}

// onread.ts: lets an accepted socket read straight into a buffer we own, with a callback from the
// handle per read (Node's `onread`), instead of a fresh 64 KiB allocation, Readable.push and a
// 'data' event per read. The L4 relay and the HTTP/1.1 client connection use it.
//
// Node offers `onread` only to sockets it connects, not to accepted ones. An accepted socket
// adopts it the same way Node's own constructor does — through the three symbol-keyed fields a
// socket made with `onread` carries, found on a probe socket at load time, and the handle's
// useUserBuffer(). That is not a documented API, so it lives here alone; onread.test.ts pins it,
// and where the fields are missing adoptReads() returns false and callers keep the stream.
import net, { type Socket } from "node:net";

interface ReadHooks {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

interface ReadHandle {
  useUserBuffer?(buf: Uint8Array): void;
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

/** userReads says whether this Node lets accepted sockets adopt onread (else adoptReads refuses). */
export const userReads = hooks !== undefined;

/**
 * OnRead gets the bytes of one read: a view of the read buffer, valid only during the call.
 * Returning false stops reading until socket.resume().
 */
export type OnRead = (data: Buffer) => boolean;

/**
 * adoptReads makes socket read into buf and hand each read to onRead, bypassing its Readable side
 * (EOF still arrives as 'end', errors as 'error'; pause()/resume() still stop and start reading).
 * next, if given, runs after each read and returns the buffer for the next one: a caller whose
 * writes still point into buf gives the next read a new buffer. Returns false, changing nothing,
 * where this Node, the socket (TLS, no handle) or a 'data' listener (someone reads the stream)
 * does not allow it; bytes the stream already buffered stay there for the caller to read().
 */
export function adoptReads(socket: Socket, buf: Buffer, onRead: OnRead, next?: () => Buffer): boolean {
  const handle = (socket as unknown as { _handle?: ReadHandle | null })._handle;
  if (
    hooks === undefined ||
    typeof handle?.useUserBuffer !== "function" ||
    socket.listenerCount("data") > 0
  ) {
    return false;
  }
  const fields = socket as unknown as Record<symbol, unknown>;
  const current = fields[hooks.buffer] as Buffer | null | undefined;
  if (current) {
    // Adopted before (and handed back): the handle keeps reading into that buffer until a
    // generator gives it another, so the first read lands there; it is not ours, so it is copied.
    fields[hooks.callback] = (n: number, b: Buffer): boolean =>
      onRead(b === current ? Buffer.from(b.subarray(0, n)) : b.subarray(0, n));
    fields[hooks.generator] = next ?? (() => buf);
    return true;
  }
  fields[hooks.callback] = (n: number, b: Buffer): boolean => onRead(b.subarray(0, n));
  // No generator: the handle keeps reading into buf, and Node skips a call per read.
  fields[hooks.generator] = next ?? null;
  fields[hooks.buffer] = buf;
  handle.useUserBuffer(buf);
  return true;
}

/**
 * releaseReads hands a socket adoptReads took back to its stream: every later read is copied and
 * pushed as the stream would, so 'data', pipe() and read() work again (a tunnel after an Upgrade).
 * The handle itself cannot go back; a later adoptReads takes it over again.
 */
export function releaseReads(socket: Socket): void {
  if (hooks === undefined) return;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (!fields[hooks.buffer]) return;
  // push() returning false makes Node stop reading; the stream's _read() starts it again.
  fields[hooks.callback] = (n: number, b: Buffer): boolean => socket.push(Buffer.from(b.subarray(0, n)));
  fields[hooks.generator] = null;
}

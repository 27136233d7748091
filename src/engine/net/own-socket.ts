// own-socket.ts: Portico's own socket for an accepted plain-TCP connection, driven straight on
// Node's native TCP handle — no net.Socket, no Readable/Writable state, no listeners. A
// net.Socket per connection costs ~1 KiB of heap (socket, two stream states) and, per request, a
// Writable write with its write request and after-write tick, plus a C++→JS call into Node's
// generic onStreamRead (docs/performance.md, "Portico's own socket layer"). Here:
//
// - reads land in one shared buffer (the handle's useUserBuffer, as onread.ts does for
//   net.Sockets) and go to the owner's onData as a view, valid only during the call;
// - writes go to the handle (writeLatin1String / writeBuffer / writev) with a write request taken
//   from a free list shared by every own socket, and given back when the write completed
//   synchronously (the usual case: the kernel took it), so an idle connection holds none;
// - cork()/uncork() hold writes as write-batch.ts expects, and leave as one writev;
// - end() is a shutdown after the pending writes (half-close), destroy() closes the handle.
//
// What a net.Socket does that this does not: 'data'/'pipe'/'read()', event listeners, encodings
// other than latin1. The rare paths that need them (h2c hand-off, a WebSocket tunnel) call
// detach(), which wraps the same handle in a net.Socket (Node allows it: new net.Socket({ handle })).
//
// The read and write results come from Node's stream_wrap binding (streamBaseState, WriteWrap,
// ShutdownWrap), reached through process.binding, which Node keeps for these modules. That is
// not a documented API, so it lives here alone; own-socket.test.ts pins it, and where any piece
// is missing `ownSockets` is false and listeners keep Node's accept path.
import { readSync } from "node:fs";
import net from "node:net";
import { getDefaultHighWaterMark } from "node:stream";
import { getSystemErrorName } from "node:util";
import { empty } from "./arrays.ts";
import { bitFlags } from "./bit-flags.ts";
import type { Linked, LiveSet } from "./live-set.ts";

/** TcpHandle is the part of Node's native TCP handle (tcp_wrap) this module drives. */
export interface TcpHandle {
  onread: (this: TcpHandle) => Buffer | undefined;
  reading?: boolean;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
  writeLatin1String(req: WriteReq, s: string): number;
  writeBuffer(req: WriteReq, b: Uint8Array): number;
  writev(req: WriteReq, chunks: unknown[], allBuffers: boolean): number;
  shutdown(req: WriteReq): number;
  close(cb: (this: TcpHandle) => void): void;
  setNoDelay(on: boolean): number;
  getpeername(out: Record<string, unknown>): number;
  getsockname(out: Record<string, unknown>): number;
  /** fd is the socket's descriptor (-1 where the platform has none: Windows). */
  readonly fd?: number;
}

// WriteReq is a WriteWrap or ShutdownWrap: C++ calls oncomplete(status) with it as `this`.
interface WriteReq {
  handle: TcpHandle | null;
  oncomplete: (this: WriteReq, status: number) => void;
  sock: OwnSocket | null;
  bytes: number;
  // kept keeps an async write's buffers alive until it completes (C++ points into them).
  kept: unknown;
}

interface StreamWrap {
  streamBaseState: Int32Array;
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => WriteReq;
  kReadBytesOrError: number;
  kBytesWritten: number;
  kLastWriteWasAsync: number;
}

// TCP_METHODS are the native TCP handle's methods this module calls (tcp_wrap's TCP, with what it
// inherits from LibuvStreamWrap and HandleWrap).
const TCP_METHODS = [
  "readStart",
  "readStop",
  "useUserBuffer",
  "writeLatin1String",
  "writeBuffer",
  "writev",
  "shutdown",
  "close",
  "setNoDelay",
  "getpeername",
  "getsockname",
] as const;

const probed = probe();
const wrap = probed.wrap;

// probe finds the stream_wrap pieces and checks that accepted TCP handles have every method called
// here: if Node changes any of them, the layer is off (and says why) instead of failing per connection.
function probe(): { wrap?: StreamWrap; missing?: string } {
  type Binding = (name: string) => Record<string, unknown>;
  let b: Partial<StreamWrap>;
  let tcp: { prototype?: Record<string, unknown> } | undefined;
  try {
    const binding = (process as unknown as { binding: Binding }).binding;
    b = binding("stream_wrap") as Partial<StreamWrap>;
    tcp = binding("tcp_wrap")["TCP"] as typeof tcp;
  } catch (err) {
    return { missing: `process.binding("stream_wrap"/"tcp_wrap") failed: ${String(err)}` };
  }
  if (
    !(b.streamBaseState instanceof Int32Array) ||
    typeof b.WriteWrap !== "function" ||
    typeof b.ShutdownWrap !== "function" ||
    typeof b.kReadBytesOrError !== "number" ||
    typeof b.kBytesWritten !== "number" ||
    typeof b.kLastWriteWasAsync !== "number"
  )
    return { missing: "stream_wrap lacks streamBaseState, WriteWrap, ShutdownWrap or its state indices" };
  const proto = tcp?.prototype;
  if (typeof proto !== "object" || proto === null) return { missing: "tcp_wrap has no TCP handle class" };
  const lacking = TCP_METHODS.filter((m) => typeof proto[m] !== "function");
  if (lacking.length > 0) return { missing: `the TCP handle lacks ${lacking.join(", ")}` };
  return { wrap: b as StreamWrap };
}

/** ownSockets says whether this Node lets Portico drive accepted TCP handles itself. */
export const ownSockets = wrap !== undefined;

/** ownSocketsMissing says, where ownSockets is false, which piece of Node's internals is missing. */
export const ownSocketsMissing: string | undefined = probed.missing;

const state = wrap?.streamBaseState ?? new Int32Array(8);
const READ_N = wrap?.kReadBytesOrError ?? 0;
const WRITTEN = wrap?.kBytesWritten ?? 0;
const ASYNC = wrap?.kLastWriteWasAsync ?? 0;
// libuv's UV_EOF, the same on every platform.
const UV_EOF = -4095;
// Writes beyond this many bytes not yet with the kernel make write() ask for backpressure, as a
// net.Socket's writableHighWaterMark does.
const HIGH_WATER = getDefaultHighWaterMark(false);

// firstRead: start() tries a connection's first read at once (see start). Off only for tests and
// A/B runs that need the plain libuv path (setFirstRead).
let firstRead = true;

/** setFirstRead turns the first read at accept on or off (tests and A/B measurements). */
export function setFirstRead(on: boolean): void {
  firstRead = on;
}

// PAIRS is flush's chunk/encoding list for writev, reused (it holds nothing between flushes).
const PAIRS: unknown[] = [];

// READ_BUFFER receives every read of every own socket: reads are handled synchronously, one at a time.
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

// freeReqs are write requests no write uses, for any own socket's next write. A request that
// completed synchronously was never attached to a native write (libuv took the bytes in the
// call), so it serves another handle as well; one completed asynchronously is not reused (see
// completed). A few serve every connection: per idle connection that was a request and its
// property array, ~130 bytes (docs/performance.md, Memory).
const freeReqs: WriteReq[] = [];
// PEER receives getpeername's answer (address, port, family) before peerKnown copies it out. It
// already has the three properties Node sets: assigning existing ones from C++ is cheaper than
// adding them (~0.15 µs a connection, measured).
const PEER: { address?: string; port?: number; family?: string } = {
  address: undefined,
  family: undefined,
  port: undefined,
};

// freeHeld are empty arrays for cork()ed writes, given back when a flush completed synchronously.
const freeHeld: (string | Buffer)[][] = [];
const MAX_FREE = 64;

function takeReq(sock: OwnSocket, handle: TcpHandle | null): WriteReq {
  const req = freeReqs.pop() ?? new wrap!.WriteWrap();
  req.handle = handle;
  req.oncomplete = afterWrite;
  req.sock = sock;
  req.bytes = 0;
  req.kept = null;
  return req;
}

function giveReq(req: WriteReq): void {
  req.handle = null;
  req.sock = null;
  if (freeReqs.length < MAX_FREE) freeReqs.push(req);
}

/** SocketOwner gets an own socket's events; the connection object itself, so no closures. */
export interface SocketOwner {
  /** onData gets one read: a view of a shared buffer, valid only during the call. */
  onData(data: Buffer): void;
  /** onEnd runs at the peer's FIN (reading stopped; writing still possible). */
  onEnd(): void;
  /** onDrain runs when writes that asked for backpressure all left. */
  onDrain(): void;
  /** onTimeout runs when setTimeout's inactivity period passed without a read or write. */
  onTimeout(): void;
  /** onClose runs once, when the handle closed. */
  onClose(): void;
}

/** Destroyable is what the listener's set of its connections needs of one. */
export interface Destroyable {
  destroy(): void;
}

/** CloseTracker is told when a socket closed (the listener's count of its connections). */
export interface CloseTracker {
  closed(s: OwnSocket): void;
}

// lastPeer is the last client address getpeername gave: connections from one address (a load
// balancer in front, a NAT, a benchmark) share its string instead of holding a copy each (~40
// bytes of every idle connection, ClientConn's clientIp being the same string).
let lastPeer: string | undefined;
function internPeer(a: string | undefined): string | undefined {
  if (a === lastPeer) return lastPeer;
  return (lastPeer = a);
}

// OWNER links a handle to its OwnSocket for the shared read and close callbacks.
const OWNER = Symbol("portico.ownSocket");
type OwnedHandle = TcpHandle & { [OWNER]?: OwnSocket | null };

/**
 * OwnSocket is one accepted plain-TCP connection on its native handle. It offers the part of the
 * net.Socket interface Portico's HTTP/1.1 connection uses, under the same names, so that code
 * reading either (write batching, exchanges, the WAF's connection facts) needs no branch.
 */
export class OwnSocket implements Linked<Destroyable> {
  owner: SocketOwner | null = null;
  // The booleans are bits of one field (bit-flags.ts: bitFlags, after the class), declared here.
  bits = 0;
  declare destroyed: boolean;
  declare writableEnded: boolean;
  declare paused: boolean;
  declare eof: boolean;
  declare shutDown: boolean;
  declare needDrain: boolean;
  declare closed: boolean;
  /** tracker, when set, hears of the close once (the listener's connection count). */
  tracker: CloseTracker | null = null;
  // Links of the listener's set of its connections (live-set.ts: Linked): the socket is its own
  // node, no node object per connection.
  prev: Linked<Destroyable> | null = null;
  next: Linked<Destroyable> | null = null;
  set: LiveSet<Destroyable> | null = null;
  /** writableLength counts bytes written but not yet with the kernel (held, or queued by libuv). */
  writableLength = 0;
  bytesRead = 0;
  private handle: OwnedHandle | null;
  // detached is the net.Socket the handle went to (detach()); this socket then only forwards.
  private detached: net.Socket | null = null;
  private corked = 0;
  // held are the writes cork() holds (an array from freeHeld while there are any, else null).
  private held: (string | Buffer)[] | null = null;
  private timer: NodeJS.Timeout | undefined = undefined;
  // The peer's address, port and family once getpeername answered, as fields: an object of them
  // was ~60 bytes of every idle connection (each has been asked: the client's address).
  private peerAddress: string | undefined = undefined;
  private peerPort: number | undefined = undefined;
  private peerFamily: string | undefined = undefined;
  private local: { address?: string; port?: number } | undefined = undefined;

  /**
   * OwnSocket takes handle, just accepted, and sets it up: no Nagle delay (as the engine's servers'
   * noDelay), reads into the shared buffer. Nothing reads until start(). If this throws (Node's
   * internals changed under us) the handle is as accepted: takeAccepts gives it to Node's accept.
   */
  constructor(handle: TcpHandle) {
    handle.setNoDelay(true);
    handle.onread = onRead;
    handle.useUserBuffer(READ_BUFFER);
    this.handle = handle;
    (handle as OwnedHandle)[OWNER] = this;
  }

  /** value is this socket as the member of its listener's set (live-set.ts: Linked). */
  get value(): OwnSocket {
    return this;
  }

  /**
   * start makes the handle read, each read going to owner.onData. The first read is tried at
   * once, as HAProxy does: a client's request usually arrived with (or just after) the handshake
   * the accept completed, and read now it is served in this pass of the event loop — libuv would
   * register the socket with epoll and read it only in the next. When it is there and the
   * connection then stops reading (Connection: close pauses after the request), the socket never
   * joins epoll at all. When nothing is there yet, reading starts as usual.
   */
  start(owner: SocketOwner): void {
    this.owner = owner;
    const h = this.handle;
    if (h === null || this.destroyed) return;
    if (firstRead) this.readNow(h);
    // The first read may have paused, ended, closed or detached (h2c) the connection.
    if (!this.paused && !this.destroyed && !this.eof && this.detached === null) h.readStart();
  }

  // readNow reads what already waits on the socket, straight from its descriptor: libuv is not
  // reading it yet (readStart has not run), so nothing else takes these bytes.
  private readNow(h: TcpHandle): void {
    const fd = h.fd;
    if (fd === undefined || fd < 0) return;
    const n = readFd(fd);
    if (n === AGAIN) return;
    if (n > 0) {
      this.bytesRead += n;
      this.owner?.onData(READ_BUFFER.subarray(0, n));
    } else this.readEnded(n === 0 ? UV_EOF : n);
  }

  get remoteAddress(): string | undefined {
    return this.peerKnown() ? this.peerAddress : undefined;
  }
  get remotePort(): number | undefined {
    return this.peerKnown() ? this.peerPort : undefined;
  }
  get remoteFamily(): string | undefined {
    return this.peerKnown() ? this.peerFamily : undefined;
  }
  get localAddress(): string | undefined {
    return this.localInfo().address;
  }
  get localPort(): number | undefined {
    return this.localInfo().port;
  }

  // peerKnown asks the kernel (getpeername, as net.Socket's remoteAddress does) and keeps the
  // answer; a failure (say, the peer already reset) is not kept, so the next call asks again.
  private peerKnown(): boolean {
    if (this.peerAddress !== undefined) return true;
    const out = PEER;
    if (this.handle === null || this.handle.getpeername(out) !== 0) return false;
    this.peerAddress = internPeer(out.address);
    this.peerPort = out.port;
    this.peerFamily = out.family;
    return this.peerAddress !== undefined;
  }

  private localInfo(): { address?: string; port?: number } {
    if (this.local !== undefined) return this.local;
    const out: { address?: string; port?: number } = {};
    if (this.handle === null || this.handle.getsockname(out) !== 0) return {};
    return (this.local = out);
  }

  /**
   * write sends data (a string is latin1); false asks the caller to wait for onDrain, and only
   * ever when onDrain will follow (or the socket closes first). On a destroyed socket the data is
   * dropped and write returns true: onClose tells the owner. After end() it is a bug: as a
   * net.Socket errors (write after end) and its owner destroys it, the socket is destroyed.
   */
  write(data: string | Buffer, _encoding?: "latin1"): boolean {
    if (this.detached !== null) return this.detached.write(data, "latin1");
    if (this.destroyed) return true;
    if (this.writableEnded) {
      this.destroy();
      return true;
    }
    if (this.corked > 0) {
      (this.held ??= freeHeld.pop() ?? []).push(data);
      this.writableLength += data.length;
    } else {
      const h = this.handle!;
      const req = takeReq(this, h);
      const err = typeof data === "string" ? h.writeLatin1String(req, data) : h.writeBuffer(req, data);
      this.dispatched(req, err, data);
    }
    this.timer?.refresh();
    if (this.writableLength < HIGH_WATER) return true;
    this.needDrain = true;
    return false;
  }

  /** cork holds writes until the matching uncork (write-batch.ts holds a turn's writes). */
  cork(): void {
    this.corked++;
  }

  /** uncork sends what cork held: one write, or one writev for several. */
  uncork(): void {
    if (this.corked === 0) return;
    if (--this.corked === 0) this.flush();
  }

  private flush(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    const n = held.length;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += held[i]!.length;
    this.writableLength -= bytes;
    if (n === 0 || this.destroyed) return giveHeld(held);
    const h = this.handle!;
    const req = takeReq(this, h);
    let err: number;
    if (n === 1) {
      const d = held[0]!;
      err = typeof d === "string" ? h.writeLatin1String(req, d) : h.writeBuffer(req, d);
    } else {
      // writev takes buffers alone, or chunk/encoding pairs when strings are among them (a head
      // and its body: the usual response). The pairs array is reused: writev copies the strings
      // and the buffers stay referenced by held while the write is in flight.
      let allBuffers = true;
      for (let i = 0; i < n; i++) if (typeof held[i] === "string") allBuffers = false;
      if (allBuffers) err = h.writev(req, held, true);
      else {
        PAIRS.length = n * 2;
        for (let i = 0; i < n; i++) {
          PAIRS[i * 2] = held[i];
          PAIRS[i * 2 + 1] = "latin1";
        }
        err = h.writev(req, PAIRS, false);
        for (let i = 0; i < n; i++) PAIRS[i * 2] = undefined;
      }
    }
    this.dispatched(req, err, held);
    // An async write keeps held (its buffers) until it completes; else held serves another turn.
    if (req.kept !== held) giveHeld(held);
    if (this.needDrain && this.writableLength === 0 && !this.destroyed) {
      // As a net.Socket emits 'drain': not from inside the write that emptied the buffer.
      process.nextTick(emitDrain, this);
    }
  }

  // dispatched books a write the handle took: done (the request is free again), in flight (its
  // bytes count until afterWrite), or failed (the connection is broken).
  private dispatched(req: WriteReq, err: number, data: unknown): void {
    if (err !== 0) {
      giveReq(req);
      this.destroy();
      return;
    }
    if (state[ASYNC] === 0) {
      giveReq(req);
      return;
    }
    req.bytes = state[WRITTEN]!;
    req.kept = data;
    this.writableLength += req.bytes;
  }

  // completed un-books an async write (afterWrite). The request is not reused: Node detaches it
  // from C++ only after this callback and the ticks and microtasks it runs (WriteWrap::OnDone,
  // then Dispose), and a write in that window that went async on it would abort the process
  // (StreamReq::AttachToObject's CHECK). Async writes are the slow-client path: a new one is cheap.
  completed(req: WriteReq, status: number): void {
    this.writableLength -= req.bytes;
    req.kept = null;
    req.bytes = 0;
    req.sock = null;
    if (this.destroyed || this.detached !== null) return;
    if (status < 0) return this.destroy();
    if (this.needDrain && this.writableLength === 0) emitDrain(this);
  }

  drained(): void {
    if (!this.needDrain || this.destroyed || this.writableLength !== 0) return;
    this.needDrain = false;
    this.owner?.onDrain();
  }

  /** pause stops reading (backpressure, or nothing more is wanted); resume starts it again. */
  pause(): void {
    if (this.detached !== null) return void this.detached.pause();
    if (this.paused) return;
    this.paused = true;
    if (this.owner !== null && !this.destroyed && !this.eof) this.handle!.readStop();
  }

  resume(): void {
    if (this.detached !== null) return void this.detached.resume();
    if (!this.paused) return;
    this.paused = false;
    if (this.owner !== null && !this.destroyed && !this.eof) this.handle!.readStart();
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** setTimeout calls owner.onTimeout after ms without a read or write (0: never), as net.Socket's. */
  setTimeout(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = ms > 0 && !this.destroyed ? setTimeout(fireTimeout, ms, this).unref() : undefined;
  }

  /** active re-arms the inactivity timer (a read or write happened). */
  active(): void {
    this.timer?.refresh();
  }

  timedOut(): void {
    if (!this.destroyed) this.owner?.onTimeout();
  }

  /** end sends what is held, then a FIN once every write left (half-close: reading goes on). */
  end(): void {
    if (this.detached !== null) return void this.detached.end();
    if (this.writableEnded || this.destroyed) return;
    this.corked = 0;
    this.flush();
    this.writableEnded = true;
    if (this.destroyed) return;
    const req = new wrap!.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = afterShutdown;
    req.sock = this;
    // libuv shuts down after the writes queued before it.
    if (this.handle!.shutdown(req) !== 0) this.destroy();
  }

  shutdownDone(status: number): void {
    this.shutDown = true;
    if (this.destroyed) return;
    // Both directions done (or the shutdown failed): close, as a net.Socket's autoDestroy does.
    if (status < 0 || this.eof) this.destroy();
  }

  /** destroy closes the connection now; what is held is dropped, and onClose follows. */
  destroy(): void {
    if (this.detached !== null) return void this.detached.destroy();
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held !== null) giveHeld(this.held);
    this.held = null;
    this.needDrain = false;
    const h = this.handle!;
    h.onread = noRead;
    h.close(onHandleClose);
  }

  // readEnded handles a read that returned EOF or an error.
  readEnded(n: number): void {
    if (n !== UV_EOF) return this.destroy();
    this.eof = true;
    this.handle!.readStop();
    this.owner?.onEnd();
    // Our FIN went out before: both directions are done (a net.Socket's autoDestroy).
    if (this.shutDown) this.destroy();
  }

  handleClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle = null;
    const owner = this.owner;
    this.owner = null;
    owner?.onClose();
    this.tracker?.closed(this);
  }

  /**
   * detach hands the handle to a new net.Socket (paused, reads copied into its stream) for a path
   * that needs one: the h2c hand-off, a WebSocket tunnel. Held writes leave first; writes still
   * with libuv keep their order before the net.Socket's. The owner hears nothing more from this
   * socket; close still reaches the tracker, and destroy() here destroys the net.Socket.
   * If the connection is already gone (a held write just failed: the peer reset), the socket
   * returned is a destroyed one without a handle, whose 'close' comes on the next tick; the
   * handle's own close still reaches the tracker.
   */
  detach(): net.Socket {
    if (this.detached !== null) return this.detached;
    this.corked = 0;
    this.flush();
    if (this.destroyed) {
      // The handle is closing (destroy() ran h.close): wrapping it would close it twice, which
      // Node ignores, so that socket would never close. OWNER stays, so onHandleClose reaches
      // handleClosed and the tracker; the owner hears of it through the returned socket's 'close'.
      this.owner = null;
      const gone = new net.Socket();
      gone.destroy();
      this.detached = gone;
      return gone;
    }
    const h = this.handle!;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    h.readStop();
    h[OWNER] = null;
    this.owner = null;
    // The handle reads into a buffer we own (useUserBuffer cannot be undone): the socket gets it
    // as its onread buffer, and each read is copied and pushed, as releaseReads (onread.ts) does.
    const opts = {
      handle: h,
      allowHalfOpen: true,
      readable: true,
      writable: true,
      pauseOnCreate: true,
      onread: { buffer: READ_BUFFER, callback: pushCopy },
    } as unknown as net.SocketConstructorOpts;
    const s = new net.Socket(opts);
    this.detached = s;
    s.once("close", () => this.handleClosed());
    if (this.eof) s.push(null);
    return s;
  }
}
bitFlags(OwnSocket.prototype, [
  "destroyed",
  "writableEnded",
  "paused",
  "eof",
  "shutDown",
  "needDrain",
  "closed",
]);

/** AcceptTaker is what takeAccepts asks of its caller for each accepted connection. */
export interface AcceptTaker {
  /** wants says whether the connection goes to the own socket layer; false leaves it to Node's accept. */
  wants(): boolean;
  /** take serves it on s, set up but not reading yet (the owner calls s.start). */
  take(s: OwnSocket): void;
  /**
   * failed hears of a connection the layer could not take: fellBack, it went on to Node's accept,
   * and so do the server's next ones (the handle refused to be set up: Node's internals changed);
   * else take threw, and the connection was closed.
   */
  failed(reason: string, fellBack: boolean): void;
}

/**
 * takeAccepts hands server's accepted connections to taker, as OwnSockets on their native handles,
 * before Node wraps them in net.Sockets; those it does not want go on to Node's accept (a
 * net.Socket and 'connection'), as before. Nothing here throws into Node's accept callback: a
 * failure is taker.failed's. Call it once server is listening. Returns false, and changes nothing,
 * where the server has no native handle to take them from, or its accept callback is not the one
 * this was written against.
 */
export function takeAccepts(server: net.Server, taker: AcceptTaker): boolean {
  type Accept = (this: unknown, err: number, client: TcpHandle | undefined) => void;
  const handle = (server as unknown as { _handle?: { onconnection?: Accept } | null })._handle;
  const nodeAccept = handle?.onconnection;
  // Node's onconnection(err, clientHandle): another shape means the accept path changed.
  if (!ownSockets || handle === undefined || handle === null || typeof nodeAccept !== "function")
    return false;
  if (nodeAccept.length !== 2) return false;
  let nodeOnly = false;
  handle.onconnection = function (this: unknown, err: number, client: TcpHandle | undefined): void {
    if (err !== 0 || client === undefined || nodeOnly || !taker.wants())
      return nodeAccept.call(this, err, client);
    let s: OwnSocket;
    try {
      s = new OwnSocket(client);
    } catch (e) {
      nodeOnly = true;
      taker.failed(`the accepted TCP handle refused the own socket layer's setup: ${String(e)}`, true);
      return nodeAccept.call(this, err, client);
    }
    try {
      taker.take(s);
    } catch (e) {
      s.destroy();
      taker.failed(`serving a connection on the own socket layer failed: ${String(e)}`, false);
    }
  };
  return true;
}

// onRead is every own handle's read callback: how much was read is in streamBaseState.
function onRead(this: OwnedHandle): undefined {
  const s = this[OWNER];
  if (s === undefined || s === null) return undefined;
  const n = state[READ_N]!;
  if (n > 0) {
    s.bytesRead += n;
    s.active();
    s.owner?.onData(READ_BUFFER.subarray(0, n));
  } else if (n < 0) s.readEnded(n);
  return undefined;
}

// AGAIN is readFd's "nothing there yet" (EAGAIN; the socket is non-blocking).
const AGAIN = -11;

// readFd reads once from a non-blocking socket descriptor into READ_BUFFER: bytes read, 0 at EOF,
// AGAIN when nothing waits, or another negative number for an error (the connection is broken).
// fs.readSync reports EAGAIN by throwing: with no stack trace captured, a miss costs ~2.7 µs
// (~4.8 with one), measured, against the epoll registration and loop pass a hit saves.
function readFd(fd: number): number {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return readSync(fd, READ_BUFFER, 0, READ_BUFFER.length, null);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EINTR: nothing lost, libuv's reading takes over as after EAGAIN.
    return code === "EAGAIN" || code === "EWOULDBLOCK" || code === "EINTR" ? AGAIN : -1;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

// noRead is a closed handle's read callback (it must stay a function).
function noRead(): undefined {
  return undefined;
}

// giveHeld empties a held array, its storage kept (arrays.ts), for another socket's turn.
function giveHeld(held: (string | Buffer)[]): void {
  empty(held);
  if (freeHeld.length < MAX_FREE) freeHeld.push(held);
}

function afterWrite(this: WriteReq, status: number): void {
  this.sock?.completed(this, status);
}

function afterShutdown(this: WriteReq, status: number): void {
  this.sock?.shutdownDone(status);
}

function onHandleClose(this: OwnedHandle): void {
  this[OWNER]?.handleClosed();
}

function emitDrain(s: OwnSocket): void {
  s.drained();
}

function fireTimeout(s: OwnSocket): void {
  s.timedOut();
}

// pushCopy is a detached socket's read callback (`this` is the socket): the buffer is shared.
function pushCopy(this: net.Socket, n: number, buf: Buffer): boolean {
  return this.push(Buffer.from(buf.subarray(0, n)));
}

// directSpare is the write request of the last direct write that completed synchronously (the
// kernel took it all): C++ never attached it, so the next direct write, on any socket, reuses it.
let directSpare: WriteReq | null = null;

/**
 * writeDirect writes data (latin1) to a connected net.Socket's TCP handle itself, as OwnSocket
 * writes: no Writable state, write request or after-write tick — what an HTTP/2 request's head to
 * its pooled backend connection spent around the write (docs/performance.md, "HTTP/2 on the own
 * codec"). Only when nothing waits in the socket's Writable (the bytes keep their order) and this
 * Node allows it; false otherwise, and the caller writes through the socket. A write that fails
 * destroys the socket with the error's code, as a failed socket.write does.
 */
export function writeDirect(socket: net.Socket, data: string): boolean {
  const h = (socket as unknown as { _handle?: TcpHandle | null })._handle;
  if (wrap === undefined || h == null || socket.connecting || socket.writableLength !== 0 || socket.destroyed)
    return false;
  let req = directSpare;
  directSpare = null;
  if (req === null) {
    req = new wrap.WriteWrap();
    req.oncomplete = afterDirect;
    req.sock = null;
    req.bytes = 0;
    req.kept = null;
  }
  req.handle = h;
  const err = h.writeLatin1String(req, data);
  if (err !== 0) {
    req.handle = null;
    directSpare = req;
    socket.destroy(writeError(err));
  } else if (state[ASYNC] === 0) {
    req.handle = null;
    directSpare = req;
  } else (req as unknown as { socket: net.Socket }).socket = socket; // in flight: afterDirect reports its end
  return true;
}

// afterDirect ends an asynchronous direct write: an error destroys its socket (the string was
// copied by C++, nothing to keep alive). The request is not reused (see completed()).
function afterDirect(this: WriteReq, status: number): void {
  const s = (this as unknown as { socket?: net.Socket }).socket;
  this.handle = null;
  if (status < 0 && s !== undefined && !s.destroyed) s.destroy(writeError(status));
}

function writeError(errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`write ${code}`), { code, errno, syscall: "write" });
}

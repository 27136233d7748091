// h2-raw.ts: a raw HTTP/2 client for abuse tests — it writes frames node:http2's client will not
// produce (HEADERS answered by an instant RST_STREAM, endless CONTINUATION, SETTINGS and PING
// floods) over cleartext (prior knowledge) or TLS (ALPN h2), and reads what the server sends back.
import net from "node:net";
import tls from "node:tls";

/** FRAME names the HTTP/2 frame types these tests write or read (RFC 9113 §6). */
export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

/** ENHANCE_YOUR_CALM is the GOAWAY error code a flood is answered with (RFC 9113 §7). */
export const ENHANCE_YOUR_CALM = 0xb;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** frame encodes one frame. */
export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** getBlock is an HPACK header block for GET / with :authority host (static table, no Huffman). */
export function getBlock(host: string, path = "/"): Buffer {
  const h = Buffer.from(host, "latin1");
  const p = Buffer.from(path, "latin1");
  // 0x82 :method GET, 0x86 :scheme http; 0x04 :path literal (indexed name 4), 0x01 :authority literal.
  return Buffer.concat([Buffer.from([0x82, 0x86, 0x04, p.length]), p, Buffer.from([0x01, h.length]), h]);
}

/** rstStream is RST_STREAM(CANCEL) for stream id. */
export function rstStream(id: number): Buffer {
  const code = Buffer.alloc(4);
  code.writeUInt32BE(0x8);
  return frame(FRAME.RST_STREAM, 0, id, code);
}

/** settings is a SETTINGS frame with the given [id, value] pairs (none: an empty SETTINGS). */
export function settings(pairs: [number, number][] = []): Buffer {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, p);
}

/** ping is a PING frame carrying 8 bytes. */
export function ping(n: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(n, 4);
  return frame(FRAME.PING, 0, 0, p);
}

/** Frame is one frame the server sent. */
export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** RawH2 is an open connection that has sent the preface and an empty SETTINGS. */
export class RawH2 {
  readonly socket: net.Socket;
  /** frames are every frame received so far. */
  readonly frames: Frame[] = [];
  /** closed is set when the socket closed (either side). */
  closed = false;
  private buf = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        this.frames.push({
          type: this.buf[3]!,
          flags: this.buf[4]!,
          stream: this.buf.readUInt32BE(5) & 0x7fffffff,
          payload: this.buf.subarray(9, 9 + len),
        });
        this.buf = this.buf.subarray(9 + len);
      }
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  /** open connects to address:port from localAddress (TLS with ALPN h2 when tlsOpts is given) and sends the preface. */
  static async open(
    port: number,
    tlsOpts?: { servername: string; ca: string },
    address = "127.0.0.1",
    localAddress?: string,
  ): Promise<RawH2> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const tcp = net.connect({ port, host: address, localAddress });
      const s =
        tlsOpts === undefined
          ? tcp.once("connect", () => resolve(tcp))
          : tls.connect({ socket: tcp, ALPNProtocols: ["h2"], ...tlsOpts }, () => resolve(s));
      s.once("error", reject);
    });
    const c = new RawH2(socket);
    c.write(Buffer.concat([PREFACE, settings()]));
    return c;
  }

  /** write sends bytes unless the connection is gone; false when it is. */
  write(b: Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.socket.write(b);
    return true;
  }

  /** goaway is the error code of the first GOAWAY received, or undefined. */
  goaway(): number | undefined {
    const g = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return g === undefined ? undefined : g.payload.readUInt32BE(4);
  }

  /** until resolves when check() holds, rejects after ms with what was received. */
  until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        const types = this.frames.map((f) => f.type).join(",");
        reject(new Error(`timed out waiting for ${what}; frames ${types}; closed=${this.closed}`));
      }, ms);
      this.waiters.add(done);
      done();
    });
  }

  /** close destroys the socket. */
  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** rapidReset sends HEADERS+RST_STREAM pairs in writes of `per` until the server closes c; returns pairs sent. */
export async function rapidReset(c: RawH2, host: string, per = 20, max = 100_000): Promise<number> {
  let id = 1;
  while (!c.closed && id < 2 * max) {
    const out: Buffer[] = [];
    for (let i = 0; i < per; i++, id += 2)
      out.push(frame(FRAME.HEADERS, 0x5, id, getBlock(host)), rstStream(id));
    if (!c.write(Buffer.concat(out))) break;
    await new Promise((r) => setImmediate(r));
  }
  return (id - 1) / 2;
}

/** flood writes frames make(i) in writes of `per` (a client that reads its ACKs) until the server closes c. */
export async function flood(c: RawH2, make: (i: number) => Buffer, per = 50, max = 100_000): Promise<void> {
  for (let i = 0; i < max && !c.closed; i += per) {
    if (!c.write(Buffer.concat(Array.from({ length: per }, (_, j) => make(i + j))))) break;
    await new Promise((r) => setImmediate(r));
  }
}

// soak-ws.ts: the WebSocket part of `npm run bench:soak`: an echo backend (node:http's upgrade
// event and RFC 6455 framing, enough for the soak's short text messages) and a client phase that
// opens connections through Portico with Node's WebSocket, exchanges messages and closes them.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** startWsEcho serves WebSocket echo on address:port; resolves with the server once listening. */
export async function startWsEcho(address: string, port: number): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(426).end("WebSocket only\n"));
  server.on("upgrade", (req, socket: Socket) => {
    const key = req.headers["sec-websocket-key"];
    if (typeof key !== "string") return socket.destroy();
    const accept = createHash("sha1")
      .update(key + GUID)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    let buf = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let frame = readFrame(buf); frame; frame = readFrame(buf)) {
        buf = buf.subarray(frame.size);
        // Close: answer it and end; text and binary: echo; ping: pong; anything else: ignore.
        if (frame.opcode === 0x8) return socket.end(frameOf(0x8, frame.payload));
        if (frame.opcode === 0x1 || frame.opcode === 0x2) socket.write(frameOf(frame.opcode, frame.payload));
        if (frame.opcode === 0x9) socket.write(frameOf(0xa, frame.payload));
      }
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(port, address, res);
  });
  return server;
}

/** readFrame reads one complete client (masked) frame from the start of buf, or undefined. */
export function readFrame(buf: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buf.length < 2) return undefined;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const mask = masked ? buf.subarray(at, at + 4) : undefined;
  if (masked) at += 4;
  if (buf.length < at + len) return undefined;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
  return { opcode, payload, size: at + len };
}

/** frameOf builds one unmasked server frame (FIN set). */
export function frameOf(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head =
    n < 126
      ? Buffer.from([0x80 | opcode, n])
      : n < 65536
        ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(n)]);
  return Buffer.concat([head, payload]);
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/**
 * wsPhase opens conns WebSockets to url at once; each sends messages text messages, one at a time,
 * waits for each echo, then closes. Resolves with the messages echoed and the failures (a
 * connection that failed, closed early or got a wrong echo); bounded by timeoutMs.
 */
export async function wsPhase(
  url: string,
  conns: number,
  messages: number,
  timeoutMs: number,
): Promise<{ echoed: number; failed: number }> {
  let echoed = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((done) => {
      const ws = new WebSocket(url);
      let sent = 0;
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        if (!ok) failed++;
        ws.onclose = ws.onerror = ws.onmessage = null;
        ws.close();
        done();
      };
      const send = () => ws.send(`soak message ${++sent}`);
      ws.onopen = send;
      ws.onmessage = (e) => {
        if (e.data !== `soak message ${sent}`) return finish(false);
        echoed++;
        if (sent < messages) send();
        else finish(true);
      };
      ws.onerror = () => finish(false);
      ws.onclose = () => finish(false);
    });
  await Promise.all(Array.from({ length: conns }, one));
  return { echoed, failed };
}

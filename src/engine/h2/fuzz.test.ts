// fuzz.test.ts: hostile bytes never make the codec throw anything but its own errors. The HPACK
// decoder, fed random and mutated blocks, throws only HpackError; a connection, fed random and
// mutated frames after a valid preface, only answers (RST_STREAM, GOAWAY) or closes — an exception
// out of read() would take the engine's process down. Seeded, so a failure is reproducible.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { H2Connection } from "./connection.ts";
import { FrameType, PREFACE, frame, settingsFrame } from "./frames.ts";
import { HpackDecoder, HpackError } from "./hpack-decoder.ts";
import { HpackEncoder } from "./hpack-encoder.ts";

// mulberry32: a small seeded generator.
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(r: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

const request = new HpackEncoder(4096).encode([
  ":method",
  "POST",
  ":scheme",
  "https",
  ":path",
  "/a",
  ":authority",
  "x.test",
  "content-length",
  "5",
  "x-custom",
  "value",
]);

// Inputs that once escaped as something else, kept as regression cases.
const found = [
  // An index integer of 147 continuation bytes: NaN, then a TypeError reading the tables.
  "ff" + "80".repeat(147) + "00",
  // A size update the same way: resize(NaN), a table that never evicted.
  "3f" + "80".repeat(147) + "00",
];

test("HPACK decoder: random and mutated blocks throw only HpackError", () => {
  for (const hex of found) {
    const b = Buffer.from(hex, "hex");
    assert.throws(
      () => new HpackDecoder({ tableSize: 4096, maxListSize: 8192 }).decode(b, 0, b.length, []),
      HpackError,
    );
  }
  const r = rng(7);
  for (let i = 0; i < 20_000; i++) {
    const d = new HpackDecoder({ tableSize: 4096, maxListSize: 8192 });
    let b: Buffer;
    if (i % 2 === 0) b = bytes(r, 1 + Math.floor(r() * 40));
    else {
      b = Buffer.from(request);
      for (let k = 0; k < 3; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    }
    try {
      d.decode(b, 0, b.length, []);
    } catch (e) {
      if (!(e instanceof HpackError)) assert.fail(`block ${b.toString("hex")} threw ${String(e)}`);
    }
  }
});

const servers: net.Server[] = [];
after(() => servers.forEach((s) => s.close()));

test("connection: random and mutated frames are answered or end the connection, never thrown", async () => {
  const r = rng(11);
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const types = Object.values(FrameType);
  let ended = 0;
  for (let round = 0; round < 300; round++) {
    const client = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
    client.on("error", () => {});
    client.resume();
    await once(client, "connect");
    while (accepted.length === 0) await new Promise((res) => setImmediate(res));
    const socket = accepted.shift()!;
    const conn = new H2Connection(socket, {
      stream(s) {
        s.onEnd = () => s.respond(200, [], true);
        if (r() < 0.5) s.respond(204, [], true);
      },
    });
    // Valid start, then frames of known types with random flags, streams and payloads, or
    // a valid request with bytes flipped.
    conn.read(Buffer.concat([PREFACE, settingsFrame([])]));
    for (let f = 0; f < 20 && !socket.destroyed; f++) {
      let b: Buffer;
      if (r() < 0.3) {
        b = frame(FrameType.HEADERS, 0x5, 1 + 2 * f, request);
        b[9 + Math.floor(r() * request.length)] = Math.floor(r() * 256);
      } else {
        const type = types[Math.floor(r() * types.length)]!;
        const len = [0, 4, 5, 8, 9, Math.floor(r() * 64)][Math.floor(r() * 6)]!;
        b = frame(type, Math.floor(r() * 256), Math.floor(r() * 8), bytes(r, len));
      }
      // Any split: the reader must not care.
      const cut = Math.floor(r() * b.length);
      conn.read(b.subarray(0, cut));
      conn.read(b.subarray(cut));
    }
    if (socket.writableEnded || socket.destroyed) ended++;
    client.destroy();
    socket.destroy();
  }
  // Random frames break the protocol sooner or later: most connections were ended by the server.
  assert.ok(ended > 150, `connections ended by the server: ${ended} of 300`);
});

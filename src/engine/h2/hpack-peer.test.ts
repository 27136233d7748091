// hpack-peer.test.ts: the HPACK encoder's dynamic table against an independent decoder —
// node:http2's client (nghttp2) over a real socket — through evictions, values larger than the
// table, the client lowering SETTINGS_HEADER_TABLE_SIZE mid-connection (to 0 too), and names and
// values that repeat so that the encoder's lookup map is hit after its entries were evicted. A
// stale index would make the client decode a wrong header (or fail with COMPRESSION_ERROR).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { H2Connection } from "./connection.ts";
import { rand } from "../../../test/support/rand.ts";

const sockets = new Set<net.Socket>();
const servers: net.Server[] = [];
after(() => {
  sockets.forEach((s) => s.destroy());
  servers.forEach((s) => s.close());
});

const NAMES = [
  "x-a",
  "x-b",
  "x-c",
  "server",
  "content-type",
  "date",
  "last-modified",
  "etag",
  "vary",
  "x-long",
];

// heads makes n response heads: distinct names per head, values from a small pool (repeats) plus
// some long ones (up to 5000 octets: larger than a 4096 table, which empties it).
function heads(n: number, r: () => number): string[][] {
  const pool = Array.from({ length: 40 }, (_, i) => `v${i}-${"y".repeat(Math.floor(r() * 200))}`);
  const out: string[][] = [];
  for (let k = 0; k < n; k++) {
    const fields: string[] = [];
    for (const name of NAMES) {
      if (r() < 0.4) continue;
      const p = r();
      const value =
        p < 0.05
          ? "z".repeat(100 + Math.floor(r() * 4900))
          : p < 0.1
            ? String(k)
            : pool[Math.floor(r() * pool.length)]!;
      fields.push(name, value);
    }
    out.push(fields);
  }
  return out;
}

async function run(tableSizes: number[], seed: number): Promise<void> {
  const want = heads(400, rand(seed));
  const server = net.createServer((socket) => {
    sockets.add(socket);
    new H2Connection(socket, {
      stream(s, fields) {
        const k = Number(fields[fields.indexOf(":path") + 1]!.slice(1));
        s.respond(200, want[k]!, true);
      },
    });
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = http2.connect(url, { settings: { headerTableSize: tableSizes[0]! } });
  try {
    const per = Math.ceil(want.length / tableSizes.length);
    for (let k = 0; k < want.length; k++) {
      const size = tableSizes[Math.floor(k / per)]!;
      if (k % per === 0 && k > 0) {
        client.settings({ headerTableSize: size });
        await once(client, "localSettings");
      }
      const req = client.request({ ":path": `/${k}` });
      req.resume();
      const ended = once(req, "end");
      const [got] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
      await ended;
      const expect: Record<string, string> = { ":status": "200" };
      for (let i = 0; i < want[k]!.length; i += 2) expect[want[k]![i]!] = want[k]![i + 1]!;
      const seen: Record<string, string> = {};
      for (const [n, v] of Object.entries(got)) seen[n] = String(v);
      assert.deepEqual(seen, expect, `response ${k} (table ${size})`);
    }
  } finally {
    client.close();
  }
}

test("encoder and nghttp2 agree through evictions with the default table", () => run([4096], 1));
test("encoder and nghttp2 agree as the client lowers its table: 4096, 1024, 300, 0", () =>
  run([4096, 1024, 300, 0], 2));
test("encoder and nghttp2 agree with a small table (many evictions per head)", () => run([128, 64], 3));

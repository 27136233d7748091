// tcp.test.ts: DNS over TCP on a real loopback socket: many pipelined queries whose client does
// not read its answers must not make the server queue answers without bound (RFC 7766 6.2.3
// lets a server stop reading; it must not run out of memory), and every answer comes once read.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { test } from "node:test";
import { encodeQuery } from "./message.ts";
import { compileDns, TCP_IDLE_TIMEOUT_MS } from "./server.ts";
import { fixtureZone } from "./testing.ts";
import { TYPE } from "./wire.ts";

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("tcp: a client that pipelines but does not read gets no unbounded queue; all answers come once it reads", async () => {
  const service = compileDns(
    {
      name: "t",
      address: "127.0.0.1",
      port: 0,
      zones: [fixtureZone("example.com", [["big.example.com", "TXT", "x".repeat(3000)]])],
    },
    { poolUp: () => true },
  );
  let server: Socket | undefined;
  const srv = createServer((s) => {
    server = s;
    service.tcp.onConnection(s);
  });
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as { port: number }).port;
  const client = connect(port, "127.0.0.1");
  try {
    await once(client, "connect");
    client.pause();
    // 20,000 queries of 35 bytes (700 KB) ask for 60 MB of answers.
    const q = encodeQuery("big.example.com", TYPE.TXT);
    const framed = Buffer.concat([Buffer.from([0, q.length]), q]);
    const count = 20_000;
    client.write(Buffer.concat(Array.from({ length: count }, () => framed)));
    await until(() => server !== undefined, "the connection");
    const s = server!;
    let peak = 0;
    await until(() => {
      peak = Math.max(peak, s.writableLength);
      // Fixed: the server stops reading with its buffer full. Unfixed: it reads every query.
      return (s.isPaused() && s.writableNeedDrain) || s.bytesRead === framed.length * count;
    }, "the server to stop reading or to read everything");
    process.stderr.write(
      `dns tcp: reading paused after ${s.bytesRead} bytes of queries, ${peak} bytes of answers queued\n`,
    );
    assert.ok(s.bytesRead < framed.length * count, `the server read all ${s.bytesRead} bytes of queries`);
    assert.ok(peak < 1_000_000, `the server queued ${peak} bytes of answers for a client that does not read`);
    // Reading now brings every answer, in order, none lost to the pause.
    let got = 0;
    let buf = Buffer.alloc(0);
    client.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        got++;
      }
    });
    client.resume();
    await until(() => got === count, `${count} answers (got ${got})`, 120_000);
  } finally {
    client.destroy();
    srv.close();
  }
});

test("tcp: a message that is no query ends the connection after the answers before it, not at the idle timeout", async () => {
  const service = compileDns({ name: "t", address: "127.0.0.1", port: 0, zones: [] }, { poolUp: () => true });
  const srv = createServer((s) => service.tcp.onConnection(s));
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const client = connect((srv.address() as { port: number }).port, "127.0.0.1");
  try {
    await once(client, "connect");
    let buf = Buffer.alloc(0);
    let ended = false;
    client.on("data", (chunk: Buffer) => (buf = Buffer.concat([buf, chunk])));
    client.on("end", () => (ended = true));
    const q = encodeQuery("www.example.org", TYPE.A);
    const started = Date.now();
    // A query (REFUSED: no zones), then 5 bytes that are no DNS message.
    client.write(Buffer.concat([Buffer.from([0, q.length]), q, Buffer.from([0, 5, 1, 2, 3, 4, 5])]));
    await until(() => ended, "the server to end the connection", 30_000);
    const elapsed = Date.now() - started;
    process.stderr.write(`dns tcp: connection ended ${elapsed} ms after a malformed message\n`);
    assert.equal(buf.readUInt16BE(0), buf.length - 2, "exactly one answer, the query's");
    assert.equal(buf[2 + 3]! & 0xf, 5);
    // Well before the idle timeout (10 s), which would otherwise be what ends it.
    assert.ok(elapsed < TCP_IDLE_TIMEOUT_MS / 2, `ended after ${elapsed} ms`);
  } finally {
    client.destroy();
    srv.close();
  }
});

// h2-adopted-reads.test.ts: the own HTTP/2 codec adopts its socket's reads (net/onread.ts): each
// read is a view of one shared buffer. Over TLS it gets a connection two ways — ALPN h2, and a
// client that negotiated no ALPN and opens with the prior-knowledge preface (the HTTP/1.1
// connection hands it on): the preface, SETTINGS and a request written in one go must all reach
// it. Request body chunks it hands on outlive the read (held until a backend is connected, or
// queued to a slow one) and must be copies: the held-body case fails if connection.ts's copy goes.
import assert from "node:assert/strict";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { test } from "node:test";
import { selfSigned } from "../../../test/support/certs.ts";
import { rxQueuedEach } from "../../../test/support/tcp-queue.ts";
import { compileHttpWith } from "./compile.ts";
import { defaultLimits } from "./runtime.ts";
import {
  RecordingBackend,
  RoundRobinUpstreams,
  catchAllListener,
  listen,
  poolOf,
  snapshotOf,
} from "./testing.ts";

const cert = selfSigned(["h2.test"]);

async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 5000,
  every = 2,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** front listens with a catch-all route to the backend on bport, over TLS (ALPN h2, http/1.1) or not. */
function front(name: string, bport: number, secure: boolean) {
  const pools = { p: poolOf("p", [bport]) };
  const listener = catchAllListener(name, secure ? { tls: { sni: [], defaultCertificate: "ns/srv" } } : {});
  const deps = {
    snapshot: snapshotOf(listener, pools, { "ns/srv": cert }),
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  };
  return listen({ current: compileHttpWith(listener, deps, defaultLimits) });
}

// One request as raw frames: preface, empty SETTINGS, HEADERS (GET https://h/ , END_STREAM) on stream 1.
function opening(path: string): Buffer {
  const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
  const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  // :method GET (2), :scheme https (7), :path literal (indexed name 4), :authority "h" (name 1).
  const p = Buffer.from(path, "latin1");
  const block = Buffer.concat([
    Buffer.from([0x82, 0x87, 0x04, p.length]),
    p,
    Buffer.from([0x01, 0x01, 0x68]),
  ]);
  const headers = Buffer.concat([Buffer.from([0, 0, block.length, 1, 5, 0, 0, 0, 1]), block]);
  return Buffer.concat([preface, settings, headers]);
}

// answered says whether got holds a HEADERS frame on stream 1 whose block starts :status 200.
function answered(got: Buffer): boolean {
  let p = 0;
  while (got.length - p >= 9) {
    const len = got.readUIntBE(p, 3);
    if (got.length - p < 9 + len) return false;
    if (got[p + 3] === 1 && (got.readUInt32BE(p + 5) & 0x7fffffff) === 1) return got[p + 9] === 0x88;
    p += 9 + len;
  }
  return false;
}

for (const alpn of [["h2"], undefined]) {
  test(`HTTP/2 over TLS (${alpn ? "ALPN h2" : "no ALPN, prior knowledge"}): a request written with the preface is served`, async () => {
    const backend = await new RecordingBackend((_d, s) =>
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ).start();
    const { server, port } = await front("h2-tls", backend.port, true);
    const client = tls.connect({
      host: "127.0.0.1",
      port,
      rejectUnauthorized: false,
      ...(alpn ? { ALPNProtocols: alpn } : {}),
    });
    try {
      await once(client, "secureConnect");
      assert.equal(client.alpnProtocol, alpn ? "h2" : false);
      let got = Buffer.alloc(0);
      client.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
      client.write(opening("/prior"));
      await waitFor(() => answered(got), "a :status 200 HEADERS frame on stream 1");
      assert.match(backend.received, /^GET \/prior HTTP\/1\.1\r\n/);
    } finally {
      client.destroy();
      server.close();
      backend.close();
    }
  });
}

test("HTTP/2 over TLS: request bodies of concurrent streams reach a stalled backend intact", async () => {
  // Bodies handed on are views of the codec's shared read buffer unless copied: distinct random
  // bytes per stream, and a backend that reads nothing until the engine must hold body bytes
  // itself (the kernel's buffers full), would show any overwrite.
  const size = 2_000_000;
  const bodies = [0, 1, 2].map(() => randomBytes(size));
  const got = new Map<string, Buffer>();
  const conns: net.Socket[] = [];
  const backend = net.createServer((s) => {
    s.pause();
    conns.push(s);
    let buf = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const at = buf.indexOf("\r\n\r\n");
      if (at < 0) return;
      const head = buf.toString("latin1", 0, at);
      const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1);
      if (buf.length - at - 4 < len) return;
      got.set(/^POST \/(\d)/.exec(head)![1]!, buf.subarray(at + 4));
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      buf = Buffer.alloc(0);
    });
    s.on("error", () => {});
  });
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  const bport = (backend.address() as net.AddressInfo).port;
  const { server, port } = await front("h2-tls-body", bport, true);
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  session.on("error", () => {});
  try {
    const answers = bodies.map(async (b, i) => {
      const req = session.request({ ":method": "POST", ":path": `/${i}`, "content-length": String(size) });
      // Small DATA frames, several to a TLS record: most arrive whole in one read (a view of
      // it), rather than cut by a read and completed in a copy.
      for (let at = 0; at < size; at += 1000) req.write(b.subarray(at, at + 1000));
      req.end();
      const [h] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
      req.resume();
      await once(req, "end");
      return h[":status"];
    });
    // Every backend connection's kernel buffer has filled (the engine holds the rest) before the
    // backend reads anything.
    // The engine runs in this process: the poll reads /proc/net/tcp off the event loop, every
    // 20 ms, so it leaves the engine the CPU it needs to move 6 MB through TLS (rxQueuedEach).
    // At load average 15 on 2 cores the queues filled in 0.5–1.3 s; the deadline is generous.
    const queued = async () =>
      conns.length === 3 &&
      (await rxQueuedEach(conns.map((c) => [bport, c.remotePort!] as const))).every((n) => n >= 60_000);
    await waitFor(queued, "the backend connections' receive queues filled", 60_000, 20);
    for (const c of conns) c.resume();
    assert.deepEqual(await Promise.all(answers), [200, 200, 200]);
    for (let i = 0; i < bodies.length; i++) {
      const b = got.get(String(i)) ?? Buffer.alloc(0);
      assert.equal(b.length, size, `stream ${i}'s body length`);
      assert.ok(b.equals(bodies[i]!), `stream ${i}'s body bytes differ`);
    }
  } finally {
    session.destroy();
    server.close();
    backend.close();
  }
});

// frame builds one HTTP/2 frame.
function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

for (const secure of [true, false]) {
  test(`HTTP/2 ${secure ? "over TLS" : "cleartext (h2c)"}: bodies that arrive with their requests, before any backend is connected, reach it intact`, async () => {
    // The body frames come in the reads that brought their HEADERS: the codec hands them on before
    // a backend connection exists, so they are held — and must not be views of the read buffer the
    // next reads overwrite. Small DATA frames, many to a read, and distinct bytes per stream.
    const size = 20_000;
    const bodies = [0, 1, 2].map(() => randomBytes(size));
    const got = new Map<string, Buffer>();
    const backend = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const at = buf.indexOf("\r\n\r\n");
          if (at < 0) return;
          const head = buf.toString("latin1", 0, at);
          const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1);
          if (buf.length - at - 4 < len) return;
          got.set(/^POST \/(\d)/.exec(head)![1]!, buf.subarray(at + 4, at + 4 + len));
          s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
          buf = buf.subarray(at + 4 + len);
        }
      });
      s.on("error", () => {});
    });
    backend.listen(0, "127.0.0.1");
    await once(backend, "listening");
    const bport = (backend.address() as net.AddressInfo).port;
    const { server, port } = await front("h2-held", bport, secure);
    const client = secure
      ? tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ALPNProtocols: ["h2"] })
      : net.connect(port, "127.0.0.1");
    try {
      await once(client, secure ? "secureConnect" : "connect");
      let answer = Buffer.alloc(0);
      client.on("data", (d: Buffer) => (answer = Buffer.concat([answer, d])));
      const parts = [
        Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"),
        frame(4, 0, 0, Buffer.alloc(0)),
      ];
      bodies.forEach((b, i) => {
        const id = 1 + 2 * i;
        const len = Buffer.from(String(size), "latin1");
        // :method POST (3), :scheme https (7), :path "/i" (name 4), :authority "h" (name 1),
        // content-length (name 28), all literals without indexing.
        const block = Buffer.concat([
          Buffer.from([0x83, 0x87, 0x04, 0x02, 0x2f, 0x30 + i, 0x01, 0x01, 0x68, 0x0f, 0x0d, len.length]),
          len,
        ]);
        parts.push(frame(1, 0x4, id, block));
        for (let at = 0; at < size; at += 1000)
          parts.push(frame(0, at + 1000 >= size ? 0x1 : 0, id, b.subarray(at, at + 1000)));
      });
      client.write(Buffer.concat(parts));
      await waitFor(() => got.size === 3, "three bodies at the backend");
      for (let i = 0; i < bodies.length; i++) {
        const b = got.get(String(i))!;
        assert.equal(b.length, size, `stream ${i}'s body length`);
        assert.ok(b.equals(bodies[i]!), `stream ${i}'s body bytes differ`);
      }
    } finally {
      client.destroy();
      server.close();
      backend.close();
    }
  });
}

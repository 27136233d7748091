// WebSocket through the L7 proxy: a raw handshake and frames against a small raw echo backend.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { createHash } from "node:crypto";
import type { HttpListener } from "../../src/model/ir.ts";
import { compileHttp } from "../../src/engine/l7/compile.ts";
import { RoundRobinUpstreams, listen, poolOf, snapshotOf } from "../../src/engine/l7/testing.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const received: string[] = [];
let backendSawEnd = false;

// The echo backend answers the handshake, then echoes each masked client frame unmasked; a
// request without Upgrade gets 400. It ends its side when the client ends its own (half-close).
const backend = net.createServer({ allowHalfOpen: true }, (s) => {
  let buf = Buffer.alloc(0);
  let open = false;
  s.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!open) {
      const end = buf.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = buf.subarray(0, end).toString("latin1");
      received.push(head);
      buf = buf.subarray(end + 4);
      const key = /sec-websocket-key: (.*)/i.exec(head)?.[1];
      if (!/upgrade: websocket/i.test(head) || key === undefined) {
        s.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno");
        return;
      }
      const accept = createHash("sha1")
        .update(key + GUID)
        .digest("base64");
      s.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      open = true;
    }
    while (buf.length >= 6) {
      const len = buf[1]! & 0x7f; // short frames only
      if (buf.length < 6 + len) return;
      const mask = buf.subarray(2, 6);
      const payload = Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!));
      s.write(Buffer.concat([Buffer.from([buf[0]!, len]), payload]));
      buf = buf.subarray(6 + len);
    }
  });
  s.on("end", () => {
    backendSawEnd = true;
    s.end();
  });
  s.on("error", () => {});
});
backend.listen(0, "127.0.0.1");
await once(backend, "listening");
const pools = { ws: poolOf("ws", [(backend.address() as net.AddressInfo).port]) };
const listener: HttpListener = {
  name: "ws:80",
  address: "127.0.0.1",
  port: 0,
  virtualHosts: [
    {
      hostname: "*",
      routes: [
        {
          name: "ws",
          match: { path: { type: "Prefix", value: "/" } },
          action: { type: "Forward", backends: [{ pool: "ws", weight: 1 }] },
        },
      ],
    },
  ],
  requestTimeoutMs: 300,
  idleTimeoutMs: 5000,
};
const handler = {
  current: compileHttp(listener, {
    snapshot: snapshotOf(listener, pools),
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  }),
};
const { server, port } = await listen(handler);
after(() => {
  server.close();
  backend.close();
});

function maskedText(text: string): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const payload = Buffer.from(text).map((b, i) => b ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload]);
}

function readUntil(s: net.Socket, pred: (b: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (pred(got)) {
        s.off("data", onData);
        resolve(got);
      }
    };
    s.on("data", onData);
    s.once("close", () => reject(new Error(`closed; got ${JSON.stringify(got.toString("latin1"))}`)));
  });
}

test("WebSocket: handshake forwarded with Upgrade kept, frames both ways, outlives the request timeout, half-close", async () => {
  const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  await once(s, "connect");
  const key = Buffer.from("0123456789abcdef").toString("base64");
  // The first frame rides in the same packet as the handshake (early data).
  s.write(
    Buffer.concat([
      Buffer.from(
        `GET /chat HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
      maskedText("early"),
    ]),
  );
  const first = await readUntil(s, (b) => b.includes("early"));
  const text = first.toString("latin1");
  assert.match(text, /^HTTP\/1\.1 101 /);
  assert.match(text, /Upgrade: websocket\r\n/i);
  assert.ok(
    text.includes(
      `Sec-WebSocket-Accept: ${createHash("sha1")
        .update(key + GUID)
        .digest("base64")}\r\n`,
    ),
  );
  assert.match(received.at(-1)!, /Upgrade: websocket/);
  assert.match(received.at(-1)!, /Connection: Upgrade/);
  // Longer than requestTimeoutMs (300 ms): a tunnel is not a request. Wait on a timer-free event:
  // a frame sent after a pause must still echo.
  await new Promise((r) => setTimeout(r, 400));
  s.write(maskedText("hello"));
  const echo = await readUntil(s, (b) => b.includes("hello"));
  assert.deepEqual([...echo.subarray(0, 2)], [0x81, 5]);
  s.end();
  await once(s, "end");
  assert.ok(backendSawEnd, "client FIN reached the backend");
  s.destroy();
});

test("a refused upgrade (backend answers 400) is passed on and the connection closes", async () => {
  const s = net.connect(port, "127.0.0.1");
  let got = "";
  s.on("data", (d) => (got += d.toString("latin1")));
  s.write("GET /plain HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  await once(s, "close");
  assert.match(got, /^HTTP\/1\.1 400 /);
  assert.match(got, /Connection: close/);
});

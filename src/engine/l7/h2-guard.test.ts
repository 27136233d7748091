// h2-guard.test.ts: H2Guard's PING rule on a real node:http2 server and client (h2c): PINGs that
// each follow a response of the server's (gRPC's BDP pings) are never counted; PINGs with nothing
// written in between are a flood and cut the connection with GOAWAY ENHANCE_YOUR_CALM.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { type CutReason, ENHANCE_YOUR_CALM, H2Guard, defaultH2Limits } from "./h2-guard.ts";

// maxPings 20: the flood is cut within a few writes; penaltyCuts 0 keeps the box out of it.
const limits = { ...defaultH2Limits, maxPings: 20, penaltyCuts: 0 };
const cuts: CutReason[] = [];
const server = http2.createServer();
server.on("session", (session) => {
  new H2Guard(session, limits, "test", { cut: (reason) => void cuts.push(reason) });
  session.on("error", () => session.destroy());
});
server.on("stream", (stream) => {
  stream.on("error", () => {});
  stream.respond({ ":status": 200 });
  stream.end("x".repeat(100));
});
server.listen(0, "127.0.0.1");
await once(server, "listening");
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => server.close());

async function connect(): Promise<http2.ClientHttp2Session> {
  const c = http2.connect(url);
  c.on("error", () => {});
  await once(c, "connect");
  return c;
}

function ping(c: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    const sent = c.ping((err) => (err ? reject(err) : resolve()));
    if (!sent) reject(new Error("ping not sent"));
  });
}

async function get(c: http2.ClientHttp2Session): Promise<void> {
  const req = c.request({ ":path": "/" });
  req.resume();
  await once(req, "end");
}

test("PINGs that each follow a response (gRPC's BDP pings) are not counted, 10x the limit", async () => {
  const c = await connect();
  const before = cuts.length;
  for (let i = 0; i < limits.maxPings * 10; i++) {
    await get(c);
    await ping(c);
  }
  // Then requests with a PING in flight beside each: what a loaded gRPC client does.
  for (let i = 0; i < limits.maxPings * 10; i++) await Promise.all([get(c), ping(c)]);
  assert.deepEqual(cuts.slice(before), []);
  assert.equal(c.destroyed || c.closed, false, "the connection is open");
  c.close();
});

test("PINGs with no response in between are a flood and cut, also after some that were answered", async () => {
  const c = await connect();
  const before = cuts.length;
  for (let i = 0; i < 5; i++) {
    await get(c);
    await ping(c);
  }
  let goaway: number | undefined;
  c.on("goaway", (code: number) => (goaway = code));
  // once() would reject on the session error the GOAWAY brings.
  const closed = new Promise((r) => c.once("close", r));
  // One PING at a time, each awaited: the ACKs the server writes are no response.
  for (let i = 0; i <= limits.maxPings && !c.destroyed; i++) await ping(c).catch(() => {});
  await closed;
  assert.deepEqual(cuts.slice(before), ["ping_flood"]);
  assert.equal(goaway, ENHANCE_YOUR_CALM);
});

// h2-pings.ts: the two PING stories both HTTP/2 guards are tested with (src/engine/l7/h2-guard.ts
// on node:http2, src/engine/h2/connection.ts on the own codec), told by node:http2's client.
import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { once } from "node:events";

async function connect(url: string): Promise<http2.ClientHttp2Session> {
  const c = http2.connect(url);
  c.on("error", () => {});
  await once(c, "connect");
  return c;
}

function ping(c: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!c.ping((err) => (err ? reject(err) : resolve()))) reject(new Error("ping not sent"));
  });
}

async function get(c: http2.ClientHttp2Session): Promise<void> {
  const req = c.request({ ":path": "/" });
  req.resume();
  await once(req, "end");
}

/**
 * answeredPings sends n PINGs each after a response was read, then n requests each with a PING
 * beside it (what a loaded gRPC client's BDP estimator does); true if the connection is still open.
 */
async function answeredPings(url: string, n: number): Promise<boolean> {
  const c = await connect(url);
  for (let i = 0; i < n; i++) {
    await get(c);
    await ping(c);
  }
  for (let i = 0; i < n; i++) await Promise.all([get(c), ping(c)]);
  const open = !c.destroyed && !c.closed;
  c.close();
  return open;
}

/**
 * pingFlood reads 5 responses with a PING after each, then sends up to n PINGs one at a time, each
 * awaited, with no request; resolves with the GOAWAY code once the server closed the connection.
 */
async function pingFlood(url: string, n: number): Promise<number | undefined> {
  const c = await connect(url);
  for (let i = 0; i < 5; i++) {
    await get(c);
    await ping(c);
  }
  let goaway: number | undefined;
  c.on("goaway", (code: number) => (goaway = code));
  // once() would reject on the session error the GOAWAY brings.
  const closed = new Promise((r) => c.once("close", r));
  for (let i = 0; i < n && !c.destroyed; i++) await ping(c).catch(() => {});
  await closed;
  return goaway;
}

/**
 * pingTests registers both stories against the server at url, whose guard cuts past maxPings and
 * pushes each cut's reason to cuts; calm is the GOAWAY code of a cut (ENHANCE_YOUR_CALM).
 */
export function pingTests(url: string, maxPings: number, cuts: readonly string[], calm: number): void {
  test("PINGs that each follow a response (gRPC's BDP pings) are not counted, 10x the limit", async () => {
    const before = cuts.length;
    assert.equal(await answeredPings(url, maxPings * 10), true, "the connection is open");
    assert.deepEqual(cuts.slice(before), []);
  });

  test("PINGs with no response in between are a flood and cut, also after some that were answered", async () => {
    const before = cuts.length;
    assert.equal(await pingFlood(url, maxPings + 1), calm);
    assert.deepEqual(cuts.slice(before), ["ping_flood"]);
  });
}

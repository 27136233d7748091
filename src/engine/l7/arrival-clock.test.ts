// arrival-clock.test.ts: a timed exchange's clock starts at the read that brought the request's
// first byte (net/arrival.ts), not at its parsed head: a head that trickles in is the client's
// wait and counts in `request`, and the parts still add up to durationMs. The next request on the
// keep-alive connection starts at its own first byte.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import type { HttpResponseEvent } from "./events.ts";
import { proxyAll, RecordingBackend, timedClient } from "./testing.ts";
import { arrival } from "../net/arrival.ts";
import { SWEEP_MS } from "../net/coarse-timer.ts";

// GAP_MS is how long the client pauses inside its request head (a slow client, the case tested).
const GAP_MS = 200;

test("the clock starts at the request's first byte: a split head counts in request and durationMs", async (t) => {
  const events: HttpResponseEvent[] = [];
  const { client, got } = await proxied(t, events, 0);
  const answered = async (n: number) => {
    while (events.length < n) await once(client, "data");
  };
  client.write("GET /one HTTP/1.1\r\nho");
  await new Promise((r) => setTimeout(r, GAP_MS));
  client.write("st: a.test\r\n\r\n");
  await answered(1);
  client.write("GET /two HTTP/1.1\r\nhost: a.test\r\n\r\n");
  await answered(2);
  assert.match(got(), /^HTTP\/1\.1 200/);
  const [one, two] = events as [HttpResponseEvent, HttpResponseEvent];
  // The pause is inside the exchange (before, it started at the parsed head: ~1 ms).
  assert.ok(
    one.durationMs >= GAP_MS * 0.9,
    `durationMs ${one.durationMs} should hold the ${GAP_MS} ms pause`,
  );
  assert.ok(one.timings!.request! >= GAP_MS * 0.9, `request ${one.timings!.request} should hold the pause`);
  const sum = Object.values(one.timings!).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - one.durationMs) < 1e-6, `parts ${sum} should add up to ${one.durationMs}`);
  // The second request starts at its own first byte, not the connection's.
  assert.ok(two.durationMs < GAP_MS / 2, `second request ${two.durationMs} ms`);
});

test("arrival reads the clock once per event-loop turn", async () => {
  const a = arrival();
  assert.equal(arrival(), a);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  const b = arrival();
  assert.ok(b >= a);
  assert.equal(arrival(), b);
});

test("the request timeout counts from the parsed head, subscribers or not: a slow head is not timed out", async (t) => {
  // The listener's request timeout is 5 s (catchAllListener); the head takes longer to arrive.
  // Before, a subscriber moved the timeout's start to the first byte and this request got a 504.
  // The backend answers after a few sweeps of the coarse timer, so a past deadline would fire.
  const { client, got } = await proxied(t, [], SWEEP_MS * 4);
  client.write("GET / HTTP/1.1\r\nho");
  await new Promise((r) => setTimeout(r, 5600));
  client.write("st: a.test\r\n\r\n");
  while (!got().includes("\r\n\r\n")) await once(client, "data");
  assert.match(got(), /^HTTP\/1\.1 200/);
});

// proxied connects a client to a proxy whose backend answers each request after delayMs, with
// events collecting the response events meanwhile; got returns what the client received so far.
async function proxied(t: TestContext, events: HttpResponseEvent[], delayMs: number) {
  const backend = await new RecordingBackend((data, s) => {
    if (!data.includes("\r\n\r\n")) return;
    const answer = () => s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    if (delayMs === 0) answer();
    else setTimeout(answer, delayMs);
  }).start();
  const { server, port } = await proxyAll("l", backend.port);
  return timedClient(t, events, port, () => {
    server.close();
    backend.close();
  });
}

// readAfter stamps arrival() from a callback scheduled by `from`, writes
// to a loopback socket there and keeps the thread busy a while; it resolves with that stamp, the
// time of the write, and the stamp the read of those bytes got.
async function readAfter(from: (f: () => void) => void) {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  const [conn] = (await once(server, "connection")) as [net.Socket];
  await once(client, "connect");
  try {
    const read = new Promise<number>((r) => conn.once("data", () => r(arrival())));
    const sent = await new Promise<{ stamped: number; wrote: number }>((r) =>
      from(() => {
        const stamped = arrival();
        client.write("x");
        const wrote = performance.now();
        while (performance.now() - wrote < 20); // the rest of the callback's work
        r({ stamped, wrote });
      }),
    );
    return { ...sent, read: await read };
  } finally {
    client.destroy();
    conn.destroy();
    server.close();
  }
}

test("arrival taken in an immediate is not handed to the next turn's reads", async () => {
  // Before, the immediate clearing it ran only after the next turn's poll.
  // Twice: the clearing timer is armed once per stamp, not per turn, and must serve both.
  for (let i = 0; i < 2; i++) {
    const { stamped, wrote, read } = await readAfter((f) => setImmediate(f));
    assert.ok(read >= wrote, `read stamped ${read}, before its bytes were written at ${wrote} (${stamped})`);
  }
});

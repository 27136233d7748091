// arrival-clock.test.ts: a timed exchange's clock starts at the read that brought the request's
// first byte (net/arrival.ts), not at its parsed head: a head that trickles in is the client's
// wait and counts in `request`, and the parts still add up to durationMs. The next request on the
// keep-alive connection starts at its own first byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { HTTP_RESPONSE_CHANNEL, type HttpResponseEvent } from "./events.ts";
import { proxyAll, RecordingBackend } from "./testing.ts";
import { arrival } from "../net/arrival.ts";

// GAP_MS is how long the client pauses inside its request head (a slow client, the case tested).
const GAP_MS = 200;

test("the clock starts at the request's first byte: a split head counts in request and durationMs", async (t) => {
  const events: HttpResponseEvent[] = [];
  const onEvent = (m: unknown) => void events.push(m as HttpResponseEvent);
  subscribe(HTTP_RESPONSE_CHANNEL, onEvent);
  const backend = await new RecordingBackend((data, s) => {
    if (data.includes("\r\n\r\n")) s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  }).start();
  const { server, port } = await proxyAll("l", backend.port);
  const client = net.connect(port, "127.0.0.1");
  t.after(() => {
    client.destroy();
    server.close();
    backend.close();
    unsubscribe(HTTP_RESPONSE_CHANNEL, onEvent);
  });
  await once(client, "connect");
  let got = "";
  client.on("data", (d: Buffer) => (got += d.toString("latin1")));
  const answered = async (n: number) => {
    while (events.length < n) await once(client, "data");
  };
  client.write("GET /one HTTP/1.1\r\nho");
  await new Promise((r) => setTimeout(r, GAP_MS));
  client.write("st: a.test\r\n\r\n");
  await answered(1);
  client.write("GET /two HTTP/1.1\r\nhost: a.test\r\n\r\n");
  await answered(2);
  assert.match(got, /^HTTP\/1\.1 200/);
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

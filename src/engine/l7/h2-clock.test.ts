// h2-clock.test.ts: an HTTP/2 exchange (own codec, h2c by prior knowledge) times from the read
// that brought the first byte of its HEADERS frame, as HTTP/1.1's from its request's first byte
// (arrival-clock.test.ts): a frame cut by a pause is the client's wait and counts in `request` and
// durationMs. Before, the clock started when the stream reached the exchange, after the frame was
// complete and parsed. The next stream starts at its own frame's read. node:http2's front
// (PORTICO_H2_CODEC=node) starts at its `stream` event, the first point it has a clock: skipped there.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { HttpResponseEvent } from "./events.ts";
import { proxyAll, RecordingBackend, timedClient } from "./testing.ts";
import { Flag, FrameType, PREFACE, frame, settingsFrame } from "../h2/frames.ts";
import { HpackEncoder } from "../h2/hpack-encoder.ts";
import { ownCodec } from "./h2-own.ts";

// GAP_MS is how long the client pauses inside its HEADERS frame (a slow client, the case tested).
const GAP_MS = 200;

const skip = !ownCodec() && "PORTICO_H2_CODEC=node: node:http2's clock starts at its stream event";

test(
  "HTTP/2: a HEADERS frame cut by a pause counts the pause in request and durationMs",
  { skip },
  async (t) => {
    const backend = await new RecordingBackend((data, s) => {
      if (data.includes("\r\n\r\n")) s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    }).start();
    const { server, port } = await proxyAll("l", backend.port);
    const events: HttpResponseEvent[] = [];
    const { client } = await timedClient(t, events, port, () => {
      server.close();
      backend.close();
    });
    const answered = async (n: number) => {
      const deadline = Date.now() + 5000;
      while (events.length < n) {
        assert.ok(Date.now() < deadline, `${events.length} of ${n} response events`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const hpack = new HpackEncoder(0);
    const get = (id: number, path: string) =>
      frame(
        FrameType.HEADERS,
        Flag.END_HEADERS | Flag.END_STREAM,
        id,
        hpack.encode([":method", "GET", ":scheme", "http", ":path", path, ":authority", "a.test"]),
      );
    client.write(Buffer.concat([PREFACE, settingsFrame([])]));
    const one = get(1, "/one");
    client.write(one.subarray(0, 4));
    await new Promise((r) => setTimeout(r, GAP_MS));
    client.write(one.subarray(4));
    await answered(1);
    client.write(get(3, "/two"));
    await answered(2);
    const [first, second] = events as [HttpResponseEvent, HttpResponseEvent];
    assert.equal(first.protocol, "HTTP/2");
    assert.equal(first.path, "/one");
    assert.ok(
      first.durationMs >= GAP_MS * 0.9,
      `durationMs ${first.durationMs} should hold the ${GAP_MS} ms pause`,
    );
    assert.ok(
      first.timings!.request! >= GAP_MS * 0.9,
      `request ${first.timings!.request} should hold the pause`,
    );
    const sum = Object.values(first.timings!).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - first.durationMs) < 1e-6, `parts ${sum} should add up to ${first.durationMs}`);
    // The second stream starts at its own frame's read, not the connection's or the first stream's.
    assert.equal(second.path, "/two");
    assert.ok(second.durationMs < GAP_MS / 2, `second stream ${second.durationMs} ms`);
  },
);

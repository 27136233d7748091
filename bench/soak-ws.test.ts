// soak-ws.test.ts: the soak's WebSocket echo backend and client phase, on a real loopback socket
// with Node's own WebSocket client; and the frame reader on split input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { frameOf, readFrame, startWsEcho, wsPhase } from "./soak-ws.ts";

test("wsPhase exchanges every message with the echo backend and closes", async () => {
  const server = await startWsEcho("127.0.0.1", 0);
  const { port } = server.address() as { port: number };
  try {
    assert.deepEqual(await wsPhase(`ws://127.0.0.1:${port}/ws`, 3, 4, 10_000), { echoed: 12, failed: 0 });
    // Nothing listens on port 1: every connection counts as failed, none hangs.
    const closed = await wsPhase(`ws://127.0.0.1:1/ws`, 2, 1, 10_000);
    assert.deepEqual(closed, { echoed: 0, failed: 2 });
  } finally {
    server.close();
  }
});

test("readFrame waits for a whole frame, unmasks it, and frameOf round-trips lengths past 125", () => {
  const payload = Buffer.from("x".repeat(300));
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  const frame = Buffer.concat([Buffer.from([0x81, 0x80 | 126, 300 >> 8, 300 & 0xff]), mask, masked]);
  assert.equal(readFrame(frame.subarray(0, 100)), undefined);
  const f = readFrame(Buffer.concat([frame, Buffer.from([0x88])]))!;
  assert.equal(f.opcode, 1);
  assert.equal(f.size, frame.length);
  assert.equal(f.payload.toString(), payload.toString());
  const back = readFrame(frameOf(2, payload))!;
  assert.equal(back.opcode, 2);
  assert.deepEqual(back.payload, payload);
});

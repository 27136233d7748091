// engine-bridge.test.ts: engine calls across a real MessageChannel; an unanswered call is rejected.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { RemoteEngine } from "./engine-bridge.ts";

test("RemoteEngine rejects a call the engine side never answers, after its timeout", async () => {
  const { port1, port2 } = new MessageChannel();
  try {
    // port2 receives the call and never replies: a wedged engine thread.
    port2.on("message", () => {});
    const engine = new RemoteEngine(port1, { timeoutMs: 200 });
    await assert.rejects(Promise.resolve(engine.metrics()), /engine did not answer metrics within 0\.2 s/);
  } finally {
    port1.close();
    port2.close();
  }
});

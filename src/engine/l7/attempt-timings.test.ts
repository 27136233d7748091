// attempt-timings.test.ts: the timing parts of a retried exchange stay whole and non-negative when
// the first attempt's h2c session connects late (after its connect timeout and the retry's answer).
import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { once } from "node:events";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { AddressInfo } from "node:net";
import { BackendAttempt } from "./attempt.ts";
import { whenConnected } from "./h2c-bridge.ts";
import { HTTP_RESPONSE_CHANNEL, type ExchangeTimings } from "./events.ts";
import type { ListenerRuntime } from "./runtime.ts";
import type { PickContext } from "../contracts.ts";

// Probe is an attempt with no front: only its timing stamps are exercised.
class Probe extends BackendAttempt {
  readonly method = "GET";
  protected pickContext(): PickContext {
    return {} as PickContext;
  }
  protected send(): void {}
  protected responseSent(): boolean {
    return false;
  }
  protected hasRequestBody(): boolean {
    return false;
  }
  fail(): void {}
  onBegin(): void {}
  onHead(): boolean {
    return true;
  }
  onBody(): void {}
  onTrailers(): void {}
  onComplete(): void {}
  onUpgrade(): void {}
  onUpstreamDrain(): void {}
  /** parts are the exchange's timings ending at end. */
  parts(end: number): ExchangeTimings {
    return this.timings(end, false);
  }
}

test("a first attempt's h2c session connecting after the retry answered moves no timing part", async (t) => {
  const listener = () => undefined;
  subscribe(HTTP_RESPONSE_CHANNEL, listener);
  const server = http2.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.after(() => {
    session.destroy();
    server.close();
    unsubscribe(HTTP_RESPONSE_CHANNEL, listener);
  });
  const ex = new Probe({} as ListenerRuntime);
  assert.equal(ex.timed, true);
  // Attempt 1 waits for the session to connect.
  ex.stampAsk(false);
  assert.equal(session.connecting, true);
  whenConnected(session, ex);
  // Its connect timeout fired: attempt 2 takes a ready connection and the backend answers.
  ex.stampAsk(true);
  ex.stampHead();
  // Then attempt 1's session connects.
  await once(session, "connect");
  const end = performance.now();
  const parts = ex.parts(end);
  for (const [part, ms] of Object.entries(parts)) assert.ok(ms! >= 0, `${part} is ${ms}`);
  assert.deepEqual(Object.keys(parts), ["request", "connect", "ttfb", "transfer"]);
  // The parts still add up to the exchange (a late stamp would have moved connect past ttfb).
  const sum = Object.values(parts).reduce((a, b) => a + b!, 0);
  assert.ok(Math.abs(sum - (end - ex.start)) < 1e-6, `parts sum ${sum}, exchange ${end - ex.start}`);
});

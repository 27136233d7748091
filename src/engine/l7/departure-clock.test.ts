// departure-clock.test.ts: every exchange of a connection whose response leaves in one flush
// stops its clock at that flush (write-batch.ts flushedAt, read just before it), not after: the
// second of two pipelined exchanges finished in one turn, and a held response sent early by a
// later request's close. Pipelined requests sent in one write start at the same read, so their
// durations must be equal; before, the later clock was read after the bytes had left.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { HttpResponseEvent } from "./events.ts";
import {
  catchAllListener,
  listen,
  poolOf,
  RecordingBackend,
  RoundRobinUpstreams,
  snapshotOf,
  timedClient,
} from "./testing.ts";
import { compileHttpWith } from "./compile.ts";
import { defaultLimits } from "./runtime.ts";

// proxied: "/local" is answered by the proxy itself, anything else by a backend that answers at once.
async function proxied(t: TestContext) {
  const events: HttpResponseEvent[] = [];
  const backend = await new RecordingBackend((data, s) => {
    if (data.includes("\r\n\r\n")) s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  }).start();
  const pools = { p: poolOf("p", [backend.port]) };
  const listener = catchAllListener("l");
  listener.virtualHosts[0]!.routes.unshift({
    name: "local",
    match: { path: { type: "Exact", value: "/local" } },
    action: { type: "DirectResponse", status: 200, body: "here" },
  });
  const deps = {
    snapshot: snapshotOf(listener, pools),
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  };
  const { server, port } = await listen({ current: compileHttpWith(listener, deps, defaultLimits) });
  const { client, got } = await timedClient(t, events, port, () => {
    server.close();
    backend.close();
  });
  // answered waits for n events and for the client to have read what matches re.
  const answered = async (n: number, re: RegExp) => {
    const deadline = Date.now() + 5000;
    while (events.length < n || !re.test(got())) {
      assert.ok(Date.now() < deadline, `${events.length} of ${n} events; got ${JSON.stringify(got())}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { client, events, answered, got };
}

test("a pipelined exchange answered in the turn the one before it finished stops its clock at their flush", async (t) => {
  const { client, events, answered, got } = await proxied(t);
  // /one goes to the backend; /local starts when /one finished (in that turn) and is answered at once.
  client.write("GET /one HTTP/1.1\r\nhost: a.test\r\n\r\nGET /local HTTP/1.1\r\nhost: a.test\r\n\r\n");
  await answered(2, /here\n$/);
  assert.match(got(), /^HTTP\/1\.1 200[^]*\r\n\r\nokHTTP\/1\.1 200[^]*\r\n\r\nhere\n$/);
  const [one, local] = events as [HttpResponseEvent, HttpResponseEvent];
  assert.deepEqual([one.path, local.path], ["/one", "/local"]);
  // Same first read, same flush: the same duration.
  assert.equal(local.durationMs, one.durationMs);
});

test("a held response sent early by a later request's close stops its clock before that flush", async (t) => {
  const { client, events, answered } = await proxied(t);
  // /one's response is held for the end of the turn; the malformed request after it gets a 400 and
  // the connection closes, which sends both responses at once.
  client.write("GET /one HTTP/1.1\r\nhost: a.test\r\n\r\nGET /two HTTP/1.1\r\nno colon here\r\n\r\n");
  await answered(2, /\r\n\r\nokHTTP\/1\.1 400 [^]*\n$/);
  const [one, bad] = events as [HttpResponseEvent, HttpResponseEvent];
  assert.equal(one.path, "/one");
  assert.equal(bad.status, 400);
  assert.equal(one.durationMs, bad.durationMs);
});

// h2spec against Portico's HTTP/2 front end (h2c prior knowledge on an HTTP listener), through a
// route to a real backend. The cases node:http2 itself fails (docs/http-conformance.md) are left
// out by id, so any other failure is a regression of Portico's own HTTP/2 handling.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { proxyAll } from "../../src/engine/l7/testing.ts";
import { h2specMissing, lateBackend, runH2spec } from "../support/h2spec.ts";

const missing = h2specMissing();

// Every h2spec case but http2/3.5/2 (h2c shares the port with HTTP/1.1: those bytes are an HTTP/1.1
// request) and the nine node:http2 fails on its own: 5.1/8, 9, 11, 12, 5.1.1/2, 5.3.1/2, 6.3/1,
// 6.7/2, 6.9.1/3.
const specs = [
  "generic",
  "hpack",
  "http2/3.5/1",
  "http2/4",
  ...[1, 2, 3, 4, 5, 6, 7, 10, 13].map((i) => `http2/5.1/${i}`),
  "http2/5.1.1/1",
  "http2/5.1.2",
  "http2/5.3.1/1",
  "http2/5.4",
  "http2/5.5",
  "http2/6.1",
  "http2/6.2",
  "http2/6.3/2",
  "http2/6.4",
  "http2/6.5",
  "http2/6.6",
  "http2/6.7/1",
  "http2/6.7/3",
  "http2/6.7/4",
  "http2/6.8",
  "http2/6.9/1",
  "http2/6.9/2",
  "http2/6.9/3",
  "http2/6.9.1/1",
  "http2/6.9.1/2",
  "http2/6.9.2",
  "http2/6.10",
  "http2/7",
  "http2/8",
];

test("h2spec: Portico's h2c front end passes every case node:http2 passes", { skip: missing }, async () => {
  const backend = await lateBackend();
  const { server, port } = await proxyAll("h2spec:80", backend.port);
  after(() => {
    server.close();
    backend.close();
  });
  const r = await runH2spec(port, specs);
  assert.equal(r.failed, 0, r.failures);
  assert.equal(r.total, 135, "the case list drifted from h2spec's");
});

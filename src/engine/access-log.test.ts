import { test } from "node:test";
import assert from "node:assert/strict";
import { formatAccessLine } from "./access-log.ts";
import type { HttpResponseEvent } from "./l7/events.ts";

const base: HttpResponseEvent = {
  listener: "l:443",
  route: "r",
  vhost: "*",
  pool: "p",
  backend: "127.0.0.1:8080",
  status: 0,
  durationMs: 12.3456789,
  bytesIn: 0,
  bytesOut: 10,
  client: "127.0.0.1",
  method: "GET",
  authority: "a.example.com",
  path: "/x",
  protocol: "HTTP/2",
};

test("the line carries the split timings to the µs, tls, user agent and outcome", () => {
  const line = JSON.parse(
    formatAccessLine(
      {
        ...base,
        timings: { request: 0.0123456, connect: 0, ttfb: 10.1234567, transfer: 2.2098766 },
        tls: "TLSv1.3",
        userAgent: "curl/8.14.1",
        outcome: "reset",
      },
      new Date(0),
    ),
  ) as Record<string, unknown>;
  assert.deepEqual(line.timings, { request: 0.012, connect: 0, ttfb: 10.123, transfer: 2.21 });
  assert.equal(line.durationMs, 12.346);
  assert.equal(line.tls, "TLSv1.3");
  assert.equal(line.userAgent, "curl/8.14.1");
  assert.equal(line.outcome, "reset");
});

test("a line without them is the older line: empty and absent fields are left out", () => {
  const line = JSON.parse(
    formatAccessLine({ ...base, tls: "", userAgent: "", timings: { request: 1 } }, new Date(0)),
  ) as Record<string, unknown>;
  assert.deepEqual(line.timings, { request: 1 });
  for (const k of ["tls", "userAgent", "outcome", "error", "waf"]) assert.ok(!(k in line), k);
  const older = JSON.parse(formatAccessLine(base, new Date(0))) as Record<string, unknown>;
  assert.ok(!("timings" in older));
});

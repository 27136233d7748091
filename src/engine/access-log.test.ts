import { test } from "node:test";
import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatAccessLine, startAccessLog } from "./access-log.ts";
import { HTTP_RESPONSE_CHANNEL, type HttpResponseEvent } from "./l7/events.ts";

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

test("startAccessLog writes every event's line in order, a turn's lines at its end, the rest on stop", async () => {
  const dir = mkdtempSync(join(tmpdir(), "access-log-"));
  const file = join(dir, "access.log");
  let clock = 0;
  // Two events per millisecond: the cached time string must follow the clock.
  const stop = startAccessLog(file, () => new Date(Math.floor(clock++ / 2)));
  try {
    const ch = channel(HTTP_RESPONSE_CHANNEL);
    for (let i = 0; i < 5; i++) ch.publish({ ...base, path: `/${i}` });
    // The lines of that turn are handed to the stream at its end.
    await new Promise((r) => setImmediate(r));
    // A batch larger than FLUSH_BYTES is written without waiting for the end of the turn.
    for (let i = 5; i < 1005; i++) ch.publish({ ...base, path: `/${i}` });
  } finally {
    stop();
  }
  // stop ends the stream; poll until its last write reached the file.
  const deadline = Date.now() + 5000;
  let lines: { path: string; time: string }[] = [];
  while (Date.now() < deadline) {
    lines = readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { path: string; time: string });
    if (lines.length === 1005) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(
    lines.map((l) => l.path),
    Array.from({ length: 1005 }, (_, i) => `/${i}`),
  );
  assert.deepEqual(
    lines.slice(0, 4).map((l) => l.time),
    [new Date(0), new Date(0), new Date(1), new Date(1)].map((d) => d.toISOString()),
  );
});

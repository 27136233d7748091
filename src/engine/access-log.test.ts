import { test } from "node:test";
import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatAccessLine, startAccessLog } from "./access-log.ts";
import { HTTP_RESPONSE_CHANNEL, type HttpResponseEvent } from "./l7/events.ts";
import { whenSent } from "./net/write-batch.ts";

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

/** lineCount reads how many whole lines the file holds now (0 before the stream created it). */
function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").length - 1 : 0;
}

/** until polls cond on the event loop until it holds (or fails at the deadline). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * heldUntil polls cond without returning to the event loop (the turn does not end): the access
 * log's file writes run on libuv's thread pool meanwhile, so they can land while this turn lasts.
 */
function heldUntil(cond: () => boolean, ms: number): boolean {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) if (cond()) return true;
  return cond();
}

test("startAccessLog writes every event's line in order, a batch over FLUSH_BYTES within its turn, the rest on stop", async () => {
  const dir = mkdtempSync(join(tmpdir(), "access-log-"));
  const file = join(dir, "access.log");
  let clock = 0;
  // Two events per millisecond: the cached time string must follow the clock.
  const stop = startAccessLog(file, () => new Date(Math.floor(clock++ / 2)));
  let stopped: Promise<void> | undefined;
  try {
    const ch = channel(HTTP_RESPONSE_CHANNEL);
    for (let i = 0; i < 5; i++) ch.publish({ ...base, path: `/${i}` });
    // The lines of that callback are handed to the stream together once it returned.
    await until(() => lineCount(file) === 5, "the first batch is written");
    // A batch larger than FLUSH_BYTES (64 KiB; ~300 bytes a line) is written without waiting for
    // the end of the turn: its first part is in the file while this turn still runs.
    for (let i = 5; i < 1005; i++) ch.publish({ ...base, path: `/${i}` });
    assert.ok(
      heldUntil(() => lineCount(file) > 5, 5000),
      "the lines past FLUSH_BYTES reach the file before the turn ends",
    );
  } finally {
    stopped = stop();
  }
  // stop's promise resolves once the stream wrote everything.
  await stopped;
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { path: string; time: string });
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

test("the lines of write-batch's release are written right after it, ahead of any later immediate", async () => {
  const dir = mkdtempSync(join(tmpdir(), "access-log-"));
  const file = join(dir, "access.log");
  const stop = startAccessLog(file);
  try {
    const ch = channel(HTTP_RESPONSE_CHANNEL);
    ch.publish({ ...base, path: "/open" });
    await until(() => lineCount(file) === 1, "the stream is open and idle");
    // The event is published in a release (a setImmediate callback), as the engine's are. The
    // immediate queued in sent() stands for the next turn's release: it must find the log's write
    // issued already, not queued behind it (it would then delay that turn's held responses).
    const logged = await new Promise<boolean>((done) => {
      whenSent({
        sent: () => setImmediate(() => done(heldUntil(() => lineCount(file) === 2, 2000))),
        depart: () => ch.publish({ ...base, path: "/released" }),
      });
    });
    assert.ok(logged, "the release's line was written before the next immediate ran");
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { closeSync, constants, existsSync, openSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cutLines, formatAccessLine, PIPE_BUF, startAccessLog } from "./access-log.ts";
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
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
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
  let stopped: Promise<number> | undefined;
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

test("cutLines cuts at line ends into pieces of at most PIPE_BUF bytes; a longer line stays whole", () => {
  const line = (n: number, c: string) => c.repeat(n - 1) + "\n";
  const text = line(1000, "a") + line(3000, "b") + line(200, "c") + line(5000, "d") + line(10, "é");
  const pieces = cutLines(Buffer.from(text));
  assert.equal(Buffer.concat(pieces).toString(), text);
  for (const p of pieces) {
    assert.equal(p.at(-1), 10, "each piece ends at a line's end");
    assert.ok(p.length <= PIPE_BUF || !p.subarray(0, -1).includes(10), "over PIPE_BUF only a single line");
  }
  assert.deepEqual(
    pieces.map((p) => p.length),
    [4000, 200, 5000, 19],
  );
});

// writerStart is a child process's script up to its stop and its channel ch: it logs to target.
function writerStart(target: string): string {
  const module = new URL("./access-log.ts", import.meta.url).href;
  const events = new URL("./l7/events.ts", import.meta.url).href;
  return `
    const { startAccessLog } = await import(${JSON.stringify(module)});
    const { HTTP_RESPONSE_CHANNEL } = await import(${JSON.stringify(events)});
    const { channel } = await import("node:diagnostics_channel");
    const stop = startAccessLog(${JSON.stringify(target)});
    const ch = channel(HTTP_RESPONSE_CHANNEL);`;
}

test("four processes logging to one FIFO: every line arrives whole (pieces of at most PIPE_BUF)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "access-log-fifo-"));
  const fifo = join(dir, "log");
  execFileSync("mkfifo", [fifo]);
  // Each writer publishes 3000 long lines in one callback: 64 KiB batches, larger than the pipe.
  const code = `${writerStart(fifo)}
    const who = process.argv[1];
    for (let i = 0; i < 3000; i++) ch.publish({ ...${JSON.stringify(base)}, path: "/" + who + "/" + i + "/" + "x".repeat(300) });
    await stop();`;
  const writers = ["a", "b", "c", "d"].map((who) =>
    spawn(process.execPath, ["--input-type=module", "-e", code, who], {
      stdio: ["ignore", "inherit", "inherit"],
    }),
  );
  // The test holds a write end open itself: the reader sees no EOF between the two writers (a
  // writer opening a FIFO with no reader would block for good). It reads until 12000 lines came.
  // The read end opens non-blocking (no writer yet), then the write end finds a reader at once.
  const reader = new Socket({
    fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK),
    writable: false,
  });
  const hold = openSync(fifo, "w");
  let text = "";
  let count = 0;
  reader.on("data", (chunk: Buffer) => {
    const s = chunk.toString("latin1");
    text += s;
    for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", i + 1)) count++;
  });
  try {
    await until(() => count >= 12_000, "12000 lines read", 30_000);
    for (const w of writers) if (w.exitCode === null) await once(w, "exit");
    const lines = text.split("\n").filter(Boolean);
    const bad = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    assert.deepEqual(bad.slice(0, 1), [], `${bad.length} interleaved lines`);
    assert.equal(lines.length, 12_000);
  } finally {
    for (const w of writers) w.kill();
    closeSync(hold);
    reader.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a FIFO whose reader holds it open and reads nothing: stop(withinMs) drops the rest, says so, and the process exits", async () => {
  const dir = mkdtempSync(join(tmpdir(), "access-log-stuck-"));
  const fifo = join(dir, "log");
  execFileSync("mkfifo", [fifo]);
  // The test is the stuck reader: it opens the read end and never reads (the pipe fills at 64 KiB).
  const held = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  // What a worker's shutdown does: stop with the bound, then process.exit (which a write blocked
  // in the thread pool would keep from returning).
  const code = `${writerStart(fifo)}
    for (let i = 0; i < 2000; i++) ch.publish({ ...${JSON.stringify(base)}, path: "/" + "x".repeat(300) });
    await new Promise((r) => setImmediate(r));
    const dropped = await stop(300);
    process.stdout.write(String(dropped));
    process.exit(0);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c));
  child.stderr.on("data", (c: Buffer) => (err += c));
  try {
    await until(
      () => child.exitCode !== null,
      "the process exits though its log's reader reads nothing",
      15_000,
    );
    assert.equal(child.exitCode, 0, err);
    const dropped = Number(out);
    // 2000 lines of ~500 bytes: the pipe took at most 64 KiB of them.
    assert.ok(dropped > 1000 && dropped < 2000, out);
    assert.match(
      err,
      new RegExp(`access log \\(${fifo}\\) took no line for 300 ms at exit; ${dropped} lines dropped`),
    );
    assert.equal(err.split("\n").filter(Boolean).length, 1, err);
  } finally {
    child.kill();
    closeSync(held);
    rmSync(dir, { recursive: true, force: true });
  }
});

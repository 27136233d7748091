// soak-probe.js: loaded into `portico run` by `npm run bench:soak` (node --import, through
// NODE_OPTIONS) to read what only the process itself knows: V8's heap, external and ArrayBuffer
// memory, and its libuv handles by type. Plain JavaScript, so no type stripper is loaded into the
// process it measures. It answers GET / on the Unix socket SOAK_PROBE_SOCKET with one JSON
// object; GET /?gc=1 first runs a full collection, so the heap read is what is live, not garbage
// waiting for the next collection. Main thread only: the engine runs there (src/cli/run.ts); the
// controller's worker thread has its own heap, counted in RSS only. The probe's own server is one
// handle (PipeServerWrap) and, while answering, one Pipe: constant, so no growth comes from it.
/* global process */
import { createServer } from "node:http";
import { isMainThread } from "node:worker_threads";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const path = process.env.SOAK_PROBE_SOCKET;
if (isMainThread && path) {
  // The same way src/engine/idle-gc.ts reaches gc(): --expose-gc for one moment.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc");
  setFlagsFromString("--no-expose-gc");
  const server = createServer((req, res) => {
    if (req.url?.includes("gc=1")) gc({ type: "major", execution: "sync" });
    const m = process.memoryUsage();
    const h = getHeapStatistics();
    const handles = {};
    for (const r of process.getActiveResourcesInfo()) handles[r] = (handles[r] ?? 0) + 1;
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        nativeContexts: h.number_of_native_contexts,
        handles,
      }),
    );
  });
  server.listen(path);
  server.unref();
}

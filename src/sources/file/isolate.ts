// isolate.ts: parses a large manifest in a throwaway worker thread with a bounded heap. Parsing
// costs about 60 bytes of heap per byte of small objects (5 MB of Services: 2.9 s, 300 MB RSS), so
// a dense 64 MB file could exhaust the controller's heap and crash the process — a crash loop, as
// long as the file is there. In its own thread the parse can only fail: the file gets an error
// naming it, its last good version keeps serving, and the thread's memory is returned on exit.
import { Worker } from "node:worker_threads";
import { parseManifests, type ParseResult } from "./parse.ts";

/** ISOLATE_FROM_BYTES: files at least this big are parsed in their own thread (1 MiB). */
export const ISOLATE_FROM_BYTES = 1 << 20;

/** PARSE_HEAP_MB bounds the parse thread's heap (2 GiB: ~30 MB of small objects). */
export const PARSE_HEAP_MB = 2048;

// The build (.cache/dist) holds .js files; tests run the .ts sources.
const workerFile = new URL(
  import.meta.url.endsWith(".ts") ? "./parse-worker.ts" : "./parse-worker.js",
  import.meta.url,
);

/** parseIsolated parses bytes of path: inline when small, else in a worker; never throws. */
export async function parseIsolated(
  path: string,
  bytes: Buffer,
  heapMb = PARSE_HEAP_MB,
): Promise<ParseResult> {
  if (bytes.length < ISOLATE_FROM_BYTES) return parseManifests(path, bytes.toString("utf8"));
  const failed = (message: string): ParseResult => ({
    objects: [],
    errors: [{ file: path, line: 0, object: "", message }],
    notices: [],
  });
  return new Promise<ParseResult>((resolve) => {
    let result: ParseResult | undefined;
    const worker = new Worker(workerFile, {
      workerData: { path, bytes },
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    worker.once("message", (r: ParseResult) => (result = r));
    worker.once("error", (e: Error & { code?: string }) => {
      result ??=
        e.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? failed(
              `parsing this ${(bytes.length / 1048576).toFixed(1)} MiB file needs more than ${heapMb} MiB of memory; it was not read. Split it into smaller files`,
            )
          : failed(`cannot parse: ${e.message}`);
    });
    worker.once("exit", () =>
      resolve(result ?? failed("cannot parse: the parser thread exited without an answer")),
    );
  });
}

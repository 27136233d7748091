// lazy-node.ts: Node's http, https, http2 and worker_threads modules, loaded when first used rather
// than when the engine's modules load. An idle engine on the own HTTP/1.1 and HTTP/2 paths uses
// none of them: they serve health probes, subrequests (ext-auth, error pages), OCSP fetches,
// backends spoken to over HTTP/2, `PORTICO_H2_CODEC=node` and the bcrypt threads of Basic auth.
//
// Why not `import`: an ES module import of a builtin builds its namespace from every export, and
// reads the lazy ones too — `import ... from "node:http"` loads undici (http's WebSocket export),
// webstreams, http2, zlib, assert and worker_threads. Measured on a bare Node 24 with net, tls and
// crypto loaded: +8.4 MiB RSS for the import of node:http, +3.1 MiB for require("node:http"),
// +5 MiB for node:http2 either way (it loads http, assert and readline). Loaded here through
// require, and only on first use, a fresh engine holds none of it (docs/performance.md, Memory).
// Types come from `import type`, which loads nothing.
import { createRequire } from "node:module";
import type * as Http from "node:http";
import type * as Https from "node:https";
import type * as Http2 from "node:http2";
import type * as WorkerThreads from "node:worker_threads";

const require = createRequire(import.meta.url);

let http: typeof Http | undefined;
let https: typeof Https | undefined;
let http2: typeof Http2 | undefined;
let workerThreads: typeof WorkerThreads | undefined;

/** nodeHttp is node:http, loaded on the first call. */
export function nodeHttp(): typeof Http {
  return (http ??= require("node:http") as typeof Http);
}

/** nodeHttps is node:https, loaded on the first call. */
export function nodeHttps(): typeof Https {
  return (https ??= require("node:https") as typeof Https);
}

/** nodeHttp2 is node:http2, loaded on the first call. */
export function nodeHttp2(): typeof Http2 {
  return (http2 ??= require("node:http2") as typeof Http2);
}

/** nodeWorkerThreads is node:worker_threads, loaded on the first call. */
export function nodeWorkerThreads(): typeof WorkerThreads {
  return (workerThreads ??= require("node:worker_threads") as typeof WorkerThreads);
}

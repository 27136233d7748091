// subrequest.ts: a request the proxy makes on its own behalf for a client's request — to an
// external authentication service (ext-auth.ts) or to a default backend for an error page
// (error-pages.ts). A pool names a cluster Service: one of its endpoints is picked as for any
// request; otherwise the URL's own host and port are dialled. Bodies are never sent; answers are
// read whole up to a bound (auth answers and error pages are small), then the caller decides.
import type http from "node:http";
import type https from "node:https";
import { nodeHttp, nodeHttps } from "../lazy-node.ts";
import type { ListenerRuntime } from "./runtime.ts";

/** SUBREQUEST_MAX_BODY bounds the body read of a subrequest's answer (more is an error). */
export const SUBREQUEST_MAX_BODY = 64 * 1024;

// Kept-alive connections to auth services and default backends: one request per client request.
// Made on the first subrequest (lazy-node.ts: node:http is not loaded before).
let plainAgent: http.Agent | undefined;
let tlsAgent: https.Agent | undefined;

/** SubResponse is a subrequest's answer. */
export interface SubResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** SubrequestSpec is what to ask, and where. */
export interface SubrequestSpec {
  /** url is the target (its authority is the Host; dialled unless pool is set). */
  url: URL;
  /** pool, when set, is dialled instead of the URL's host (a cluster Service's endpoints). */
  pool?: string | undefined;
  method: string;
  headers: http.OutgoingHttpHeaders;
  timeoutMs: number;
  /** sourceIp is the client's, for a pool balanced by source address. */
  sourceIp: string;
  signal?: AbortSignal | undefined;
}

/** subrequest makes one request without a body; it rejects with a reason the logs can carry. */
export function subrequest(rt: ListenerRuntime, s: SubrequestSpec): Promise<SubResponse> {
  const tls = s.url.protocol === "https:";
  let host = s.url.hostname.replace(/^\[|\]$/g, "");
  let port = Number(s.url.port || (tls ? 443 : 80));
  if (s.pool !== undefined) {
    const backend = rt.upstreams.pick(s.pool, { sourceIp: s.sourceIp });
    if (backend === undefined) return Promise.reject(new Error(`no ready endpoint in pool ${s.pool}`));
    host = backend.address;
    port = backend.port;
  }
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      host,
      port,
      method: s.method,
      path: s.url.pathname + s.url.search,
      headers: { ...s.headers, host: s.url.host },
      agent: tls
        ? (tlsAgent ??= new (nodeHttps().Agent)({ keepAlive: true, maxFreeSockets: 16 }))
        : (plainAgent ??= new (nodeHttp().Agent)({ keepAlive: true, maxFreeSockets: 16 })),
      timeout: s.timeoutMs,
      signal: s.signal,
    };
    if (tls) options.servername = s.url.hostname;
    const req = (tls ? nodeHttps() : nodeHttp()).request(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > SUBREQUEST_MAX_BODY) {
          req.destroy(new Error(`answer larger than ${SUBREQUEST_MAX_BODY} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${s.timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** forwardedHeaders copies a request's headers for a subrequest, less hop-by-hop and framing ones. */
export function forwardedHeaders(pairs: readonly [string, string][]): http.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const n = name.toLowerCase();
    if (SKIPPED.has(n)) continue;
    const prev = out[n];
    if (prev === undefined) out[n] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[n] = [prev, value];
  }
  return out;
}

// Hop-by-hop headers (RFC 9110 §7.6.1), framing of a body that is not sent, and Host (the target's).
const SKIPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "trailer",
  "content-length",
  "expect",
  "host",
]);

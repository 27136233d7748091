// h2c.ts: HTTP/2 cleartext (prior knowledge) to backends of "h2c" pools, for gRPC: one multiplexed
// session per backend, request and response streamed, trailers passed through.
import type http2 from "node:http2";
import { ErrorCode } from "../h2/frames.ts";
import type { Backend } from "../contracts.ts";
import type { H2Exchange } from "./h2-exchange.ts";
import { h2Session } from "./h2-sessions.ts";
import { whenConnected } from "./h2c-bridge.ts";

// Request headers never forwarded: pseudo-headers are rebuilt, the rest are HTTP/2-illegal hop-by-hop.
const SKIP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);
/** h2cRequest forwards ex's stream to backend over HTTP/2. */
export function h2cRequest(ex: H2Exchange, backend: Backend): void {
  const h = ex.headers;
  const out: http2.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (k.charCodeAt(0) === 58 /* : */ || v === undefined || SKIP.has(k)) continue;
    if (k === "te" && v !== "trailers") continue;
    out[k] = v;
  }
  // The requestHeaders phase's edits (phases.ts): rewritten host and path, header changes.
  const e = ex.edits;
  const p = e?.path ?? ex.path;
  const host = e?.host ?? ex.host;
  const mod = e?.headers;
  const ip = ex.clientIp();
  const xff = h["x-forwarded-for"];
  out["x-forwarded-for"] = xff === undefined ? ip : `${String(xff)}, ${ip}`;
  out["x-forwarded-proto"] = ex.rt.proto;
  out["x-forwarded-host"] = ex.host;
  // After the forwarding fields: the route's edits have the last word on those too.
  if (mod !== undefined) {
    for (const n of mod.remove ?? []) delete out[n.toLowerCase()];
    for (const x of mod.set ?? []) out[x.name.toLowerCase()] = x.value;
    for (const x of mod.add ?? []) out[x.name.toLowerCase()] = x.value;
  }
  out[":method"] = h[":method"];
  out[":path"] = p + (ex.query === "" ? "" : "?" + ex.query);
  out[":authority"] = host;
  const tls = ex.rt.pools[ex.pool]?.tls;
  out[":scheme"] = tls === undefined ? "http" : "https";
  // A body the WAF held (h2-exchange.ts wafBody) goes first; the rest, if any, is piped after it.
  const held = ex.held;
  const ended = ex.stream.requestEnded;
  let req: http2.ClientHttp2Stream;
  try {
    const session = h2Session(backend, tls);
    if (ex.timed) ex.stampAsk(false);
    whenConnected(session, ex);
    req = session.request(out, {
      endStream: ended && (held === undefined || held.length === 0),
    });
  } catch (err) {
    ex.fail(502, `cannot open a stream to backend ${backend.id}: ${(err as Error).message}`);
    return;
  }
  const timeout = ex.route?.backendTimeoutMs ?? ex.rt.listener.requestTimeoutMs;
  if (timeout > 0)
    req.setTimeout(timeout, () => {
      ex.outcome = "timeout";
      ex.fail(504, `backend ${backend.id} of route ${ex.route?.name} timed out`);
      req.close(ErrorCode.CANCEL);
    });
  if (held !== undefined) for (const c of held) req.write(c);
  if (!ended) {
    // The body goes on as it arrives, paused while the backend stream is full (what pipe did);
    // past the route's body limit it goes no further.
    const front = ex.stream;
    const resume = () => front.resume();
    ex.readBody({
      data(chunk) {
        if (!ex.countIn(chunk.length)) {
          front.body(undefined);
          req.destroy();
          return;
        }
        if (!req.write(chunk)) {
          front.pause();
          req.once("drain", resume);
        }
      },
      end() {
        req.end();
      },
    });
  } else if (held !== undefined && held.length > 0) req.end();
  req.on("response", (headers) => {
    ex.stampHead();
    const status = Number(headers[":status"]);
    // WAF phase 3 (waf.ts): an answer of the WAF replaces the backend's response.
    if (ex.waf !== undefined && ex.wafResponse(status, headers)) {
      req.removeAllListeners("data");
      req.removeAllListeners("end");
      req.close(ErrorCode.CANCEL);
      return;
    }
    ex.setStatus(status);
    const resp: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (k !== ":status" && v !== undefined) resp[k] = v;
    resp[":status"] = status;
    ex.editResponse(resp);
    if (ex.stream.gone) return;
    // WAF phase 4 sees the body before the client sees anything of the response (as exchange.ts
    // and h2-exchange.ts hold it for HTTP/1.1 backends).
    const w = ex.waf;
    if (w !== undefined && ex.method !== "HEAD" && status !== 204 && status !== 304 && w.wantsResponseBody) {
      heldResponse = { resp, chunks: [], size: 0 };
      return;
    }
    respond(resp);
  });
  // heldResponse is a response held for WAF phase 4: its head (not yet sent) and body so far.
  let heldResponse: { resp: http2.OutgoingHttpHeaders; chunks: Buffer[]; size: number } | undefined;
  const respond = (resp: http2.OutgoingHttpHeaders) => {
    ex.stream.respond(resp, "trailers");
  };
  const forward = (chunk: Buffer) => {
    ex.countOut(chunk.length);
    if (!ex.stream.write(chunk)) {
      req.pause();
      ex.stream.onceDrain(() => req.resume());
    }
  };
  // release runs WAF phase 4 on the held response: sends it on (true), or the WAF's answer instead.
  const release = (): boolean => {
    const h = heldResponse!;
    heldResponse = undefined;
    if (ex.wafResponseBody(h.chunks, h.size)) {
      req.removeAllListeners("data");
      req.removeAllListeners("end");
      req.close(ErrorCode.CANCEL);
      return false;
    }
    if (ex.stream.gone) return false;
    respond(h.resp);
    for (const c of h.chunks) forward(c);
    return true;
  };
  req.on("trailers", (t) => {
    const flat: string[] = [];
    for (const [k, v] of Object.entries(t)) if (v !== undefined) flat.push(k, String(v));
    ex.setTrailers(flat);
  });
  req.on("data", (chunk: Buffer) => {
    const h = heldResponse;
    if (h === undefined) return forward(chunk);
    h.chunks.push(chunk);
    h.size += chunk.length;
    if (h.size > ex.waf!.responseBodyLimit) release();
  });
  req.on("end", () => {
    if (heldResponse !== undefined && !release()) return;
    ex.endResponse();
    ex.finish(true);
  });
  req.on("error", (err: Error) => {
    ex.outcome ??= "reset";
    ex.fail(502, `backend ${backend.id} of route ${ex.route?.name} failed: ${err.message}`);
  });
  ex.stream.onClose(() => {
    if (!req.closed) req.close(ErrorCode.CANCEL);
  });
}

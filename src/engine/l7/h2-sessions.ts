// h2-sessions.ts: the HTTP/2 sessions to the backends of "h2c" pools (gRPC), one multiplexed
// session per backend and TLS policy, shared by both fronts (h2c.ts for HTTP/2 clients,
// h2c-bridge.ts for HTTP/1.1 clients). A pool with `tls` speaks HTTP/2 over TLS (ALPN h2) with
// the same verification as an HTTP/1.1 TLS pool (upstream.ts tlsOptions): ingress-nginx's GRPCS,
// or a BackendTLSPolicy on a gRPC Service — never cleartext when TLS was asked for.
import type http2 from "node:http2";
import { nodeHttp2 } from "../lazy-node.ts";
import type { UpstreamTls } from "../../model/ir.ts";
import type { Backend } from "../contracts.ts";
import { policyKey, tlsOptions } from "./upstream.ts";

const sessions = new Map<string, http2.ClientHttp2Session>();

/** h2Session is the live session to backend b (over TLS when t is set), opened on first use. */
export function h2Session(b: Backend, t: UpstreamTls | undefined): http2.ClientHttp2Session {
  const key = t === undefined ? b.id : `${b.id}|${policyKey(t)}`;
  const hit = sessions.get(key);
  if (hit !== undefined && !hit.closed && !hit.destroyed) return hit;
  const host = b.address.includes(":") ? `[${b.address}]` : b.address;
  const s =
    t === undefined
      ? nodeHttp2().connect(`http://${host}:${b.port}`)
      : nodeHttp2().connect(`https://${host}:${b.port}`, tlsOptions(t, ["h2"]));
  s.on("error", () => s.destroy());
  s.on("close", () => sessions.get(key) === s && sessions.delete(key));
  // Idle sessions must not keep the process alive.
  s.unref();
  sessions.set(key, s);
  return s;
}

// tls-version.ts: the negotiated TLS version of a client connection, for the response event
// (analytics counts requests by TLS version). Read once per connection, not per request: the
// version is fixed once the handshake completed, and getProtocol() is a call into OpenSSL.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Http2Session } from "node:http2";

/** tlsVersionOf is socket's negotiated TLS version ("TLSv1.3"), or "" for plain TCP. */
export function tlsVersionOf(socket: Socket | { readonly encrypted?: boolean } | undefined): string {
  if (socket === undefined || (socket as TLSSocket).encrypted !== true) return "";
  return (socket as TLSSocket).getProtocol() ?? "";
}

// bySession caches the version per HTTP/2 session (a session carries many streams).
const bySession = new WeakMap<Http2Session, string>();

/** sessionTlsVersion is tlsVersionOf for an HTTP/2 session's socket, read once per session. */
export function sessionTlsVersion(session: Http2Session | undefined): string {
  if (session === undefined) return "";
  let v = bySession.get(session);
  if (v === undefined) {
    // A closed session has no socket left to ask (its proxy throws): nothing to cache then.
    if (session.destroyed) return "";
    bySession.set(session, (v = tlsVersionOf(session.socket)));
  }
  return v;
}

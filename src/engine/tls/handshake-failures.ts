// handshake-failures.ts: why TLS handshakes fail, in a few stable reasons (the `reason` label of
// portico_tls_handshake_failures_total), and the one failure a client can be told about in its own
// language: plain HTTP sent to a TLS port gets a plain-HTTP 400 saying to use https, as nginx does.
import { channel } from "node:diagnostics_channel";
import type { Socket } from "node:net";

/** TLS_FAILURE_CHANNEL carries a TlsFailureEvent per failed server handshake. */
export const TLS_FAILURE_CHANNEL = "portico:tls.handshake.failed";
const failed = channel(TLS_FAILURE_CHANNEL);

/** TlsFailureReason is a bounded set: metrics label values must not come from error texts. */
export type TlsFailureReason =
  | "plain_http"
  | "not_tls"
  | "protocol_version"
  | "no_shared_cipher"
  | "certificate_rejected_by_client"
  | "client_certificate"
  | "timeout"
  | "connection_closed"
  | "other";

/** TlsFailureEvent says which listener's handshake failed and why. */
export interface TlsFailureEvent {
  listener: string;
  reason: TlsFailureReason;
}

const BY_CODE: Record<string, TlsFailureReason> = {
  ERR_SSL_HTTP_REQUEST: "plain_http",
  ERR_SSL_HTTPS_PROXY_REQUEST: "plain_http",
  ERR_SSL_WRONG_VERSION_NUMBER: "protocol_version",
  ERR_SSL_UNSUPPORTED_PROTOCOL: "protocol_version",
  ERR_SSL_VERSION_TOO_LOW: "protocol_version",
  ERR_SSL_UNKNOWN_PROTOCOL: "protocol_version",
  ERR_SSL_NO_SHARED_CIPHER: "no_shared_cipher",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "certificate_rejected_by_client",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: "certificate_rejected_by_client",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "certificate_rejected_by_client",
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: "client_certificate",
  ERR_SSL_CERTIFICATE_VERIFY_FAILED: "client_certificate",
  ECONNRESET: "connection_closed",
  EPIPE: "connection_closed",
};

/** failureReason maps a handshake error to its reason. */
export function failureReason(err: NodeJS.ErrnoException): TlsFailureReason {
  return BY_CODE[err.code ?? ""] ?? "other";
}

/** handshakeFailed publishes one failure. */
export function handshakeFailed(listener: string, reason: TlsFailureReason): void {
  if (failed.hasSubscribers) failed.publish({ listener, reason } satisfies TlsFailureEvent);
}

const BODY = "This is an HTTPS port: plain HTTP was sent to it. Use https:// to reach this address.\n";
const ANSWER =
  "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" +
  `Content-Length: ${Buffer.byteLength(BODY)}\r\nConnection: close\r\n\r\n${BODY}`;

/**
 * answerPlainHttp writes the 400 to a raw socket whose first bytes were plain HTTP and closes it;
 * a client that keeps its side open is cut off after a few seconds.
 */
export function answerPlainHttp(socket: Socket): void {
  if (socket.destroyed) return;
  socket.setTimeout(5000, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  socket.end(ANSWER, "latin1");
  // Whatever the client still sends is read and dropped, so the close does not turn into a reset.
  socket.resume();
}

/** looksLikeHttp tells whether the first bytes of a connection start an HTTP/1 request line. */
export function looksLikeHttp(first: Buffer): boolean {
  let i = 0;
  while (i < first.length && i < 16 && first[i]! >= 0x41 && first[i]! <= 0x5a) i++;
  return i > 0 && i < first.length && first[i] === 0x20;
}

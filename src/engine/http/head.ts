// head.ts: serialising HTTP/1.1 heads and the proxy's own short answers. Heads are built as one
// latin1 string and written in one call: header values from llhttp are latin1 strings, so the
// bytes go out as they came in.
import { STATUS_CODES } from "node:http";

/** hopByHop holds the lower-case names a proxy must not forward (RFC 9110 §7.6.1), plus framing. */
export const hopByHop: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
]);

/** connectionTokens returns the lower-case tokens a Connection header lists ("close", names to drop). */
export function connectionTokens(value: string): string[] {
  return value
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");
}

/** statusLine returns "HTTP/1.1 <code> <reason>\r\n". */
export function statusLine(status: number, reason?: string): string {
  return `HTTP/1.1 ${status} ${reason || STATUS_CODES[status] || "Unknown"}\r\n`;
}

/** plainResponse builds a complete text/plain response; close adds "Connection: close". */
export function plainResponse(status: number, body: string, close: boolean, extra = ""): Buffer {
  const b = Buffer.from(body.endsWith("\n") || body === "" ? body : body + "\n", "utf8");
  const head =
    statusLine(status) +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    `Content-Length: ${b.length}\r\n` +
    extra +
    (close ? "Connection: close\r\n" : "") +
    "\r\n";
  const h = Buffer.from(head, "latin1");
  return Buffer.concat([h, b], h.length + b.length);
}

/** chunkHeader returns the chunk-size line for a chunk of n bytes. */
export function chunkHeader(n: number): string {
  return n.toString(16) + "\r\n";
}

/** lastChunk returns the terminating chunk with optional trailers (name, value pairs). */
export function lastChunk(trailers: readonly string[] | undefined): string {
  if (trailers === undefined || trailers.length === 0) return "0\r\n\r\n";
  let s = "0\r\n";
  for (let i = 0; i + 1 < trailers.length; i += 2) s += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
  return s + "\r\n";
}

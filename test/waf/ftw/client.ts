// client.ts: sends raw request bytes on a fresh TCP connection and reads one response, as go-ftw's
// ftwhttp.Connection does (write everything, then http.ReadResponse under a read deadline). An
// error is what go-ftw reports as one: no connection, or no complete, well-formed status line and
// head before the deadline or the close. The body is read as far as its framing or the close go.
import { connect } from "node:net";

/** Exchange is what came back: the status and raw bytes, or the error go-ftw would have seen. */
export interface Exchange {
  status?: number;
  /** raw is every byte received (head and body), latin1: what response_contains is matched on. */
  raw: string;
  error?: string;
}

/** bodyDone says whether buf (a whole response so far) holds the complete body after headEnd. */
function bodyDone(head: string, buf: Buffer, headEnd: number, status: number, method: string): boolean {
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) return true;
  const body = buf.subarray(headEnd);
  const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  if (/\r\ntransfer-encoding:[^\r\n]*chunked/i.test(head)) {
    // Walk the chunks; done at the last (size 0) chunk's terminating CRLF CRLF.
    let at = 0;
    for (;;) {
      const eol = body.indexOf("\r\n", at);
      if (eol < 0) return false;
      const size = parseInt(body.subarray(at, eol).toString("latin1"), 16);
      if (Number.isNaN(size)) return true;
      if (size === 0) return body.indexOf("\r\n\r\n", eol) >= 0;
      at = eol + 2 + size + 2;
      if (at > body.length) return false;
    }
  }
  if (cl) return body.length >= Number(cl[1]);
  return false; // read until the server closes
}

/** send writes data to address:port and reads one response within timeoutMs. */
export function send(address: string, port: number, data: Buffer, timeoutMs: number): Promise<Exchange> {
  const method = /^[^ ]*/.exec(data.subarray(0, 32).toString("latin1"))![0];
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let settled = false;
    const sock = connect({ host: address, port });
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const raw = buf.toString("latin1");
      const headEnd = raw.indexOf("\r\n\r\n");
      const line = /^HTTP\/\d\.\d (\d{3})(?: |\r)/.exec(raw);
      if (headEnd < 0 || !line) {
        const why = error ?? (raw.length === 0 ? "EOF" : "malformed HTTP response");
        resolve({ raw, error: headEnd < 0 && raw.length > 0 ? `${why} (incomplete head)` : why });
        return;
      }
      resolve({ status: Number(line[1]), raw });
    };
    const timer = setTimeout(() => finish(`read timeout after ${timeoutMs} ms`), timeoutMs);
    sock.on("connect", () => sock.write(data));
    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      buf = Buffer.concat(chunks);
      const headEnd = buf.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const head = buf.subarray(0, headEnd + 2).toString("latin1");
      const line = /^HTTP\/\d\.\d (\d{3})/.exec(head);
      if (!line || bodyDone(head, buf, headEnd + 4, Number(line[1]), method)) finish();
    });
    // A reset after a complete head is no error (go-ftw has parsed the head by then).
    sock.on("error", (err) => finish(err.message));
    sock.on("close", () => finish());
  });
}

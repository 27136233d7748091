// backend.ts: the corpus's backend, behaving as albedo (github.com/coreruleset/albedo, the backend
// of the CRS test setup, tests/docker-compose.yml): any request gets 200 with an empty body;
// `POST /reflect` answers what its JSON body asks for ({status, headers, body, encodedBody}),
// which is how the RESPONSE-95x tests make a backend leak SQL errors, stack traces or web shells.
// Like Go's net/http under albedo, a body without a Content-Type gets a sniffed one.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** ReflectSpec is albedo's /reflect request body. */
interface ReflectSpec {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  encodedBody?: string;
}

const HTML_TAGS = [
  "!DOCTYPE HTML",
  "HTML",
  "HEAD",
  "SCRIPT",
  "IFRAME",
  "H1",
  "DIV",
  "FONT",
  "TABLE",
  "A",
  "STYLE",
  "TITLE",
  "B",
  "BODY",
  "BR",
  "P",
  "!--",
];

/** sniff is Go's http.DetectContentType for the kinds a reflected body can be (HTML, XML, text). */
export function sniff(body: Buffer): string {
  const s = body
    .subarray(0, 512)
    .toString("latin1")
    .replace(/^[\t\n\f\r ]+/, ""); // Go skips these whitespace bytes first
  const upper = s.toUpperCase();
  for (const tag of HTML_TAGS) {
    if (upper.startsWith("<" + tag) && /^[ >]/.test(s.slice(tag.length + 1)))
      return "text/html; charset=utf-8";
  }
  if (s.startsWith("<?xml")) return "text/xml; charset=utf-8";
  if (s.startsWith("%PDF-")) return "application/pdf";
  // Go: no binary control bytes in the first 512 bytes → text/plain.
  if (
    ![...body.subarray(0, 512)].some(
      (c) => c <= 0x08 || c === 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f),
    )
  )
    return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

/** reflect answers a /reflect request as albedo's doReflect does. */
function reflect(res: ServerResponse, raw: Buffer): void {
  let spec: ReflectSpec;
  try {
    spec = JSON.parse(raw.toString("utf8")) as ReflectSpec;
  } catch {
    res.writeHead(400).end("Invalid JSON in request body");
    return;
  }
  const status = spec.status ?? 0;
  if ((status > 0 && status < 100) || status >= 600) {
    res.writeHead(400).end(`Invalid status code: ${status}`);
    return;
  }
  const body = spec.body ? Buffer.from(spec.body, "utf8") : Buffer.from(spec.encodedBody ?? "", "base64");
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    try {
      res.setHeader(name, value);
    } catch {
      // albedo drops invalid header names and values
    }
  }
  if (body.length > 0 && !res.hasHeader("content-type")) res.setHeader("content-type", sniff(body));
  res.writeHead(status || 200).end(body);
}

/** startBackend listens on address (port 0: any) and resolves with the port and a close. */
export async function startBackend(
  address = "127.0.0.1",
): Promise<{ port: number; close: () => Promise<void> }> {
  // Lenient like Go's server: attack payloads in headers and a missing Host must reach the handler.
  const opts = { insecureHTTPParser: true, requireHostHeader: false };
  const server: Server = createServer(opts, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "POST" && (path === "/reflect" || path === "/reflect/"))
        reflect(res, Buffer.concat(chunks));
      else res.writeHead(200).end();
    });
    req.on("error", () => res.destroy());
  });
  server.on("clientError", (_err, sock) => sock.destroy());
  await new Promise<void>((r) => server.listen(0, address, r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

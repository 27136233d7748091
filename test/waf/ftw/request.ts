// request.ts: turns a stage's input into the exact bytes go-ftw writes on the socket
// (ftwhttp/request.go BuildRequest, test/data.go GetData in coreruleset/go-ftw v2), so a malformed
// request reaches Portico as the corpus wrote it: request line `METHOD URI VERSION` as given,
// headers in order as `Name: value`, then go-ftw's "autocomplete" additions.
import type { FtwInput } from "./corpus.ts";

/** RequestError: the stage cannot be turned into bytes (what go-ftw would refuse or mangle). */
export class RequestError extends Error {
  code = "FTW_BAD_STAGE";
}

/** METHODS_WITH_BODY is go-ftw's `^POST|PUT|PATCH|DELETE$` verbatim (it anchors only POST and DELETE). */
const METHODS_WITH_BODY = /^POST|PUT|PATCH|DELETE$/;

/** expandTemplate evaluates the Go text/template + sprig actions the corpus uses in `data`. */
export function expandTemplate(data: string): string {
  if (!data.includes("{{")) return data;
  return data.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (whole, action: string) => {
    // `"1" | repeat 64200` and `repeat 64200 "1"` (sprig's repeat count str): 920400 uses them.
    const piped = /^"((?:[^"\\]|\\.)*)"\s*\|\s*repeat\s+(\d+)$/.exec(action);
    const called = /^repeat\s+(\d+)\s+"((?:[^"\\]|\\.)*)"$/.exec(action);
    if (piped) return JSON.parse(`"${piped[1]}"`).repeat(Number(piped[2]));
    if (called) return JSON.parse(`"${called[2]}"`).repeat(Number(called[1]));
    throw new RequestError(
      `unsupported template action ${whole} in data (only sprig's repeat is implemented)`,
    );
  });
}

/** queryEscape is Go's url.QueryEscape on bytes: unreserved bytes kept, space → '+', rest %XX. */
export function queryEscape(b: Buffer): string {
  let out = "";
  for (const c of b) {
    const ch = String.fromCharCode(c);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (c === 0x20) out += "+";
    else out += "%" + c.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * encodeForm is go-ftw's encodeDataParameters for `application/x-www-form-urlencoded` bodies: when
 * the data looks unescaped (Go's QueryUnescape leaves it unchanged: no '%' and no '+'), each
 * `key=value` between '&' is escaped on both sides; otherwise the data is sent as written.
 */
export function encodeForm(data: Buffer): Buffer {
  if (data.length === 0 || data.includes(0x25) || data.includes(0x2b)) return data;
  const parts: string[] = [];
  let rest = data;
  while (rest.length > 0) {
    const amp = rest.indexOf(0x26);
    const token = amp < 0 ? rest : rest.subarray(0, amp);
    rest = amp < 0 ? Buffer.alloc(0) : rest.subarray(amp + 1);
    const eq = token.indexOf(0x3d);
    parts.push(
      eq < 0
        ? queryEscape(token)
        : `${queryEscape(token.subarray(0, eq))}=${queryEscape(token.subarray(eq + 1))}`,
    );
  }
  return Buffer.from(parts.join("&"), "latin1");
}

/** canonical compares header names as Go's CanonicalMIMEHeaderKey does for valid names. */
const canonical = (name: string): string => name.toLowerCase();

/** stageBody is GetData: `data` with its templates expanded, else `encoded_data` decoded. */
export function stageBody(input: FtwInput): Buffer {
  if (input.data !== undefined) return Buffer.from(expandTemplate(input.data), "utf8");
  if (input.encodedData !== undefined) return Buffer.from(input.encodedData, "base64");
  return Buffer.alloc(0);
}

/** buildRequest returns the bytes go-ftw sends for input (encoded_request: those bytes as they are). */
export function buildRequest(input: FtwInput): Buffer {
  if (input.encodedRequest) {
    if (input.data) throw new RequestError("'data' and 'encoded_request' must not be set simultaneously");
    return Buffer.from(input.encodedRequest, "base64");
  }
  const method = input.method ?? "GET";
  const headers = input.headers.map(([n, v]) => [n, v] as [string, string]);
  const has = (name: string): boolean => headers.some(([n]) => canonical(n) === canonical(name));
  const valueIs = (name: string, value: string): boolean =>
    headers.some(([n, v]) => canonical(n) === canonical(name) && v.toLowerCase() === value.toLowerCase());
  const valueContains = (name: string, part: string): boolean =>
    headers.some(([n, v]) => canonical(n) === canonical(name) && v.toLowerCase().includes(part));
  let body = stageBody(input);
  if (body.length > 0 && input.autocompleteHeaders) {
    if (!has("Content-Type")) headers.push(["Content-Type", "application/x-www-form-urlencoded"]);
    if (valueIs("Content-Type", "application/x-www-form-urlencoded")) body = encodeForm(body);
  }
  // go-ftw turns every LF of a multipart body into CRLF (even CRLF into CR CR LF), autocomplete or not.
  if (valueContains("Content-Type", "multipart/form-data;")) {
    body = Buffer.from(body.toString("latin1").replaceAll("\n", "\r\n"), "latin1");
  }
  if (input.autocompleteHeaders) {
    if (!has("Connection")) headers.push(["Connection", "close"]);
    if (!has("Content-Length") && (body.length > 0 || METHODS_WITH_BODY.test(method))) {
      headers.push(["Content-Length", String(body.length)]);
    }
  }
  const head =
    `${method} ${input.uri ?? "/"} ${input.version ?? "HTTP/1.1"}\r\n` +
    headers.map(([n, v]) => `${n}: ${v}\r\n`).join("") +
    "\r\n";
  return Buffer.concat([Buffer.from(head, "utf8"), body]);
}

/** markerRequest is the request that marks the log around a stage (go-ftw's buildMarkerRequest,
 * with the marker in the path: Portico's access log records paths, not headers). */
export function markerRequest(path: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nAccept: */*\r\nUser-Agent: go-ftw test agent\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    "latin1",
  );
}

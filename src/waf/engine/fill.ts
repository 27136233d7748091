// fill.ts: what each phase puts into the transaction's variables — the request line, headers,
// query and cookies (phase 1), the body and what its processor found (phase 2), the response
// head (phase 3) and body (phase 4). Values are binary strings: REQUEST_URI and QUERY_STRING as
// sent, REQUEST_FILENAME / REQUEST_BASENAME percent-decoded, as in ModSecurity v3 and Coraza.
import type { BodyProcessors, BodyResult, XmlNode } from "../body/types.ts";
import type { ConnInfo, RequestHead, ResponseHead } from "./types.ts";
import { member, type Member, type Vars } from "./vars.ts";

/** header returns the first value of a header (case-insensitive name). */
export function header(headers: RequestHead["headers"], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of headers) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function headerMembers(headers: RequestHead["headers"]): Member[] {
  return headers.map(([k, v]) => member(k, v));
}

/** first is the value of the first member named lower (a lower-case header name). */
function first(ms: readonly Member[], lower: string): string | undefined {
  for (const m of ms) if (m.lower === lower) return m.value;
  return undefined;
}

/** splitUri returns the path (no scheme/authority for absolute-form) and the query string. */
export function splitUri(uri: string): { target: string; path: string; query: string | undefined } {
  let target = uri;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(uri);
  if (scheme) target = uri.slice(scheme[0].length) || "/";
  const q = target.indexOf("?");
  return q < 0
    ? { target, path: target, query: undefined }
    : { target, path: target.slice(0, q), query: target.slice(q + 1) };
}

/** percentDecode decodes %XX byte-wise (binary string in and out); `+` and invalid escapes stay. */
export function percentDecode(s: string): string {
  if (!s.includes("%")) return s;
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** fillConnection sets the connection's variables (REMOTE_ADDR, SERVER_PORT, UNIQUE_ID, ...). */
export function fillConnection(vars: Vars, conn: ConnInfo): void {
  vars.setScalar("REMOTE_ADDR", conn.clientAddress);
  vars.setScalar("REMOTE_HOST", conn.clientAddress);
  vars.setScalar("REMOTE_PORT", String(conn.clientPort));
  vars.setScalar("SERVER_ADDR", conn.serverAddress);
  vars.setScalar("SERVER_PORT", String(conn.serverPort));
  vars.setScalar("UNIQUE_ID", conn.id);
}

/** fillRequestHead sets phase 1's variables; returns the request's head as FULL_REQUEST starts. */
export function fillRequestHead(
  vars: Vars,
  head: RequestHead,
  body: BodyProcessors,
  argumentsLimit: number,
): string {
  const { target, path, query } = splitUri(head.uri);
  const line = `${head.method} ${head.uri} ${head.protocol}`;
  vars.setScalar("REQUEST_METHOD", head.method);
  vars.setScalar("REQUEST_PROTOCOL", head.protocol);
  vars.setScalar("REQUEST_URI_RAW", head.uri);
  vars.setScalar("REQUEST_URI", target);
  // ModSecurity v3 and Coraza percent-decode the path (CRS 933151 expects `array_diff%20%28` in
  // REQUEST_FILENAME to read `array_diff (`); REQUEST_URI and QUERY_STRING stay as sent.
  const file = percentDecode(path);
  vars.setScalar("REQUEST_FILENAME", file);
  vars.setScalar("REQUEST_BASENAME", file.slice(Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\")) + 1));
  vars.setScalar("QUERY_STRING", query ?? "");
  vars.setScalar("REQUEST_LINE", line);
  // The members' lower-case names serve the lookups below (header() lower-cases every name).
  const headers = headerMembers(head.headers);
  vars.setCollection("REQUEST_HEADERS", headers);
  const host = first(headers, "host");
  if (host !== undefined) vars.setScalar("SERVER_NAME", host.replace(/:\d+$/, ""));
  const auth = first(headers, "authorization");
  if (auth !== undefined) vars.setScalar("AUTH_TYPE", auth.trim().split(/\s+/)[0] ?? "");
  const cookies: string[] = [];
  for (const m of headers) if (m.lower === "cookie") cookies.push(m.value);
  vars.setCollection(
    "REQUEST_COOKIES",
    cookies.length ? body.parseCookies(cookies).map(([k, v]) => member(k, v)) : [],
  );
  let args: Member[] = [];
  if (query) {
    const q = body.parseQuery(query);
    args = q.pairs.slice(0, argumentsLimit).map(([k, v]) => member(k, v));
    vars.setScalar("URLENCODED_ERROR", q.invalid ? "1" : "0");
  }
  vars.setCollection("ARGS_GET", args);
  vars.setScalar("REQBODY_ERROR", "0");
  vars.setScalar("REQBODY_PROCESSOR_ERROR", "0");
  const processor = body.processorFor(first(headers, "content-type"));
  if (processor) vars.setScalar("REQBODY_PROCESSOR", processor);
  let full = `${line}\r\n`;
  for (const [k, v] of head.headers) full += `${k}: ${v}\r\n`;
  full += "\r\n";
  vars.setScalar("FULL_REQUEST", full);
  vars.setScalar("FULL_REQUEST_LENGTH", String(full.length));
  return full;
}

/** fillBodyResult stores what a body processor found (ARGS_POST, FILES*, MULTIPART_*, errors). */
export function fillBodyResult(vars: Vars, r: BodyResult, argsRoom: number): XmlNode | undefined {
  vars.setCollection(
    "ARGS_POST",
    r.args.slice(0, Math.max(0, argsRoom)).map(([k, v]) => member(k, v)),
  );
  vars.setCollection(
    "FILES",
    r.files.map((f) => member(f.field, f.filename)),
  );
  vars.setCollection(
    "FILES_SIZES",
    r.files.map((f) => member(f.field, String(f.size))),
  );
  vars.setCollection(
    "FILES_TMP_CONTENT",
    r.files.map((f) => member(f.field, f.content)),
  );
  vars.setCollection(
    "FILES_NAMES",
    r.files.map((f) => member(f.field, f.field)),
  );
  if (r.multipartNames)
    vars.setCollection(
      "MULTIPART_NAME",
      r.multipartNames.map((n) => member(n, n)),
    );
  if (r.multipartFilenames)
    vars.setCollection(
      "MULTIPART_FILENAME",
      r.multipartFilenames.map((n) => member(n, n)),
    );
  if (r.partHeaders)
    vars.setCollection(
      "MULTIPART_PART_HEADERS",
      r.partHeaders.map(([k, v]) => member(k, v)),
    );
  for (const [k, v] of Object.entries(r.flags)) vars.setScalar(k, v);
  if (r.error !== undefined) bodyError(vars, r.error);
  return r.xml;
}

/** bodyError flags a body the processor could not read (REQBODY_ERROR and its message). */
export function bodyError(vars: Vars, msg: string): void {
  vars.setScalar("REQBODY_ERROR", "1");
  vars.setScalar("REQBODY_ERROR_MSG", msg);
  vars.setScalar("REQBODY_PROCESSOR_ERROR", "1");
  vars.setScalar("REQBODY_PROCESSOR_ERROR_MSG", msg);
}

/** fillResponseHead sets phase 3's variables; returns the response's MIME type (lower-case). */
export function fillResponseHead(vars: Vars, head: ResponseHead): string {
  vars.setScalar("RESPONSE_STATUS", String(head.status));
  vars.setScalar("STATUS", String(head.status));
  vars.setScalar("RESPONSE_PROTOCOL", head.protocol);
  vars.setScalar("STATUS_LINE", `${head.protocol} ${head.status}`);
  const headers = headerMembers(head.headers);
  vars.setCollection("RESPONSE_HEADERS", headers);
  const type = first(headers, "content-type") ?? "";
  vars.setScalar("RESPONSE_CONTENT_TYPE", type);
  const length = first(headers, "content-length");
  if (length !== undefined) vars.setScalar("RESPONSE_CONTENT_LENGTH", length);
  return (type.split(";")[0] ?? "").trim().toLowerCase();
}

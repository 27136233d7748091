// forward.ts: what the proxy sends upstream for a request — the rewritten head (hop-by-hop headers
// dropped, X-Forwarded-*/Forwarded added, the requestHeaders phase's edits applied) — and the
// redirect filter's Location. Pure functions over the parsed head.
import type { PathRewrite, Route, RouteFilter } from "../../model/ir.ts";
import type { RequestEdits } from "./phases.ts";
import { hopByHop, listedTokens, lowerName, mayBeSpecial } from "../http/head.ts";
import { stripPort } from "./router/host-map.ts";

/** RequestFacts are what the head rewrite needs to know about the request and its client. */
export interface RequestFacts {
  method: string;
  /** path and query are split from the request-target; query keeps no "?". */
  path: string;
  query: string;
  headers: readonly string[];
  /** from is where the fields start in headers (HTTP/2: after the pseudo-headers); 0 when absent. */
  from?: number;
  host: string;
  clientIp: string;
  proto: "http" | "https";
  /** framing is how the body goes upstream: Content-Length value, chunked, or no body. */
  framing: "length" | "chunked" | "none";
  contentLength: string;
  /** websocket keeps Upgrade and Connection: Upgrade. */
  websocket: boolean;
  /** route is the matched route; prefixLength how much of path its Prefix match covered. */
  route: Route;
  prefixLength: number;
  /** edits are what the route's requestHeaders phase changed (phases.ts): host, path, headers. */
  edits?: RequestEdits;
}

/** buildUpstreamHead returns the request head to write to an HTTP/1.1 backend. */
export function buildUpstreamHead(f: RequestFacts): string {
  const e = f.edits;
  const path = e?.path ?? f.path;
  const host = e?.host ?? f.host;
  const mod = e?.headers;
  let dropped: Set<string> | undefined;
  if (mod !== undefined) {
    dropped = new Set<string>();
    for (const h of mod.set ?? []) dropped.add(h.name.toLowerCase());
    for (const n of mod.remove ?? []) dropped.add(n.toLowerCase());
  }
  const hs = f.headers;
  const start = f.from ?? 0;
  // Names listed in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  let listed: string[] | undefined;
  let xff = "";
  let forwarded = "";
  let out = `${f.method} ${path}${f.query === "" ? "" : "?" + f.query} HTTP/1.1\r\n`;
  for (let i = start; i < hs.length; i += 2) {
    const name = hs[i]!;
    if (name.length === 10 && lowerName(name) === "connection") listed = listedTokens(listed, hs[i + 1]!);
  }
  // Names are lower-cased only when a rule could match them (most request headers pass as is).
  const lookAll = listed !== undefined || dropped !== undefined;
  for (let i = start; i < hs.length; i += 2) {
    const name = hs[i]!;
    if (!lookAll && !mayBeSpecial(name)) {
      out += `${name}: ${hs[i + 1]}\r\n`;
      continue;
    }
    const lower = lowerName(name);
    if (hopByHop.has(lower) || lower === "host") continue;
    if (lower === "x-forwarded-for") {
      xff = xff === "" ? hs[i + 1]! : `${xff}, ${hs[i + 1]}`;
      continue;
    }
    if (lower === "forwarded") {
      forwarded = forwarded === "" ? hs[i + 1]! : `${forwarded}, ${hs[i + 1]}`;
      continue;
    }
    if (lower === "x-forwarded-proto" || lower === "x-forwarded-host") continue;
    if (listed !== undefined && listed.includes(lower)) continue;
    if (dropped !== undefined && dropped.has(lower)) continue;
    out += `${name}: ${hs[i + 1]}\r\n`;
  }
  out += `Host: ${host}\r\n`;
  if (mod !== undefined) {
    for (const h of mod.set ?? []) out += `${h.name}: ${h.value}\r\n`;
    for (const h of mod.add ?? []) out += `${h.name}: ${h.value}\r\n`;
  }
  // The route's edits have the last word on the forwarding fields too: a removed or set name is
  // not sent as Portico would build it (a set one went out above with the route's value).
  if (dropped !== undefined && FORWARDING.some((n) => dropped.has(n)))
    out += forwardingFields(f, xff, forwarded, dropped);
  else out += xff === "" && forwarded === "" ? forwardedFields(f) : forwardingFields(f, xff, forwarded);
  if (f.framing === "length") out += `Content-Length: ${f.contentLength}\r\n`;
  else if (f.framing === "chunked") out += "Transfer-Encoding: chunked\r\n";
  if (f.websocket) out += "Connection: Upgrade\r\nUpgrade: websocket\r\n";
  return out + "\r\n";
}

// forwardingFields are the X-Forwarded-* and Forwarded fields, after those the client sent (xff,
// forwarded: their values joined, "" when it sent none), but for the names in dropped (lower-case:
// the route's edits removed or set them).
function forwardingFields(
  f: RequestFacts,
  xff: string,
  forwarded: string,
  dropped?: ReadonlySet<string>,
): string {
  let out = "";
  if (dropped?.has("x-forwarded-for") !== true)
    out += `X-Forwarded-For: ${xff === "" ? f.clientIp : `${xff}, ${f.clientIp}`}\r\n`;
  if (dropped?.has("x-forwarded-proto") !== true) out += `X-Forwarded-Proto: ${f.proto}\r\n`;
  if (dropped?.has("x-forwarded-host") !== true) out += `X-Forwarded-Host: ${f.host}\r\n`;
  if (dropped?.has("forwarded") !== true) {
    const forNode = f.clientIp.includes(":") ? `"[${f.clientIp}]"` : f.clientIp;
    const own = `for=${forNode};host="${f.host}";proto=${f.proto}`;
    out += `Forwarded: ${forwarded === "" ? own : `${forwarded}, ${own}`}\r\n`;
  }
  return out;
}

// FORWARDING are the fields forwardingFields writes, lower-cased.
const FORWARDING = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"];

// The last client address, host and scheme forwardedFields built its fields for, and those fields:
// requests in a row mostly come from the same client for the same host (one connection's requests,
// HTTP/2 streams above all), and the four fields were half of the head's string building.
const lastForwarded = { clientIp: "", host: "", proto: "", fields: "" };

// forwardedFields are forwardingFields for a client that sent none of its own, from the memo when
// the client, host and scheme are the last ones's.
function forwardedFields(f: RequestFacts): string {
  const m = lastForwarded;
  if (m.fields !== "" && m.clientIp === f.clientIp && m.host === f.host && m.proto === f.proto)
    return m.fields;
  m.fields = forwardingFields(f, "", "");
  m.clientIp = f.clientIp;
  m.host = f.host;
  m.proto = f.proto;
  return m.fields;
}

/** rewritePath applies a PathRewrite; prefixLength is how much of path the Prefix match covered. */
export function rewritePath(path: string, prefixLength: number, r: PathRewrite): string {
  if (r.type === "ReplaceFullPath") return r.value;
  const rest = path.slice(prefixLength);
  let v = r.value;
  if (v.endsWith("/") && rest.startsWith("/")) v = v.slice(0, -1);
  const out = v + rest;
  return out === "" ? "/" : out.startsWith("/") ? out : "/" + out;
}

/** redirectLocation computes the Location of a RequestRedirect filter. */
export function redirectLocation(
  flt: Extract<RouteFilter, { type: "RequestRedirect" }>,
  f: Pick<RequestFacts, "path" | "query" | "host" | "proto" | "prefixLength">,
): string {
  const scheme = flt.scheme ?? f.proto;
  const hostOnly = stripPort(f.host);
  const colon = f.host.length > hostOnly.length ? f.host.slice(hostOnly.length + 1) : "";
  let port = flt.port !== undefined ? String(flt.port) : flt.scheme === undefined ? colon : "";
  if ((scheme === "http" && port === "80") || (scheme === "https" && port === "443")) port = "";
  const host = flt.hostname ?? hostOnly;
  const path = flt.path === undefined ? f.path : rewritePath(f.path, f.prefixLength, flt.path);
  return `${scheme}://${host}${port === "" ? "" : ":" + port}${path}${f.query === "" ? "" : "?" + f.query}`;
}

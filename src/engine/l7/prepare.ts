// prepare.ts: readies a parsed HTTP/1.1 request head — validates what the parser leaves to us
// (Host, header count, version, CONNECT, framing), hands it to the decision step (decide.ts:
// route, answering filters, pool), and builds the upstream head. Runs once per request, before
// the exchange starts.
import { buildUpstreamHead, type RequestFacts } from "./forward.ts";
import { lowerName } from "../http/head.ts";
import type { Exchange } from "./exchange.ts";
import { headerLines } from "./cors.ts";
import { decide } from "./decide.ts";
import { mirrorsOf } from "./mirror.ts";
import type { Answer } from "./phases.ts";
import type { ListenerRuntime } from "./runtime.ts";

// The pool pickers moved to decide.ts with the decision step; prepare.test.ts tests them here.
export { invalidBackendText, pickPool, pickTarget, type ForwardTargets } from "./decide.ts";

/** prepare validates, routes and readies ex, or makes it a local answer (ex.answer). */
export function prepare(ex: Exchange, rt: ListenerRuntime, clientIp: string): void {
  const h = ex.head;
  const hs = h.headers;
  if (hs.length / 2 > rt.limits.maxHeaders) return ex.answer(431, "too many request header fields", true);
  if (h.versionMajor !== 1) return ex.answer(505, "HTTP version not supported", true);
  if (h.method === "CONNECT") return ex.answer(405, "CONNECT is not supported", true);
  let host: string | undefined;
  let hosts = 0;
  let framing: RequestFacts["framing"] = "none";
  let contentLength = "";
  let upgrade = "";
  let expect: string | undefined;
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i]!;
    // Quick length filter before lower-casing: these names are 4, 6, 7, 14 and 17 characters long.
    const len = n.length;
    if (len !== 4 && len !== 6 && len !== 7 && len !== 14 && len !== 17) continue;
    const l = lowerName(n);
    if (l === "host") {
      hosts++;
      host = hs[i + 1]!;
    } else if (l === "content-length") {
      contentLength = hs[i + 1]!;
      if (framing === "none") framing = "length";
    } else if (l === "transfer-encoding") {
      // The parser lets "gzip, chunked" through; forwarding it re-chunked would drop the gzip coding
      // the backend must undo, so any coding but chunked alone is refused (RFC 9112 §6.1: 501).
      if (hs[i + 1]!.trim().toLowerCase() !== "chunked")
        return ex.answer(501, "transfer coding not supported", true);
      // HTTP/1.0 has no chunked framing: such a message's framing is faulty (RFC 9112 §6.1).
      if (h.versionMinor === 0) return ex.answer(400, "Transfer-Encoding in an HTTP/1.0 request", true);
      framing = "chunked";
    } else if (l === "upgrade") upgrade = hs[i + 1]!;
    else if (l === "expect") expect = expect === undefined ? hs[i + 1]! : `${expect},${hs[i + 1]!}`;
  }
  // 100-continue goes to the backend, which answers the interim 100 itself; an expectation nobody
  // here can meet is refused before anything is forwarded (RFC 9110 §10.1.1).
  if (expect !== undefined && !onlyContinue(expect)) return ex.answer(417, "expectation not supported", true);
  if (expect !== undefined) ex.expectContinue = true;
  let url = h.url;
  if (url.charCodeAt(0) !== 47 /* / */) {
    if (url === "*") {
      // asterisk-form is for OPTIONS only (RFC 9112 §3.2.4).
      if (h.method !== "OPTIONS") return ex.answer(400, "invalid request target", true);
    } else {
      // absolute-form (RFC 9112 §3.2.2): its authority replaces Host.
      const t = absoluteForm(url);
      if (t === undefined) return ex.answer(400, "invalid request target", true);
      host = t.host;
      hosts = 1;
      url = t.path;
    }
  }
  // A fragment is never sent (RFC 9112 §3.2), and a backslash is a path separator to some backends:
  // either would let the backend see a different path than the one routed.
  if (url.includes("#") || url.includes("\\")) return ex.answer(400, "invalid request target", true);
  if (hosts > 1) return ex.answer(400, "more than one Host header", true);
  if (host === undefined) {
    if (h.versionMinor >= 1) return ex.answer(400, "missing Host header", true);
    // HTTP/1.0 may omit Host, but the request goes upstream as HTTP/1.1, where Host is required
    // (RFC 9112 §3.2): the listener's own authority stands in, for routing and for the backend.
    host = rt.authority;
  }
  if (!validHost(host)) return ex.answer(400, "invalid Host header", true);
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? "" : url.slice(q + 1);
  ex.path = path;
  ex.query = query;
  ex.host = host;
  const answer = decide(rt, ex, ex.conn.socket);
  if (ex.route !== undefined) {
    ex.framing = framing;
    ex.websocket = h.upgrade && h.method === "GET" && upgrade.toLowerCase() === "websocket";
    // A refused upgrade leaves bytes of the other protocol behind: close after the answer.
    if (ex.websocket) ex.closeAfter = true;
  }
  // A step that waits (external authentication): the exchange holds until it settles (Exchange.hold).
  if (answer instanceof Promise) {
    const facts = { clientIp, framing, contentLength };
    return ex.hold(answer, (a) => decided(ex, rt, facts, a));
  }
  decided(ex, rt, { clientIp, framing, contentLength }, answer);
}

/** DecidedFacts are what readying the upstream head needs of prepare's checks. */
interface DecidedFacts {
  clientIp: string;
  framing: RequestFacts["framing"];
  contentLength: string;
}

// decided readies ex once the decision step settled: its answer, or the upstream head and mirrors.
function decided(ex: Exchange, rt: ListenerRuntime, facts: DecidedFacts, answer: Answer | undefined): void {
  const h = ex.head;
  const { clientIp, framing, contentLength } = facts;
  if (answer !== undefined) {
    // The WAF's drop closes the connection when the exchange's turn comes.
    if (answer.drop === true) return ex.wafAnswer(answer);
    if (answer.error !== undefined) ex.error = answer.error;
    const close = answer.close === true;
    return ex.answer(answer.status, answer.body, close, answer.headers && headerLines(answer.headers));
  }
  const route = ex.route!;
  ex.upstreamHead = buildUpstreamHead({
    method: h.method,
    path: ex.path,
    query: ex.query,
    headers: h.headers,
    host: ex.host,
    clientIp,
    proto: rt.proto,
    framing,
    contentLength,
    websocket: ex.websocket,
    route,
    prefixLength: ex.prefixLength,
    edits: ex.edits,
  });
  const mirrors = ex.edits?.mirrors;
  if (mirrors !== undefined && !ex.websocket) {
    const req = {
      route,
      method: h.method,
      head: ex.upstreamHead,
      framing,
      sourceIp: clientIp,
      filters: mirrors,
    };
    // On a WAF route the copies start once phase 2 let the request through (Exchange.startMirrors):
    // a request the WAF blocks reaches no mirror either.
    if (ex.waf?.phase2Pending === true) ex.mirrorRequest = req;
    else ex.mirrors = mirrorsOf(rt, req);
  }
}

// absoluteForm splits "http(s)://authority/path?query" by hand: WHATWG URL would repair what must
// be refused (it turns "http:///x" into host "x", drops userinfo, folds backslashes).
function absoluteForm(url: string): { host: string; path: string } | undefined {
  const sep = url.indexOf("://");
  if (sep === -1) return undefined;
  const scheme = url.slice(0, sep).toLowerCase();
  if (scheme !== "http" && scheme !== "https") return undefined;
  let end = sep + 3;
  while (end < url.length && url[end] !== "/" && url[end] !== "?") end++;
  const host = url.slice(sep + 3, end);
  // Userinfo in a request target is an error (RFC 9110 §4.2.4); an empty host is invalid for http.
  if (host === "" || host.includes("@")) return undefined;
  const rest = url.slice(end);
  return { host, path: rest === "" ? "/" : rest[0] === "?" ? "/" + rest : rest };
}

// onlyContinue is true when every member of an Expect value is 100-continue.
function onlyContinue(value: string): boolean {
  for (const m of value.split(",")) if (m.trim().toLowerCase() !== "100-continue") return false;
  return true;
}

// validHost accepts reg-name, IPv4 and [IPv6] with an optional port; no spaces, slashes or "@".
function validHost(host: string): boolean {
  if (host.length === 0) return false;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c <= 32 || c === 47 || c === 64 || c === 92 || c === 63 || c === 35 || c >= 127) return false;
  }
  return true;
}

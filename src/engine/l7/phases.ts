// phases.ts: a route's filters compiled once per snapshot (by the router, router.ts) into named
// phases — Pingora's ProxyHttp filters are the model. A phase is an array of steps run in order at
// one point of every request of the route, on both protocol fronts; a phase the route does not
// use is absent, and a route without filters or access policy has no Phases at all, so the hot
// path checks one field. Steps are per route; what they find out per request goes on the request
// (PhaseRequest).
//
// Where each phase runs:
//   requestHeaders  in the decision step (decide.ts), after routing, before a backend is chosen;
//   requestBody     on each piece of the request body, before it goes upstream;
//   responseHeaders on the backend's response head, before it goes to the client;
//   responseBody    on each piece of the response body, before it goes to the client;
//   log             once the exchange finished, with its access-log event.
// Today's filters use requestHeaders and responseHeaders only. Access policy (allow/deny lists,
// rate limits, access.ts) is a requestHeaders step ahead of everything else. The WAF (waf.ts) is
// the next requestHeaders step: phase 1 starts a transaction kept on the request (PhaseRequest.waf);
// the fronts run its later phases from there — phase 2 on the body they hold before the backend
// attempt, 3 on the response head, 5 when the exchange finished — since a transaction's body
// phases see the whole body at once, not piece by piece as BodyStep does.
// Authentication (basic and external: basic-auth.ts, ext-auth.ts) follows the answering filters;
// external auth is the one step that waits (it returns a promise), and the fronts hold the
// request until it settles (decide.ts Decision).
import type { CorsPolicy, Header, RegexRewrite, Route, RouteFilter, StaticRedirect } from "../../model/ir.ts";
import type { CompileDeps } from "../contracts.ts";
import { compileAccess } from "./access.ts";
import { withStickyCookie, type StickyView } from "./affinity.ts";
import { basicAuthStep } from "./basic-auth.ts";
import { extAuthStep } from "./ext-auth.ts";
import { publicText } from "./failure.ts";
import { preflightAnswer, withCors, type HeaderEdits, type HeaderSource } from "./cors.ts";
import type { HttpResponseEvent } from "./events.ts";
import { redirectLocation, rewritePath } from "./forward.ts";
import type { RequestView } from "./router/match.ts";
import { routeRegex, type RouteRegex } from "./router/regex.ts";
import type { ListenerRuntime } from "./runtime.ts";
import { WafRoute, type WafRun } from "./waf.ts";

/** PhaseLog is where compiling phases reports (CompileDeps.log). */
export type PhaseLog = CompileDeps["log"];

/** Answer is a response the proxy gives itself instead of forwarding; the front renders it. */
export interface Answer {
  status: number;
  body: string;
  /** headers are added to the answer (Location of a redirect, a CORS preflight's Access-Control-*). */
  headers?: Header[];
  /** error is the detail kept for the logs and the access log (the client reads body only). */
  error?: string;
  /** invalidShare: the request drew an invalid backend's share (gRPC over HTTP/2 answers UNAVAILABLE). */
  invalidShare?: boolean;
  /** drop: close the connection instead (HTTP/2: reset the stream); the WAF's drop action. */
  drop?: true;
  /** contentType replaces text/plain (a custom error page from a default backend, error-pages.ts). */
  contentType?: string;
  /**
   * close: HTTP/1.1 closes the connection after the answer instead of reading the request body
   * (a 413, as nginx: a client told no 100 Continue may hold the body back, and it is not wanted).
   */
  close?: true;
}

/** MirrorFilter is a RequestMirror filter. */
export type MirrorFilter = Extract<RouteFilter, { type: "RequestMirror" }>;

/** RequestEdits are what the requestHeaders phase changed of the request the backend gets. */
export interface RequestEdits {
  /** host replaces the Host sent upstream (URLRewrite hostname). */
  host?: string;
  /** path replaces the path sent upstream (URLRewrite path). */
  path?: string;
  /** headers edit the request headers sent upstream (RequestHeaderModifier). */
  headers?: HeaderEdits;
  /** mirrors are the RequestMirror filters to copy the request to (sampled when started, mirror.ts). */
  mirrors?: MirrorFilter[];
  /** responseHeaders are added to the backend's answer to the client (external auth's Set-Cookie). */
  responseHeaders?: Header[];
}

/** PhaseRequest is a routed request as the steps see it, whatever its protocol. */
export interface PhaseRequest extends RequestView, HeaderSource {
  /** rt is the listener the request arrived on. */
  readonly rt: ListenerRuntime;
  /** host is the request's authority as routed. */
  readonly host: string;
  /** prefixLength is how much of path the route's Prefix match covered. */
  prefixLength: number;
  /** edits start undefined for every request; steps create them when they change something. */
  edits: RequestEdits | undefined;
  /** clientIp is the client's address as the socket reports it ("" when it is gone). */
  clientIp(): string;
  /** waf is the request's WAF transaction, set by the WAF's step on routes that have one. */
  waf?: WafRun | undefined;
  /**
   * atEnd, set by a step that holds something for the exchange (access.ts: a concurrency slot),
   * runs once when the exchange ends, however it ends; a second holder chains onto the first.
   */
  atEnd?: (() => void) | undefined;
  /** abortSignal is aborted when the client goes away; a step that waits stops its work then. */
  abortSignal?(): AbortSignal;
  /** headerPairs lists the request's header fields as received (HTTP/2: without pseudo-headers). */
  headerPairs?(): [string, string][];
}

/** ResponseView is what responseHeaders steps read of an exchange: request headers, sticky pick. */
export interface ResponseView extends HeaderSource, StickyView {}

/**
 * RequestHeadersStep returns an Answer to stop the request there, or undefined to go on; a step
 * that must ask someone first (external authentication) returns a promise of either, and the
 * front holds the request until it settles (decide.ts). A promise that rejects answers 500.
 */
export type RequestHeadersStep = (req: PhaseRequest) => Answer | undefined | Promise<Answer | undefined>;
/** SyncRequestHeadersStep is a RequestHeadersStep that never waits. */
export type SyncRequestHeadersStep = (req: PhaseRequest) => Answer | undefined;
/** BodyStep sees one piece of a body as it passes. */
export type BodyStep = (req: PhaseRequest, chunk: Buffer) => void;
/** ResponseHeadersStep returns the response header edits so far, with its own added. */
export type ResponseHeadersStep = (
  edits: HeaderEdits | undefined,
  req: ResponseView,
) => HeaderEdits | undefined;
/** LogStep sees the exchange's access-log event once it finished. */
export type LogStep = (ev: HttpResponseEvent) => void;

/** Phases are one route's compiled steps; each phase is absent when the route has none. */
export interface Phases {
  requestHeaders?: RequestHeadersStep[];
  requestBody?: BodyStep[];
  responseHeaders?: ResponseHeadersStep[];
  responseBody?: BodyStep[];
  log?: LogStep[];
}

/** compilePhases compiles route's access policy, WAF and filters; undefined when it has none. */
export function compilePhases(route: Route, log: PhaseLog = () => {}): Phases | undefined {
  // The access policy, then the route's own access configs (extraAccess): each must allow.
  const access: RequestHeadersStep[] = [];
  const configs = route.access === undefined ? [] : [route.access];
  for (const a of [...configs, ...(route.extraAccess ?? [])]) {
    const step = compileAccess(a, route.name);
    if (step !== undefined) access.push(step);
  }
  const filters = route.filters ?? [];
  const bodyLimit = route.maxRequestBodyBytes;
  if (
    filters.length === 0 &&
    access.length === 0 &&
    route.waf === undefined &&
    route.affinity === undefined &&
    route.auth === undefined &&
    bodyLimit === undefined
  )
    return undefined;
  // The access policy first: a refused client gets no WAF inspection, preflight, redirect or mirror.
  const requestHeaders: RequestHeadersStep[] = access;
  // Then the WAF: it inspects the request as the client sent it, before anything answers it.
  if (route.waf !== undefined) {
    const waf = new WafRoute(route.waf, log);
    requestHeaders.push((req) => waf.requestHeaders(req));
  }
  // A body announced longer than the route takes is refused before anything else is decided.
  if (bodyLimit !== undefined) requestHeaders.push(bodyLimitStep(bodyLimit));
  const responseHeaders: ResponseHeadersStep[] = [];
  let cors: CorsPolicy | undefined;
  let redirect: Extract<RouteFilter, { type: "RequestRedirect" }> | undefined;
  let responseMod: HeaderEdits | undefined;
  const fixed: StaticRedirect[] = [];
  for (const f of filters) {
    if (f.type === "CORS") cors ??= f;
    else if (f.type === "RequestRedirect") redirect ??= f;
    else if (f.type === "ResponseHeaderModifier") responseMod ??= f;
    else if (f.type === "StaticRedirect") fixed.push(f);
  }
  // Answers first, whatever the filters' order: a CORS preflight, then a redirect — the fixed
  // ones first, as nginx's `return` runs in the rewrite phase before ingress-nginx's HTTPS redirect.
  if (cors !== undefined) requestHeaders.push((req) => preflight(route, req));
  for (const f of fixed) requestHeaders.push(staticRedirectStep(f));
  if (redirect !== undefined) requestHeaders.push(redirectStep(redirect));
  // Authentication after them (nginx answers `return` and preflights in its rewrite phase, before
  // auth_request's access phase), and before the edits: the auth service sees the request as sent.
  const auth = route.auth;
  if (auth?.deny !== undefined) requestHeaders.push(denyStep(auth.deny, route.name));
  else if (auth?.basic !== undefined) requestHeaders.push(basicAuthStep(auth.basic, route.name));
  else if (auth?.external !== undefined) {
    requestHeaders.push(extAuthStep(auth.external, route.name));
    responseHeaders.push(authCookies);
  }
  // Then the edits of the request that goes upstream, in the filters' order.
  for (const f of filters) {
    if (f.type === "URLRewrite") requestHeaders.push(rewriteStep(f.hostname, f.path));
    else if (f.type === "RegexRewrite") requestHeaders.push(regexRewriteStep(f));
    else if (f.type === "RequestHeaderModifier") requestHeaders.push(headersStep(f));
    else if (f.type === "RequestMirror") requestHeaders.push(mirrorStep(f));
  }
  // The route's ResponseHeaderModifier, then CORS's headers over it.
  if (responseMod !== undefined) {
    const mod = responseMod;
    responseHeaders.push(() => mod);
  }
  if (cors !== undefined) responseHeaders.push((edits, req) => withCors(edits, route, req));
  // Cookie affinity's Set-Cookie, when the backend attempt's pick asks for one (affinity.ts).
  if (route.affinity !== undefined) responseHeaders.push(withStickyCookie);
  if (requestHeaders.length === 0 && responseHeaders.length === 0) return undefined;
  const out: Phases = {};
  if (requestHeaders.length > 0) out.requestHeaders = requestHeaders;
  if (responseHeaders.length > 0) out.responseHeaders = responseHeaders;
  return out;
}

/** responseEdits runs a responseHeaders phase: the header edits to apply to the response. */
export function responseEdits(
  steps: readonly ResponseHeadersStep[],
  req: ResponseView,
): HeaderEdits | undefined {
  let edits: HeaderEdits | undefined;
  for (let i = 0; i < steps.length; i++) edits = steps[i]!(edits, req);
  return edits;
}

// preflight answers a CORS preflight (200 with the policy's headers), else lets the request on.
function preflight(route: Route, req: PhaseRequest): Answer | undefined {
  const headers = preflightAnswer(route, req.method, req);
  return headers === undefined ? undefined : { status: 200, body: "", headers };
}

function redirectStep(f: Extract<RouteFilter, { type: "RequestRedirect" }>): RequestHeadersStep {
  return (req) => {
    const loc = redirectLocation(f, {
      path: req.path,
      query: req.query,
      host: req.host,
      proto: req.rt.proto,
      prefixLength: req.prefixLength,
    });
    return {
      status: f.statusCode,
      body: `redirecting to ${loc}`,
      headers: [{ name: "Location", value: loc }],
    };
  };
}

/** BODY_TOO_LARGE is the body of the 413 a route's body limit answers with. */
const BODY_TOO_LARGE = "request entity too large: the request body is larger than this service accepts";

// bodyLimitStep refuses a request whose Content-Length passes the route's limit; a body without
// one is counted by the fronts as it streams (exchange.ts, h2-exchange.ts: overBodyLimit).
function bodyLimitStep(max: number): RequestHeadersStep {
  return (req) => {
    const cl = req.header("content-length");
    if (cl === undefined || !(Number(cl) > max)) return undefined;
    return {
      status: 413,
      body: BODY_TOO_LARGE,
      error: `request body of ${cl} bytes is over the route's limit of ${max}`,
      close: true,
    };
  };
}

/** overBodyLimit tells whether a body of `bytes` so far passed the route's maxRequestBodyBytes. */
export function overBodyLimit(route: Route | undefined, bytes: number): boolean {
  const max = route?.maxRequestBodyBytes;
  return max !== undefined && bytes > max;
}

// staticRedirectStep answers with a fixed Location (permanent-redirect, temporal-redirect,
// app-root); a location that is a path gets the request's scheme and Host, as nginx's `return`.
function staticRedirectStep(f: StaticRedirect): RequestHeadersStep {
  const location = headerSafe(f.location);
  return (req) => {
    if (f.onlyPath !== undefined && req.path !== f.onlyPath) return undefined;
    const loc = location.startsWith("/") ? `${req.rt.proto}://${req.host}${location}` : location;
    return {
      status: f.statusCode,
      body: `redirecting to ${loc}`,
      headers: [{ name: "Location", value: loc }],
    };
  };
}

// headerSafe percent-encodes (as UTF-8) what a header value cannot carry as written: controls and
// non-ASCII (an annotation's "/café" would go out as latin1 on HTTP/1.1 and throw in node:http2).
function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/gu, (c) => {
    let out = "";
    for (const b of Buffer.from(c, "utf8")) out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    return out;
  });
}

/** regexRewritePath applies a RegexRewrite to path (compiled: re is the pattern's routeRegex). */
export function regexRewritePath(path: string, re: RouteRegex, replacement: string): string {
  const m = re.exec(path);
  if (m === null) return path;
  const out = replacement.replace(/\$([1-9])/g, (_, n: string) => m[Number(n)] ?? "");
  return out.startsWith("/") ? out : "/" + out;
}

// regexRewriteStep: ingress-nginx's rewrite-target, the whole path replaced with the capture groups.
function regexRewriteStep(f: RegexRewrite): RequestHeadersStep {
  const re = routeRegex(f.pattern, f.ignoreCase === true ? "i" : "");
  return (req) => {
    const e = (req.edits ??= {});
    e.path = regexRewritePath(e.path ?? req.path, re, f.replacement);
    return undefined;
  };
}

function rewriteStep(hostname: string | undefined, path: Parameters<typeof rewritePath>[2] | undefined) {
  return (req: PhaseRequest): undefined => {
    const e = (req.edits ??= {});
    if (hostname !== undefined) e.host = hostname;
    if (path !== undefined) e.path = rewritePath(e.path ?? req.path, req.prefixLength, path);
  };
}

function headersStep(mod: HeaderEdits): RequestHeadersStep {
  return (req) => {
    addHeaderEdits(req, mod);
    return undefined;
  };
}

/**
 * addHeaderEdits appends a RequestHeaderModifier's edits to what the request's earlier steps
 * changed (external auth's headers, the route's own filters, then the chosen backend's): later
 * edits win, as in filter order — a later set or remove of a name drops the earlier values of it,
 * so the backend gets one value, not both.
 */
export function addHeaderEdits(req: PhaseRequest, mod: HeaderEdits): void {
  const e = (req.edits ??= {});
  const prior = e.headers;
  if (prior === undefined) {
    e.headers = mod;
    return;
  }
  const later = new Set<string>();
  for (const h of mod.set ?? []) later.add(h.name.toLowerCase());
  for (const n of mod.remove ?? []) later.add(n.toLowerCase());
  const kept = (hs: readonly Header[] | undefined) =>
    (hs ?? []).filter((h) => !later.has(h.name.toLowerCase()));
  e.headers = {
    set: [...kept(prior.set), ...(mod.set ?? [])],
    add: [...kept(prior.add), ...(mod.add ?? [])],
    remove: [...(prior.remove ?? []), ...(mod.remove ?? [])],
  };
}

// denyStep answers every request of a route whose authentication could not be set up (fail closed).
function denyStep(deny: { status: number; reason: string }, route: string): RequestHeadersStep {
  const answer: Answer = {
    status: deny.status,
    body: publicText(deny.status),
    error: `route ${route}: ${deny.reason}`,
  };
  return () => answer;
}

// authCookies adds what the requestHeaders phase left for the client's answer (external auth's Set-Cookie).
function authCookies(edits: HeaderEdits | undefined, req: HeaderSource): HeaderEdits | undefined {
  const add = (req as Partial<PhaseRequest>).edits?.responseHeaders;
  if (add === undefined) return edits;
  return { ...edits, add: [...(edits?.add ?? []), ...add] };
}

function mirrorStep(f: MirrorFilter): RequestHeadersStep {
  return (req) => {
    ((req.edits ??= {}).mirrors ??= []).push(f);
    return undefined;
  };
}

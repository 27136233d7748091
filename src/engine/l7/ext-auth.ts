// ext-auth.ts: external authentication of a route (ingress-nginx auth-url, nginx's auth_request).
// For each request the proxy asks the auth service first, with the request's headers (never its
// body) and those ingress-nginx adds — X-Original-URL, X-Original-Method, X-Real-IP,
// X-Forwarded-For/-Host/-Proto, X-Auth-Request-Redirect, X-Request-ID. A 2xx lets the request on
// (auth-response-headers copied to it); 401 and 403 are the client's answer (401 redirects to
// auth-signin when set); any other answer, no answer in time or no reachable service answers 500
// — never the backend. The step is asynchronous: the fronts hold the request meanwhile (decide.ts).
import { randomBytes } from "../node-crypto.ts";
import type { ExternalAuth, Header } from "../../model/ir.ts";
import { cookieValue } from "./cookie.ts";
import { publicText } from "./failure.ts";
import type { Answer, PhaseRequest, RequestHeadersStep } from "./phases.ts";
import { forwardedHeaders, subrequest, type SubResponse } from "./subrequest.ts";

/** AUTH_CACHE_ENTRIES bounds the cached auth answers per route (auth-cache-key). */
export const AUTH_CACHE_ENTRIES = 4096;

// A cached 2xx: when it expires and the headers it sets on the upstream request.
interface Cached {
  until: number;
  set: Header[];
  cookies: string[];
}

/** extAuthStep makes the requestHeaders step that asks a's service about each request. */
export function extAuthStep(a: ExternalAuth, route: string): RequestHeadersStep {
  const cache = a.cacheDurationMs && a.cacheKey ? new Map<string, Cached>() : undefined;
  const fixedUrl = a.url.includes("$") ? undefined : new URL(a.url);
  const copied = (a.responseHeaders ?? []).map((h) => h.toLowerCase());
  const fail = (why: string): Answer => ({
    status: 500,
    body: publicText(500),
    error: `route ${route}: external auth ${a.url}: ${why}`,
  });
  return async (req: PhaseRequest): Promise<Answer | undefined> => {
    const vars = variables(req);
    const key = cache === undefined ? undefined : expand(a.cacheKey!, vars, req);
    if (key !== undefined) {
      const hit = cache!.get(key);
      if (hit !== undefined && hit.until > performance.now()) return passed(req, hit);
    }
    let url: URL;
    try {
      url = fixedUrl ?? new URL(expand(a.url, vars, req));
    } catch {
      return fail("the URL is not valid once its variables are filled in");
    }
    const headers = forwardedHeaders(req.headerPairs?.() ?? []);
    const ip = req.clientIp();
    const prior = req.header("x-forwarded-for");
    headers["x-original-url"] = `${vars.scheme}://${vars.host}${vars.request_uri}`;
    headers["x-original-method"] = req.method;
    headers["x-real-ip"] = ip;
    headers["x-forwarded-for"] = prior === undefined ? ip : `${prior}, ${ip}`;
    headers["x-forwarded-host"] = vars.host;
    headers["x-forwarded-proto"] = vars.scheme;
    headers["x-auth-request-redirect"] = a.requestRedirect ?? vars.request_uri;
    headers["x-request-id"] ??= randomBytes(16).toString("hex");
    for (const h of a.proxySetHeaders ?? []) headers[h.name.toLowerCase()] = expand(h.value, vars, req);
    let res: SubResponse;
    try {
      res = await subrequest(req.rt, {
        url,
        pool: fixedUrl === undefined ? undefined : a.pool,
        method: a.method ?? req.method,
        headers,
        timeoutMs: a.timeoutMs,
        sourceIp: ip,
        signal: req.abortSignal?.(),
      });
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
    const cookies = listOf(res.headers["set-cookie"]);
    if (res.status >= 200 && res.status < 300) {
      const set: Header[] = [];
      for (const name of copied) {
        const v = res.headers[name];
        if (v !== undefined) set.push({ name, value: Array.isArray(v) ? v.join(", ") : v });
      }
      const entry: Cached = { until: performance.now() + (a.cacheDurationMs ?? 0), set, cookies };
      if (key !== undefined) {
        if (cache!.size >= AUTH_CACHE_ENTRIES) cache!.delete(cache!.keys().next().value!);
        // The answer's cookies were for that client; later hits only reuse the verdict and headers.
        cache!.set(key, { ...entry, cookies: [] });
      }
      return passed(req, entry);
    }
    const extra: Header[] = a.alwaysSetCookie ? cookies.map((value) => ({ name: "Set-Cookie", value })) : [];
    if (res.status === 401 && a.signin !== undefined) {
      const location = signinLocation(expand(a.signin, vars, req), a.signinRedirectParam ?? "rd", vars);
      extra.push({ name: "Location", value: location });
      return {
        status: 302,
        body: `redirecting to ${location}`,
        headers: extra,
        error: `route ${route}: not signed in`,
      };
    }
    if (res.status === 401 || res.status === 403) {
      const challenge = res.headers["www-authenticate"];
      if (challenge !== undefined) extra.push({ name: "WWW-Authenticate", value: challenge });
      return {
        status: res.status,
        body: publicText(res.status),
        headers: extra,
        error: `route ${route}: external auth refused (${res.status})`,
      };
    }
    return fail(`the auth service answered ${res.status}`);
  };
}

// passed lets the request on with the auth answer's headers for the backend and cookies for the client.
function passed(req: PhaseRequest, c: Cached): undefined {
  if (c.set.length === 0 && c.cookies.length === 0) return undefined;
  const e = (req.edits ??= {});
  if (c.set.length > 0) {
    const h = (e.headers ??= {});
    h.set = [...(h.set ?? []), ...c.set];
  }
  // nginx adds the auth answer's Set-Cookie to the client's answer (auth_request_set + add_header).
  if (c.cookies.length > 0)
    e.responseHeaders = [
      ...(e.responseHeaders ?? []),
      ...c.cookies.map((value) => ({ name: "Set-Cookie", value })),
    ];
  return undefined;
}

/**
 * signinLocation is auth-signin with the original URL in param, unless the signin URL sets param
 * itself (ingress-nginx's buildAuthSignURL): the path and query escaped, scheme and host as they are.
 */
export function signinLocation(signin: string, param: string, vars: Vars): string {
  const q = signin.indexOf("?");
  if (q !== -1 && new URLSearchParams(signin.slice(q + 1)).get(param)) return signin;
  const rd = `${vars.scheme}://${vars.host}${vars.escaped_request_uri}`;
  return `${signin}${q === -1 ? "?" : "&"}${param}=${rd}`;
}

/** Vars are the nginx variables an auth URL, signin URL or cache key may name. */
export interface Vars {
  scheme: string;
  host: string;
  request_uri: string;
  escaped_request_uri: string;
  uri: string;
  remote_addr: string;
}

// variables reads the request's nginx variables.
function variables(req: PhaseRequest): Vars {
  const uri = req.query === "" ? req.path : `${req.path}?${req.query}`;
  return {
    scheme: req.rt.proto,
    host: req.host,
    request_uri: uri,
    escaped_request_uri: encodeURIComponent(uri),
    uri: req.path,
    remote_addr: req.clientIp(),
  };
}

/** expand fills nginx variables in text: $scheme, $host, $request_uri, ..., $http_NAME, $cookie_NAME. */
export function expand(text: string, vars: Vars, req: PhaseRequest): string {
  if (!text.includes("$")) return text;
  return text.replace(/\$(\{)?([a-z_][a-z0-9_]*)(\})?/gi, (all, open, name: string, close) => {
    if (Boolean(open) !== Boolean(close)) return all;
    const n = name.toLowerCase();
    if (n === "http_host") return vars.host;
    if (n in vars) return vars[n as keyof Vars];
    if (n.startsWith("http_")) return req.header(n.slice(5).replace(/_/g, "-")) ?? "";
    if (n.startsWith("cookie_")) return cookieValue(req.header("cookie"), name.slice(7)) ?? "";
    if (n === "args" || n === "query_string") return req.query;
    return all;
  });
}

function listOf(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

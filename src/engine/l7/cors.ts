// cors.ts: the Gateway API CORS filter in the data plane. A preflight (OPTIONS with Origin and
// Access-Control-Request-Method) on a route with the filter is answered by the proxy itself; any
// other response of such a route gets the Access-Control-* headers when its Origin is allowed.
// Pure functions: the route's compiled phases (phases.ts) call them with the request (its header
// getter).
import type { CorsPolicy, Header, Route } from "../../model/ir.ts";

/** HeaderEdits is the shape of a ResponseHeaderModifier, which the response paths already apply. */
export interface HeaderEdits {
  set?: Header[];
  add?: Header[];
  remove?: string[];
}

/** HeaderSource reads a request header by its lower-case name (Exchange, H2 request views). */
export interface HeaderSource {
  header(lowerName: string): string | undefined;
}

/** corsOf returns the route's CORS policy, if it has one. */
export function corsOf(route: Route | undefined): CorsPolicy | undefined {
  if (route?.filters === undefined) return undefined;
  for (const f of route.filters) if (f.type === "CORS") return f;
  return undefined;
}

/** Origin is a parsed serialised origin; port is explicit or the scheme's default. */
interface Origin {
  scheme: string;
  host: string;
  port: string;
}

const ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[^/:[\]]+)(?::([0-9]{1,5}))?$/i;

/** parseOrigin reads "scheme://host[:port]" (lower-cased), undefined when it is not one. */
function parseOrigin(o: string): Origin | undefined {
  const m = ORIGIN.exec(o);
  if (m === null) return undefined;
  const scheme = m[1]!.toLowerCase();
  const port = m[3] ?? (scheme === "https" ? "443" : scheme === "http" ? "80" : "");
  return { scheme, host: m[2]!.toLowerCase(), port: String(Number(port)) };
}

// Parsed allowOrigins, per policy object (policies are immutable parts of a snapshot).
const compiled = new WeakMap<CorsPolicy, (Origin | "*")[]>();

/**
 * originAllowed tells whether the policy allows a request Origin: "*" allows any; a host "*"
 * any host of that scheme and port; "*.example.com" any name ending in ".example.com", however
 * many labels the "*" stands for. A missing port is the scheme's default on both sides.
 */
export function originAllowed(policy: CorsPolicy, origin: string): boolean {
  let list = compiled.get(policy);
  if (list === undefined) {
    list = [];
    for (const o of policy.allowOrigins) {
      const p = o === "*" ? "*" : parseOrigin(o);
      if (p !== undefined) list.push(p);
    }
    compiled.set(policy, list);
  }
  const want = parseOrigin(origin);
  for (const p of list) {
    if (p === "*") return true;
    if (want === undefined || p.scheme !== want.scheme || p.port !== want.port) continue;
    if (p.host === "*" || p.host === want.host) return true;
    if (p.host.startsWith("*.") && want.host.endsWith(p.host.slice(1))) return true;
  }
  return false;
}

/**
 * preflightAnswer returns the headers of the proxy's own answer (200) to a CORS preflight on a
 * route with a CORS policy, or undefined when the request is not one (it then goes on as usual).
 * A disallowed Origin gets the answer without any Access-Control-* header, so the browser fails
 * the cross-origin request (the CORS filter's spec allows 200 or 204 here).
 */
export function preflightAnswer(
  route: Route | undefined,
  method: string,
  req: HeaderSource,
): Header[] | undefined {
  if (method !== "OPTIONS") return undefined;
  const policy = corsOf(route);
  if (policy === undefined) return undefined;
  const origin = req.header("origin");
  const requested = req.header("access-control-request-method");
  if (origin === undefined || requested === undefined) return undefined;
  const out: Header[] = [{ name: "Vary", value: "Origin" }];
  if (!originAllowed(policy, origin)) return out;
  // The Origin is always echoed, never "*": it is valid with or without credentials.
  out.push({ name: "Access-Control-Allow-Origin", value: origin });
  if (policy.allowCredentials) out.push({ name: "Access-Control-Allow-Credentials", value: "true" });
  const methods = policy.allowMethods;
  if (methods !== undefined) {
    // "*" is answered with the requested method: with credentials "*" would be taken literally.
    const value = methods.includes("*") ? requested.trim() : methods.join(", ");
    out.push({ name: "Access-Control-Allow-Methods", value });
  }
  const headers = policy.allowHeaders;
  const asked = req.header("access-control-request-headers");
  if (headers !== undefined && asked !== undefined && asked.trim() !== "") {
    const value = headers.includes("*") ? asked.trim() : headers.join(", ");
    out.push({ name: "Access-Control-Allow-Headers", value });
  }
  const expose = exposeValue(policy);
  if (expose !== undefined) out.push({ name: "Access-Control-Expose-Headers", value: expose });
  if (policy.maxAgeSeconds !== undefined)
    out.push({ name: "Access-Control-Max-Age", value: String(policy.maxAgeSeconds) });
  return out;
}

/** exposeValue is the Access-Control-Expose-Headers value; "*" means nothing with credentials. */
function exposeValue(policy: CorsPolicy): string | undefined {
  const expose = policy.exposeHeaders;
  if (expose === undefined || expose.length === 0) return undefined;
  if (expose.includes("*")) return policy.allowCredentials ? undefined : "*";
  return expose.join(", ");
}

/**
 * withCors adds the CORS response headers of the route's policy to the route's response header
 * edits (edits is its ResponseHeaderModifier, if any); without a policy it returns edits as is.
 * An allowed Origin gets Access-Control-Allow-Origin (and -Credentials, -Expose-Headers), set
 * over whatever the backend sent; every response of the route gets "Vary: Origin", since what a
 * cache may reuse depends on the Origin.
 */
export function withCors(
  edits: HeaderEdits | undefined,
  route: Route | undefined,
  req: HeaderSource,
): HeaderEdits | undefined {
  const policy = corsOf(route);
  if (policy === undefined) return edits;
  const set = [...(edits?.set ?? [])];
  const add = [...(edits?.add ?? []), { name: "Vary", value: "Origin" }];
  const origin = req.header("origin");
  if (origin !== undefined && originAllowed(policy, origin)) {
    set.push({ name: "Access-Control-Allow-Origin", value: origin });
    if (policy.allowCredentials) set.push({ name: "Access-Control-Allow-Credentials", value: "true" });
    const expose = exposeValue(policy);
    if (expose !== undefined) set.push({ name: "Access-Control-Expose-Headers", value: expose });
  }
  const out: HeaderEdits = { set, add };
  if (edits?.remove !== undefined) out.remove = edits.remove;
  return out;
}

/** headerLines renders headers as HTTP/1.1 head lines ("Name: value\r\n" each). */
export function headerLines(hs: readonly Header[]): string {
  let out = "";
  for (const h of hs) out += `${h.name}: ${h.value}\r\n`;
  return out;
}

// upstream.ts: ingress-nginx's annotations about the connection to the backend — backend-protocol,
// proxy-body-size, proxy-{connect,read,send}-timeout, proxy-next-upstream(-tries, -timeout),
// upstream-vhost and proxy-buffering — mapped onto the route and its pools (docs/annotations.md
// says what maps to what). A protocol the engine cannot speak to the backend is refused with 502,
// never spoken as HTTP/1.1 instead.
import type { Ingress } from "../../k8s/types.ts";
import type { Pool, Route } from "../../model/ir.ts";
import { annotation, type TranslateContext } from "../context.ts";
import { HTTP_DEFAULTS } from "../types.ts";
import type { RouteApplier } from "./apply.ts";
import { failClosed, NGINX_ANN, reportAnnotation } from "./invalid.ts";

/** ANN_BACKEND_PROTOCOL is how the backend is spoken to: HTTP, HTTPS, GRPC, GRPCS, H2C (AUTO_HTTP, FCGI, AJP refused). */
export const ANN_BACKEND_PROTOCOL = `${NGINX_ANN}backend-protocol`;
/** ANN_PROXY_SSL_VERIFY ("on") asks for the HTTPS backend's certificate to be verified. */
export const ANN_PROXY_SSL_VERIFY = `${NGINX_ANN}proxy-ssl-verify`;
/** ANN_PROXY_BODY_SIZE bounds request bodies (nginx size: "8m", "512k", "0" for no limit). */
export const ANN_PROXY_BODY_SIZE = `${NGINX_ANN}proxy-body-size`;
/** ANN_CONNECT_TIMEOUT bounds each backend connect (seconds). */
export const ANN_CONNECT_TIMEOUT = `${NGINX_ANN}proxy-connect-timeout`;
/** ANN_READ_TIMEOUT bounds the wait between two reads from the backend (seconds). */
export const ANN_READ_TIMEOUT = `${NGINX_ANN}proxy-read-timeout`;
/** ANN_SEND_TIMEOUT bounds the wait between two writes to the backend (seconds). */
export const ANN_SEND_TIMEOUT = `${NGINX_ANN}proxy-send-timeout`;
/** ANN_NEXT_UPSTREAM lists when a request goes to the next backend ("error timeout", "off"). */
export const ANN_NEXT_UPSTREAM = `${NGINX_ANN}proxy-next-upstream`;
/** ANN_NEXT_UPSTREAM_TRIES bounds the attempts, the first included (0: no bound of its own). */
export const ANN_NEXT_UPSTREAM_TRIES = `${NGINX_ANN}proxy-next-upstream-tries`;
/** ANN_NEXT_UPSTREAM_TIMEOUT bounds the time spent on retries (seconds; 0: none). */
export const ANN_NEXT_UPSTREAM_TIMEOUT = `${NGINX_ANN}proxy-next-upstream-timeout`;
/** ANN_UPSTREAM_VHOST is the Host header sent to the backend. */
export const ANN_UPSTREAM_VHOST = `${NGINX_ANN}upstream-vhost`;
/** ANN_PROXY_BUFFERING ("on"/"off") is accepted: Portico streams responses either way. */
export const ANN_PROXY_BUFFERING = `${NGINX_ANN}proxy-buffering`;

/** INGRESS_NGINX_BODY_SIZE is ingress-nginx's default proxy-body-size (1m), used for a bad value. */
export const INGRESS_NGINX_BODY_SIZE = 1024 * 1024;

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** parseNginxSize reads an nginx size ("1000", "100k", "8m", "1g", any case), or undefined. */
export function parseNginxSize(text: string): number | undefined {
  const m = /^(\d{1,12})([bkmg]?)$/i.exec(text.trim());
  return m === null ? undefined : Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
}

/** parseSeconds reads ingress-nginx's unitless seconds ("60"), 1 s to 1 day; else undefined. */
export function parseSeconds(text: string): number | undefined {
  if (!/^\d{1,6}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 86_400 ? n : undefined;
}

// NEXT_UPSTREAM_TOKENS are proxy_next_upstream's conditions; Portico's engine retries on "error"
// (connect failures and a reused keep-alive connection closed before it answered) only.
const NEXT_UPSTREAM_TOKENS = new Set([
  "error",
  "timeout",
  "invalid_header",
  "http_500",
  "http_502",
  "http_503",
  "http_504",
  "http_403",
  "http_404",
  "http_429",
  "non_idempotent",
  "off",
]);

/** applyUpstream is the RouteApplier of the backend connection annotations. */
export const applyUpstream: RouteApplier = (ctx, ing, route) => {
  let out: Route = { ...route };
  out = bodySize(ctx, ing, out);
  out = timeouts(ctx, ing, out);
  out = nextUpstream(ctx, ing, out);
  out = upstreamVhost(ctx, ing, out);
  const buffering = annotation(ing, ANN_PROXY_BUFFERING);
  if (buffering !== undefined && buffering !== "on" && buffering !== "off")
    reportAnnotation(ctx, ing, `${ANN_PROXY_BUFFERING}: ${JSON.stringify(buffering)} is not "on" or "off"`);
  return backendProtocol(ctx, ing, out);
};

function bodySize(ctx: TranslateContext, ing: Ingress, route: Route): Route {
  const text = annotation(ing, ANN_PROXY_BODY_SIZE);
  if (text === undefined) return route;
  let n = parseNginxSize(text);
  if (n === undefined) {
    // No limit at all would be wider than the user asked; ingress-nginx uses its default then.
    reportAnnotation(
      ctx,
      ing,
      `${ANN_PROXY_BODY_SIZE}: ${JSON.stringify(text)} is not a size like "8m", "512k" or "0"; using ingress-nginx's default, 1m`,
    );
    n = INGRESS_NGINX_BODY_SIZE;
  }
  if (n === 0) return route;
  return { ...route, maxRequestBodyBytes: n };
}

function seconds(ctx: TranslateContext, ing: Ingress, name: string): number | undefined {
  const text = annotation(ing, name);
  if (text === undefined) return undefined;
  const s = parseSeconds(text);
  if (s === undefined)
    reportAnnotation(
      ctx,
      ing,
      `${name}: ${JSON.stringify(text)} is not a whole number of seconds from 1 to 86400 (no unit); using the default`,
    );
  return s;
}

function timeouts(ctx: TranslateContext, ing: Ingress, route: Route): Route {
  const out = { ...route };
  const connect = seconds(ctx, ing, ANN_CONNECT_TIMEOUT);
  if (connect !== undefined) out.connectTimeoutMs = connect * 1000;
  const read = seconds(ctx, ing, ANN_READ_TIMEOUT);
  const send = seconds(ctx, ing, ANN_SEND_TIMEOUT);
  if (read !== undefined || send !== undefined) {
    // The engine has one inactivity limit per backend attempt, reset by reads and writes alike.
    const ms = Math.max(read ?? 0, send ?? 0) * 1000;
    out.backendTimeoutMs = ms;
    // nginx has no limit on a whole exchange; Portico's (60 s) must not cut a longer wait short.
    if (ms > (out.timeoutMs ?? HTTP_DEFAULTS.requestTimeoutMs)) out.timeoutMs = ms;
  }
  return out;
}

function nextUpstream(ctx: TranslateContext, ing: Ingress, route: Route): Route {
  const out = { ...route };
  const text = annotation(ing, ANN_NEXT_UPSTREAM);
  if (text !== undefined) {
    const tokens = text.split(/\s+/);
    const unknown = tokens.filter((t) => !NEXT_UPSTREAM_TOKENS.has(t));
    if (unknown.length > 0)
      reportAnnotation(
        ctx,
        ing,
        `${ANN_NEXT_UPSTREAM}: ${unknown.map((t) => JSON.stringify(t)).join(", ")} not known; ignored`,
      );
    if (tokens.includes("off")) out.maxAttempts = 1;
    else {
      const unsupported = tokens.filter((t) => NEXT_UPSTREAM_TOKENS.has(t) && t !== "error");
      if (unsupported.length > 0)
        reportAnnotation(
          ctx,
          ing,
          `${ANN_NEXT_UPSTREAM}: ${unsupported.join(", ")} not supported: Portico retries idempotent requests without a body on connect errors and on a reused connection closed before it answered`,
          "UnsupportedAnnotation",
        );
      if (!tokens.includes("error")) out.maxAttempts = 1;
    }
  }
  const tries = annotation(ing, ANN_NEXT_UPSTREAM_TRIES);
  if (tries !== undefined && out.maxAttempts !== 1) {
    if (!/^\d{1,3}$/.test(tries))
      reportAnnotation(
        ctx,
        ing,
        `${ANN_NEXT_UPSTREAM_TRIES}: ${JSON.stringify(tries)} is not a whole number; using the default (3)`,
      );
    else if (Number(tries) > 0) out.maxAttempts = Number(tries);
  }
  const budget = annotation(ing, ANN_NEXT_UPSTREAM_TIMEOUT);
  if (budget !== undefined && budget !== "0")
    reportAnnotation(
      ctx,
      ing,
      `${ANN_NEXT_UPSTREAM_TIMEOUT}: not supported; retries are bounded by the attempts and the request timeout`,
      "UnsupportedAnnotation",
    );
  return out;
}

function upstreamVhost(ctx: TranslateContext, ing: Ingress, route: Route): Route {
  const vhost = annotation(ing, ANN_UPSTREAM_VHOST);
  if (vhost === undefined) return route;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/.test(vhost)) {
    reportAnnotation(
      ctx,
      ing,
      `${ANN_UPSTREAM_VHOST}: ${JSON.stringify(vhost)} is not a host name (with an optional :port); the client's Host is sent`,
    );
    return route;
  }
  return { ...route, filters: [...(route.filters ?? []), { type: "URLRewrite", hostname: vhost }] };
}

/** backendProtocol points route at the pools ing's backend-protocol asks for (canary.ts: a canary inherits its main's). */
export function backendProtocol(ctx: TranslateContext, ing: Ingress, route: Route): Route {
  const raw = annotation(ing, ANN_BACKEND_PROTOCOL);
  if (raw === undefined) return route;
  const proto = raw.toUpperCase();
  if (proto === "HTTP") return route;
  if (proto === "AUTO_HTTP" || proto === "FCGI" || proto === "AJP") {
    const why = `${proto} is not supported`;
    reportAnnotation(
      ctx,
      ing,
      `${ANN_BACKEND_PROTOCOL}: ${why}; the route answers 502 rather than speak HTTP/1.1 to it`,
      "UnsupportedAnnotation",
    );
    return { ...route, action: failClosed(502) };
  }
  if (proto !== "HTTPS" && proto !== "GRPC" && proto !== "GRPCS" && proto !== "H2C") {
    reportAnnotation(
      ctx,
      ing,
      `${ANN_BACKEND_PROTOCOL}: ${JSON.stringify(raw)} is not HTTP, HTTPS, GRPC, GRPCS or H2C; the route answers 502`,
    );
    return { ...route, action: failClosed(502) };
  }
  if ((proto === "HTTPS" || proto === "GRPCS") && annotation(ing, ANN_PROXY_SSL_VERIFY) === "on") {
    // Verification was asked for and Portico cannot do it from these annotations: no unverified fallback.
    reportAnnotation(
      ctx,
      ing,
      `${ANN_PROXY_SSL_VERIFY}: "on" is not supported yet (use a BackendTLSPolicy on the Service); the route answers 502`,
      "UnsupportedAnnotation",
    );
    return { ...route, action: failClosed(502) };
  }
  const action = route.action;
  if (action.type !== "Forward") return route;
  const backends = action.backends.map((b) => ({ ...b, pool: variantPool(ctx, b.pool, proto) }));
  return { ...route, action: { ...action, backends } };
}

// variantPool is the pool of the Service port spoken to in proto: a copy under its own name, so
// an Ingress that says HTTP to the same Service port keeps its pool as it is.
function variantPool(ctx: TranslateContext, name: string, proto: "HTTPS" | "GRPC" | "GRPCS" | "H2C"): string {
  const base = ctx.pools[name];
  if (base === undefined) return name;
  const key = `${name}|${proto === "HTTPS" ? "https" : proto === "GRPCS" ? "grpcs" : "h2c"}`;
  if (ctx.pools[key] === undefined) {
    const pool: Pool = { ...base, name: key };
    // No SNI and no verification: ingress-nginx's proxy_ssl_server_name and proxy_ssl_verify are off.
    if (proto === "HTTPS" || proto === "GRPCS") pool.tls = { sni: "", skipVerify: true };
    // GRPC and H2C: HTTP/2 in cleartext; GRPCS: HTTP/2 over that TLS (h2-sessions.ts).
    if (proto !== "HTTPS") pool.protocol = "h2c";
    ctx.pools[key] = pool;
  }
  return key;
}

// auth.ts: ingress-nginx's authentication annotations on an Ingress route (docs/annotations.md,
// Authentication). `auth-type: basic` reads htpasswd users from a Secret (auth-file: key `auth`;
// auth-map: a key per user) — only the hashes go into the IR; `auth-url` and its companions make
// an external auth check (engine: ext-auth.ts). Whatever cannot be honoured — a missing Secret,
// digest auth, an unusable URL — fails closed: the route answers 503 with the reason in its
// condition, as ingress-nginx does for an invalid auth configuration. Never a hash in a message.
import type { Ingress } from "../../k8s/types.ts";
import type { BasicAuth, ExternalAuth, Header, Route, RouteAuth } from "../../model/ir.ts";
import { hashKind } from "../../model/password-hash.ts";
import { annotation, type TranslateContext } from "../context.ts";
import { resolveBackend } from "../endpoints.ts";
import { ACCEPTED, keyOf, refOf } from "../status.ts";
import type { RouteApplier } from "./apply.ts";

const N = "nginx.ingress.kubernetes.io/";
/** AUTH_DENIED_STATUS answers a route whose authentication could not be set up (ingress-nginx: 503). */
export const AUTH_DENIED_STATUS = 503;
/** EXT_AUTH_TIMEOUT_MS bounds an auth subrequest when the route sets no backend timeout (nginx's 60 s). */
export const EXT_AUTH_TIMEOUT_MS = 60_000;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** applyAuth is the RouteApplier of auth-type/auth-secret/auth-realm and auth-url and its options. */
export const applyAuth: RouteApplier = (ctx, ing, route) => {
  const type = annotation(ing, `${N}auth-type`);
  const url = annotation(ing, `${N}auth-url`);
  if (type === undefined && url === undefined) return route;
  const problems: string[] = [];
  let auth: RouteAuth;
  if (type !== undefined) {
    auth = basicAuth(ctx, ing, type, problems);
    if (url !== undefined) problems.push(`${N}auth-url is ignored: ${N}auth-type ${type} is set`);
  } else auth = externalAuth(ctx, ing, route, url!, problems);
  for (const p of problems) warnAnnotation(ctx, ing, p);
  return { ...route, auth };
};

/** warnAnnotation puts a problem with an annotation on the Ingress (condition and notice, once). */
export function warnAnnotation(ctx: TranslateContext, ing: Ingress, message: string): void {
  const ref = refOf(ing);
  ctx.status.warn(ref, ACCEPTED, "InvalidAnnotation", message);
  const notice = `${keyOf(ref)}: ${message}`;
  if (!ctx.notices.includes(notice)) ctx.notices.push(notice);
}

// deny fails the route closed with reason, which is also reported.
function deny(reason: string, problems: string[]): RouteAuth {
  problems.push(`${reason} (answering ${AUTH_DENIED_STATUS})`);
  return { deny: { status: AUTH_DENIED_STATUS, reason } };
}

// basicAuth reads auth-type basic with its Secret; any other type fails closed.
function basicAuth(ctx: TranslateContext, ing: Ingress, type: string, problems: string[]): RouteAuth {
  if (type !== "basic")
    return deny(
      type === "digest"
        ? `${N}auth-type digest is not supported: use basic with a bcrypt htpasswd, or auth-url`
        : `${N}auth-type ${JSON.stringify(type)} is not basic or digest`,
      problems,
    );
  const ns = ing.metadata.namespace ?? "";
  const ref = annotation(ing, `${N}auth-secret`);
  if (ref === undefined) return deny(`${N}auth-type basic needs ${N}auth-secret`, problems);
  const [secretNs, name] = ref.includes("/") ? (ref.split("/", 2) as [string, string]) : [ns, ref];
  const secret = ctx.set.secrets.find(
    (s) => (s.metadata.namespace ?? "") === secretNs && s.metadata.name === name,
  );
  if (secret === undefined) return deny(`${N}auth-secret: Secret ${secretNs}/${name} not found`, problems);
  const source = `Secret/${secretNs}/${name}`;
  const secretType = annotation(ing, `${N}auth-secret-type`) ?? "auth-file";
  const data = secret.data ?? {};
  const entries: [string, string][] = [];
  if (secretType === "auth-file") {
    const file = data["auth"];
    if (file === undefined) return deny(`${N}auth-secret: ${source} has no key "auth"`, problems);
    Buffer.from(file, "base64")
      .toString("utf8")
      .split(/\r?\n/)
      .forEach((line) => {
        const t = line.trim();
        if (t === "" || t.startsWith("#")) return;
        const colon = t.indexOf(":");
        if (colon > 0) entries.push([t.slice(0, colon), t.slice(colon + 1)]);
      });
  } else if (secretType === "auth-map") {
    for (const [user, b64] of Object.entries(data))
      entries.push([user, Buffer.from(b64, "base64").toString("utf8").trim()]);
  } else
    return deny(`${N}auth-secret-type ${JSON.stringify(secretType)} is not auth-file or auth-map`, problems);
  const users: BasicAuth["users"] = [];
  for (const [user, hash] of entries) {
    if (hashKind(hash) === undefined) {
      // The user cannot log in: refused, and said so (the hash itself stays out of the message).
      problems.push(
        `${N}auth-secret: ${source} user ${JSON.stringify(user)} has a password hash Portico cannot check ` +
          `(supported: bcrypt up to cost 12, $apr1$, $1$, {SHA}); that user is refused`,
      );
      continue;
    }
    users.push({ user, hash });
  }
  if (users.length === 0)
    problems.push(`${N}auth-secret: ${source} has no usable user; every request gets 401`);
  const realm = annotation(ing, `${N}auth-realm`) ?? "";
  return { basic: { realm, users, source } };
}

// externalAuth reads auth-url and its options into an ExternalAuth.
function externalAuth(
  ctx: TranslateContext,
  ing: Ingress,
  route: Route,
  url: string,
  problems: string[],
): RouteAuth {
  const ext: ExternalAuth = { url, timeoutMs: route.backendTimeoutMs ?? EXT_AUTH_TIMEOUT_MS };
  // nginx variables ($host, $request_uri, ...) are filled per request; a fixed URL is checked now.
  let parsed: URL | undefined;
  try {
    parsed = new URL(url.includes("$") ? url.replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, "x") : url);
  } catch {
    return deny(`${N}auth-url ${JSON.stringify(url)} is not a URL`, problems);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    return deny(`${N}auth-url ${JSON.stringify(url)} is not http or https`, problems);
  if (!url.includes("$")) {
    const svc = serviceOf(ctx, parsed);
    if (typeof svc === "string") return deny(`${N}auth-url: ${svc}`, problems);
    if (svc !== undefined) ext.pool = svc.pool;
  }
  const method = annotation(ing, `${N}auth-method`);
  if (method !== undefined) {
    if (!TOKEN.test(method))
      return deny(`${N}auth-method ${JSON.stringify(method)} is not an HTTP method`, problems);
    ext.method = method.toUpperCase();
  }
  const signin = annotation(ing, `${N}auth-signin`);
  if (signin !== undefined) ext.signin = signin;
  const param = annotation(ing, `${N}auth-signin-redirect-param`);
  if (param !== undefined) ext.signinRedirectParam = param;
  const headers = annotation(ing, `${N}auth-response-headers`);
  if (headers !== undefined) {
    const names = headers
      .split(",")
      .map((h) => h.trim())
      .filter((h) => h !== "");
    const bad = names.filter((h) => !TOKEN.test(h));
    if (bad.length > 0)
      return deny(
        `${N}auth-response-headers: ${bad.map((b) => JSON.stringify(b)).join(", ")} not header names`,
        problems,
      );
    ext.responseHeaders = names;
  }
  const redirect = annotation(ing, `${N}auth-request-redirect`);
  if (redirect !== undefined) ext.requestRedirect = redirect;
  if (annotation(ing, `${N}auth-always-set-cookie`) === "true") ext.alwaysSetCookie = true;
  const cache = cacheOf(ing, problems);
  if (cache !== undefined) Object.assign(ext, cache);
  const set = proxySetHeaders(ctx, ing, problems);
  if (typeof set === "string") return deny(set, problems);
  if (set !== undefined) ext.proxySetHeaders = set;
  return { external: ext };
}

/**
 * serviceOf resolves an auth URL's host that names a cluster Service — "svc.ns.svc[.cluster.local]",
 * or "svc.ns" when that Service exists — to its pool, so standalone manifests work without cluster
 * DNS. undefined: dial the host as written; a string: why a named Service cannot be used.
 */
function serviceOf(ctx: TranslateContext, url: URL): { pool: string } | string | undefined {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)(\.svc(\..+)?)?$/.exec(url.hostname);
  if (m === null) return undefined;
  const [, service, namespace, svcSuffix] = m as unknown as [string, string, string, string | undefined];
  if (svcSuffix === undefined && !ctx.services.has(`${namespace}/${service}`)) return undefined;
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const r = resolveBackend(ctx.services, ctx.slices, { namespace, service, port: { number: port } });
  if (!r.ok) return r.message;
  ctx.pools[r.pool.name] = r.pool;
  return { pool: r.pool.name };
}

// cacheOf reads auth-cache-key and auth-cache-duration ("200 202 5m"; default codes 200 202 401).
function cacheOf(
  ing: Ingress,
  problems: string[],
): Pick<ExternalAuth, "cacheKey" | "cacheDurationMs"> | undefined {
  const key = annotation(ing, `${N}auth-cache-key`);
  if (key === undefined) return undefined;
  const spec = annotation(ing, `${N}auth-cache-duration`) ?? "200 202 401 5m";
  const parts = spec.split(/\s+/);
  const ms = nginxDuration(parts[parts.length - 1]!);
  if (ms === undefined) {
    problems.push(
      `${N}auth-cache-duration ${JSON.stringify(spec)} does not end in a duration (5m, 30s): no caching`,
    );
    return undefined;
  }
  // Only 2xx verdicts are cached: a cached refusal would only save the auth service some work.
  return { cacheKey: key, cacheDurationMs: ms };
}

/** nginxDuration reads an nginx time ("500ms", "30s", "5m", "1h", "1d"; bare seconds), in ms. */
export function nginxDuration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (m === null) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "s"]!;
  return Number(m[1]) * unit;
}

// proxySetHeaders reads auth-proxy-set-headers: a ConfigMap ("ns/name") whose entries are headers.
function proxySetHeaders(
  ctx: TranslateContext,
  ing: Ingress,
  problems: string[],
): Header[] | string | undefined {
  const ref = annotation(ing, `${N}auth-proxy-set-headers`);
  if (ref === undefined) return undefined;
  const [ns, name] = ref.includes("/")
    ? (ref.split("/", 2) as [string, string])
    : [ing.metadata.namespace ?? "", ref];
  const cm = ctx.set.other.find(
    (o) => o.kind === "ConfigMap" && (o.metadata.namespace ?? "") === ns && o.metadata.name === name,
  );
  if (cm === undefined) return `${N}auth-proxy-set-headers: ConfigMap ${ns}/${name} not found`;
  const out: Header[] = [];
  for (const [k, v] of Object.entries((cm.data as Record<string, string> | undefined) ?? {})) {
    if (!TOKEN.test(k)) {
      problems.push(
        `${N}auth-proxy-set-headers: ConfigMap ${ns}/${name} key ${JSON.stringify(k)} is not a header name; skipped`,
      );
      continue;
    }
    out.push({ name: k, value: String(v) });
  }
  return out;
}

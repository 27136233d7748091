// registry.ts: every annotation Portico knows of in the prefixes it watches, and what Portico does
// with it. The registry is what makes "never silent" possible: an annotation in a known prefix
// that is not `implemented` is listed on the object (and by `portico validate`/`explain`), and one
// that grants or restricts access (`access: true`) makes the routes it would have guarded fail
// closed. docs/migration-annotations.md's table is generated from (and tested against) this list
// (scripts/gen-annotation-table.ts).

/** KNOWN_PREFIXES are the annotation prefixes of the products users migrate from. */
export const KNOWN_PREFIXES = [
  "nginx.ingress.kubernetes.io/",
  "metallb.io/",
  "metallb.universe.tf/",
  "kube-vip.io/",
  "ako.vmware.com/",
  "projectcontour.io/",
  "traefik.ingress.kubernetes.io/",
] as const;

/**
 * AnnotationStatus: implemented (honoured as the source product documents), accepted (read, with
 * no effect needed in Portico — the note says why), refused (by design, e.g. snippets — the note
 * says what to use instead), unimplemented (not yet; reported on the object).
 */
export type AnnotationStatus = "implemented" | "accepted" | "refused" | "unimplemented";

/** KnownAnnotation is one registry entry. */
export interface KnownAnnotation {
  /** name is the full annotation key. */
  name: string;
  status: AnnotationStatus;
  /** access marks annotations that grant or restrict access: unhonoured, they fail closed. */
  access?: boolean;
  /** note is the one line docs/migration.md shows (what it does in Portico, or why not). */
  note: string;
}

/** Row is one registry entry in short form: name after the prefix, status, note, and "access". */
type Row = readonly [suffix: string, status: AnnotationStatus, note: string, access?: "access"];

/** rows expands short rows under one prefix into registry entries. */
function rows(prefix: string, list: readonly Row[]): KnownAnnotation[] {
  return list.map(([suffix, status, note, access]) => ({
    name: prefix + suffix,
    status,
    note,
    ...(access ? { access: true } : {}),
  }));
}

const WAF = "attach a WafPolicy (docs/waf.md)";
const SNIPPET = "raw NGINX configuration, refused by design (ingress-nginx's own CVEs came from snippets);";

// Which annotations are `access`: those whose absence would let a request through that the user
// meant to stop — authentication (auth-type/secret/url and what the auth decision depends on:
// auth-method, auth-proxy-set-headers, auth-snippet; auth-response-headers too, since without it a
// client-sent X-Auth-User reaches a backend that trusts the header), client certificates (auth-tls-*
// except pass-certificate and error-page, which only shape the answer), allow/deny lists
// (*-source-range), `satisfy`, the ModSecurity switches and the location/server snippets (they
// routinely carry `deny`, `auth_request` or `if (...) { return 403; }`). Not access: the limit-*
// family and global-rate-limit (a missing rate limit serves the same clients, just more of them —
// a capacity matter the condition reports), auth-signin/auth-cache-*/auth-keepalive* (without them
// Portico asks the auth service every time and answers 401 instead of redirecting: stricter, not
// wider), stream-snippet (it can only add TCP/UDP servers; unhonoured it opens nothing) and
// enable-global-auth (Portico has no global auth to switch off).

/** INGRESS_NGINX is every annotation ingress-nginx's docs list (docs/user-guide/nginx-configuration/annotations.md). */
const INGRESS_NGINX: readonly Row[] = [
  ["app-root", "implemented", "requests for / are redirected to the application root (302)"],
  ["affinity", "implemented", "cookie: sticky sessions by a cookie Portico sets"],
  [
    "affinity-mode",
    "implemented",
    "balanced/persistent: Portico keeps a session on its endpoint while it exists (persistent)",
  ],
  [
    "affinity-canary-behavior",
    "unimplemented",
    "sessions stay on the backend their cookie names, canary or not (sticky)",
  ],
  ["auth-realm", "implemented", "the realm of the basic-auth challenge"],
  ["auth-secret", "implemented", "the htpasswd Secret of basic authentication", "access"],
  ["auth-secret-type", "implemented", "auth-file or auth-map", "access"],
  ["auth-type", "implemented", "basic: HTTP basic authentication against auth-secret", "access"],
  [
    "auth-tls-secret",
    "implemented",
    "verify client certificates of the Ingress's TLS hosts against ca.crt",
    "access",
  ],
  ["auth-tls-verify-depth", "implemented", "1 (other depths are reported NotImplemented)", "access"],
  ["auth-tls-verify-client", "implemented", "on, optional, optional_no_ca, off", "access"],
  [
    "auth-tls-error-page",
    "unimplemented",
    "a failed client certificate ends the handshake instead of redirecting",
  ],
  [
    "auth-tls-pass-certificate-to-upstream",
    "unimplemented",
    "no ssl-client-cert header is sent to the backend",
  ],
  [
    "auth-tls-match-cn",
    "unimplemented",
    "any client certificate the CA verifies is taken, whatever its CN",
    "access",
  ],
  [
    "auth-url",
    "implemented",
    "external authentication: a subrequest to the URL decides (2xx lets through)",
    "access",
  ],
  ["auth-method", "implemented", "the method of the external auth subrequest", "access"],
  ["auth-signin", "implemented", "where a 401 from the auth service redirects the client"],
  ["auth-signin-redirect-param", "implemented", "the query parameter carrying the original URL (default rd)"],
  [
    "auth-response-headers",
    "implemented",
    "auth service response headers copied to the backend request",
    "access",
  ],
  ["auth-proxy-set-headers", "implemented", "headers (from a ConfigMap) sent to the auth service", "access"],
  ["auth-request-redirect", "implemented", "the X-Auth-Request-Redirect header sent to the auth service"],
  ["auth-cache-key", "implemented", "2xx auth answers are kept per this key (nginx variables filled in)"],
  ["auth-cache-duration", "implemented", "how long a 2xx auth answer is kept for its cache key"],
  ["auth-keepalive", "unimplemented", "connections to the auth service follow Portico's own pooling"],
  [
    "auth-keepalive-requests",
    "unimplemented",
    "connections to the auth service follow Portico's own pooling",
  ],
  ["auth-keepalive-timeout", "unimplemented", "connections to the auth service follow Portico's own pooling"],
  ["auth-keepalive-share-vars", "unimplemented", "no NGINX variables to share"],
  [
    "auth-always-set-cookie",
    "implemented",
    "the auth service's Set-Cookie reaches the client on refusals too",
  ],
  ["auth-snippet", "refused", `${SNIPPET} set headers with auth-proxy-set-headers`, "access"],
  [
    "enable-global-auth",
    "accepted",
    "Portico has no global external auth (ConfigMap global-auth-url), so there is nothing to switch",
  ],
  [
    "backend-protocol",
    "implemented",
    "HTTP, HTTPS, GRPC, GRPCS, H2C; AUTO_HTTP, FCGI, AJP answer 502 (reported)",
  ],
  ["canary", "implemented", "this Ingress is the canary of the main Ingress with the same host and path"],
  ["canary-by-header", "implemented", "always/never in the header picks the canary"],
  ["canary-by-header-value", "implemented", "this header value picks the canary"],
  ["canary-by-header-pattern", "implemented", "a header value matching the regex picks the canary"],
  ["canary-by-cookie", "implemented", "always/never in the cookie picks the canary"],
  ["canary-weight", "implemented", "share of the remaining requests sent to the canary"],
  ["canary-weight-total", "implemented", "the total canary-weight is out of (default 100)"],
  [
    "client-body-buffer-size",
    "accepted",
    "Portico holds request bodies in memory up to portico.dev/request-body-buffer; there is no temporary file to size",
  ],
  [
    "configuration-snippet",
    "refused",
    `${SNIPPET} use HTTPRoute filters, an AccessPolicy or a WafPolicy`,
    "access",
  ],
  ["custom-http-errors", "implemented", "these backend status codes are answered by the default-backend"],
  [
    "default-backend",
    "implemented",
    "the Service that answers custom-http-errors and routes without endpoints",
  ],
  ["enable-cors", "implemented", "CORS preflight answers and response headers"],
  ["cors-allow-origin", "implemented", "allowed origins (wildcard subdomains too)"],
  ["cors-allow-methods", "implemented", "Access-Control-Allow-Methods"],
  ["cors-allow-headers", "implemented", "Access-Control-Allow-Headers"],
  ["cors-expose-headers", "implemented", "Access-Control-Expose-Headers"],
  ["cors-allow-credentials", "implemented", "Access-Control-Allow-Credentials"],
  ["cors-max-age", "implemented", "Access-Control-Max-Age"],
  [
    "force-ssl-redirect",
    "implemented",
    "HTTP is redirected to HTTPS (308) even without a certificate on this Ingress",
  ],
  [
    "from-to-www-redirect",
    "unimplemented",
    "add the other name to the rules, or an HTTPRoute with a RequestRedirect filter",
  ],
  [
    "http2-push-preload",
    "accepted",
    "HTTP/2 server push is obsolete (browsers dropped it); Link headers reach the client unchanged",
  ],
  ["limit-connections", "implemented", "concurrent connections per client address (503 past it)"],
  ["limit-rps", "implemented", "requests per second per client address, burst × limit-burst-multiplier"],
  ["limit-rpm", "implemented", "requests per minute per client address"],
  ["limit-burst-multiplier", "implemented", "burst size as a multiple of the rate (default 5)"],
  ["limit-whitelist", "implemented", "client CIDRs exempt from the limits"],
  ["limit-rate", "unimplemented", "no per-connection response bandwidth limit"],
  ["limit-rate-after", "unimplemented", "no per-connection response bandwidth limit"],
  ["global-rate-limit", "unimplemented", "use an AccessPolicy rate limit (docs/access-policy.md)"],
  ["global-rate-limit-window", "unimplemented", "use an AccessPolicy rate limit (docs/access-policy.md)"],
  ["global-rate-limit-key", "unimplemented", "use an AccessPolicy rate limit (docs/access-policy.md)"],
  [
    "global-rate-limit-ignored-cidrs",
    "unimplemented",
    "use an AccessPolicy rate limit (docs/access-policy.md)",
  ],
  ["permanent-redirect", "implemented", "every request is redirected to this URL (301)"],
  ["permanent-redirect-code", "implemented", "the status code of permanent-redirect"],
  ["temporal-redirect", "implemented", "every request is redirected to this URL (302)"],
  ["temporal-redirect-code", "implemented", "the status code of temporal-redirect"],
  [
    "preserve-trailing-slash",
    "accepted",
    "Portico's HTTPS redirect keeps the path as requested, trailing slash included",
  ],
  ["proxy-body-size", "implemented", "larger request bodies are answered 413"],
  ["proxy-cookie-domain", "unimplemented", "Set-Cookie domains from the backend are passed unchanged"],
  ["proxy-cookie-path", "unimplemented", "Set-Cookie paths from the backend are passed unchanged"],
  ["proxy-connect-timeout", "implemented", "time to connect to a backend"],
  ["proxy-send-timeout", "implemented", "time between two writes to the backend"],
  ["proxy-read-timeout", "implemented", "time between two reads from the backend (504 past it)"],
  ["proxy-next-upstream", "implemented", "off, or error (Portico's retries); other conditions reported"],
  [
    "proxy-next-upstream-timeout",
    "unimplemented",
    "0 accepted; tries are bounded by proxy-next-upstream-tries and the request timeout",
  ],
  ["proxy-next-upstream-tries", "implemented", "how many endpoints a request may try"],
  [
    "proxy-request-buffering",
    "implemented",
    "off streams request bodies (read as portico.dev/request-body-buffer: 0)",
  ],
  ["proxy-redirect-from", "unimplemented", "Location headers from the backend are passed unchanged"],
  ["proxy-redirect-to", "unimplemented", "Location headers from the backend are passed unchanged"],
  [
    "proxy-http-version",
    "accepted",
    "Portico speaks HTTP/1.1 to HTTP backends (or h2 by backend-protocol); 1.0 is not offered",
  ],
  [
    "proxy-ssl-secret",
    "unimplemented",
    "use a BackendTLSPolicy (Gateway API) for client certificates to backends",
  ],
  ["proxy-ssl-ciphers", "unimplemented", "backend TLS uses Portico's default suites"],
  ["proxy-ssl-name", "unimplemented", "use a BackendTLSPolicy hostname"],
  ["proxy-ssl-protocols", "unimplemented", "backend TLS uses TLS 1.2 and 1.3"],
  ["proxy-ssl-verify", "unimplemented", "use a BackendTLSPolicy to verify backend certificates"],
  ["proxy-ssl-verify-depth", "unimplemented", "use a BackendTLSPolicy to verify backend certificates"],
  ["proxy-ssl-server-name", "unimplemented", "use a BackendTLSPolicy hostname (sent as SNI)"],
  ["enable-rewrite-log", "accepted", "NGINX debug logging; Portico's access log records the rewritten path"],
  ["rewrite-target", "implemented", "the path sent to the backend, with use-regex capture groups"],
  ["satisfy", "unimplemented", "any/all of several auth methods; Portico requires all", "access"],
  ["server-alias", "implemented", "more host names served with the Ingress's rules"],
  ["server-snippet", "refused", `${SNIPPET} use HTTPRoute filters, an AccessPolicy or a WafPolicy`, "access"],
  ["service-upstream", "unimplemented", "Portico balances over the endpoints, never the ClusterIP"],
  ["session-cookie-name", "implemented", "name of the affinity cookie (default INGRESSCOOKIE)"],
  ["session-cookie-path", "implemented", "Path of the affinity cookie"],
  ["session-cookie-domain", "implemented", "Domain of the affinity cookie"],
  ["session-cookie-expires", "implemented", "Expires of the affinity cookie (seconds)"],
  ["session-cookie-max-age", "implemented", "Max-Age of the affinity cookie (seconds)"],
  ["session-cookie-secure", "implemented", "Secure attribute of the affinity cookie"],
  ["session-cookie-change-on-failure", "implemented", "a new cookie when the endpoint it names failed"],
  ["session-cookie-samesite", "implemented", "SameSite of the affinity cookie"],
  [
    "session-cookie-conditional-samesite-none",
    "implemented",
    "omit SameSite=None for browsers known to mishandle it",
  ],
  ["ssl-redirect", "implemented", "HTTP to HTTPS (308) for the Ingress's TLS hosts"],
  ["ssl-passthrough", "implemented", "TLS connections go to the backend undecrypted, routed by SNI"],
  ["stream-snippet", "refused", `${SNIPPET} use a LoadBalancer Service or a TCPRoute for TCP/UDP`],
  ["upstream-hash-by", "implemented", "consistent hashing of a request value picks the endpoint"],
  ["upstream-hash-by-subset", "unimplemented", "hashing picks one endpoint, not a subset"],
  ["upstream-hash-by-subset-size", "unimplemented", "hashing picks one endpoint, not a subset"],
  ["x-forwarded-prefix", "implemented", "the X-Forwarded-Prefix header to the backend"],
  ["load-balance", "implemented", "the balancing algorithm (round_robin, ewma)"],
  ["upstream-vhost", "implemented", "the Host header sent to the backend"],
  ["allowlist-source-range", "implemented", "only these client CIDRs are served (others 403)", "access"],
  ["denylist-source-range", "implemented", "client CIDRs answered 403", "access"],
  ["whitelist-source-range", "implemented", "only these client CIDRs are served (others 403)", "access"],
  [
    "proxy-buffering",
    "accepted",
    "Portico streams responses as they arrive (the ingress-nginx default, off); on changes nothing the client sees",
  ],
  ["proxy-buffers-number", "accepted", "NGINX buffer tuning; Portico streams responses"],
  [
    "proxy-buffer-size",
    "accepted",
    "NGINX buffer tuning; Portico reads response heads up to its header limits",
  ],
  ["proxy-max-temp-file-size", "accepted", "Portico never spools responses to disk"],
  ["ssl-ciphers", "implemented", "TLS 1.2 suites of the VIP's HTTPS port"],
  ["ssl-prefer-server-ciphers", "implemented", "choose the suite by the server's order"],
  [
    "connection-proxy-header",
    "accepted",
    "Portico manages the backend Connection header itself (keep-alive pooling)",
  ],
  ["custom-headers", "unimplemented", "use an HTTPRoute RequestHeaderModifier/ResponseHeaderModifier filter"],
  [
    "enable-access-log",
    "unimplemented",
    "every request is logged (the access log is not switched per Ingress)",
  ],
  ["enable-opentracing", "unimplemented", "no tracing spans are exported (OpenTracing is retired upstream)"],
  ["opentracing-trust-incoming-span", "unimplemented", "no tracing spans are exported"],
  ["enable-opentelemetry", "unimplemented", "no tracing spans are exported"],
  ["opentelemetry-trust-incoming-span", "unimplemented", "no tracing spans are exported"],
  ["opentelemetry-operation-name", "unimplemented", "no tracing spans are exported"],
  ["enable-influxdb", "unimplemented", "use Portico's Prometheus metrics (docs/metrics.md)"],
  ["influxdb-measurement", "unimplemented", "use Portico's Prometheus metrics (docs/metrics.md)"],
  ["influxdb-port", "unimplemented", "use Portico's Prometheus metrics (docs/metrics.md)"],
  ["influxdb-host", "unimplemented", "use Portico's Prometheus metrics (docs/metrics.md)"],
  ["influxdb-server-name", "unimplemented", "use Portico's Prometheus metrics (docs/metrics.md)"],
  ["use-regex", "implemented", "paths are case-insensitive regular expressions"],
  ["enable-modsecurity", "unimplemented", `${WAF}; "false" is taken as asked`, "access"],
  [
    "enable-owasp-core-rules",
    "unimplemented",
    `${WAF}: it runs the OWASP CRS; "false" is taken as asked`,
    "access",
  ],
  ["modsecurity-transaction-id", "unimplemented", "the WAF's transaction id is Portico's request id"],
  ["modsecurity-snippet", "refused", `${SNIPPET} put SecLang rules in a WafPolicy's customRules`, "access"],
  ["mirror-request-body", "unimplemented", "use an HTTPRoute RequestMirror filter"],
  ["mirror-target", "unimplemented", "use an HTTPRoute RequestMirror filter"],
  ["mirror-host", "unimplemented", "use an HTTPRoute RequestMirror filter"],
  [
    "disable-proxy-intercept-errors",
    "unimplemented",
    "errors are intercepted only for custom-http-errors codes",
  ],
  ["fastcgi-index", "unimplemented", "FastCGI backends are not supported"],
  ["fastcgi-params-configmap", "unimplemented", "FastCGI backends are not supported"],
];

// MetalLB reads its annotations on LoadBalancer Services; Portico also reads them where it reads its
// own VIP annotations (IngressClass, a dedicated-VIP Ingress, Gateway). The Portico annotation wins.
const METALLB: readonly Row[] = [
  ["loadBalancerIPs", "implemented", "as portico.dev/load-balancer-ips: the VIPs asked for (one per family)"],
  ["address-pool", "implemented", "as portico.dev/address-pool: the VipPool to draw from"],
  [
    "allow-shared-ip",
    "implemented",
    "as portico.dev/allow-shared-ip: equal keys may share a VIP when their ports differ",
  ],
  [
    "ip-allocated-from-pool",
    "accepted",
    "written by MetalLB to say which pool it used; Portico reports its own in status",
  ],
];

const KUBE_VIP: readonly Row[] = [
  ["loadbalancerIPs", "unimplemented", "use portico.dev/load-balancer-ips (or metallb.io/loadBalancerIPs)"],
  ["loadbalancerHostname", "unimplemented", "Portico announces addresses, not DHCP host names"],
  [
    "vipHost",
    "accepted",
    "written by kube-vip to say which node holds the VIP; see the portico.dev/Announced condition",
  ],
  ["requestedIP", "accepted", "written by kube-vip's DHCP mode; Portico reports its VIP in status"],
  ["serviceInterface", "unimplemented", "set the interface on the VipPool (spec.announce.l2.interfaces)"],
  ["ignore-service-security", "unimplemented", "Portico forwards only the Service's own ports"],
  ["egress", "unimplemented", "Portico does not SNAT pod egress traffic"],
  ["egress-ipv6", "unimplemented", "Portico does not SNAT pod egress traffic"],
  ["egress-destination-ports", "unimplemented", "Portico does not SNAT pod egress traffic"],
  ["egress-source-ports", "unimplemented", "Portico does not SNAT pod egress traffic"],
  ["egress-allowed-networks", "unimplemented", "Portico does not SNAT pod egress traffic"],
  ["egress-denied-networks", "unimplemented", "Portico does not SNAT pod egress traffic"],
  ["forwardUPNP", "unimplemented", "no UPnP port forwarding"],
];

const AKO: readonly Row[] = [
  ["enable-tls", "unimplemented", "Portico serves HTTPS for every spec.tls host with a usable certificate"],
  ["host-fqdn-vs-uuid-map", "accepted", "written by AKO (its virtual service ids)"],
  ["controller-cluster-uuid", "accepted", "written by AKO (its controller's id)"],
];

const CONTOUR: readonly Row[] = [
  ["ingress.class", "unimplemented", "use spec.ingressClassName with a Portico IngressClass"],
  [
    "num-retries",
    "unimplemented",
    "use nginx.ingress.kubernetes.io/proxy-next-upstream-tries or an HTTPRoute retry",
  ],
  ["retry-on", "unimplemented", "use nginx.ingress.kubernetes.io/proxy-next-upstream"],
  ["per-try-timeout", "unimplemented", "use nginx.ingress.kubernetes.io/proxy-read-timeout"],
  ["response-timeout", "unimplemented", "use an HTTPRoute timeouts.request"],
  ["websocket-routes", "accepted", "Portico passes WebSocket upgrades on every route"],
  ["tls-minimum-protocol-version", "unimplemented", "use portico.dev/ssl-protocols"],
  ["tls-maximum-protocol-version", "unimplemented", "use portico.dev/ssl-protocols"],
  [
    "tls-cert-namespace",
    "unimplemented",
    "use a ReferenceGrant (Gateway API) for certificates in another namespace",
  ],
  ["max-connections", "unimplemented", "no per-Service circuit breaker"],
  ["max-pending-requests", "unimplemented", "no per-Service circuit breaker"],
  ["max-requests", "unimplemented", "no per-Service circuit breaker"],
  ["max-retries", "unimplemented", "no per-Service circuit breaker"],
  ["per-host-max-connections", "unimplemented", "no per-endpoint connection cap"],
  [
    "upstream-protocol.h2",
    "unimplemented",
    "use nginx.ingress.kubernetes.io/backend-protocol: GRPCS/HTTPS or the Service port's appProtocol",
  ],
  [
    "upstream-protocol.h2c",
    "unimplemented",
    "use nginx.ingress.kubernetes.io/backend-protocol: GRPC/H2C or the Service port's appProtocol",
  ],
  [
    "upstream-protocol.tls",
    "unimplemented",
    "use nginx.ingress.kubernetes.io/backend-protocol: HTTPS or a BackendTLSPolicy",
  ],
];

const TRAEFIK: readonly Row[] = [
  ["router.entrypoints", "unimplemented", "Portico serves an Ingress on its class's HTTP and HTTPS ports"],
  [
    "router.middlewares",
    "unimplemented",
    "Traefik middlewares (often auth): use AccessPolicy, WafPolicy or HTTPRoute filters",
    "access",
  ],
  ["router.priority", "unimplemented", "Portico orders routes Exact first, then longest prefix"],
  ["router.rulesyntax", "unimplemented", "no Traefik rule language"],
  [
    "router.pathmatcher",
    "unimplemented",
    "use pathType (Exact, Prefix) or nginx.ingress.kubernetes.io/use-regex",
  ],
  ["router.tls", "accepted", "Portico serves HTTPS for every spec.tls host with a usable certificate"],
  [
    "router.tls.certresolver",
    "unimplemented",
    "use cert-manager or portico.dev/certificate-issuer (docs/certificates.md)",
  ],
  ["router.tls.domains.n.main", "unimplemented", "certificate domains come from spec.tls hosts"],
  ["router.tls.domains.n.sans", "unimplemented", "certificate domains come from spec.tls hosts"],
  ["router.tls.options", "unimplemented", "use portico.dev/ssl-protocols and portico.dev/ssl-ciphers"],
  ["router.observability.accesslogs", "unimplemented", "every request is logged"],
  ["router.observability.metrics", "unimplemented", "metrics are always on"],
  ["router.observability.tracing", "unimplemented", "no tracing spans are exported"],
  ["service.nativelb", "unimplemented", "Portico balances over the endpoints, never the ClusterIP"],
  ["service.nodeportlb", "unimplemented", "Portico balances over the endpoints, never node ports"],
  ["service.serversscheme", "unimplemented", "use nginx.ingress.kubernetes.io/backend-protocol"],
  ["service.serverstransport", "unimplemented", "use a BackendTLSPolicy"],
  [
    "service.passhostheader",
    "unimplemented",
    "the client's Host is passed; use nginx.ingress.kubernetes.io/upstream-vhost to change it",
  ],
  ["service.sticky.cookie", "unimplemented", "use nginx.ingress.kubernetes.io/affinity: cookie"],
  ["service.sticky.cookie.name", "unimplemented", "use nginx.ingress.kubernetes.io/session-cookie-name"],
  ["service.sticky.cookie.secure", "unimplemented", "use nginx.ingress.kubernetes.io/session-cookie-secure"],
  ["service.sticky.cookie.httponly", "unimplemented", "use nginx.ingress.kubernetes.io/affinity: cookie"],
  [
    "service.sticky.cookie.samesite",
    "unimplemented",
    "use nginx.ingress.kubernetes.io/session-cookie-samesite",
  ],
  ["service.sticky.cookie.maxage", "unimplemented", "use nginx.ingress.kubernetes.io/session-cookie-max-age"],
  ["service.sticky.cookie.path", "unimplemented", "use nginx.ingress.kubernetes.io/session-cookie-path"],
];

/** KNOWN_ANNOTATIONS is the registry, by prefix in KNOWN_PREFIXES order. */
export const KNOWN_ANNOTATIONS: readonly KnownAnnotation[] = [
  ...rows("nginx.ingress.kubernetes.io/", INGRESS_NGINX),
  ...rows("metallb.io/", METALLB),
  ...rows("metallb.universe.tf/", METALLB),
  ...rows("kube-vip.io/", KUBE_VIP),
  ...rows("ako.vmware.com/", AKO),
  ...rows("projectcontour.io/", CONTOUR),
  ...rows("traefik.ingress.kubernetes.io/", TRAEFIK),
];

const BY_NAME: ReadonlyMap<string, KnownAnnotation> = new Map(KNOWN_ANNOTATIONS.map((a) => [a.name, a]));

/** knownPrefixOf is the KNOWN_PREFIXES entry a name starts with, or undefined. */
export function knownPrefixOf(name: string): string | undefined {
  return KNOWN_PREFIXES.find((p) => name.startsWith(p));
}

/**
 * lookupAnnotation finds a name's registry entry. Traefik numbers its TLS domains
 * (router.tls.domains.0.main), which the registry spells with "n".
 */
export function lookupAnnotation(name: string): KnownAnnotation | undefined {
  return BY_NAME.get(name) ?? BY_NAME.get(name.replace(/\.domains\.\d+\./, ".domains.n."));
}

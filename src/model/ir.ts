// ir.ts: the intermediate representation, the contract between controller and engines.
// An EngineSnapshot is complete and self-contained: an engine needs nothing else to serve it.
// Every name that links one part to another (pool, certificate) is a key into the snapshot's maps.

/** EngineSnapshot is one versioned, immutable configuration of the data plane. */
export interface EngineSnapshot {
  /** version increases by one with every snapshot the controller produces. */
  version: number;
  /** l4 are the TCP/UDP virtual services, one per VIP address, port and protocol. */
  l4: L4Listener[];
  /** http are the L7 listeners, one per VIP address and port (HTTP or HTTPS). */
  http: HttpListener[];
  /** pools are the backend groups, by name. */
  pools: Record<string, Pool>;
  /** certificates are PEM key pairs, by name ("namespace/secret"). */
  certificates: Record<string, Certificate>;
  /**
   * announce says how this engine makes VIPs reachable on the network (docs/networking.md).
   * Absent: nothing is announced (the network routes the VIPs to the node by hand). The
   * controller's full snapshot lists every announced VIP with its group; each engine's slice
   * lists only the VIPs that engine announces, with its group's lease and BGP settings.
   */
  announce?: Announcement;
  /** dns are the authoritative DNS servers (one per DnsZone VIP address and port; docs/dns.md). */
  dns?: DnsServer[];
  /**
   * acme are the pending ACME challenges the built-in issuer (src/controller/acme) asks every
   * engine to answer, so whichever engine the CA's validation request reaches answers it.
   */
  acme?: AcmeChallenges;
  /**
   * analytics tells engines what to keep of their traffic per virtual service (issue 15,
   * docs/analytics.md): latency targets and full-log switches. Absent: defaults, significant
   * requests only.
   */
  analytics?: AnalyticsSettings;
}

// --- Analytics (issue 15, src/analytics/types.ts) ---

/**
 * AnalyticsSettings: per virtual service (keyed by vsKey of src/analytics/types.ts: the listener
 * name for L4/TLS, "LISTENER HOST" for an HTTP virtual host), the latency target (Apdex T; a
 * request slower than 4 T is kept as significant) and until when every request is logged.
 */
export interface AnalyticsSettings {
  /** targetsMs: the latency target in ms (absent: 500 ms). From the portico.dev/latency-target annotation. */
  targetsMs?: Record<string, number>;
  /** fullLogsUntil: log every request until this time (ms since the epoch); set by the admin API. */
  fullLogsUntil?: Record<string, number>;
}

// --- Built-in ACME (issue 18, docs/certificates.md) ---

/** AcmeChallenges are the challenge answers engines give while an ACME order is pending. */
export interface AcmeChallenges {
  /** http01: `GET /.well-known/acme-challenge/TOKEN` on every HTTP listener answers keyAuthorization. */
  http01?: { token: string; keyAuthorization: string }[];
  /**
   * tlsAlpn01 (RFC 8737): a TLS handshake offering ALPN `acme-tls/1` with SNI hostname gets this
   * self-signed certificate carrying the acmeIdentifier extension, and nothing else.
   */
  tlsAlpn01?: { hostname: string; certPem: string; keyPem: string }[];
}

/** Announcement is the set of VIPs an engine announces; a VIP absent from vips is withdrawn. */
export interface Announcement {
  /**
   * leaseMs: an announced address lives this long in the kernel (valid_lft) unless the engine
   * renews it, so a frozen or dead engine's L2 and BGP announcements end within it on their own.
   */
  leaseMs: number;
  /**
   * withdrawDelayMs: a draining engine withdraws its announcements, waits this long so routers and
   * neighbours move new traffic elsewhere, then stops accepting (EngineGroup
   * spec.announcement.withdrawDelaySeconds). Absent: 2000.
   */
  withdrawDelayMs?: number;
  vips: AnnouncedVip[];
  /** bgp is the speaker's settings; present when the engine's group configures BGP peers. */
  bgp?: BgpSpeaker;
}

/** AnnouncedVip is one VIP address and how it is announced. */
export interface AnnouncedVip {
  address: string;
  /** group is the EngineGroup serving the address (full snapshot only; absent in a slice). */
  group?: string;
  /** pool is the VipPool the address came from (named in status and errors). */
  pool: string;
  /** L2: the owner adds the address to an interface and sends gratuitous ARP / unsolicited NA. BGP: routes. */
  mode: "L2" | "BGP";
  /**
   * interfaces (L2) are where the address may go; the first one present on the node is used.
   * Empty: the interface whose subnet contains the address, else the default route's.
   */
  interfaces?: string[];
  /** communities (BGP) are "ASN:value" standard communities added to the route. */
  communities?: string[];
  /** localPref (BGP) is LOCAL_PREF sent to iBGP peers. */
  localPref?: number;
  /** aggregationLength (BGP) announces the address's covering prefix of this length instead of a host route. */
  aggregationLength?: number;
}

/** BgpSpeaker is the engine's BGP identity and sessions (driven through BIRD; docs/networking.md). */
export interface BgpSpeaker {
  asn: number;
  /** routerId is an IPv4 literal; absent: BIRD picks the engine's lowest IPv4 address. */
  routerId?: string;
  peers: BgpPeer[];
}

/** BgpPeer is one BGP session (a router the engine announces to). */
export interface BgpPeer {
  /** name is unique per speaker ("EngineGroup/edge/peer-0" style names appear in status and metrics). */
  name: string;
  address: string;
  asn: number;
  /** port of the peer (default 179). */
  port?: number;
  /** password is the TCP-MD5 secret, resolved from its Secret; never logged. */
  password?: string;
  holdTimeSeconds: number;
  /** keepaliveSeconds (default holdTimeSeconds / 3). */
  keepaliveSeconds?: number;
  /** bfd runs a BFD session beside BGP, so a dead link is noticed in under a second. */
  bfd: boolean;
  /** ebgpMultihop allows a peer this many hops away (eBGP only; absent: directly connected). */
  ebgpMultihop?: number;
}

/** DnsServer answers authoritatively for its zones on one VIP address and port (UDP and TCP). */
export interface DnsServer {
  /** group is the EngineGroup whose engines serve it (absent: "default"). */
  group?: string;
  /** name identifies the server in logs and metrics ("DnsZone/example.com"). */
  name: string;
  address: string;
  port: number;
  zones: DnsZoneData[];
  /** rateLimit is response-rate limiting per client address (/24 IPv4, /56 IPv6); absent: off. */
  rateLimit?: { responsesPerSecond: number; slip: number };
  /** forward sends names outside every zone to these resolvers ("ip:port"); absent: REFUSED. */
  forward?: string[];
}

/** DnsZoneData is one zone: its apex, SOA, NS and records. Names are lower case, without the final dot. */
export interface DnsZoneData {
  name: string;
  soa: {
    mname: string;
    rname: string;
    serial: number;
    refresh: number;
    retry: number;
    expire: number;
    /** minimum is the negative-caching TTL (RFC 2308). */
    minimum: number;
    ttl: number;
  };
  ns: string[];
  nsTtl: number;
  records: DnsRecord[];
}

/** DnsRecord is one resource record set member; "*.example.com" names are wildcards. */
export interface DnsRecord {
  name: string;
  type: "A" | "AAAA" | "CNAME" | "TXT";
  ttl: number;
  /** value: an address (A/AAAA), a target name (CNAME), or the text (TXT). */
  value: string;
  /** pools, when set, make the record health-aware: it is answered only while one of these pools has an endpoint up. */
  pools?: string[];
  /** fallback: the record is answered even when its pools are all down (zone setting). */
  fallback?: boolean;
}

/** L4Listener forwards a VIP port to a pool without looking at the bytes. */
export interface L4Listener {
  /** group is the EngineGroup whose engines serve this listener (absent: "default"). */
  group?: string;
  /** name identifies the listener in logs and metrics ("Service/ns/name:53/UDP"). */
  name: string;
  /** address is the VIP (IPv4 or IPv6 literal). */
  address: string;
  port: number;
  protocol: "TCP" | "UDP";
  /** pool is a key of EngineSnapshot.pools. */
  pool: string;
  /** proxyProtocol, when set, prefixes each backend connection with a PROXY header (TCP only). */
  proxyProtocol?: 1 | 2;
  /** idleTimeoutMs closes a TCP connection or expires a UDP session with no traffic for this long. */
  idleTimeoutMs: number;
  /** connectTimeoutMs bounds each backend connect attempt before failing over (TCP only). */
  connectTimeoutMs: number;
  /** maxSessions caps concurrent UDP sessions; new clients beyond it are dropped (UDP only). */
  maxSessions?: number;
}

/** HttpListener serves HTTP/1.1 and HTTP/2 on one VIP port, optionally behind TLS. */
export interface HttpListener {
  /** group is the EngineGroup whose engines serve this listener (absent: "default"). */
  group?: string;
  /** name identifies the listener in logs and metrics ("IngressClass/portico:443"). */
  name: string;
  address: string;
  port: number;
  /** tls, when present, makes this an HTTPS listener; HTTP/2 is offered by ALPN. */
  tls?: ListenerTls;
  /** virtualHosts are tried most specific first: exact names, then wildcards by length, then "*". */
  virtualHosts: VirtualHost[];
  /** requestTimeoutMs bounds a whole request/response exchange unless a route overrides it. */
  requestTimeoutMs: number;
  /** idleTimeoutMs closes a client keep-alive connection idle for this long. */
  idleTimeoutMs: number;
  /**
   * sniRoutes (Gateway API TLSRoute) claim TLS server names before any HTTP is read. A listener
   * with sniRoutes speaks TLS on its port even when `tls` is absent: the engine reads the
   * ClientHello's SNI and picks the most specific name across sniRoutes and `tls.sni` (exact,
   * then the longest wildcard, then "*" / defaultCertificate; an sniRoute wins a tie). A name an
   * sniRoute wins is forwarded as that route says; any other is terminated with `tls` (its
   * certificate for the name, else the default one) and served as HTTP, or closed when `tls` is
   * absent. Lets one port carry HTTPS
   * listeners and TLS passthrough listeners side by side, as the Gateway API allows.
   */
  sniRoutes?: SniRoute[];
  /**
   * maxConnections caps the client connections open on this listener (AccessPolicy
   * connectionLimit on a Gateway or listener); one more is accepted and closed at once, counted.
   */
  maxConnections?: number;
}

/** SniRoute forwards the TLS connections of one server name as a byte stream (TLSRoute). */
export interface SniRoute {
  /** name identifies the route's source for logs and metrics ("TLSRoute/ns/name#0"). */
  name: string;
  /**
   * hostname is an exact server name, a wildcard "*.example.com" (one or more labels), or "*" for
   * any name, clients without SNI included.
   */
  hostname: string;
  /**
   * mode Passthrough relays the client's TLS bytes untouched (the backend terminates);
   * Terminate completes the handshake with the listener's certificate for the name (from
   * `tls.sni`/`defaultCertificate`) and relays the decrypted bytes.
   */
  mode: "Passthrough" | "Terminate";
  /** backends are weighted TCP pools (keys of EngineSnapshot.pools); empty: the connection is closed. */
  backends: { pool: string; weight: number }[];
}

/** ListenerTls selects a certificate by SNI. */
export interface ListenerTls {
  /**
   * certificates map server names ("a.example.com", "*.example.com") to certificate keys.
   * clientValidation (issue 18, Ingress auth-tls-*), when set, replaces the listener's
   * clientValidation for connections whose SNI picks this entry.
   */
  sni: { hostname: string; certificate: string; clientValidation?: ClientValidation }[];
  /**
   * defaultCertificate answers clients without SNI or with an unknown name; absent: a self-signed
   * certificate the engine generates at start, so those clients get an HTTP answer (404), not a reset.
   */
  defaultCertificate?: string;
  /**
   * listenerHostnames, set when two or more Gateway HTTPS listeners share the port, are their
   * hostnames ("*" for one without). The engine picks the most specific one for the connection's
   * SNI and for each request's Host; when the SNI has one and the Host another (or none), the
   * request gets 421 Misdirected Request (RFC 9110 §15.5.20). Absent (Ingress, one listener):
   * Host alone routes.
   */
  listenerHostnames?: string[];
  /** clientValidation, when set, asks HTTPS clients for a certificate (Gateway spec.tls.frontend). */
  clientValidation?: ClientValidation;
  // --- issue 18 item 4 (TLS options, ECDSA + RSA): owned by tls-options ---
  /**
   * options are the listener's protocol settings (absent: TLS 1.2–1.3, ECDHE + AEAD suites).
   * They hold for the whole port: OpenSSL fixes versions and suites before SNI picks a context.
   */
  options?: TlsOptions;
  /**
   * alternates add, to a primary certificate key (from `sni` or `defaultCertificate`), certificates
   * for the same names with other key types (ECDSA beside RSA); the engine serves them from one
   * context and OpenSSL picks the one the client's signature algorithms and cipher suites allow.
   */
  alternates?: { primary: string; certificate: string }[];
}

/** TlsOptions are a listener's TLS protocol settings; each absent field keeps the safe default. */
export interface TlsOptions {
  /** minVersion is the lowest protocol accepted (default TLSv1.2; TLS 1.0/1.1 are not offered). */
  minVersion?: "TLSv1.2" | "TLSv1.3";
  /** maxVersion is the highest protocol offered (default TLSv1.3). */
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /**
   * ciphers is an OpenSSL cipher list of validated names ("ECDHE-RSA-AES128-GCM-SHA256:..."),
   * TLS 1.2 suites and optionally TLS 1.3 ones ("TLS_AES_128_GCM_SHA256"); without TLS 1.3 names
   * the default TLS 1.3 suites stay on.
   */
  ciphers?: string;
  /** ecdhCurves are the key-exchange groups in preference order ("X25519:P-256"). */
  ecdhCurves?: string;
  /** preferServerCiphers picks the suite by the server's order, not the client's (default true). */
  preferServerCiphers?: boolean;
}

/**
 * ClientValidation verifies client certificates against caPem. AllowValidOnly closes connections
 * without a certificate the CA verifies; AllowInsecureFallback accepts them anyway.
 */
export interface ClientValidation {
  caPem: string;
  /** AllowValidOrNone (Ingress auth-tls-verify-client "optional"): no certificate, or one that verifies. */
  mode: "AllowValidOnly" | "AllowInsecureFallback" | "AllowValidOrNone";
}

/** Certificate is a PEM certificate chain and its private key. */
export interface Certificate {
  certPem: string;
  keyPem: string;
}

/** VirtualHost groups the routes of one hostname on a listener. */
export interface VirtualHost {
  /** hostname is an exact name, a wildcard "*.example.com" (one or more labels), or "*" for any. */
  hostname: string;
  /** singleLabelWildcard: a wildcard hostname matches exactly one label (Ingress), not one or more. */
  singleLabelWildcard?: boolean;
  /** routes are in precedence order: the engine picks the first whose match succeeds. */
  routes: Route[];
}

/** Route matches requests and says what to do with them. */
export interface Route {
  /** name identifies the route's source object for status, logs and metrics ("Ingress/ns/name#0"). */
  name: string;
  match: RouteMatch;
  /** filters run in order before the action (header edits, redirect, rewrite, mirror). */
  filters?: RouteFilter[];
  action: RouteAction;
  /** timeoutMs overrides the listener's requestTimeoutMs. */
  timeoutMs?: number;
  /** backendTimeoutMs bounds each attempt to a backend. */
  backendTimeoutMs?: number;
  /**
   * requestBodyBufferBytes (HTTP/1.1 only): a request body still arriving when its head has been
   * read is held by the engine, and no backend connection is taken, until it is complete or this
   * many bytes arrived (then it streams); 0 streams every body at once. Absent: the engine's
   * default (64 KiB). HTTP/2 bodies always stream, paced by flow control (docs/limits.md).
   */
  requestBodyBufferBytes?: number;
  /**
   * requestBodyTimeoutMs (HTTP/1.1 only) bounds the time from a request's turn on its connection
   * (its head, unless pipelined) to the end of the buffered part of its body; past it the client
   * gets 408 and the connection closes. Absent: the engine's (60 s). HTTP/2 bodies stream under flow control and are bounded by timeoutMs.
   */
  requestBodyTimeoutMs?: number;
  /**
   * waf, when set, inspects the route's exchanges with the OWASP CRS and the policy's own rules
   * (WafPolicy attached to the route, its rule, its listener or its Gateway, or an Ingress
   * annotation). Routes of one policy share the object and one compiled program (`key`).
   */
  waf?: WafConfig;
  /** access, when set, runs client-address lists and rate limits ahead of the filters (AccessPolicy). */
  access?: AccessConfig;
  // --- issue 20: ingress-nginx proxy-* annotations (src/translate/nginx/upstream.ts) ---
  /**
   * maxRequestBodyBytes: a request whose body is longer gets 413 (nginx's client_max_body_size):
   * at once when its Content-Length says so, else when the streamed body passes the limit (the
   * backend attempt is dropped; if the backend had already begun its answer, the exchange is
   * broken off instead). Absent: no limit.
   */
  maxRequestBodyBytes?: number;
  /** connectTimeoutMs bounds each backend connect attempt of this route (absent: the engine's, 5 s). */
  connectTimeoutMs?: number;
  /** maxAttempts bounds the backend attempts of a retryable request (1: never retry; absent: the engine's, 3). */
  maxAttempts?: number;
  // --- issue 20 (ingress-nginx traffic annotations, docs/annotations.md): owned by ann-traffic ---
  /**
   * extraAccess are further access configs, run in order right after `access`, each of which must
   * allow the request: an Ingress's own allow/deny and limit annotations beside an AccessPolicy
   * (which sets `access`), so together they are never wider than either alone.
   */
  extraAccess?: AccessConfig[];
  /**
   * affinity keeps a client on one endpoint of the pool it is sent to with a cookie naming that
   * endpoint (ingress-nginx `affinity: cookie`); absent, routes pay nothing for it.
   */
  affinity?: CookieAffinity;
  // --- Authentication and error pages (issue 20: ingress-nginx auth-*, custom-http-errors) ---
  /** auth, when set, authenticates each request after access policy and the WAF, before the filters. */
  auth?: RouteAuth;
  /** errorPages, when set, replaces the backend's answers with listed codes by another pool's page. */
  errorPages?: ErrorPages;
}

/**
 * CookieAffinity: a request whose cookie names an endpoint of the chosen pool that may take
 * traffic goes there; any other gets the pool's algorithm's pick and a Set-Cookie naming it (the
 * value is a hash of "address:port", not the address). HttpOnly is always set.
 */
export interface CookieAffinity {
  /** cookie is the cookie's name (a token). */
  cookie: string;
  /** path is the cookie's Path attribute. */
  path: string;
  domain?: string;
  /** maxAgeSeconds sets Max-Age; expiresSeconds sets Expires to that long after the response. */
  maxAgeSeconds?: number;
  expiresSeconds?: number;
  /** secure sets Secure; absent: Secure on HTTPS listeners only. */
  secure?: boolean;
  sameSite?: "None" | "Lax" | "Strict";
  /**
   * changeOnFailure: when the cookie's endpoint failed and a retry went to another, the response
   * sets a cookie for the new one; false keeps the old cookie, so the next request tries it again.
   */
  changeOnFailure: boolean;
}

/**
 * RouteAuth is a route's authentication (ingress-nginx auth-type/auth-url). At most one of basic
 * and external is set; deny, when set, refuses every request whatever the others say — the
 * translator could not honour what the object asked (a missing Secret, digest), so it fails closed.
 */
export interface RouteAuth {
  basic?: BasicAuth;
  external?: ExternalAuth;
  deny?: { status: number; reason: string };
}

/** BasicAuth checks `Authorization: Basic` against password hashes (never plaintext passwords). */
export interface BasicAuth {
  /** realm is sent in `WWW-Authenticate: Basic realm="..."` with a 401. */
  realm: string;
  /** users are the user names and their htpasswd hashes (bcrypt $2y$/$2a$/$2b$, $apr1$, $1$, {SHA}). */
  users: { user: string; hash: string }[];
  /** source names where the users came from ("Secret/ns/name") for logs; never the hashes. */
  source: string;
}

/**
 * ExternalAuth asks an HTTP service about each request (nginx auth_request): a 2xx lets it through,
 * 401 and 403 go to the client (401 as a redirect to signin when set), anything else answers 500.
 */
export interface ExternalAuth {
  /** url is the auth service's URL as written; its authority is the subrequest's Host. */
  url: string;
  /** pool, when the URL names a cluster Service, is that Service's pool; else the URL's host and port are dialled. */
  pool?: string;
  /** method of the subrequest (auth-method); absent: the original request's. */
  method?: string;
  /** signin is where a 401 redirects (302) with the original URL in signinRedirectParam ("rd"). */
  signin?: string;
  signinRedirectParam?: string;
  /** responseHeaders are copied from the auth service's 2xx answer to the upstream request. */
  responseHeaders?: string[];
  /** requestRedirect is sent as X-Auth-Request-Redirect (absent: the original request URI). */
  requestRedirect?: string;
  /** proxySetHeaders are set on the subrequest (auth-proxy-set-headers; nginx variables filled in). */
  proxySetHeaders?: Header[];
  /** alwaysSetCookie passes the auth answer's Set-Cookie to the client on every answer, not only successes. */
  alwaysSetCookie?: boolean;
  /** cacheDurationMs keeps a 2xx answer for requests with the same cacheKey (absent or 0: no cache). */
  cacheDurationMs?: number;
  /** cacheKey is a template of request parts ($http_NAME, $cookie_NAME, $remote_addr, $host, $uri). */
  cacheKey?: string;
  /** timeoutMs bounds the subrequest; past it the client gets 500. */
  timeoutMs: number;
}

/** ErrorPages send a backend answer with one of codes to pool instead (ingress-nginx custom-http-errors). */
export interface ErrorPages {
  codes: number[];
  /** pool is the default backend's pool; absent: the codes are answered with Portico's own page. */
  pool?: string;
  /** namespace, ingress, service and port are sent to it as X-Namespace, X-Ingress-Name, ... */
  namespace: string;
  ingress: string;
  service: string;
  port: string;
}

/**
 * WafConfig is a WafPolicy as the engine runs it: the CRS (from the engine's CRS directory, the
 * version in `crsVersion`) set up with the policy's settings, its exclusions, then its custom rules.
 */
export interface WafConfig {
  /** key identifies the compiled program: equal keys share one (a hash of every other field). */
  key: string;
  /** policy names the source ("WafPolicy/ns/name", "Ingress/ns/name") for logs, metrics, status. */
  policy: string;
  /** mode Detection logs what would be blocked; Enforcement blocks (SecRuleEngine DetectionOnly/On). */
  mode: "Detection" | "Enforcement";
  /** paranoiaLevel 1–4 blocks (tx.blocking_paranoia_level); detectionParanoiaLevel ≥ it only logs. */
  paranoiaLevel: number;
  detectionParanoiaLevel?: number;
  /** inbound/outboundAnomalyThreshold: CRS anomaly score that blocks (defaults 5 and 4). */
  inboundAnomalyThreshold: number;
  outboundAnomalyThreshold: number;
  /** exclusions silence rules: global ones and those scoped to this route, resolved by translate. */
  exclusions: WafExclusion[];
  /** allowlist bypasses inspection for matching client addresses (CIDRs) or request paths. */
  allowlist?: { clientCidrs?: string[]; paths?: PathMatch[] };
  /** crsSettings set other CRS tx variables (allowed_methods, allowed_request_content_type, ...). */
  crsSettings?: Record<string, string>;
  /** customRules are SecLang texts run after the CRS; name is their source in error locations. */
  customRules?: { name: string; text: string }[];
  /** requestBodyLimitBytes is buffered for inspection; past it: Reject (413) or ProcessPartial. */
  requestBodyLimitBytes: number;
  requestBodyLimitAction: "Reject" | "ProcessPartial";
  /** inspectResponseBody runs phase 4 on text responses up to responseBodyLimitBytes. */
  inspectResponseBody: boolean;
  responseBodyLimitBytes: number;
  /** budgetMs bounds WAF time per exchange; past it, failurePolicy: FailOpen serves, FailClosed 503. */
  budgetMs: number;
  failurePolicy: "FailOpen" | "FailClosed";
}

/**
 * WafExclusion silences rules (ruleIds and/or tags): wholly, or only for some variables
 * ("ARGS:password", "REQUEST_COOKIES:/^sess_/", "REQUEST_HEADERS:user-agent").
 */
export interface WafExclusion {
  ruleIds?: { from: number; to: number }[];
  tags?: string[];
  variables?: string[];
}

/**
 * AccessConfig is an AccessPolicy as the engine runs it, in the requestHeaders phase ahead of the
 * route's filters: deny wins over allow; a non-empty allow list refuses every other client (403).
 */
export interface AccessConfig {
  /** policy names the source ("AccessPolicy/ns/name") for logs and metrics. */
  policy: string;
  /** allow / deny are CIDRs matched against the client address (after PROXY protocol). */
  allow?: string[];
  deny?: string[];
  /** rateLimit: a token bucket per key, local to each engine process (429 with Retry-After). */
  rateLimit?: RateLimit;
  // --- issue 20 (ingress-nginx limit-* annotations): owned by ann-traffic ---
  /** exempt are CIDRs whose clients neither rateLimit nor concurrency counts (limit-whitelist). */
  exempt?: string[];
  /**
   * concurrency caps the requests of one client address in flight at once on the routes of this
   * config (ingress-nginx limit-connections; each HTTP/2 stream counts, as nginx counts them);
   * one more gets 503. A slot is taken in the requestHeaders phase and given back when the
   * exchange ends (a WebSocket's when it upgrades). Local to each engine process, like rateLimit.
   */
  concurrency?: number;
  // --- issue 19 (tenant requestsPerSecond / connections quotas): owned by ten-quota ---
  /**
   * concurrencyKey: "ClientAddress" (absent) counts concurrency per client address; "Shared" counts
   * every request of the config's routes together (a tenant's connections quota).
   */
  concurrencyKey?: "ClientAddress" | "Shared";
}

/**
 * RateLimit allows `requests` per `periodMs` per key on average, `burst` at once. Key "Shared"
 * puts every request of the config's routes in one bucket (a tenant's requestsPerSecond quota).
 */
export interface RateLimit {
  requests: number;
  periodMs: number;
  burst: number;
  key: { type: "ClientAddress" } | { type: "Header"; name: string } | { type: "Shared" };
}

/** RouteMatch: every present field must match. */
export interface RouteMatch {
  path: PathMatch;
  /** headers match by name (case-insensitive) and value. */
  headers?: { name: string; type: "Exact" | "RegularExpression"; value: string }[];
  queryParams?: { name: string; type: "Exact" | "RegularExpression"; value: string }[];
  method?: string;
}

/**
 * PathMatch: "Exact" compares the whole path; "Prefix" matches whole path elements
 * ("/foo" matches "/foo" and "/foo/bar", not "/foobar"; "/" matches everything);
 * "RegularExpression" is an ECMAScript regexp anchored at both ends.
 */
export interface PathMatch {
  type: "Exact" | "Prefix" | "RegularExpression";
  value: string;
  // --- issue 20: ingress-nginx use-regex / rewrite-target paths (src/translate/nginx/paths.ts) ---
  /** ignoreCase (RegularExpression only) matches regardless of case, as nginx's `~*` locations do. */
  ignoreCase?: boolean;
  /**
   * startOnly (RegularExpression only) anchors the expression at the start of the path only, as
   * nginx's `location ~* "^/path"`: "/foo" matches "/foo", "/foo/bar" and "/foobar".
   */
  startOnly?: boolean;
}

/** RouteFilter changes the request or response, or answers it directly. */
export type RouteFilter =
  | { type: "RequestHeaderModifier"; set?: Header[]; add?: Header[]; remove?: string[] }
  | { type: "ResponseHeaderModifier"; set?: Header[]; add?: Header[]; remove?: string[] }
  | {
      type: "RequestRedirect";
      scheme?: "http" | "https";
      hostname?: string;
      port?: number;
      path?: PathRewrite;
      statusCode: 301 | 302 | 303 | 307 | 308;
    }
  | { type: "URLRewrite"; hostname?: string; path?: PathRewrite }
  | { type: "RequestMirror"; pool: string; percent: number }
  | CorsPolicy
  | RegexRewrite
  | StaticRedirect;

// --- issue 20: ingress-nginx rewrite-target, permanent/temporal-redirect, app-root (src/translate/nginx) ---

/**
 * RegexRewrite replaces the path sent upstream as nginx's `rewrite "(?i)pattern" replacement
 * break;` does: when pattern (an ECMAScript regexp, unanchored: its first match counts) matches
 * the path, the whole path becomes replacement with $1..$9 replaced by the match's groups (an
 * unmatched group by ""); the query string is kept. No match: the path is left as it is.
 */
export interface RegexRewrite {
  type: "RegexRewrite";
  pattern: string;
  ignoreCase?: boolean;
  /** replacement holds no "?" or spaces; "$n" (n 1–9) are the pattern's groups; "/" is put before a result without one. */
  replacement: string;
}

/**
 * StaticRedirect answers with a fixed Location (nginx's `return CODE URL`): nothing of the
 * request is added to it. A location that starts with "/" is made absolute with the request's
 * scheme and Host. onlyPath, when set, limits the redirect to requests whose path is exactly it
 * (ingress-nginx's app-root: `if ($uri = /) { return 302 ... }`); other requests go on.
 */
export interface StaticRedirect {
  type: "StaticRedirect";
  /** statusCode is 300–308. */
  statusCode: number;
  location: string;
  onlyPath?: string;
}

/**
 * CorsPolicy (Gateway API CORS filter) makes the proxy answer CORS preflights itself and add the
 * Access-Control-* headers to the responses of requests whose Origin it allows.
 */
export interface CorsPolicy {
  type: "CORS";
  /** allowOrigins are "*", or "scheme://host[:port]" where host may be "*" or start with "*.". */
  allowOrigins: string[];
  /** allowMethods are method names, or ["*"]: any method (the preflight's is echoed). */
  allowMethods?: string[];
  /** allowHeaders are request header names, or ["*"]: any (the preflight's are echoed). */
  allowHeaders?: string[];
  /** exposeHeaders are response header names scripts may read, or ["*"]. */
  exposeHeaders?: string[];
  allowCredentials?: boolean;
  /** maxAgeSeconds is how long a client may cache a preflight's answer. */
  maxAgeSeconds?: number;
}

/** PathRewrite replaces the whole path, or the part the route's Prefix match matched. */
export type PathRewrite =
  { type: "ReplaceFullPath"; value: string } | { type: "ReplacePrefixMatch"; value: string };

/** Header is a name and value. */
export interface Header {
  name: string;
  value: string;
}

/** RouteAction forwards to weighted pools, or answers with a fixed status. */
export type RouteAction =
  | {
      type: "Forward";
      backends: ForwardBackend[];
      /** invalid are shares of unresolved backend refs, weighed with backends; their requests get 500. */
      invalid?: InvalidBackend[];
    }
  /** DirectResponse answers without a backend (e.g. 500 for a route whose backends are invalid). */
  | { type: "DirectResponse"; status: number; body: string };

/** ForwardBackend is one weighted pool of a Forward action. */
export interface ForwardBackend {
  pool: string;
  weight: number;
  /**
   * filters edit only the requests sent to this backend, after the route's own filters and after
   * the backend was chosen (Gateway API backendRef filters: HTTPRouteBackendRequestHeaderModification).
   */
  filters?: BackendFilter[];
}

/** BackendFilter is a filter that can apply per backend: request header edits. */
export type BackendFilter = Extract<RouteFilter, { type: "RequestHeaderModifier" }>;

/**
 * InvalidBackend is the traffic share of a backend reference that did not resolve (Gateway API:
 * "the proportion of requests that would otherwise have been routed to an invalid backend MUST
 * receive a 500"; gRPC requests get UNAVAILABLE, as GRPCRoute asks).
 */
export interface InvalidBackend {
  /** ref names the reference for the answer's body ("Service ns/name:80"). */
  ref: string;
  /** weight is the ref's weight, on the same scale as the action's backends. */
  weight: number;
}

/** Pool is a group of interchangeable backends with one balancing algorithm. */
export interface Pool {
  /** name is the pool's key ("ns/service:port"). */
  name: string;
  algorithm: Algorithm;
  endpoints: Endpoint[];
  /** healthCheck, when present, probes endpoints actively; passive ejection is always on. */
  healthCheck?: HealthCheck;
  /** tls re-encrypts to the backends (HTTP pools only). */
  tls?: UpstreamTls;
  /** protocol spoken to backends: HTTP/1.1 or HTTP/2 (cleartext prior knowledge, for gRPC). */
  protocol?: "http1" | "h2c" | "tcp" | "udp";
}

/** Algorithm picks a backend; hash variants read the key from the client. */
export type Algorithm =
  | { type: "RoundRobin" }
  | { type: "LeastRequest" }
  | { type: "ConsistentHash"; on: "SourceIP" }
  | { type: "ConsistentHash"; on: "Header"; name: string }
  | { type: "ConsistentHash"; on: "Cookie"; name: string }
  // issue 20 (ingress-nginx upstream-hash-by "$request_uri"): the request's target, path and query.
  | { type: "ConsistentHash"; on: "RequestUri" };

/** Endpoint is one backend address. Only ready endpoints get new traffic. */
export interface Endpoint {
  address: string;
  port: number;
  weight: number;
  /** ready: EndpointSlice conditions.ready (nil treated as true). */
  ready: boolean;
  /** serving: conditions.serving; a terminating endpoint that still serves is a last resort. */
  serving: boolean;
  terminating: boolean;
  /** zone and node are informative (logs). */
  zone?: string;
}

/** HealthCheck is an active probe per endpoint. */
export interface HealthCheck {
  type: "TCP" | "HTTP";
  /** path and expectedStatuses apply to HTTP checks (default 200-399). */
  path?: string;
  host?: string;
  expectedStatuses?: [number, number];
  intervalMs: number;
  timeoutMs: number;
  /** rise successes mark a down endpoint up; fall failures mark an up endpoint down. */
  rise: number;
  fall: number;
}

/** UpstreamTls configures TLS towards backends. */
export interface UpstreamTls {
  /** sni is sent in the ClientHello and checked against the certificate's SANs. */
  sni: string;
  /** caPem verifies the backend's chain; absent means the system roots. */
  caPem?: string;
  /**
   * subjectAltNames, when present, replaces the sni name in the certificate check: DNS names, or
   * "URI:<uri>" for a URI SAN (BackendTLSPolicy subjectAltNames of type URI, e.g. SPIFFE IDs).
   */
  subjectAltNames?: string[];
  // --- issue 20: ingress-nginx backend-protocol HTTPS (src/translate/nginx/upstream.ts) ---
  /**
   * skipVerify connects without checking the backend's certificate (chain and names), as
   * ingress-nginx does for backend-protocol HTTPS unless proxy-ssl-verify is "on". The connection
   * is still encrypted; sni is still sent.
   */
  skipVerify?: boolean;
  /**
   * clientCertificate names the certificate (in the snapshot's certificates) presented to the
   * backends when they ask for one (Gateway spec.tls.backend.clientCertificateRef).
   */
  clientCertificate?: string;
}

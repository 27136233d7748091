// nginx-configmap.ts: the keys of ingress-nginx's controller ConfigMap (`ingress-nginx-controller`)
// and what `portico migrate ingress-nginx` does with each: copy it onto every migrated Ingress as
// the annotation of the same effect (ConfigMap values are ingress-nginx's defaults, and an
// Ingress's own annotation wins, as in ingress-nginx), or report it with why.

/** SAME_NAME are ConfigMap keys with an Ingress annotation of the same name and meaning. */
export const SAME_NAME = [
  "proxy-body-size",
  "proxy-connect-timeout",
  "proxy-read-timeout",
  "proxy-send-timeout",
  "proxy-next-upstream",
  "proxy-next-upstream-tries",
  "proxy-buffering",
  "proxy-request-buffering",
  "load-balance",
  "custom-http-errors",
] as const;

/** TLS_KEYS are ConfigMap keys that become Portico's TLS annotations on Ingresses with spec.tls. */
export const TLS_KEYS: Record<string, string> = {
  "ssl-protocols": "portico.dev/ssl-protocols",
  "ssl-ciphers": "portico.dev/ssl-ciphers",
  "ssl-ecdh-curve": "portico.dev/ssl-ecdh-curve",
  "ssl-prefer-server-ciphers": "portico.dev/ssl-prefer-server-ciphers",
};

/** WHY_NOT says why a ConfigMap key is not carried, for the keys users set most. */
export const WHY_NOT: Record<string, string> = {
  "allow-snippet-annotations":
    "Portico refuses snippet annotations by design (ingress-nginx's CVE-2021-25742 and CVE-2025-1974 came through them); see docs/migration.md for what to use instead",
  "http-snippet": "snippets are refused by design; see docs/migration.md for what to use instead",
  "server-snippet": "snippets are refused by design; see docs/migration.md for what to use instead",
  "location-snippet": "snippets are refused by design; see docs/migration.md for what to use instead",
  "main-snippet": "snippets are refused by design; see docs/migration.md for what to use instead",
  hsts: "Portico does not add Strict-Transport-Security; set it in the backend's responses",
  "hsts-max-age": "Portico does not add Strict-Transport-Security; set it in the backend's responses",
  "hsts-include-subdomains":
    "Portico does not add Strict-Transport-Security; set it in the backend's responses",
  "hsts-preload": "Portico does not add Strict-Transport-Security; set it in the backend's responses",
  "limit-req-status-code":
    "Portico answers 429 Too Many Requests when a rate limit refuses a request; the code is not configurable",
  "use-forwarded-headers":
    "Portico sets X-Forwarded-For/-Proto/-Host from the connection it accepted; trusting a client's own headers is not configurable",
  "enable-real-ip":
    "Portico takes the client address from the connection (no PROXY protocol, no trusted header)",
  "forwarded-for-header": "Portico takes the client address from the connection (no trusted header)",
  "compute-full-forwarded-for": "Portico appends the client address to X-Forwarded-For as it forwards",
  "proxy-real-ip-cidr": "Portico takes the client address from the connection (no trusted header)",
  "use-proxy-protocol": "Portico does not read the PROXY protocol on its listeners",
  "worker-processes": "use `portico run --workers N|auto` or the EngineGroup's spec.workers",
  "max-worker-connections":
    "use `portico run --max-connections N` or the EngineGroup's spec.limits.maxConnections",
  "log-format-upstream":
    "Portico's access log is JSON lines with fixed fields (`--access-log`, docs/metrics.md)",
  "log-format-escape-json":
    "Portico's access log is JSON lines with fixed fields (`--access-log`, docs/metrics.md)",
  "enable-modsecurity":
    "ModSecurity is not configured from the ConfigMap: protect routes with a WafPolicy (docs/waf.md) — until then the routes are NOT inspected",
  "enable-owasp-modsecurity-crs":
    "the OWASP CRS runs from a WafPolicy (docs/waf.md) — until one targets the routes they are NOT inspected",
  "global-auth-url":
    "global external authentication is not carried: put auth-url on each Ingress, or an AccessPolicy (docs/access-policy.md) — until then the routes are NOT authenticated",
  "whitelist-source-range":
    "a global allow-list is not carried: put whitelist-source-range on each Ingress or an AccessPolicy (docs/access-policy.md) — until then the routes are open to every address",
  "denylist-source-range":
    "a global deny-list is not carried: put denylist-source-range on each Ingress or an AccessPolicy (docs/access-policy.md)",
};

/** DROP_TLS are protocols Portico refuses (RFC 8996), dropped from ssl-protocols with a note. */
export const DROP_TLS = new Set(["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"]);

// waf-configs.ts: what `npm run bench:waf` runs — Portico's snapshot with and without the CRS at
// paranoia level 1 in Enforcement, and nginx with and without ModSecurity v3 running the same CRS
// files with the same settings — plus the requests (a GET, a 4 KiB urlencoded POST). Pure.
import type { EngineSnapshot, WafConfig } from "../src/model/ir.ts";

/** BENCH_WAF is CRS at paranoia level 1, Enforcement, the CRS defaults otherwise; response bodies
 * inspected as coraza.conf-recommended does (SecResponseBodyAccess On); no evidence log. */
export const BENCH_WAF: WafConfig = {
  key: "bench-crs-pl1",
  policy: "WafPolicy/bench/crs-pl1",
  mode: "Enforcement",
  paranoiaLevel: 1,
  inboundAnomalyThreshold: 5,
  outboundAnomalyThreshold: 4,
  exclusions: [],
  requestBodyLimitBytes: 13107200,
  requestBodyLimitAction: "Reject",
  inspectResponseBody: true,
  responseBodyLimitBytes: 524288,
  budgetMs: 50,
  failurePolicy: "FailOpen",
};

/** Endpoint is an address and port. */
export interface Endpoint {
  address: string;
  port: number;
}

/** wafBenchSnapshot routes every request on at to backend, inspected by waf when given (also the
 * CRS corpus runner's Portico, test/waf/ftw/portico.ts). */
export function wafBenchSnapshot(
  at: Endpoint,
  backend: Endpoint,
  waf?: WafConfig,
  ns = "bench",
): EngineSnapshot {
  const pool = `${ns}/web:80`;
  return {
    version: 1,
    l4: [],
    http: [
      {
        name: `${ns}:http`,
        address: at.address,
        port: at.port,
        requestTimeoutMs: 60000,
        idleTimeoutMs: 120000,
        virtualHosts: [
          {
            hostname: "*",
            routes: [
              {
                name: `Ingress/${ns}/web#0`,
                match: { path: { type: "Prefix", value: "/" } },
                action: { type: "Forward", backends: [{ pool, weight: 1 }] },
                ...(waf ? { waf } : {}),
              },
            ],
          },
        ],
      },
    ],
    pools: {
      [pool]: {
        name: pool,
        algorithm: { type: "RoundRobin" },
        endpoints: [{ ...backend, weight: 1, ready: true, serving: true, terminating: false }],
        protocol: "http1",
      },
    },
    certificates: {},
  };
}

/**
 * modsecRules is ModSecurity's rules file: coraza.conf-recommended's engine settings (the file
 * Portico's WAF starts from) with SecRuleEngine On and no audit log, then the CRS setup and rules
 * from crsDir at paranoia level 1 — the same files Portico loads.
 */
export function modsecRules(crsDir: string): string {
  return `SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\\+|/)|text/)xml" "id:'200000',phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:'200001',phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRule REQBODY_ERROR "!@eq 0" "id:'200002',phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.'"
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain text/html text/xml
SecResponseBodyLimit 524288
SecResponseBodyLimitAction ProcessPartial
SecAuditEngine Off
SecDebugLogLevel 0
Include ${crsDir}/crs-setup.conf.example
SecAction "id:900000,phase:1,pass,nolog,t:none,setvar:tx.blocking_paranoia_level=1"
Include ${crsDir}/rules/*.conf
`;
}

/**
 * modsecCompatible rewrites one CRS rule file for Debian 12's libmodsecurity 3.0.9, whose parser
 * refuses a chained SecRule without an action list (CRS 4.25 has two: the `TX:EARLY_BLOCKING`
 * links of 949111 and 959111): it gets `"t:none"`, which changes nothing (a chained rule inherits
 * no transformation). Every other byte stays, so both WAFs run the same rules.
 */
export function modsecCompatible(text: string): string {
  return text.replace(/^(\s*SecRule\s+\S+\s+"(?:[^"\\]|\\.)*")[ \t]*$/gm, '$1 "t:none"');
}

/** NginxWafOptions place one nginx proxy; rulesFile set turns ModSecurity on. */
export interface NginxWafOptions {
  at: Endpoint;
  backend: Endpoint;
  dir: string;
  tag: string;
  rulesFile?: string;
}

/** nginxWafConfig is the bench's nginx proxy (bench/configs.ts's, HTTP only), optionally with ModSecurity. */
export function nginxWafConfig(o: NginxWafOptions): string {
  const load = o.rulesFile ? "load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;\n" : "";
  const modsec = o.rulesFile ? `\n    modsecurity on;\n    modsecurity_rules_file ${o.rulesFile};` : "";
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((k) => `${k}_temp_path ${o.dir}/${o.tag}-${k};`)
    .join("\n  ");
  return `${load}worker_processes 1;
daemon off;
pid ${o.dir}/${o.tag}.pid;
error_log stderr crit;
events { worker_connections 4096; }
http {
  access_log off;
  ${temp}
  upstream be {
    server ${o.backend.address}:${o.backend.port};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen ${o.at.address}:${o.at.port};
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_buffer_size 16k;${modsec}
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** ATTACK_PATH must be refused (403) by both WAFs: it proves the WAF runs, not just the proxy. */
export const ATTACK_PATH = "/products/view?id=1234%27%20OR%201%3D1--&q=%3Cscript%3Ealert(1)%3C%2Fscript%3E";

/**
 * BENCH_HOST is the Host the bench's requests carry, a site's name as a browser sends it. wrk
 * would send the server's address (127.0.0.61:8000), which the CRS flags at PL1 (920350 "Host
 * header is a numeric IP address", +3, under the threshold of 5): every "clean" request then
 * logged a hit and its phase-5 report (980170), ~10 µs of CPU each (docs/waf.md).
 */
export const BENCH_HOST = "shop.example.com";

/** GET_PATH is the GET request's target: a page with two ordinary query arguments. */
export const GET_PATH = "/products/view?id=1234&lang=en";

/** postBody is a 4 KiB (4096-byte) urlencoded form of ordinary words, nothing CRS PL1 flags. */
export function postBody(size = 4096): string {
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];
  let body = "";
  for (let i = 0; body.length < size; i++) {
    const value = Array.from({ length: 6 }, (_, j) => words[(i + j) % words.length]).join("+");
    body += `${body ? "&" : ""}field${i}=${value}`;
  }
  return body.slice(0, size).replace(/[&=+]$/, "x");
}

/** wrkPostScript is the wrk Lua script that sends body as a urlencoded POST. */
export function wrkPostScript(body: string): string {
  return `wrk.method = "POST"
wrk.body = "${body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
`;
}

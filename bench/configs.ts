// configs.ts: equivalent configurations for the reference proxies and the backend. Equivalent
// means: one worker/thread, HTTP/1.1 keep-alive to the backend with connection reuse, no logs,
// client keep-alive without a request cap, TLS with ALPN h2 + http/1.1, a plain TCP proxy, and
// the forwarding headers Portico adds to every request (X-Forwarded-For/-Proto/-Host and
// Forwarded, RFC 7239), so every proxy sends the backend the same head.
import type { Topology } from "./topology.ts";

/** haproxyConfig is HAProxy's configuration: one thread, mode http, http-reuse always. */
export function haproxyConfig(t: Topology): string {
  const a = t.proxies.HAProxy;
  return `global
  nbthread 1
  maxconn ${t.haproxyMaxconn}
  pidfile ${t.dir}/haproxy.pid
  tune.ssl.cachesize 20000

defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
  maxconn ${t.haproxyMaxconn}

frontend fe_http
  bind ${a}:${t.httpPort}
  bind ${a}:${t.httpsPort} ssl crt ${t.comboFile} alpn h2,http/1.1
  option forwardfor
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header Forwarded "for=%[src];host=\\"%[req.hdr(host)]\\";proto=%[req.hdr(x-forwarded-proto)]"
  default_backend be_http

backend be_http
  http-reuse always
  server s1 ${t.backend.address}:${t.backend.port}

listen l4_tcp
  mode tcp
  bind ${a}:${t.tcpPort}
  server s1 ${t.iperf.address}:${t.iperf.port}
`;
}

/** nginxProxyConfig is nginx's configuration: one worker, upstream keepalive, stream proxy for L4. */
export function nginxProxyConfig(t: Topology): string {
  const a = t.proxies.nginx;
  return `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
worker_rlimit_nofile ${t.nofile};
daemon off;
pid ${t.dir}/nginx-proxy.pid;
error_log stderr crit;
events { worker_connections ${t.nofile - 100}; }
http {
  access_log off;
  ${tempPaths(t.dir, "proxy")}
  upstream be {
    server ${t.backend.address}:${t.backend.port};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen ${a}:${t.httpPort};
    listen ${a}:${t.httpsPort} ssl http2;
    ssl_certificate ${t.certFile};
    ssl_certificate_key ${t.keyFile};
    ssl_session_cache shared:SSL:10m;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    http2_max_requests 1000000;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header Forwarded "for=$remote_addr;host=\\"$http_host\\";proto=$scheme";
    }
  }
}
stream {
  server {
    listen ${a}:${t.tcpPort};
    proxy_pass ${t.iperf.address}:${t.iperf.port};
  }
}
`;
}

/** backendConfig is the fast backend: nginx answering 13 bytes ("hello, world\n") from memory. */
export function backendConfig(t: Topology): string {
  return `worker_processes 1;
worker_rlimit_nofile ${t.nofile};
daemon off;
pid ${t.dir}/nginx-backend.pid;
error_log stderr crit;
events { worker_connections ${t.nofile - 100}; }
http {
  access_log off;
  ${tempPaths(t.dir, "backend")}
  server {
    listen ${t.backend.address}:${t.backend.port} backlog=4096;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    location / {
      default_type text/plain;
      return 200 "hello, world\\n";
    }
  }
}
`;
}

/** tempPaths keeps nginx's scratch directories inside the run directory (no /var writes). */
function tempPaths(dir: string, tag: string): string {
  return ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((k) => `${k}_temp_path ${dir}/${tag}-${k};`)
    .join("\n  ");
}

// metrics-analytics.test.ts: the analytics series of metrics.ts (issue 15 item 6) — time per phase
// per listener, requests per virtual service, TLS handshakes by version — from synthetic events on
// the real channels, and their cardinality caps.
import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import net, { type AddressInfo } from "node:net";
import { test } from "node:test";
import tls from "node:tls";
import { selfSigned } from "../../test/support/certs.ts";
import { HTTP_RESPONSE_CHANNEL } from "./l7/events.ts";
import { Metrics, OVERFLOW_LABEL } from "./metrics.ts";
import { compileTls, TLS_HANDSHAKE_CHANNEL } from "./tls/terminate.ts";

const http = channel(HTTP_RESPONSE_CHANNEL);
const handshake = channel(TLS_HANDSHAKE_CHANNEL);
const base = {
  listener: "IngressClass/portico:80",
  route: "Ingress/d/shop#0.0",
  vhost: "shop.example",
  pool: "p",
  backend: "10.0.0.1:80",
  status: 200,
  durationMs: 30,
  bytesIn: 0,
  bytesOut: 10,
};

/** line finds the sample line of a series (exact name and label text). */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("phases: each timing part is observed per listener; absent parts are not", () => {
  const m = new Metrics().subscribe();
  try {
    http.publish({ ...base, timings: { request: 0.2, connect: 0, ttfb: 20, transfer: 9.8 } });
    http.publish({ ...base, timings: { request: 0.3, ttfb: 400 } });
    // An exchange without timings (the collector off) adds nothing to the phases.
    http.publish({ ...base });
    const t = m.render();
    const L = 'listener="IngressClass/portico:80"';
    assert.equal(value(t, `portico_http_phase_duration_seconds_count{${L},phase="request"}`), 2);
    assert.equal(value(t, `portico_http_phase_duration_seconds_count{${L},phase="connect"}`), 1);
    assert.equal(value(t, `portico_http_phase_duration_seconds_count{${L},phase="ttfb"}`), 2);
    assert.equal(value(t, `portico_http_phase_duration_seconds_count{${L},phase="transfer"}`), 1);
    assert.ok(
      Math.abs(value(t, `portico_http_phase_duration_seconds_sum{${L},phase="ttfb"}`)! - 0.42) < 1e-9,
    );
    // Buckets reach below a millisecond: a 0.2 ms request lands at 0.00025.
    assert.equal(value(t, `portico_http_phase_duration_seconds_bucket{${L},phase="request",le="0.0001"}`), 0);
    assert.equal(
      value(t, `portico_http_phase_duration_seconds_bucket{${L},phase="request",le="0.00025"}`),
      1,
    );
    assert.equal(value(t, `portico_http_phase_duration_seconds_bucket{${L},phase="ttfb",le="0.025"}`), 1);
    assert.equal(value(t, `portico_http_phase_duration_seconds_bucket{${L},phase="ttfb",le="+Inf"}`), 2);
  } finally {
    m.close();
  }
});

test("virtual services: requests by listener, configured hostname and class; pairs capped", () => {
  const m = new Metrics({ maxHosts: 2 }).subscribe();
  try {
    http.publish({ ...base });
    http.publish({ ...base, status: 503 });
    http.publish({ ...base, listener: "IngressClass/portico:443" });
    // The third pair is past the cap: counted, under the overflow vhost of its listener.
    http.publish({ ...base, vhost: "blog.example" });
    http.publish({ ...base, vhost: "blog.example", status: 0 });
    // No route matched: no virtual host, no series.
    http.publish({ ...base, route: "", vhost: "", status: 404 });
    const t = m.render();
    const S = "portico_http_vhost_requests_total";
    assert.equal(value(t, `${S}{listener="IngressClass/portico:80",vhost="shop.example",class="2xx"}`), 1);
    assert.equal(value(t, `${S}{listener="IngressClass/portico:80",vhost="shop.example",class="5xx"}`), 1);
    assert.equal(value(t, `${S}{listener="IngressClass/portico:443",vhost="shop.example",class="2xx"}`), 1);
    const O = `vhost="${OVERFLOW_LABEL}"`;
    assert.equal(value(t, `${S}{listener="IngressClass/portico:80",${O},class="2xx"}`), 1);
    assert.equal(value(t, `${S}{listener="IngressClass/portico:80",${O},class="none"}`), 1);
    const mine = t.split("\n").filter((l) => l.startsWith(S));
    assert.equal(mine.length, 5);
    assert.ok(!mine.some((l) => l.includes("blog.example")), mine.join("\n"));
  } finally {
    m.close();
  }
});

test("TLS handshakes are counted per listener and version; a missing version is 'unknown'", () => {
  const m = new Metrics().subscribe();
  try {
    handshake.publish({ listener: "L:443", version: "TLSv1.3" });
    handshake.publish({ listener: "L:443", version: "TLSv1.3" });
    handshake.publish({ listener: "L:443", version: "TLSv1.2" });
    handshake.publish({ listener: "L:443" });
    const t = m.render();
    assert.equal(value(t, 'portico_tls_handshakes_total{listener="L:443",version="TLSv1.3"}'), 2);
    assert.equal(value(t, 'portico_tls_handshakes_total{listener="L:443",version="TLSv1.2"}'), 1);
    assert.equal(value(t, 'portico_tls_handshakes_total{listener="L:443",version="unknown"}'), 1);
  } finally {
    m.close();
  }
});

// A real handshake over loopback: the terminator publishes the version the client negotiated.
test("TLS handshakes: a real TLS 1.2 and a real TLS 1.3 client are counted under their versions", async () => {
  const m = new Metrics().subscribe();
  const t = compileTls(
    "Gateway/d/g:443",
    { sni: [], defaultCertificate: "ns/c" },
    { "ns/c": selfSigned(["a.test"], "ec") },
  );
  const srv = net.createServer((s) => t.wrap(s, (secure) => secure.end("ok\n"), []));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  const hello = (maxVersion: tls.SecureVersion) =>
    new Promise<string | null>((resolve, reject) => {
      const c = tls.connect({
        host: "127.0.0.1",
        port,
        servername: "a.test",
        rejectUnauthorized: false,
        maxVersion,
      });
      c.once("secureConnect", () => {
        const v = c.getProtocol();
        c.once("end", () => resolve(v));
        c.resume();
      });
      c.once("error", reject);
    });
  try {
    assert.equal(await hello("TLSv1.2"), "TLSv1.2");
    assert.equal(await hello("TLSv1.3"), "TLSv1.3");
    const text = m.render();
    const L = 'listener="Gateway/d/g:443"';
    assert.equal(value(text, `portico_tls_handshakes_total{${L},version="TLSv1.2"}`), 1);
    assert.equal(value(text, `portico_tls_handshakes_total{${L},version="TLSv1.3"}`), 1);
  } finally {
    m.close();
    srv.close();
  }
});

// upstream.test.ts: backend-protocol, proxy-body-size, proxy-*-timeout, proxy-next-upstream,
// upstream-vhost, proxy-buffering, server-alias and ssl-passthrough as translated.
import { test } from "node:test";
import assert from "node:assert/strict";
import { acceptedOf, ingress, run } from "./test-fixtures.ts";
import { parseNginxSize, parseSeconds } from "./upstream.ts";

const N = "nginx.ingress.kubernetes.io/";

test("parseNginxSize: nginx units k/m/g (1024s, any case), bytes, 0; else undefined", () => {
  assert.equal(parseNginxSize("8m"), 8 * 1024 * 1024);
  assert.equal(parseNginxSize("100K"), 102_400);
  assert.equal(parseNginxSize("1g"), 1024 ** 3);
  assert.equal(parseNginxSize("1000"), 1000);
  assert.equal(parseNginxSize("0"), 0);
  for (const bad of ["8 MB", "8mb", "-1", "1.5m", "", "8Mi"])
    assert.equal(parseNginxSize(bad), undefined, bad);
  assert.equal(parseSeconds("120"), 120);
  for (const bad of ["0", "5s", "1.5", "-3", "86401"]) assert.equal(parseSeconds(bad), undefined, bad);
});

test("proxy-body-size: limit set, 0 means none, a bad value falls back to ingress-nginx's 1m and is reported", () => {
  const { out, routes } = run(
    ingress("a", "a.test", [{ path: "/" }], { [`${N}proxy-body-size`]: "8k" }, 1),
    ingress("b", "b.test", [{ path: "/" }], { [`${N}proxy-body-size`]: "0" }, 2),
    ingress("c", "c.test", [{ path: "/" }], { [`${N}proxy-body-size`]: "lots" }, 3),
  );
  assert.equal(routes("a.test")[0]?.maxRequestBodyBytes, 8192);
  assert.equal(routes("b.test")[0]?.maxRequestBodyBytes, undefined);
  assert.equal(routes("c.test")[0]?.maxRequestBodyBytes, 1024 * 1024);
  assert.match(
    acceptedOf(out, "c")?.message ?? "",
    /proxy-body-size: "lots" .* using ingress-nginx's default, 1m/,
  );
});

test("timeouts: connect -> connectTimeoutMs, read/send -> backendTimeoutMs (the larger), a request timeout raised past 60 s", () => {
  const { out, routes } = run(
    ingress(
      "a",
      "a.test",
      [{ path: "/" }],
      {
        [`${N}proxy-connect-timeout`]: "3",
        [`${N}proxy-read-timeout`]: "2",
        [`${N}proxy-send-timeout`]: "5",
      },
      1,
    ),
    ingress("b", "b.test", [{ path: "/" }], { [`${N}proxy-read-timeout`]: "300" }, 2),
    ingress("c", "c.test", [{ path: "/" }], { [`${N}proxy-read-timeout`]: "5s" }, 3),
  );
  const a = routes("a.test")[0]!;
  assert.deepEqual([a.connectTimeoutMs, a.backendTimeoutMs, a.timeoutMs], [3000, 5000, undefined]);
  const b = routes("b.test")[0]!;
  assert.deepEqual([b.backendTimeoutMs, b.timeoutMs], [300_000, 300_000]);
  assert.equal(routes("c.test")[0]?.backendTimeoutMs, undefined);
  assert.match(
    acceptedOf(out, "c")?.message ?? "",
    /proxy-read-timeout: "5s" is not a whole number of seconds/,
  );
});

test("proxy-next-upstream: off -> 1 attempt, tries -> attempts, http_502 and a retry budget reported as unsupported", () => {
  const { out, routes } = run(
    ingress(
      "off",
      "a.test",
      [{ path: "/" }],
      { [`${N}proxy-next-upstream`]: "off", [`${N}proxy-next-upstream-tries`]: "5" },
      1,
    ),
    ingress(
      "tries",
      "b.test",
      [{ path: "/" }],
      {
        [`${N}proxy-next-upstream`]: "error timeout http_502",
        [`${N}proxy-next-upstream-tries`]: "2",
        [`${N}proxy-next-upstream-timeout`]: "10",
      },
      2,
    ),
  );
  assert.equal(routes("a.test")[0]?.maxAttempts, 1);
  assert.equal(routes("b.test")[0]?.maxAttempts, 2);
  const c = acceptedOf(out, "tries");
  assert.equal(c?.reason, "UnsupportedAnnotation");
  assert.match(c?.message ?? "", /timeout, http_502 not supported/);
  assert.match(c?.message ?? "", /proxy-next-upstream-timeout: not supported/);
});

test("backend-protocol: HTTPS -> an unverified TLS pool of its own, GRPC/H2C -> an h2c pool, GRPCS -> an unverified TLS h2c pool, proxy-ssl-verify on -> 502", () => {
  const { out, routes } = run(
    ingress("https", "a.test", [{ path: "/" }], { [`${N}backend-protocol`]: "HTTPS" }, 1),
    ingress("grpc", "b.test", [{ path: "/", service: "api" }], { [`${N}backend-protocol`]: "grpc" }, 2),
    ingress("grpcs", "c.test", [{ path: "/" }], { [`${N}backend-protocol`]: "GRPCS" }, 3),
    ingress("plain", "d.test", [{ path: "/" }], {}, 4),
    ingress(
      "verify",
      "e.test",
      [{ path: "/" }],
      { [`${N}backend-protocol`]: "HTTPS", [`${N}proxy-ssl-verify`]: "on" },
      5,
    ),
  );
  const pool = (host: string) => {
    const a = routes(host)[0]?.action;
    return a?.type === "Forward"
      ? a.backends[0]?.pool
      : `status ${a?.type === "DirectResponse" ? a.status : "?"}`;
  };
  assert.equal(pool("a.test"), "d/web:80|https");
  assert.deepEqual(out.pools["d/web:80|https"]?.tls, { sni: "", skipVerify: true });
  assert.equal(pool("d.test"), "d/web:80", "an Ingress without the annotation keeps the plain pool");
  assert.equal(out.pools["d/web:80"]?.tls, undefined);
  assert.equal(pool("b.test"), "d/api:80|h2c");
  assert.equal(out.pools["d/api:80|h2c"]?.protocol, "h2c");
  assert.equal(pool("c.test"), "d/web:80|grpcs");
  assert.deepEqual(
    [out.pools["d/web:80|grpcs"]?.protocol, out.pools["d/web:80|grpcs"]?.tls],
    ["h2c", { sni: "", skipVerify: true }],
  );
  assert.equal(pool("e.test"), "status 502");
});

test("upstream-vhost sets the Host sent upstream; a bad one is reported; proxy-buffering is accepted", () => {
  const { out, routes } = run(
    ingress(
      "v",
      "a.test",
      [{ path: "/" }],
      { [`${N}upstream-vhost`]: "internal.svc:8080", [`${N}proxy-buffering`]: "on" },
      1,
    ),
    ingress(
      "bad",
      "b.test",
      [{ path: "/" }],
      { [`${N}upstream-vhost`]: "a b", [`${N}proxy-buffering`]: "yes" },
      2,
    ),
  );
  assert.deepEqual(routes("a.test")[0]?.filters, [{ type: "URLRewrite", hostname: "internal.svc:8080" }]);
  assert.equal(acceptedOf(out, "v")?.reason, "Accepted");
  assert.equal(routes("b.test")[0]?.filters, undefined);
  assert.match(
    acceptedOf(out, "bad")?.message ?? "",
    /upstream-vhost: "a b" is not a host name.*proxy-buffering: "yes"/,
  );
});

test("server-alias: the alias serves the host's routes (every Ingress's); an alias that is a rule host is ignored; oldest alias wins", () => {
  const A = `${N}server-alias`;
  const { out, http } = run(
    ingress("main", "foo.test", [{ path: "/app-a" }], { [A]: "bar.test, taken.test, Baz.test" }, 1),
    ingress("more", "foo.test", [{ path: "/app-b", service: "api" }], {}, 2),
    ingress("taken", "taken.test", [{ path: "/" }], {}, 3),
    ingress("late", "late.test", [{ path: "/" }], { [A]: "bar.test" }, 4),
  );
  const names = (host: string) =>
    http.virtualHosts.find((v) => v.hostname === host)?.routes.map((r) => r.name);
  assert.deepEqual(names("bar.test"), names("foo.test"));
  assert.deepEqual(names("baz.test"), ["Ingress/d/main#0.0", "Ingress/d/more#0.0"]);
  assert.deepEqual(names("taken.test"), ["Ingress/d/taken#0.0"]);
  assert.match(acceptedOf(out, "main")?.message ?? "", /taken\.test is the host of an Ingress rule/);
  assert.match(
    acceptedOf(out, "late")?.message ?? "",
    /bar\.test is already an alias given by Ingress\/d\/main/,
  );
});

test("ssl-passthrough: an sniRoute in Passthrough mode to the TCP pool of the '/' path, HTTPS listener made without certificates", () => {
  const { out } = run(
    ingress("pt", "pt.test", [{ path: "/" }], { [`${N}ssl-passthrough`]: "true" }, 1),
    ingress("again", "pt.test", [{ path: "/x", service: "api" }], { [`${N}ssl-passthrough`]: "true" }, 2),
  );
  const https = out.http.find((l) => l.port === 443);
  assert.deepEqual(https?.sniRoutes, [
    {
      name: "Ingress/d/pt#passthrough.0",
      hostname: "pt.test",
      mode: "Passthrough",
      backends: [{ pool: "d/web:80/TCP", weight: 1 }],
    },
  ]);
  assert.equal(https?.tls, undefined);
  assert.deepEqual(https?.virtualHosts, []);
  assert.equal(out.pools["d/web:80/TCP"]?.protocol, "tcp");
  assert.match(
    acceptedOf(out, "again")?.message ?? "",
    /pt\.test is already passed through by Ingress\/d\/pt/,
  );
});

test("ssl-passthrough with an allow list closes the host's TLS connections instead of passing them through unchecked", () => {
  const { out } = run(
    ingress(
      "pt",
      "pt.test",
      [{ path: "/" }],
      { [`${N}ssl-passthrough`]: "true", [`${N}whitelist-source-range`]: "10.0.0.0/8" },
      1,
    ),
  );
  const https = out.http.find((l) => l.port === 443);
  assert.deepEqual(https?.sniRoutes, [
    { name: "Ingress/d/pt#passthrough.0", hostname: "pt.test", mode: "Passthrough", backends: [] },
  ]);
  assert.match(acceptedOf(out, "pt")?.message ?? "", /cannot apply to TLS passed through/);
});

test("ssl-passthrough with a canary header on the host: the TLS connections go to the main Service, not the canary's", () => {
  const { out } = run(
    ingress("pt", "pt.test", [{ path: "/" }], { [`${N}ssl-passthrough`]: "true" }, 1),
    ingress(
      "can",
      "pt.test",
      [{ path: "/", service: "api" }],
      { [`${N}canary`]: "true", [`${N}canary-by-header`]: "X-Canary" },
      2,
    ),
  );
  const https = out.http.find((l) => l.port === 443);
  assert.deepEqual(
    https?.sniRoutes?.map((r) => r.backends),
    [[{ pool: "d/web:80/TCP", weight: 1 }]],
  );
});

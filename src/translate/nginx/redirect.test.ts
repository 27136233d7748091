// redirect.test.ts: permanent-redirect / temporal-redirect (+code), app-root, ssl-redirect and
// force-ssl-redirect, with ingress-nginx's rules (internal/ingress/annotations/redirect and the
// e2e cases test/e2e/annotations/{redirect,approot,forcesslredirect}.go).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteFilter } from "../../model/ir.ts";
import { acceptedOf, ingress, run } from "./test-fixtures.ts";
import { redirectUrlProblem } from "./redirect.ts";

const N = "nginx.ingress.kubernetes.io/";

/** fixed lists a route's StaticRedirect and RequestRedirect filters, in order. */
function redirects(filters: RouteFilter[] | undefined) {
  return (filters ?? []).filter((f) => f.type === "StaticRedirect" || f.type === "RequestRedirect");
}

test("permanent-redirect: 301 by default, permanent-redirect-code 308 honoured, 309 reported and 301 used", () => {
  const { out, routes } = run(
    ingress(
      "p",
      "a.test",
      [{ path: "/something" }],
      { [`${N}permanent-redirect`]: "https://www.example.com" },
      1,
    ),
    ingress(
      "c",
      "b.test",
      [{ path: "/" }],
      { [`${N}permanent-redirect`]: "https://x.test/y?z=1", [`${N}permanent-redirect-code`]: "308" },
      2,
    ),
    ingress(
      "bad",
      "c.test",
      [{ path: "/" }],
      { [`${N}permanent-redirect`]: "/moved", [`${N}permanent-redirect-code`]: "309" },
      3,
    ),
  );
  assert.deepEqual(redirects(routes("a.test")[0]?.filters), [
    { type: "StaticRedirect", statusCode: 301, location: "https://www.example.com" },
  ]);
  assert.deepEqual(redirects(routes("b.test")[0]?.filters), [
    { type: "StaticRedirect", statusCode: 308, location: "https://x.test/y?z=1" },
  ]);
  assert.deepEqual(redirects(routes("c.test")[0]?.filters), [
    { type: "StaticRedirect", statusCode: 301, location: "/moved" },
  ]);
  assert.match(
    acceptedOf(out, "bad")?.message ?? "",
    /permanent-redirect-code: "309" is not a redirect status from 300 to 308; using 301/,
  );
});

test("temporal-redirect: 302, temporal-redirect-code 307; it wins over permanent-redirect (reported)", () => {
  const { out, routes } = run(
    ingress("t", "a.test", [{ path: "/" }], {
      [`${N}temporal-redirect`]: "https://t.test/",
      [`${N}temporal-redirect-code`]: "307",
      [`${N}permanent-redirect`]: "https://p.test/",
    }),
  );
  assert.deepEqual(redirects(routes("a.test")[0]?.filters), [
    { type: "StaticRedirect", statusCode: 307, location: "https://t.test/" },
  ]);
  assert.match(
    acceptedOf(out, "t")?.message ?? "",
    /permanent-redirect: ignored, temporal-redirect is set too/,
  );
});

test("a redirect URL that is neither http(s) nor a path answers 500 (the backend must not get the traffic)", () => {
  for (const bad of ["javascript:alert(1)", "ftp://x.test/", "//evil.test/", "https://a b"])
    assert.ok(redirectUrlProblem(bad), bad);
  const { out, routes } = run(
    ingress("x", "a.test", [{ path: "/" }], { [`${N}permanent-redirect`]: "ftp://x.test/" }),
  );
  const r = routes("a.test")[0];
  assert.equal(r?.action.type === "DirectResponse" && r.action.status, 500);
  assert.equal(acceptedOf(out, "x")?.reason, "InvalidAnnotation");
});

test("app-root: 302 for exactly '/', ahead of a permanent-redirect; a relative value is reported and ignored", () => {
  const { out, routes } = run(
    ingress(
      "app",
      "a.test",
      [{ path: "/" }],
      { [`${N}app-root`]: "/foo", [`${N}permanent-redirect`]: "https://p.test/" },
      1,
    ),
    ingress("rel", "b.test", [{ path: "/" }], { [`${N}app-root`]: "foo" }, 2),
  );
  assert.deepEqual(redirects(routes("a.test")[0]?.filters), [
    { type: "StaticRedirect", statusCode: 302, location: "/foo", onlyPath: "/" },
    { type: "StaticRedirect", statusCode: 301, location: "https://p.test/" },
  ]);
  assert.equal(routes("b.test")[0]?.filters, undefined);
  assert.match(acceptedOf(out, "rel")?.message ?? "", /app-root: "foo" is not an absolute path/);
});

test("ssl-redirect: only for a host served on HTTPS (Portico's default is off); force-ssl-redirect without TLS; 308", () => {
  const tls = { tls: [{ hosts: ["a.test"], secretName: "missing" }] };
  const { out, routes } = run(
    ingress("s", "a.test", [{ path: "/" }], { [`${N}ssl-redirect`]: "true" }, 1, tls),
    ingress("f", "b.test", [{ path: "/" }], { [`${N}force-ssl-redirect`]: "true" }, 2),
    ingress("n", "c.test", [{ path: "/" }], { [`${N}ssl-redirect`]: "maybe" }, 3),
    ingress("notls", "d.test", [{ path: "/" }], { [`${N}ssl-redirect`]: "true" }, 4),
    ingress("default", "e.test", [{ path: "/" }], {}, 5, {
      tls: [{ hosts: ["e.test"], secretName: "missing" }],
    }),
  );
  const https = [{ type: "RequestRedirect", scheme: "https", statusCode: 308 }];
  assert.deepEqual(redirects(routes("a.test")[0]?.filters), https);
  assert.deepEqual(redirects(routes("b.test")[0]?.filters), https);
  assert.deepEqual(
    redirects(routes("d.test")[0]?.filters),
    [],
    "no TLS for the host: nothing to redirect to",
  );
  assert.deepEqual(
    redirects(routes("e.test")[0]?.filters),
    [],
    "Portico's default: no redirect unless asked",
  );
  assert.match(acceptedOf(out, "n")?.message ?? "", /ssl-redirect: "maybe" is not "true" or "false"/);
});

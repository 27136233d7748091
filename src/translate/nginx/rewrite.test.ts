// rewrite.test.ts: use-regex / rewrite-target / x-forwarded-prefix, the cases of ingress-nginx's
// docs (ingress-path-matching.md) and e2e suite (test/e2e/annotations/rewrite.go).
import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePath } from "../../engine/l7/router/match.ts";
import { regexRewritePath } from "../../engine/l7/phases.ts";
import type { RegexRewrite, Route } from "../../model/ir.ts";
import { acceptedOf, ingress, run } from "./test-fixtures.ts";

const RT = "nginx.ingress.kubernetes.io/rewrite-target";
const RX = "nginx.ingress.kubernetes.io/use-regex";

/** pick is the first of routes whose path matches p, as the engine's router tries them. */
function pick(routes: Route[], p: string): Route | undefined {
  return routes.find((r) => compilePath(r.match.path)(p) >= 0);
}

/** upstreamPath is the path a route's RegexRewrite sends for p (p itself without one). */
function upstreamPath(r: Route | undefined, p: string): string {
  const f = r?.filters?.find((x): x is RegexRewrite => x.type === "RegexRewrite");
  return f === undefined
    ? p
    : regexRewritePath(p, new RegExp(f.pattern, f.ignoreCase ? "i" : ""), f.replacement);
}

test("rewrite-target with capture groups: /something(/|$)(.*) -> /$2, case-insensitive, query kept by the engine", () => {
  const { routes } = run(
    ingress("rw", "a.test", [{ path: "/something(/|$)(.*)" }], { [RT]: "/$2", [RX]: "true" }),
  );
  const r = pick(routes("a.test"), "/something/new");
  assert.equal(upstreamPath(r, "/something/new"), "/new");
  assert.equal(upstreamPath(r, "/something"), "/");
  assert.equal(upstreamPath(pick(routes("a.test"), "/SOMETHING/x/y"), "/SOMETHING/x/y"), "/x/y");
  assert.equal(pick(routes("a.test"), "/other"), undefined);
});

test("rewrite-target without use-regex replaces the whole path (ingress-nginx e2e: /foo/bar -> /new/backend)", () => {
  const { routes } = run(ingress("rw", "a.test", [{ path: "/foo.+" }], { [RT]: "/new/backend" }));
  assert.equal(upstreamPath(pick(routes("a.test"), "/foo/bar"), "/foo/bar"), "/new/backend");
});

test("regex mode is per host: another Ingress's paths of that host become ~* ^path, longest first; other hosts keep Prefix", () => {
  const { routes } = run(
    ingress("plain", "a.test", [{ path: "/foo/bar/bar", service: "api" }], {}, 1),
    ingress("regex", "a.test", [{ path: "/foo/bar/[a-z]{3}" }], { [RT]: "/new/backend", [RX]: "true" }, 2),
    ingress("other", "b.test", [{ path: "/foo", pathType: "Prefix" }], {}, 3),
  );
  const a = routes("a.test");
  assert.deepEqual(
    a.map((r) => [r.match.path.type, r.match.path.value, r.match.path.ignoreCase, r.match.path.startOnly]),
    [
      ["RegularExpression", "/foo/bar/[a-z]{3}", true, true],
      ["RegularExpression", "/foo/bar/bar", true, true],
    ],
  );
  // The documented warning: /foo/bar/bar matches the regex first (first match, longest text first).
  assert.match(pick(a, "/foo/bar/bar")?.name ?? "", /regex/);
  assert.deepEqual(routes("b.test")[0]?.match.path, { type: "Prefix", value: "/foo" });
});

test("regex mode: ^/foo matches /foo and /foobar (anchored at the start only); the rewritten location wins for /foo/bar", () => {
  const { routes } = run(
    ingress("foo", "a.test", [{ path: "/foo", service: "api" }], {}, 1),
    ingress("regex", "a.test", [{ path: "/foo.+" }], { [RT]: "/new/backend", [RX]: "true" }, 2),
  );
  const a = routes("a.test");
  assert.match(pick(a, "/foo")?.name ?? "", /foo#/);
  assert.equal(upstreamPath(pick(a, "/foo"), "/foo"), "/foo");
  assert.equal(upstreamPath(pick(a, "/foo/bar"), "/foo/bar"), "/new/backend");
  assert.match(pick(a, "/FOOBAR")?.name ?? "", /regex#/);
});

test("rewrite-target equal to the path rewrites nothing and leaves the host in prefix mode (ingress-nginx's needsRewrite)", () => {
  const { routes } = run(ingress("same", "a.test", [{ path: "/app" }], { [RT]: "/app" }));
  const r = routes("a.test")[0];
  assert.deepEqual(r?.match.path, { type: "Prefix", value: "/app" });
  assert.equal(r?.filters, undefined);
});

test("x-forwarded-prefix is sent with a rewrite, and reported when the Ingress has no rewrite-target", () => {
  const XFP = "nginx.ingress.kubernetes.io/x-forwarded-prefix";
  const { out, routes } = run(
    ingress("with", "a.test", [{ path: "/" }], { [RT]: "/foo", [XFP]: "/test/value" }, 1),
    ingress("without", "b.test", [{ path: "/" }], { [XFP]: "/x" }, 2),
  );
  assert.deepEqual(
    routes("a.test")[0]?.filters?.find((f) => f.type === "RequestHeaderModifier"),
    { type: "RequestHeaderModifier", set: [{ name: "X-Forwarded-Prefix", value: "/test/value" }] },
  );
  assert.equal(routes("b.test")[0]?.filters, undefined);
  assert.match(
    acceptedOf(out, "without")?.message ?? "",
    /x-forwarded-prefix: sent only with rewrite-target/,
  );
});

test("bad values: an invalid path regex drops that path; a rewrite-target with a scheme answers 500; use-regex 'yes' is reported", () => {
  const { out, routes } = run(
    ingress("badre", "a.test", [{ path: "/a(" }, { path: "/ok" }], { [RX]: "true" }, 1),
    ingress("badrt", "b.test", [{ path: "/x" }], { [RT]: "http://evil.test/$1" }, 2),
    ingress("yes", "c.test", [{ path: "/x" }], { [RX]: "yes" }, 3),
  );
  assert.deepEqual(
    routes("a.test").map((r) => r.match.path.value),
    ["/ok"],
  );
  assert.match(acceptedOf(out, "badre")?.message ?? "", /not a valid regular expression/);
  const b = routes("b.test")[0];
  assert.equal(b?.action.type === "DirectResponse" && b.action.status, 500);
  assert.match(acceptedOf(out, "badrt")?.message ?? "", /rewrite-target: .*answers 500/);
  assert.match(acceptedOf(out, "yes")?.message ?? "", /use-regex: "yes" is not "true" or "false"/);
  assert.equal(acceptedOf(out, "yes")?.reason, "InvalidAnnotation");
  assert.ok(out.notices.some((n) => n.includes("Ingress/d/yes")));
});

test("regexRewritePath: $n of unmatched groups is empty, no match leaves the path, a result without / gets one", () => {
  const re = /\/api(\/|$)(v\d)?(.*)/i;
  assert.equal(regexRewritePath("/api/v2/users", re, "/$2$3"), "/v2/users");
  assert.equal(regexRewritePath("/api", re, "/x/$2"), "/x/");
  assert.equal(regexRewritePath("/nope", re, "/x"), "/nope");
  assert.equal(regexRewritePath("/api/a", re, "$3"), "/a");
});

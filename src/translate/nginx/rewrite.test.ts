// rewrite.test.ts: use-regex / rewrite-target / x-forwarded-prefix, the cases of ingress-nginx's
// docs (ingress-path-matching.md) and e2e suite (test/e2e/annotations/rewrite.go).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RegexRewrite, Route } from "../../model/ir.ts";
import { acceptedOf, ingress, run } from "./test-fixtures.ts";

const RT = "nginx.ingress.kubernetes.io/rewrite-target";
const RX = "nginx.ingress.kubernetes.io/use-regex";

/** rewriteOf is a route's RegexRewrite (the engine's side is tested in engine/l7/nginx-rewrite.test.ts). */
function rewriteOf(r: Route | undefined): Omit<RegexRewrite, "type"> | undefined {
  const f = r?.filters?.find((x): x is RegexRewrite => x.type === "RegexRewrite");
  return f === undefined
    ? undefined
    : { pattern: f.pattern, ignoreCase: f.ignoreCase, replacement: f.replacement };
}

/** regex is the IR of an ingress-nginx regex-mode path. */
const regex = (value: string) => ({ type: "RegularExpression", value, ignoreCase: true, startOnly: true });

test("rewrite-target with capture groups: the route's path regex is the rewrite's pattern, the target its replacement", () => {
  const { routes } = run(
    ingress("rw", "a.test", [{ path: "/something(/|$)(.*)" }], { [RT]: "/$2", [RX]: "true" }),
  );
  const r = routes("a.test")[0];
  assert.deepEqual(r?.match.path, regex("/something(/|$)(.*)"));
  assert.deepEqual(rewriteOf(r), { pattern: "/something(/|$)(.*)", ignoreCase: true, replacement: "/$2" });
});

test("rewrite-target without use-regex still turns the host's paths to regexes (ingress-nginx e2e: /foo.+ -> /new/backend)", () => {
  const { routes } = run(ingress("rw", "a.test", [{ path: "/foo.+" }], { [RT]: "/new/backend" }));
  const r = routes("a.test")[0];
  assert.deepEqual(r?.match.path, regex("/foo.+"));
  assert.deepEqual(rewriteOf(r), { pattern: "/foo.+", ignoreCase: true, replacement: "/new/backend" });
});

test("regex mode is per host: another Ingress's paths of that host become ~* ^path, longest text first; other hosts keep Prefix", () => {
  const { routes } = run(
    ingress("plain", "a.test", [{ path: "/foo/bar/bar", service: "api" }], {}, 1),
    ingress("regex", "a.test", [{ path: "/foo/bar/[a-z]{3}" }], { [RT]: "/new/backend", [RX]: "true" }, 2),
    ingress("other", "b.test", [{ path: "/foo", pathType: "Prefix" }], {}, 3),
  );
  // The documented warning: /foo/bar/bar is tried after the longer regex, which matches it first.
  assert.deepEqual(
    routes("a.test").map((r) => [r.name, r.match.path, rewriteOf(r)?.replacement]),
    [
      ["Ingress/d/regex#0.0", regex("/foo/bar/[a-z]{3}"), "/new/backend"],
      ["Ingress/d/plain#0.0", regex("/foo/bar/bar"), undefined],
    ],
  );
  assert.deepEqual(routes("b.test")[0]?.match.path, { type: "Prefix", value: "/foo" });
});

test("regex mode: pathType Exact and Prefix alike become ~* ^path; the default backend stays last", () => {
  const { routes } = run(
    ingress(
      "foo",
      "a.test",
      [
        { path: "/foo", pathType: "Exact", service: "api" },
        { path: "/", pathType: "Prefix" },
      ],
      {},
      1,
    ),
    ingress("regex", "a.test", [{ path: "/foo.+" }], { [RX]: "true" }, 2, {
      defaultBackend: { service: { name: "web", port: { number: 80 } } },
    }),
  );
  assert.deepEqual(
    routes("a.test").map((r) => [r.name, r.match.path]),
    [
      ["Ingress/d/regex#0.0", regex("/foo.+")],
      ["Ingress/d/foo#0.0", regex("/foo")],
      ["Ingress/d/foo#0.1", regex("/")],
      ["Ingress/d/regex#default", { type: "Prefix", value: "/" }],
    ],
  );
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

// nginx-rewrite.test.ts: the engine side of ingress-nginx's regex paths and rewrite-target (IR
// PathMatch.ignoreCase/startOnly and RegexRewrite): matching like nginx's `location ~* "^PATH"`,
// and the path a rewrite sends, including the cases of ingress-nginx's e2e rewrite.go.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PathMatch } from "../../model/ir.ts";
import { regexRewritePath } from "./phases.ts";
import { routeRegex } from "./router/regex.ts";
import { compilePath } from "./router/match.ts";

const rx = (value: string): PathMatch => ({
  type: "RegularExpression",
  value,
  ignoreCase: true,
  startOnly: true,
});

test("~* ^path: anchored at the start only, case-insensitive; plain RegularExpression stays anchored at both ends", () => {
  const foo = compilePath(rx("/foo"));
  for (const p of ["/foo", "/foo/bar", "/foobar", "/FOO"]) assert.ok(foo(p) >= 0, p);
  for (const p of ["/bar/foo", "/fo"]) assert.equal(foo(p), -1, p);
  const three = compilePath(rx("/foo/bar/[a-z]{3}"));
  assert.ok(three("/foo/bar/BAR") >= 0);
  const strict = compilePath({ type: "RegularExpression", value: "/foo" });
  assert.equal(strict("/foo/bar"), -1);
  assert.equal(strict("/FOO"), -1);
});

test("regexRewritePath: capture groups, unmatched group empty, no match leaves the path, a result without / gets one", () => {
  const re = routeRegex("/something(/|$)(.*)", "i");
  assert.equal(regexRewritePath("/something", re, "/$2"), "/");
  assert.equal(regexRewritePath("/something/", re, "/$2"), "/");
  assert.equal(regexRewritePath("/something/new", re, "/$2"), "/new");
  assert.equal(regexRewritePath("/SomeThing/a/b", re, "/$2"), "/a/b");
  assert.equal(regexRewritePath("/foo/bar", routeRegex("/foo.+", "i"), "/new/backend"), "/new/backend");
  const api = routeRegex(String.raw`/api(/|$)(v\d)?(.*)`, "i");
  assert.equal(regexRewritePath("/api/v2/users", api, "/$2$3"), "/v2/users");
  assert.equal(regexRewritePath("/api", api, "/x/$2"), "/x/");
  assert.equal(regexRewritePath("/nope", api, "/x"), "/nope");
  assert.equal(regexRewritePath("/api/a", api, "$3"), "/a");
  assert.equal(
    regexRewritePath("/foo/bar/baz", routeRegex("/foo/bar/(.+)", "i"), "/new/backend/$1"),
    "/new/backend/baz",
  );
});

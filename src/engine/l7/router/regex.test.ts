import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePath } from "./match.ts";
import { routeRegex } from "./regex.ts";

test("a catastrophic path regex answers in linear time: ^/(a+)+$ against 40 a's and a b", () => {
  // On V8's backtracking engine this input takes 2^40 steps (hours); here it is one DFA pass.
  const path = compilePath({ type: "RegularExpression", value: "/(a+)+" });
  const evil = "/" + "a".repeat(40) + "b";
  const t0 = performance.now();
  assert.equal(path(evil), -1);
  assert.equal(path("/aaaa"), 5);
  // Generous: the point is seconds-or-hours against well under one.
  assert.ok(performance.now() - t0 < 1_000, `took ${performance.now() - t0} ms`);
  assert.equal(routeRegex("/(a+)+").linear, true);
});

test("captures and case-insensitivity match V8's for the patterns routes use", () => {
  for (const [src, flags, input] of [
    ["/something(/|$)(.*)", "i", "/SomeThing/a/b"],
    [String.raw`/api(/|$)(v\d)?(.*)`, "i", "/api/v2/users"],
    [String.raw`^/(?<first>[^/]+)/(\d+)`, "", "/users/42/x"],
    ["/nope", "", "/other"],
  ] as const) {
    const ours = routeRegex(src, flags).exec(input);
    const v8 = new RegExp(src, flags).exec(input);
    assert.deepEqual(ours === null ? null : [...ours], v8 === null ? null : [...v8], `${src} on ${input}`);
  }
});

test("a pattern only a backtracking engine runs (lookahead, backreference) keeps V8's RegExp", () => {
  const look = routeRegex("^/(?!admin)[a-z]+$");
  assert.equal(look.linear, false);
  assert.equal(look.test("/users"), true);
  assert.equal(look.test("/admin"), false);
  assert.equal(routeRegex(String.raw`^/(\w+)/\1$`).test("/ab/ab"), true);
  assert.throws(() => routeRegex("(unclosed"), SyntaxError);
});

test("patterns and inputs the two engines read differently answer as V8 does", () => {
  const cases: [string, "" | "i", string][] = [
    ["^/.$", "", "/é"],
    ["^/[^/]{2}$", "", "/é"],
    ["^/café$", "i", "/CAFÉ"],
    ["^/[[:digit:]]+$", "", "/123"],
    [String.raw`^/\A$`, "", "/A"],
    [String.raw`^/\x{41}$`, "", "/x{41}"],
    [String.raw`^/\u0041$`, "", "/A"],
    [String.raw`^/\s$`, "", "/\u00a0"],
    ["^/(?:(a)|b)+$", "", "/ab"],
    ["^/[^]$", "", "/x"],
    ["^/a{,2}$", "", "/a{,2}"],
    [String.raw`^/\d+/(\w+)$`, "i", "/42/Users"],
    [String.raw`^/\d+/(\w+)$`, "", "/42/\u00e9t\u00e9"],
    ["^/x.y$", "", "/x\u2603y"],
  ];
  for (const [src, flags, input] of cases) {
    const ours = routeRegex(src, flags);
    const v8 = new RegExp(src, flags);
    assert.equal(ours.test(input), v8.test(input), `test ${src} on ${input}`);
    const got = ours.exec(input);
    const want = v8.exec(input);
    assert.deepEqual(
      got === null ? null : [...got],
      want === null ? null : [...want],
      `exec ${src} on ${input}`,
    );
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Route, RouteMatch } from "../../../model/ir.ts";
import { HostMap } from "./host-map.ts";
import { Router } from "./router.ts";
import type { RequestView } from "./match.ts";

function req(path: string, opts: { method?: string; headers?: Record<string, string> } = {}): RequestView {
  const q = path.indexOf("?");
  const h = opts.headers ?? {};
  return {
    method: opts.method ?? "GET",
    path: q === -1 ? path : path.slice(0, q),
    query: q === -1 ? "" : path.slice(q + 1),
    header: (n) => h[n],
  };
}

function route(name: string, match: Partial<RouteMatch> & Pick<RouteMatch, "path">): Route {
  return { name, match, action: { type: "DirectResponse", status: 200, body: name } };
}

test("HostMap: exact, longest wildcard, any; case, port and trailing dot ignored", () => {
  const m = new HostMap<string>();
  m.add("*", "any");
  m.add("*.example.com", "wild");
  m.add("*.b.example.com", "wild-b");
  m.add("a.example.com", "exact");
  assert.equal(m.lookup("A.Example.COM:8443"), "exact");
  assert.equal(m.lookup("a.example.com."), "exact");
  assert.equal(m.lookup("x.example.com"), "wild");
  assert.equal(m.lookup("x.y.example.com"), "wild", "wildcard matches more than one label");
  assert.equal(m.lookup("x.b.example.com"), "wild-b", "longest suffix first");
  assert.equal(m.lookup("example.com"), "any", "wildcard needs at least one label");
  assert.equal(m.lookup("other.org"), "any");
  assert.equal(m.lookup("[::1]:80"), "any");
  const n = new HostMap<string>();
  n.add("a.example.com", "exact");
  assert.equal(n.lookup("b.example.com"), undefined);
});

test("HostMap: a single-label wildcard (Ingress) matches one label only; a longer one still wins", () => {
  const m = new HostMap<string>();
  m.add("*.foo.com", "one", true);
  m.add("*.b.foo.com", "wild-b");
  assert.equal(m.lookup("a.foo.com"), "one");
  assert.equal(m.lookup("a.b.foo.com"), "wild-b");
  assert.equal(m.lookup("a.c.foo.com"), undefined, "two labels before a single-label wildcard");
  assert.equal(m.lookup("foo.com"), undefined);
  const r = new Router([
    {
      hostname: "*.blog.test",
      singleLabelWildcard: true,
      routes: [route("blog", { path: { type: "Prefix", value: "/" } })],
    },
    { hostname: "*", routes: [route("any", { path: { type: "Prefix", value: "/" } })] },
  ]);
  assert.equal(r.route("x.blog.test", req("/"))?.route.name, "blog");
  assert.equal(r.route("x.y.blog.test", req("/"))?.route.name, "any");
});

test("Router: first match wins in IR order across segment buckets", () => {
  const r = new Router([
    {
      hostname: "shop.example.com",
      routes: [
        route("exact", { path: { type: "Exact", value: "/foo" } }),
        route("regex", { path: { type: "RegularExpression", value: "/foo/[0-9]+" } }),
        route("prefix-foo", { path: { type: "Prefix", value: "/foo/" } }),
        route("root", { path: { type: "Prefix", value: "/" } }),
        route("never", { path: { type: "Prefix", value: "/bar" } }),
      ],
    },
  ]);
  const name = (p: string) => r.route("shop.example.com", req(p))?.route.name;
  assert.equal(name("/foo"), "exact");
  assert.equal(name("/foo/12"), "regex");
  assert.equal(name("/foo/x"), "prefix-foo");
  assert.equal(name("/foobar"), "root", "prefix matches whole elements only");
  assert.equal(name("/bar"), "root", "root comes before /bar in IR order");
  assert.equal(name("/"), "root");
  assert.equal(r.route("other.example.com", req("/")), undefined);
});

test("Router: prefix length for ReplacePrefixMatch", () => {
  const r = new Router([
    { hostname: "*", routes: [route("p", { path: { type: "Prefix", value: "/api/v1/" } })] },
  ]);
  assert.equal(r.route("x", req("/api/v1/users"))?.prefixLength, 7);
  assert.equal(r.route("x", req("/api/v1"))?.prefixLength, 7);
  assert.equal(r.route("x", req("/api/v10")), undefined);
});

test("Router: method, header and query conditions", () => {
  const r = new Router([
    {
      hostname: "*",
      routes: [
        route("post", { path: { type: "Prefix", value: "/" }, method: "POST" }),
        route("canary", {
          path: { type: "Prefix", value: "/" },
          headers: [{ name: "X-Canary", type: "Exact", value: "yes" }],
        }),
        route("q", {
          path: { type: "Prefix", value: "/" },
          queryParams: [{ name: "v", type: "RegularExpression", value: "[0-9]+" }],
        }),
        route("rest", { path: { type: "Prefix", value: "/" } }),
      ],
    },
  ]);
  const name = (p: string, o?: Parameters<typeof req>[1]) => r.route("h", req(p, o))?.route.name;
  assert.equal(name("/", { method: "POST" }), "post");
  assert.equal(name("/", { headers: { "x-canary": "yes" } }), "canary");
  assert.equal(name("/", { headers: { "x-canary": "no" } }), "rest");
  assert.equal(name("/a?x=1&v=42"), "q");
  assert.equal(name("/a?v=abc"), "rest");
});

test("Router: 10k routes stay flat (indexed, not scanned)", () => {
  const routes: Route[] = [];
  for (let i = 0; i < 10_000; i++)
    routes.push(route(`r${i}`, { path: { type: "Prefix", value: `/svc${i}` } }));
  const hosts = [];
  for (let i = 0; i < 1000; i++) hosts.push({ hostname: `h${i}.example.com`, routes: [] as Route[] });
  hosts.push({ hostname: "last.example.com", routes });
  const r = new Router(hosts);
  const view = req("/svc9999/x");
  assert.equal(r.route("last.example.com", view)?.route.name, "r9999");
  // Count path tests: wrap route lookups by timing a loop; a linear scan would take ~10k tests each.
  const start = process.hrtime.bigint();
  for (let i = 0; i < 20_000; i++) r.route("last.example.com", view);
  const perLookupNs = Number(process.hrtime.bigint() - start) / 20_000;
  assert.ok(perLookupNs < 20_000, `lookup took ${perLookupNs} ns`);
});

// hostnames.test.ts: one spelling per hostname, and which tenant domain covers which name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { domainCovers, domainRank, normaliseHost } from "./hostnames.ts";

test("normaliseHost: lower case, no final dot, IDNA for Unicode labels, wildcards kept", () => {
  assert.equal(normaliseHost("Shop.Example.COM"), "shop.example.com");
  assert.equal(normaliseHost("shop.example.com."), "shop.example.com");
  assert.equal(normaliseHost(" *.Payments.Example.com "), "*.payments.example.com");
  assert.equal(normaliseHost("Bücher.example"), "xn--bcher-kva.example");
  assert.equal(normaliseHost("*.BÜCHER.example"), "*.xn--bcher-kva.example");
  // Not a name: kept as written (lowercased), for the pass that reads it to refuse.
  assert.equal(normaliseHost("a b.example"), "a b.example");
});

test("domainCovers: an exact domain covers itself, a wildcard every name below it at any depth", () => {
  assert.ok(domainCovers("shop.example.com", "shop.example.com"));
  assert.ok(!domainCovers("shop.example.com", "a.shop.example.com"));
  assert.ok(domainCovers("*.example.com", "a.example.com"));
  assert.ok(domainCovers("*.example.com", "a.b.example.com"));
  assert.ok(domainCovers("*.example.com", "*.example.com"));
  assert.ok(domainCovers("*.example.com", "*.b.example.com"));
  assert.ok(!domainCovers("*.example.com", "example.com"));
  assert.ok(!domainCovers("*.example.com", "badexample.com"));
});

test("domainRank: an exact name beats any wildcard, a longer wildcard a shorter one", () => {
  assert.ok(domainRank("a.example.com") > domainRank("*.very.long.subdomain.example.com"));
  assert.ok(domainRank("*.pay.example.com") > domainRank("*.example.com"));
});

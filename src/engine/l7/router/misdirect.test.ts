import { test } from "node:test";
import assert from "node:assert/strict";
import { compileMisdirect, servernameOf } from "./misdirect.ts";

// The listeners of the upstream conformance Gateway same-namespace-with-https-listener.
const CONFORMANCE = ["*", "*.wildcard.org", "fourth-example.wildcard.org", "second-example.org"];

test("compileMisdirect: fewer than two listeners means no check (Ingress, single listener)", () => {
  assert.equal(compileMisdirect(undefined), undefined);
  assert.equal(compileMisdirect([]), undefined);
  assert.equal(compileMisdirect(["a.example.com"]), undefined);
});

test("compileMisdirect: the conformance cases of HTTPRouteHTTPSListenerDetectMisdirectedRequests", () => {
  const check = compileMisdirect(CONFORMANCE)!;
  const cases: [string, string, boolean][] = [
    ["example.org", "example.org", false],
    ["example.org", "second-example.org", true],
    ["example.org", "unknown-example.org", false], // same catch-all listener: routing answers 404
    ["second-example.org", "second-example.org", false],
    ["second-example.org", "example.org", true],
    ["second-example.org", "unknown-example.org", true],
    ["third-example.wildcard.org", "third-example.wildcard.org", false],
    ["third-example.wildcard.org", "fith-example.wildcard.org", false],
    ["third-example.wildcard.org", "fourth-example.wildcard.org", true],
    ["third-example.wildcard.org", "second-example.org", true],
    ["third-example.wildcard.org", "unknown-example.org", true],
    ["fourth-example.wildcard.org", "fourth-example.wildcard.org", false],
    ["fourth-example.wildcard.org", "fith-example.wildcard.org", true],
    ["unknown-example.org", "example.org", false],
    ["unknown-example.org", "unknown-example.org", false],
  ];
  for (const [sni, host, want] of cases) assert.equal(check(sni, host), want, `SNI ${sni} Host ${host}`);
});

test("compileMisdirect: Host port, case and trailing dot are ignored; a wildcard spans several labels", () => {
  const check = compileMisdirect(CONFORMANCE)!;
  assert.equal(check("second-example.org", "Second-Example.ORG.:443"), false);
  assert.equal(check("a.b.wildcard.org", "c.wildcard.org"), false);
  assert.equal(check("SECOND-example.org", "example.org:8443"), true);
});

test("compileMisdirect: without SNI nothing chose a listener, so Host alone routes", () => {
  const check = compileMisdirect(CONFORMANCE)!;
  assert.equal(check(undefined, "second-example.org"), false);
  assert.equal(check("", "example.org"), false);
});

test("compileMisdirect: without a catch-all listener, a Host no listener covers is misdirected", () => {
  const check = compileMisdirect(["a.example.com", "b.example.com"])!;
  assert.equal(check("a.example.com", "a.example.com"), false);
  assert.equal(check("a.example.com", "b.example.com"), true);
  assert.equal(check("a.example.com", "127.0.0.1"), true);
  // An SNI no HTTPS listener owns (the handshake picked no listener of ours): no verdict.
  assert.equal(check("c.example.com", "a.example.com"), false);
});

test("servernameOf reads a TLS socket's servername and nothing else", () => {
  assert.equal(servernameOf({ servername: "a.example.com" }), "a.example.com");
  assert.equal(servernameOf({ servername: false }), undefined);
  assert.equal(servernameOf({}), undefined);
  assert.equal(servernameOf(undefined), undefined);
});

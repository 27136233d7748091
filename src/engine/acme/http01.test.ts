import assert from "node:assert/strict";
import { test } from "node:test";
import { http01Answer, http01Table } from "./http01.ts";

test("http01Answer answers GET and HEAD for pushed tokens only", () => {
  const t = http01Table({ http01: [{ token: "tok1", keyAuthorization: "tok1.thumb" }] });
  assert.equal(http01Answer(t, "GET", "/.well-known/acme-challenge/tok1"), "tok1.thumb");
  assert.equal(http01Answer(t, "HEAD", "/.well-known/acme-challenge/tok1"), "tok1.thumb");
  assert.equal(http01Answer(t, "POST", "/.well-known/acme-challenge/tok1"), undefined);
  assert.equal(http01Answer(t, "GET", "/.well-known/acme-challenge/other"), undefined, "routed as usual");
  assert.equal(http01Answer(t, "GET", "/tok1"), undefined);
  assert.equal(http01Table(undefined), undefined);
  assert.equal(http01Table({ http01: [] }), undefined);
});

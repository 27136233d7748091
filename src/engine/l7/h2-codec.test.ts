// The codec switch: the own codec by default, node:http2 on request, and a value that is neither
// is not ignored silently (docs/cli.md, "HTTP/2 codec").
import { test } from "node:test";
import assert from "node:assert/strict";
import { codecOf } from "./h2-own.ts";

test("PORTICO_H2_CODEC: own by default, node on request, anything else warned about", () => {
  assert.deepEqual(codecOf(undefined), { own: true });
  assert.deepEqual(codecOf(""), { own: true });
  assert.deepEqual(codecOf("own"), { own: true });
  assert.deepEqual(codecOf("node"), { own: false });
  const odd = codecOf("nghttp2");
  assert.equal(odd.own, true);
  assert.match(odd.warning ?? "", /PORTICO_H2_CODEC="nghttp2".*set PORTICO_H2_CODEC=node/);
});

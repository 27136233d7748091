// top-pack.test.ts: closed top lists round-trip, with the service's dictionary and without one,
// and the dictionary makes a cell that repeats its names smaller.
import assert from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import { test } from "node:test";
import { TopPacker } from "./top-pack.ts";
import type { TopLists } from "./types.ts";

function lists(k: number): TopLists {
  return {
    urls: Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`/api/v${i}/item/${(k + i) % 97}`, 20 - i]),
    ),
    routes: Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`HTTPRoute/shop/route-${i}#0`, 50 + k - i]),
    ),
    userAgents: { "Chrome 131 / Windows": 300 + k, "curl/8.11": 20 },
  };
}

test("top lists round-trip; the first long enough is the dictionary, and later cells cost less with it", () => {
  const p = new TopPacker();
  const short: TopLists = { codes: { "200": 5 } };
  const a = p.pack(short); // too short to be the dictionary: packed plain
  const packed = Array.from({ length: 5 }, (_, k) => p.pack(lists(k)));
  assert.deepEqual(p.unpack(a), short);
  packed.forEach((s, k) => assert.deepEqual(p.unpack(s), lists(k)));
  const plain = deflateRawSync(JSON.stringify(lists(4))).length;
  assert.ok(packed[4]!.length < plain * 0.7, `${packed[4]!.length} bytes, ${plain} deflated alone`);
  // Names that are no JSON-safe ASCII, such as a client's "__proto__" or a UTF-8 path, survive.
  const odd: TopLists = {
    clients: Object.fromEntries([
      ["__proto__", 1],
      ["é/ü", 2],
    ]),
  };
  assert.deepEqual(Object.entries(p.unpack(p.pack(odd)).clients!), [
    ["__proto__", 1],
    ["é/ü", 2],
  ]);
});

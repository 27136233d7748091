import { test } from "node:test";
import assert from "node:assert/strict";
import { body } from "./index.ts";
import type { BodyProcessorName } from "./types.ts";

const limits = { maxArgs: 50, maxDepth: 16, fileContentBytes: 64 };

/** rng is a small seeded generator (mulberry32) so a failure replays. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const samples: [BodyProcessorName, string, string][] = [
  ["URLENCODED", "application/x-www-form-urlencoded", "a=1&b=%41+c&d&e=%zz"],
  [
    "MULTIPART",
    "multipart/form-data; boundary=b",
    '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name="f"; filename="x"\r\nContent-Type: text/plain\r\n\r\nzz\r\n--b--\r\n',
  ],
  ["JSON", "application/json", '{"a":[1,{"b":"\\u00e9x"},null,true],"c":-1.5e3}'],
  [
    "XML",
    "text/xml",
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r a="1"><b>t&amp;<![CDATA[c]]></b><!--c--></r>',
  ],
];
const alphabet = "<>/=\"'&;:-[]{},\r\n\t \\%+!?#x0";

test("body: mutated bodies never throw and always give well-formed results (seeded fuzz)", () => {
  const next = rng(16);
  for (const [processor, ct, sample] of samples) {
    for (let i = 0; i < 3000; i++) {
      let s = sample;
      for (let k = 1 + Math.floor(next() * 4); k > 0; k--) {
        const at = Math.floor(next() * (s.length + 1));
        const r = next();
        const ch =
          r < 0.5
            ? alphabet[Math.floor(next() * alphabet.length)]!
            : String.fromCharCode(Math.floor(next() * 256));
        if (r < 0.4) s = s.slice(0, at) + ch + s.slice(at);
        else if (r < 0.7) s = s.slice(0, at) + s.slice(at + 1);
        else if (r < 0.9) s = s.slice(0, at) + ch + s.slice(at + 1);
        else s = s.slice(0, at) + s.slice(at, at + 8).repeat(3) + s.slice(at + 8);
      }
      const out = body.parseBody(processor, s, ct, limits);
      assert.ok(Array.isArray(out.args) && out.args.length <= limits.maxArgs, s);
      for (const [n, v] of out.args) assert.ok(typeof n === "string" && typeof v === "string", s);
      assert.ok(out.error === undefined || typeof out.error === "string", s);
      for (const f of out.files)
        assert.ok(f.content.length <= limits.fileContentBytes && f.size >= f.content.length, s);
      if (out.xml !== undefined) {
        assert.ok(Array.isArray(body.xpath(out.xml, "/*")));
        assert.ok(Array.isArray(body.xpath(out.xml, "//@*")));
      }
    }
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { body } from "./index.ts";
import type { BodyLimits } from "./types.ts";

const limits: BodyLimits = { maxArgs: 3, maxDepth: 32, fileContentBytes: 1024 };

test("body: parseBody dispatches on the processor the Content-Type picks", () => {
  const run = (ct: string, text: string) => body.parseBody(body.processorFor(ct)!, text, ct, limits);
  assert.deepEqual(run("application/x-www-form-urlencoded", "a=1&b=%zz").args, [
    ["a", "1"],
    ["b", "%zz"],
  ]);
  assert.equal(run("application/x-www-form-urlencoded", "b=%zz").flags.URLENCODED_ERROR, "1");
  assert.deepEqual(
    run(
      "multipart/form-data; boundary=b",
      '--b\r\nContent-Disposition: form-data; name="m"\r\n\r\nv\r\n--b--\r\n',
    ).args,
    [["m", "v"]],
  );
  assert.deepEqual(run("application/json", '{"j":[1]}').args, [
    ["json.j.0", "1"],
    ["json.j", "1"],
  ]);
  const xml = run("text/xml", "<r a='1'>t</r>");
  assert.deepEqual(body.xpath(xml.xml!, "/*"), ["t"]);
  assert.deepEqual(body.xpath(xml.xml!, "//@*"), ["1"]);
});

test("body: SecArgumentsLimit on urlencoded bodies keeps the first maxArgs pairs and says so", () => {
  const r = body.parseBody("URLENCODED", "a=1&b=2&c=3&d=4", undefined, limits);
  assert.equal(r.args.length, 3);
  assert.equal(r.error, "URLENCODED: more than 3 arguments (SecArgumentsLimit)");
  assert.equal(body.parseBody("URLENCODED", "a=1&b=2&c=3", undefined, limits).error, undefined);
});

test("body: a JSON or XML body sent as the wrong processor is an error, never a throw", () => {
  assert.match(body.parseBody("JSON", "<r/>", undefined, limits).error!, /^JSON: /);
  assert.match(body.parseBody("XML", '{"a":1}', undefined, limits).error!, /^XML: /);
  assert.match(body.parseBody("MULTIPART", "a=1", "text/plain", limits).error!, /Invalid MIME type/);
});

// The codec switch: the own codec by default, node:http2 on request, and a value that is neither
// is refused at start by name, as PORTICO_OWN_SOCKETS is (docs/cli.md, "HTTP/2 codec").
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { codecSetting } from "./h2-own.ts";
import { assertRefusedAtStart } from "../../../test/support/refused-at-start.ts";

test("PORTICO_H2_CODEC: own by default, node on request, anything else refused by name", () => {
  for (const v of [undefined, "", " ", "own", "OWN", " own "])
    assert.equal(codecSetting({ PORTICO_H2_CODEC: v }), true, String(v));
  assert.equal(codecSetting({}), true);
  for (const v of ["node", "Node"]) assert.equal(codecSetting({ PORTICO_H2_CODEC: v }), false, v);
  for (const v of ["nghttp2", "off", "1", "own,node"])
    assert.throws(
      () => codecSetting({ PORTICO_H2_CODEC: v }),
      /^Error: PORTICO_H2_CODEC="[^"]+" is not a setting: use own \(the default\) or node \(node:http2\), or unset it for own$/,
    );
});

test("portico run and portico engine refuse a bad PORTICO_H2_CODEC before starting: one line, exit 2", () => {
  assertRefusedAtStart(
    { PORTICO_H2_CODEC: "nghttp2" },
    'portico: PORTICO_H2_CODEC="nghttp2" is not a setting: use own (the default) or node (node:http2), or unset it for own\n',
  );
});

test("new Engine() refuses a bad PORTICO_H2_CODEC: the engine does not start on a guess", () => {
  // A fresh process: the setting is read once per process, at the first engine's start.
  const r = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const { Engine } = await import(${JSON.stringify(join(import.meta.dirname, "..", "engine.ts"))}); new Engine();`,
    ],
    { env: { ...process.env, PORTICO_H2_CODEC: "nghttp2" }, encoding: "utf8", timeout: 60_000 },
  );
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /PORTICO_H2_CODEC="nghttp2" is not a setting/);
});

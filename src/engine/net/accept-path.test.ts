// accept-path.test.ts: PORTICO_OWN_SOCKETS takes on/off/true/false/1/0 and refuses anything else
// by name; the engine option wins over it; the decision says why.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../engine.ts";
import { acceptPath, ownSocketsSetting } from "./accept-path.ts";
import { ownSockets } from "./own-socket.ts";
import { assertRefusedAtStart } from "../../../test/support/refused-at-start.ts";

test("PORTICO_OWN_SOCKETS: on/off and their spellings; unset or empty is the default; anything else is refused by name", () => {
  for (const v of ["on", "true", "1", "ON", " True "])
    assert.equal(ownSocketsSetting({ PORTICO_OWN_SOCKETS: v }), true, v);
  for (const v of ["off", "false", "0", "OFF"])
    assert.equal(ownSocketsSetting({ PORTICO_OWN_SOCKETS: v }), false, v);
  assert.equal(ownSocketsSetting({}), undefined);
  assert.equal(ownSocketsSetting({ PORTICO_OWN_SOCKETS: "" }), undefined);
  for (const v of ["no", "yes", "disabled", "2"])
    assert.throws(
      () => ownSocketsSetting({ PORTICO_OWN_SOCKETS: v }),
      /PORTICO_OWN_SOCKETS="[^"]+" is not a setting: use on or off/,
    );
});

test("the accept path: the engine option, else the setting, else on where this Node allows it; each says why", () => {
  assert.equal(ownSockets, true, "this Node lacks what own-socket.ts drives (own-socket.test.ts says what)");
  assert.deepEqual(acceptPath(undefined, {}), { own: true, why: "Portico's own socket layer" });
  assert.equal(acceptPath(undefined, { PORTICO_OWN_SOCKETS: "0" }).own, false);
  assert.match(acceptPath(undefined, { PORTICO_OWN_SOCKETS: "0" }).why, /set by PORTICO_OWN_SOCKETS=0/);
  assert.match(acceptPath(false, {}).why, /set by the engine option ownSockets: false/);
  assert.equal(acceptPath(true, { PORTICO_OWN_SOCKETS: "off" }).own, true);
  // The option does not hide a bad setting: it is refused at start either way.
  assert.throws(() => acceptPath(true, { PORTICO_OWN_SOCKETS: "no" }), /PORTICO_OWN_SOCKETS/);
});

test("portico run and portico engine refuse a bad PORTICO_OWN_SOCKETS before starting: one line, exit 2", () => {
  assertRefusedAtStart(
    { PORTICO_OWN_SOCKETS: "no" },
    'portico: PORTICO_OWN_SOCKETS="no" is not a setting: use on or off (also true/false, 1/0), or unset it for on\n',
  );
});

test("the engine says once, at start, which accept path client connections take", async () => {
  const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
  for (const ownSockets of [undefined, false]) {
    lines.length = 0;
    const engine = new Engine({ log: (_level, msg, fields) => lines.push({ msg, fields }), ownSockets });
    await engine.close();
    const said = lines.filter((l) => l.msg === "client connections accept path");
    assert.equal(said.length, 1);
    const own = ownSockets ?? acceptPath().own;
    assert.deepEqual(said[0]!.fields, { ownSockets: own, path: acceptPath(ownSockets).why });
  }
});

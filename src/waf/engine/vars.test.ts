// Vars keeps a collection's name index and a scalar's list across data changes (vars.ts byName,
// stored): each test here fails if either outlived the data it was built from, or if the
// index answered differently from filtering the members by name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rand } from "../../../test/support/rand.ts";
import { member, Vars } from "./vars.ts";

const conn = {
  id: "v",
  clientAddress: "192.0.2.1",
  clientPort: 1,
  serverAddress: "127.0.0.1",
  serverPort: 80,
  now: 0,
};

test("a name selector reads the members of that name in order, and the new list after a change", () => {
  const v = new Vars(conn);
  v.setCollection("REQUEST_HEADERS", [member("A", "1"), member("b", "2"), member("a", "3")]);
  assert.deepEqual(
    v.whereName("REQUEST_HEADERS", "a").map((m) => m.value),
    ["1", "3"],
  );
  assert.deepEqual(v.whereName("REQUEST_HEADERS", "c"), []);
  const before = v.whereName("REQUEST_HEADERS", "b");
  // Another variable stored: the headers are the same list, the index stands.
  v.setScalar("REQUEST_BODY", "x");
  assert.equal(v.whereName("REQUEST_HEADERS", "b"), before);
  // The headers stored again: the new members, not the old index's.
  v.setCollection("REQUEST_HEADERS", [member("a", "9")]);
  assert.deepEqual(
    v.whereName("REQUEST_HEADERS", "a").map((m) => m.value),
    ["9"],
  );
  assert.deepEqual(v.whereName("REQUEST_HEADERS", "b"), []);
  // A derived list (ARGS, rebuilt on each change) is indexed again.
  v.setCollection("ARGS_GET", [member("q", "1")]);
  assert.deepEqual(
    v.whereName("ARGS", "q").map((m) => m.value),
    ["1"],
  );
  v.setCollection("ARGS_POST", [member("Q", "2")]);
  assert.deepEqual(
    v.whereName("ARGS", "q").map((m) => m.value),
    ["1", "2"],
  );
});

test("a scalar's list is kept while its value is the same, and follows a new value", () => {
  const v = new Vars(conn);
  v.setScalar("REQUEST_METHOD", "GET");
  const get = v.members("REQUEST_METHOD");
  assert.deepEqual(
    get.map((m) => m.value),
    ["GET"],
  );
  v.setScalar("REQUEST_BODY", "");
  assert.equal(v.members("REQUEST_METHOD"), get);
  v.setScalar("REQUEST_METHOD", "POST");
  assert.deepEqual(
    v.members("REQUEST_METHOD").map((m) => m.value),
    ["POST"],
  );
});

test("a stored collection reads before a scalar of the same name, whichever came first", () => {
  const v = new Vars(conn);
  v.setScalar("X_BOTH", "s");
  v.setCollection("X_BOTH", [member("k", "c")]);
  v.setScalar("X_BOTH", "t");
  assert.deepEqual(
    v.members("X_BOTH").map((m) => m.value),
    ["c"],
  );
  assert.equal(v.scalar("X_BOTH"), "t");
  // Another transaction's Vars shares the names' numbering, not the values.
  const w = new Vars(conn);
  assert.equal(w.scalar("X_BOTH"), undefined);
  assert.deepEqual(w.members("X_BOTH"), []);
  assert.deepEqual(w.members("ARGS"), []);
  w.setScalar("X_BOTH", "u");
  assert.deepEqual(
    w.members("X_BOTH").map((m) => m.value),
    ["u"],
  );
  assert.deepEqual(
    v.members("X_BOTH").map((m) => m.value),
    ["c"],
  );
});

test("the index answers as filtering by name does, over random collections and changes", () => {
  const r = rand(16);
  const names = ["a", "A", "b", "Content-Type", "content-type", "x"];
  const v = new Vars(conn);
  for (let round = 0; round < 300; round++) {
    const coll = r() < 0.5 ? "REQUEST_HEADERS" : "ARGS_GET";
    if (r() < 0.6) {
      const n = Math.floor(r() * 6);
      const ms = Array.from({ length: n }, (_, i) =>
        member(names[Math.floor(r() * names.length)] as string, `${round}.${i}`),
      );
      v.setCollection(coll, ms);
    } else v.setScalar("REQUEST_BODY", String(round));
    for (const read of ["REQUEST_HEADERS", "ARGS_GET", "ARGS"])
      for (const lower of ["a", "b", "content-type", "x", "y"])
        assert.deepEqual(
          v.whereName(read, lower),
          v.members(read).filter((m) => m.lower === lower),
          `round ${round}: ${read}:${lower}`,
        );
  }
});

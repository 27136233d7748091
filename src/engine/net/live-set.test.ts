import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveNode, LiveSet, type Linked } from "./live-set.ts";

test("a LiveSet adds, deletes and lists its members, in any order", () => {
  const s = new LiveSet<string>();
  const [a, b, c] = ["a", "b", "c"].map((v) => new LiveNode(v)) as [
    LiveNode<string>,
    LiveNode<string>,
    LiveNode<string>,
  ];
  s.add(a);
  s.add(b);
  s.add(c);
  s.add(b); // again: one member
  assert.equal(s.size, 3);
  assert.deepEqual(s.values().sort(), ["a", "b", "c"]);
  s.delete(b); // the middle
  assert.deepEqual(s.values().sort(), ["a", "c"]);
  s.delete(c); // the first
  s.delete(c); // again: no-op
  assert.deepEqual(s.values(), ["a"]);
  s.delete(a); // the last
  assert.equal(s.size, 0);
  assert.deepEqual(s.values(), []);
  for (const n of [a, b, c]) assert.equal(n.prev ?? n.next ?? n.set, null, "a deleted node keeps no pointer");
});

test("a node added to a second set leaves the first; deleting it from the wrong set changes nothing", () => {
  const one = new LiveSet<number>();
  const two = new LiveSet<number>();
  const n = new LiveNode(1);
  const m = new LiveNode(2);
  one.add(n);
  one.add(m);
  two.add(n);
  assert.deepEqual(one.values(), [2]);
  assert.deepEqual(two.values(), [1]);
  one.delete(n);
  assert.equal(two.size, 1);
  assert.equal(one.size, 1);
});

test("values() is a copy: members may leave while the caller walks it", () => {
  const s = new LiveSet<number>();
  const nodes = [0, 1, 2, 3, 4].map((v) => new LiveNode(v));
  for (const n of nodes) s.add(n);
  const walked: number[] = [];
  for (const v of s.values()) {
    s.delete(nodes[v]!);
    walked.push(v);
  }
  assert.deepEqual(walked.sort(), [0, 1, 2, 3, 4]);
  assert.equal(s.size, 0);
});

test("a member that carries its own links (Linked) joins, leaves and is listed like a node's value", () => {
  // A member as ClientConn and OwnSocket are: its own links, itself as the value.
  type Member = Linked<Member> & { name: string };
  const member = (name: string): Member => {
    const m = { name, prev: null, next: null, set: null } as Omit<Member, "value"> as Member;
    Object.defineProperty(m, "value", { value: m });
    return m;
  };
  const s = new LiveSet<Member>();
  const other = new LiveSet<Member>();
  const [a, b] = [member("a"), member("b")];
  const n = new LiveNode(member("n"));
  s.add(a);
  s.add(n);
  s.add(b);
  assert.deepEqual(
    s
      .values()
      .map((m) => m.name)
      .sort(),
    ["a", "b", "n"],
  );
  other.add(a); // moves
  assert.deepEqual(
    s
      .values()
      .map((m) => m.name)
      .sort(),
    ["b", "n"],
  );
  assert.equal(other.values()[0], a);
  other.delete(a);
  s.delete(b);
  assert.equal(
    a.prev ?? a.next ?? a.set ?? b.prev ?? b.next ?? b.set,
    null,
    "a member that left keeps no pointer",
  );
  assert.equal(s.size, 1);
});

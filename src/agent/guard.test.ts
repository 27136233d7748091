// guard.test.ts: the epoch/sequence rule as a story — each row acts on what the rows before left.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SnapshotGuard, type Verdict } from "./guard.ts";

type Row = [what: string, epoch: number, seq: number, want: Verdict | "stale", outcome?: "ack" | "nack"];

test("guard: epochs only go forward, sequences only go forward within an epoch", () => {
  const g = new SnapshotGuard();
  const rows: Row[] = [
    ["first snapshot of epoch 3", 3, 1, "apply", "ack"],
    ["same again: re-acked, not re-applied", 3, 1, "reack"],
    ["next push", 3, 2, "apply", "ack"],
    ["an older push of the same epoch", 3, 1, "stale"],
    ["an older leader", 2, 99, "stale"],
    ["a gap in the sequence is fine", 3, 7, "apply", "ack"],
    ["a new leader starts its sequence afresh", 4, 1, "apply", "nack"],
    ["nacked for content: epoch 4 now shuts out epoch 3", 3, 8, "stale"],
    ["... and the same epoch-4 snapshot may be tried again", 4, 1, "apply", "ack"],
    ["now epoch 4 seq 1 is the one served", 4, 1, "reack"],
    ["a later content nack in the same epoch", 4, 2, "apply", "nack"],
    ["... does not advance the applied sequence", 4, 2, "apply", "ack"],
  ];
  let version = 0;
  for (const [what, epoch, seq, want, outcome] of rows) {
    const got = g.accept(epoch, seq);
    if (want === "stale") {
      assert.equal(typeof got, "object", what);
      assert.match((got as { stale: string }).stale, /older/, what);
    } else assert.deepEqual(got, want, what);
    if (outcome === "ack") g.applied({ epoch, seq, version: ++version });
  }
  assert.deepEqual(g.current(), { epoch: 4, seq: 2, version });
  assert.equal(g.highestEpoch(), 4);
});

test("guard: before any snapshot nothing is served and every epoch is welcome", () => {
  const g = new SnapshotGuard();
  assert.equal(g.current(), undefined);
  assert.equal(g.accept(1, 5), "apply");
  // Nothing applied yet: a lower sequence of the same epoch is not stale (there is no "last applied").
  assert.equal(g.accept(1, 2), "apply");
  const stale = g.accept(0, 9);
  assert.deepEqual(stale, { stale: "epoch 0 is older than epoch 1 already seen" });
});

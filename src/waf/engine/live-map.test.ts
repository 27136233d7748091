// live-map.test.ts: LiveMap against a plain Map under the same seeded random sets, deletes,
// setAll and reads: the same members by name, the same order, the same size, with a prefix
// taken (setAll into an empty map) or not (setAll after a set).
import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveMap, livePrefix } from "./live-map.ts";
import { member, type Member } from "./vars.ts";

const NAMES = ["a", "b", "c", "d", "e", "f", "score", "0", "1"];

function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

function same(live: LiveMap, plain: Map<string, Member>, at: string): void {
  assert.deepEqual(live.list(), [...plain.values()], at);
  const each: Member[] = [];
  live.each((m) => each.push(m));
  assert.deepEqual(each, [...plain.values()], at);
  assert.equal(live.size, plain.size, at);
  for (const k of NAMES) assert.equal(live.get(k), plain.get(k), `${at}: get ${k}`);
}

test("LiveMap keeps Map's members and order under random sets, deletes and setAll", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const next = random(seed);
    // A prefix with a repeated name: the first place and the last value count, as in a Map.
    const block = Array.from({ length: 1 + next(7) }, (_, i) => member(NAMES[next(6)] as string, `p${i}`));
    const prefix = livePrefix(block);
    const live = new LiveMap();
    const plain = new Map<string, Member>();
    const setAll = () => {
      live.setAll(prefix);
      for (const m of block) plain.set(m.key, m);
    };
    if (next(4) !== 0) setAll();
    for (let step = 0; step < 40; step++) {
      const k = NAMES[next(NAMES.length)] as string;
      const op = next(10);
      if (op < 5) {
        const m = member(k, `v${step}`);
        live.set(k, m);
        plain.set(k, m);
      } else if (op < 9) {
        live.delete(k);
        plain.delete(k);
      } else setAll();
      same(live, plain, `seed ${seed}, step ${step}`);
    }
  }
});

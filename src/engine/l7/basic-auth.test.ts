import { test } from "node:test";
import assert from "node:assert/strict";
import { basicAuthStep } from "./basic-auth.ts";
import type { PhaseRequest } from "./phases.ts";

// htpasswd -nbB -C 10 alice secret: bcrypt at cost 10, ~0.1-0.3 s per check.
const ALICE = "$2y$10$xJPw0tdPdgJNgdMaK.weD.QpAi4NwEQmmrcRK9xBrjOZDpgfGi75y";
const step = () =>
  basicAuthStep(
    { realm: "r", source: "Secret/ns/auth", users: [{ user: "alice", hash: ALICE }] },
    "Ingress/ns/a#0",
  );
// The step reads only the Authorization header.
const req = (user: string, pass: string) =>
  ({
    header: (n: string) =>
      n === "authorization" ? `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` : undefined,
  }) as unknown as PhaseRequest;

test("a bcrypt check runs off the event loop: timers keep firing while it runs", async () => {
  const s = step();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 2);
  try {
    const answer = s(req("alice", "wrong"));
    // On the loop, the check would have finished before any timer could fire.
    assert.ok(answer instanceof Promise, "a bcrypt check is asynchronous");
    const refused = await answer;
    assert.equal(refused?.status, 401);
    assert.ok(ticks >= 3, `the loop ran ${ticks} timer ticks during the check`);
    assert.equal(await s(req("alice", "secret")), undefined);
    // Remembered: the same credentials pass at once, without another check.
    assert.equal(s(req("alice", "secret")), undefined);
  } finally {
    clearInterval(timer);
  }
});

test("concurrent requests with the same credentials share one check; wrong ones are never let in", async () => {
  const s = step();
  const answers = await Promise.all([1, 2, 3].map(() => s(req("alice", "secret"))));
  assert.deepEqual(answers, [undefined, undefined, undefined]);
  assert.equal((await s(req("alice", "Secret")))?.status, 401);
  assert.equal((await s(req("bob", "secret")))?.status, 401);
});

// restart.test.ts: restarts and failover never re-IP a Service. A restarted controller reads the
// addresses back from status; a second `portico controller` process waits on the Lease and takes
// over within the lease duration when the leader is killed (SIGKILL: no release, no goodbye).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import {
  accepts,
  apply,
  getJson,
  ipOf,
  kubeSkip,
  lbService,
  spawnController,
  startController,
  waitFor,
} from "./helper.ts";
import { withinTarget } from "../support/machine.ts";

const skip = kubeSkip();
const NS = "restart";

describe("restarts and leader failover", { skip }, () => {
  let env: KubeEnv;
  const children: ChildProcess[] = [];

  before(async () => {
    env = await startKube();
    await apply(
      env,
      `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: {name: restart-pool}
spec:
  addresses: ["127.32.0.1-127.32.0.5"]
`,
    );
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await env?.stop();
  });

  test("restarting the controller changes no address", async () => {
    const first = await startController(env);
    await apply(env, lbService(NS, "a", 19001) + lbService(NS, "b", 19002) + lbService(NS, "c", 19003));
    await waitFor("c addressed", () => ipOf(env, NS, "c"));
    const before = { a: await ipOf(env, NS, "a"), b: await ipOf(env, NS, "b"), c: await ipOf(env, NS, "c") };
    assert.deepEqual(new Set(Object.values(before)), new Set(["127.32.0.1", "127.32.0.2", "127.32.0.3"]));
    // Free the lowest address: a controller allocating from scratch would now move b and c down.
    const lowest = Object.entries(before).find(([, ip]) => ip === "127.32.0.1")![0];
    await env.kubectl(["delete", "svc", "-n", NS, lowest, "--wait=true", "--timeout=10s"]);
    await first.stop();
    // While no controller runs, a new Service appears; it must not take anyone's address.
    await apply(env, lbService(NS, "d", 19004));
    const second = await startController(env, { identity: "second" });
    try {
      const d = await waitFor("d addressed", () => ipOf(env, NS, "d"));
      for (const [name, ip] of Object.entries(before))
        if (name !== lowest) assert.equal(await ipOf(env, NS, name), ip, name);
      assert.equal(d, "127.32.0.1");
      // The second controller found nothing to rewrite for the Services that kept their address.
      const events = await getJson<{
        items: { reason: string; reportingInstance: string; regarding: { name: string } }[];
      }>(env, "events.events.k8s.io", "-n", NS);
      const bySecond = events!.items
        .filter((e) => e.reportingInstance === "second")
        .map((e) => `${e.regarding.name}:${e.reason}`);
      assert.deepEqual(bySecond, ["d:IPAllocated"]);
    } finally {
      await second.stop();
    }
  });

  test("a standby controller takes over within the lease duration when the leader is killed", async () => {
    const lease = async () =>
      (await getJson(env, "lease", "-n", "portico-system", "portico-controller"))?.spec?.holderIdentity as
        string | undefined;
    const one = spawnController(env, "one");
    children.push(one);
    await waitFor("one leads", async () => (await lease()) === "one", 15_000);
    const two = spawnController(env, "two");
    children.push(two);
    await apply(env, lbService(NS, "e", 19005));
    const e = await waitFor("e addressed", () => ipOf(env, NS, "e"), 10_000);
    assert.equal(await lease(), "one", "the standby must not take a held lease");
    const addresses = { d: await ipOf(env, NS, "d"), e };
    const stopped = new Promise((r) => two.once("exit", r));
    try {
      one.kill("SIGKILL");
      const killed = Date.now();
      // Polled through kubectl, a process per look: at load average ~23 on 2 cores each took
      // seconds, so the deadline is generous and the time is the Lease's own acquireTime (written
      // by the new holder as it took over), not when a look happened to see it.
      await waitFor("two leads", async () => (await lease()) === "two", 60_000, 100);
      const acquired = (await getJson(env, "lease", "-n", "portico-system", "portico-controller"))?.spec
        ?.acquireTime as string;
      const took = Date.parse(acquired) - killed;
      assert.ok(took > 1_000, `takeover after ${took} ms: the lease was not respected`);
      // 3 s lease + one retry period + process and API latency.
      withinTarget("takeover after", took, 5_000);
      await apply(env, lbService(NS, "f", 19006));
      const f = await waitFor("f addressed by the new leader", () => ipOf(env, NS, "f"), 30_000);
      assert.ok(!Object.values(addresses).includes(f));
      assert.equal(await ipOf(env, NS, "d"), addresses.d);
      assert.equal(await ipOf(env, NS, "e"), addresses.e);
    } finally {
      // Also when an assertion failed: a leader left running holds the Lease the next test needs.
      two.kill("SIGTERM");
      await stopped;
    }
    // A clean shutdown releases the lease for the next replica.
    assert.equal(await lease(), "");
  });

  test("a leader whose Lease is taken stops serving, then leads again once the Lease expires", async () => {
    const timing = { leaseDurationMs: 2_000, renewDeadlineMs: 1_000, retryPeriodMs: 200 };
    const ctl = await startController(env, { identity: "solo", lease: timing });
    try {
      await waitFor(
        "solo leads and serves d",
        async () => ctl.controller.leading() && (await accepts("127.32.0.1", 19004)),
      );
      // The leader renews every 200 ms; retry the takeover until it lands between two renewals.
      await waitFor("lease taken by the intruder", async () => {
        const lease = await getJson(env, "lease", "-n", "portico-system", "portico-controller");
        lease!.spec.holderIdentity = "intruder";
        lease!.spec.renewTime = new Date().toISOString().replace("Z", "000Z");
        lease!.spec.leaseDurationSeconds = 2;
        await env.kubectl(["replace", "-f", "-"], { input: JSON.stringify(lease) });
        return true;
      });
      await waitFor("solo steps down", () => !ctl.controller.leading(), 5_000);
      await waitFor("VIP no longer answered", async () => !(await accepts("127.32.0.1", 19004)), 3_000);
      // The intruder never renews: after its 2 s, solo takes the Lease back and serves again.
      await waitFor(
        "solo leads again",
        async () => ctl.controller.leading() && (await accepts("127.32.0.1", 19004)),
        8_000,
      );
      assert.equal(await ipOf(env, NS, "d"), "127.32.0.1");
    } finally {
      await ctl.stop();
    }
  });
});

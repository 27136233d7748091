// identity.test.ts: cgroup limits read as the engine's size; flags beat the environment.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { cpuFromCgroup, engineIdentity, memoryFromCgroup } from "./identity.ts";

test("identity: cgroup v2 cpu.max and memory.max", () => {
  assert.equal(cpuFromCgroup("200000 100000\n"), 2);
  assert.equal(cpuFromCgroup("50000 100000"), 0.5);
  assert.equal(cpuFromCgroup("max 100000\n"), undefined);
  assert.equal(cpuFromCgroup(undefined), undefined);
  assert.equal(memoryFromCgroup("536870912\n"), 536870912);
  assert.equal(memoryFromCgroup("max\n"), undefined);
  assert.equal(memoryFromCgroup(""), undefined);
});

test("identity: --name/--node, then $POD_NAME/$NODE_NAME, then the hostname", () => {
  const base = { group: "web", version: "1", limits: { maxConnections: 10, maxConnectionRate: 0 } };
  const env = { POD_NAME: "web-abc", NODE_NAME: "node-7" };
  const a = engineIdentity({ ...base, name: "e1", node: "n1", zone: "z1" }, env);
  assert.deepEqual([a.name, a.node, a.zone, a.group], ["e1", "n1", "z1", "web"]);
  const b = engineIdentity(base, env);
  assert.deepEqual([b.name, b.node, b.zone], ["web-abc", "node-7", undefined]);
  const c = engineIdentity(base, {});
  assert.deepEqual([c.name, c.node], [hostname(), hostname()]);
  assert.ok(c.vcpu > 0 && c.memoryBytes > 0);
  assert.equal(c.pid, process.pid);
});

test("identity: cgroup v1 'no quota' reads as unlimited", () => {
  assert.equal(cpuFromCgroup("-1 100000"), undefined);
  assert.equal(cpuFromCgroup("150000 100000"), 1.5);
});

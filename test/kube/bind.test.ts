// bind.test.ts: the kube controller writes the truth about its sockets. A VIP port held by another
// process makes the Service `portico.dev/Programmed=False` (AddressInUse, naming address and
// error) in the cluster; when the holder lets go, the retry binds and the condition turns True.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import {
  apply,
  getJson,
  kubeSkip,
  lbService,
  startController,
  waitFor,
  type RunningController,
} from "./helper.ts";

const skip = kubeSkip();
const NS = "bind";
const VIP = "127.34.0.1";
const PORT = 18199;

describe("bind state in the cluster's status", { skip }, () => {
  let env: KubeEnv;
  let ctl: RunningController;
  let holder: Server | undefined;

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
metadata: {name: bind-pool}
spec:
  addresses: ["${VIP}/32"]
`,
    );
    ctl = await startController(env);
  });

  after(async () => {
    holder?.close();
    await ctl?.stop();
    await env?.stop();
  });

  const programmed = async () => {
    const svc = await getJson(env, "service", "-n", NS, "held");
    return (svc?.status?.conditions ?? []).find(
      (c: { type: string }) => c.type === "portico.dev/Programmed",
    ) as { status: string; reason: string; message: string } | undefined;
  };

  test("a held VIP port: Programmed=False with the address and error; True once it frees", async () => {
    holder = createServer();
    await new Promise<void>((r) => holder!.listen({ host: VIP, port: PORT, exclusive: true }, r));
    await waitFor("first sync", () => ctl.controller.last());
    await apply(env, lbService(NS, "held", PORT));
    const failed = await waitFor("Programmed=False", async () => {
      const c = await programmed();
      return c?.status === "False" ? c : undefined;
    });
    assert.equal(failed.reason, "AddressInUse");
    assert.match(failed.message, new RegExp(`cannot bind TCP/127\\.34\\.0\\.1:${PORT}: EADDRINUSE`));
    await new Promise((r) => holder!.close(r));
    holder = undefined;
    // The engine retries every second; the controller notices within its 2 s check.
    const ok = await waitFor("Programmed=True", async () => {
      const c = await programmed();
      return c?.status === "True" ? c : undefined;
    });
    assert.equal(ok.message, `bound TCP/${VIP}:${PORT}`);
  });
});

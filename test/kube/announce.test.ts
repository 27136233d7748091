// announce.test.ts: the controller side of VIP announcement in a cluster, against a real
// kube-apiserver. A test engine (fleet/testing.ts TestEngine, our link's peer: it announces nothing
// itself, it reports) joins the leader's engine port with the Secret's credentials, gets the
// Service's VIP in its announce slice, and its reports become the Service's portico.dev/Announced
// condition and Events (Normal Announced, Warning AnnounceFailed).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { freePort, startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { TestEngine, identity } from "../../src/controller/fleet/testing.ts";
import { parseSecretData } from "../../src/link/credentials.ts";
import { apply, getJson, kubeSkip, lbService, spawnController, waitFor } from "./helper.ts";

const skip = kubeSkip();
const NS = "portico-system";

describe("VIP announcement in a cluster", { skip }, () => {
  let env: KubeEnv;
  let controller: ChildProcess | undefined;
  let engine: TestEngine | undefined;

  before(async () => {
    env = await startKube();
    await apply(
      env,
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n---\n` +
        `apiVersion: portico.dev/v1alpha1\nkind: VipPool\nmetadata: {name: l2}\n` +
        `spec: {addresses: ["192.0.2.10/32"], announce: {mode: L2}}\n`,
    );
  });

  after(async () => {
    engine?.close();
    if (controller?.exitCode === null) controller.kill("SIGKILL");
    await env?.stop();
  });

  test("an engine's reports become the Service's Announced condition and Events", async () => {
    const link = await freePort();
    controller = spawnController(env, "ctl-a", [`--engine-listen=127.0.0.1:${link}`, "--no-local-engine"], {
      POD_NAMESPACE: NS,
    });
    const secret = await waitFor<{ data: Record<string, string> }>(
      "the Secret portico-engine-link",
      () => getJson<{ data: Record<string, string> }>(env, "secret", "-n", NS, "portico-engine-link"),
      20_000,
    );
    const creds = parseSecretData(secret.data, "test");
    engine = await waitFor(
      "the engine joined",
      async () => {
        try {
          return await TestEngine.join(link, creds.caPem, creds.token, { ...identity("e1"), node: "n1" });
        } catch {
          return undefined;
        }
      },
      20_000,
    );
    await apply(env, lbService("default", "web", 80));
    const slice = await waitFor(
      "the VIP in the engine's announce slice",
      () => engine!.of("snapshot").find((s) => s.snapshot.announce?.vips.length)?.snapshot.announce,
      20_000,
    );
    assert.deepEqual(slice.vips, [{ address: "192.0.2.10", pool: "l2", mode: "L2" }]);
    assert.equal(slice.leaseMs, 3000);

    const announced = async () =>
      ((await getJson(env, "service", "-n", "default", "web"))?.status?.conditions ?? []).find(
        (c: { type: string }) => c.type === "portico.dev/Announced",
      );
    const waiting = await waitFor(
      "NotAnnounced",
      async () => (await announced())?.reason === "NotAnnounced" && announced(),
      20_000,
    );
    assert.match((await waiting).message, /waiting for engine e1 to report it/);

    engine.announce({ since: "2026-12-06T20:00:00.000Z" });
    const up = await waitFor(
      "Announced=True",
      async () => {
        const c = await announced();
        return c?.status === "True" && c;
      },
      20_000,
    );
    assert.equal(
      up.message,
      "192.0.2.10 announced by engine e1 on node n1 via L2 since 2026-12-06T20:00:00.000Z",
    );

    engine.announce({
      failed: { "192.0.2.10": { reason: "InterfaceNotFound", message: "no interface eth9" } },
    });
    const down = await waitFor(
      "AnnounceFailed",
      async () => {
        const c = await announced();
        return c?.reason === "AnnounceFailed" && c;
      },
      20_000,
    );
    assert.match(down.message, /engine e1 on node n1 failed \(InterfaceNotFound\): no interface eth9/);

    const events = async () =>
      ((await getJson(env, "events.events.k8s.io", "-n", "default"))?.items ?? [])
        .filter((e: { regarding: { name: string } }) => e.regarding.name === "web")
        .map((e: { type: string; reason: string; note: string }) => `${e.type} ${e.reason}: ${e.note}`);
    const got = await waitFor(
      "both Events",
      async () => {
        const list: string[] = await events();
        return list.some((e) => e.startsWith("Warning AnnounceFailed")) && list;
      },
      20_000,
    );
    assert.ok(
      got.includes(
        "Normal Announced: 192.0.2.10 announced by engine e1 on node n1 via L2 since 2026-12-06T20:00:00.000Z",
      ),
      got.join("\n"),
    );
    assert.ok(
      got.includes(
        "Warning AnnounceFailed: 192.0.2.10 (L2): engine e1 on node n1 failed (InterfaceNotFound): no interface eth9",
      ),
      got.join("\n"),
    );
  });
});

// engine-link.test.ts: the engine link of `portico controller` against a real kube-apiserver. The
// leader creates the Secret portico-engine-link and alone opens the engine port; a `portico engine`
// started as a kubelet would start the Deployment's pod (the container's args, with --controller
// naming both replicas' ports on 127.0.0.1 and the Secret's ca.crt and token in files) connects,
// acks, and the EngineGroup's status lists it. A standby does not listen. After a failover the
// engine follows the new leader and acks its snapshot in a higher epoch; an old leader that kept
// serving without the Lease (a hub on its port with its old epoch) gets a stale NACK.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { Hub } from "../../src/controller/fleet/hub.ts";
import type { FleetView } from "../../src/controller/fleet/view.ts";
import { parseSecretData } from "../../src/link/credentials.ts";
import { apply, getJson, kubeSkip, spawnController, testLog, waitFor } from "./helper.ts";

const skip = kubeSkip();
const NS = "portico-system";

/** refused tells whether nothing listens on 127.0.0.1:port. */
function refused(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      done(false);
    });
    s.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED"));
  });
}

describe("engine link in a cluster", { skip }, () => {
  let env: KubeEnv;
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "engine-link-"));

  before(async () => {
    env = await startKube();
    await apply(
      env,
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n---\n` +
        `apiVersion: portico.dev/v1alpha1\nkind: EngineGroup\nmetadata: {name: web}\nspec: {replicas: 1}\n`,
    );
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    await env?.stop();
  });

  test("leader-only engine port, Secret, status, failover to a higher epoch, stale NACK", async () => {
    const [linkA, linkB, adminA, adminB] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const controller = (id: string, link: number, admin: number) => {
      const c = spawnController(
        env,
        id,
        [
          `--admin=127.0.0.1:${admin}`,
          `--engine-listen=127.0.0.1:${link}`,
          "--no-local-engine",
          "--engine-image=portico:test",
          `--engine-namespace=${NS}`,
        ],
        { POD_NAMESPACE: NS },
      );
      children.push(c);
      return c;
    };
    const fleet = async (admin: number) =>
      (await (await fetch(`http://127.0.0.1:${admin}/api/v1/engines`)).json()) as FleetView;
    const get = (...args: string[]) => getJson(env, ...args);
    const readyz = async (admin: number) => (await fetch(`http://127.0.0.1:${admin}/readyz`)).text();

    const a = controller("ctl-a", linkA, adminA);
    await waitFor(
      "a leads with its engine port open",
      async () => /engine-port: listening/.test(await readyz(adminA)),
      20_000,
    );
    const secret = await waitFor("the Secret portico-engine-link", () =>
      get("secret", "-n", NS, "portico-engine-link"),
    );
    assert.deepEqual(Object.keys(secret.data).sort(), ["ca.crt", "tls.crt", "tls.key", "token"]);
    const creds = parseSecretData(secret.data, "test");
    assert.equal(await refused(linkA), false, "the leader listens");

    controller("ctl-b", linkB, adminB);
    await waitFor(
      "b is a standby",
      async () => /leader: standby; ctl-a holds the Lease/.test(await readyz(adminB)),
      20_000,
    );
    assert.equal(await refused(linkB), true, "a standby does not listen on the engine port");

    // The engine as the kubelet would run the Deployment's pod, its addresses and files local.
    const d = await waitFor(
      "the Deployment of web",
      () => get("deployment", "-n", NS, "portico-engine-web"),
      15_000,
    );
    const args: string[] = [...d.spec.template.spec.containers[0].args];
    assert.equal(args[0], "engine");
    writeFileSync(join(dir, "ca.crt"), creds.caPem);
    writeFileSync(join(dir, "token"), creds.token, { mode: 0o600 });
    const set = (flag: string, value: string) => (args[args.indexOf(flag) + 1] = value);
    assert.match(args[args.indexOf("--controller") + 1]!, /^portico-controller\.portico-system\.svc:\d+$/);
    set("--controller", `127.0.0.1:${linkA},127.0.0.1:${linkB}`);
    set("--ca-file", join(dir, "ca.crt"));
    set("--token-file", join(dir, "token"));
    set("--admin", "127.0.0.1:0");
    const engine = spawn(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        resolve(import.meta.dirname, "../../src/cli/main.ts"),
        ...args,
      ],
      {
        env: { ...process.env, POD_NAME: "portico-engine-web-1", NODE_NAME: "node-1" },
        stdio: ["ignore", "ignore", process.env.PORTICO_TEST_LOG === "1" ? "inherit" : "ignore"],
      },
    );
    children.push(engine);

    const first = await waitFor(
      "the engine acked a's snapshot",
      async () =>
        (await fleet(adminA)).engines.find((e) => e.identity.name === "portico-engine-web-1" && e.acked),
      20_000,
    );
    assert.equal(first.identity.group, "web");
    const epochA = first.acked!.epoch;
    const status = await waitFor(
      "the EngineGroup's status lists the engine",
      async () => {
        const g = await getJson(env, "enginegroup", "web");
        return g?.status?.engines?.length === 1 && g.status.readyReplicas === 1 && g.status;
      },
      25_000,
    );
    assert.equal(status.replicas, 1);
    assert.equal(status.engines[0].name, "portico-engine-web-1");
    assert.equal(status.engines[0].node, "node-1");
    assert.equal(status.engines[0].ready, true);
    assert.equal(typeof status.engines[0].ackedVersion, "number");
    assert.equal(typeof status.sizing.advice, "string");
    // The translation's fields of the same status are still there.
    assert.ok(status.conditions.some((c: { type: string }) => c.type === "Accepted"));

    // Failover: a releases the Lease as it stops; b opens its port, the engine follows it.
    a.kill("SIGTERM");
    await new Promise((r) => a.once("exit", r));
    // Acked in b's epoch: right after it reconnects the engine's Hello reports what it still
    // serves (a's epoch), which is not yet an answer to b.
    const moved = await waitFor(
      "the engine acked b's snapshot",
      async () => {
        const f = await fleet(adminB);
        const e = f.engines.find((e) => e.identity.name === "portico-engine-web-1");
        return e?.acked?.epoch === f.epoch ? e : undefined;
      },
      20_000,
    );
    assert.ok(moved.acked!.epoch > epochA, `b's epoch ${moved.acked!.epoch} is above a's ${epochA}`);

    // An old leader that kept running without the Lease: its port, its epoch, the same Secret.
    const logs: string[] = [];
    const stale = new Hub({
      ...creds,
      epoch: epochA,
      controller: "ctl-a",
      log: (level, msg, fields) => {
        logs.push(msg);
        testLog()(level, msg, fields);
      },
    });
    await stale.listen("127.0.0.1", linkA);
    try {
      const b = children[1]!;
      b.kill("SIGKILL");
      await new Promise((r) => b.once("exit", r));
      await waitFor("the engine dialled the old leader", () => stale.session("portico-engine-web-1"), 20_000);
      const answer = await stale.send(
        "portico-engine-web-1",
        1,
        { version: 99, l4: [], http: [], pools: {}, certificates: {} },
        10_000,
      );
      assert.equal(answer.type, "nack");
      assert.equal(answer.type === "nack" && answer.nack.stale, true);
      assert.ok(logs.includes("engine has seen a newer epoch than this controller's"));
    } finally {
      await stale.close();
    }

    // A damaged Secret keeps the next leader's port closed, says what to delete, and deleting it
    // is the fix: the leader makes a new one and opens the port (within RETRY_MS, 10 s).
    const short = Buffer.from("short").toString("base64");
    await env.kubectl([
      "patch",
      "secret",
      "-n",
      NS,
      "portico-engine-link",
      "-p",
      `{"data":{"token":"${short}"}}`,
    ]);
    const [linkC, adminC] = [await freePort(), await freePort()];
    controller("ctl-c", linkC, adminC);
    await waitFor(
      "c leads with its engine port closed",
      async () => /\[-\] engine-port: not listening/.test(await readyz(adminC)),
      20_000,
    );
    assert.equal(await refused(linkC), true);
    const warning = await waitFor("the EngineLinkFailed Event", async () =>
      (await get("events.events.k8s.io", "-n", NS))?.items.find(
        (e: { reason: string }) => e.reason === "EngineLinkFailed",
      ),
    );
    assert.equal(warning.regarding.name, "portico-engine-link");
    assert.match(
      warning.note,
      /token holds 5 characters.*delete the Secret portico-system\/portico-engine-link/,
    );
    await env.kubectl(["delete", "secret", "-n", NS, "portico-engine-link"]);
    await waitFor(
      "c listens with a new Secret",
      async () => /engine-port: listening/.test(await readyz(adminC)),
      20_000,
    );
    const made = parseSecretData((await get("secret", "-n", NS, "portico-engine-link"))!.data, "test");
    assert.notEqual(made.token, creds.token);
  });
});

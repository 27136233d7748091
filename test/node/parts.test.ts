// parts.test.ts: the node agent's pure rules — image map and argv, environment expansion and the
// Downward API, the Pod phase — without a cluster (test/kube/node-agent.test.ts runs the whole).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, containerEnv, expand, quantity } from "./container-env.ts";
import { argvFor, lookupImage, parseImageMap } from "./images.ts";
import { phaseOf, type RunnerFacts } from "./status.ts";
import type { Pod } from "./types.ts";

test("image map: exact and tagless keys, relative paths, command/args replace entrypoint/cmd", () => {
  const map = parseImageMap(
    {
      "r/echo:v1": "./bin/echo",
      "r/srv": { entrypoint: ["/b/srv", "serve"], cmd: ["--port=1"], paths: { "/srv": "/b/srv" } },
    },
    "/base",
  );
  assert.deepEqual(lookupImage(map, "r/echo:v1")?.entrypoint, ["/base/bin/echo"]);
  assert.equal(lookupImage(map, "r/echo:v2"), undefined);
  const srv = lookupImage(map, "r/srv@sha256:abc")!;
  assert.deepEqual(argvFor(srv), ["/b/srv", "serve", "--port=1"]);
  assert.deepEqual(argvFor(srv, undefined, ["--port=2"]), ["/b/srv", "serve", "--port=2"]);
  assert.deepEqual(argvFor(srv, ["/srv", "x"]), ["/b/srv", "x"]);
  assert.throws(
    () => parseImageMap({ a: { cmd: "no" } }, "/", "m.json"),
    /m\.json: image "a": cmd must be a list/,
  );
});

test("environment: $(VAR) expansion, Downward API fields, ConfigMap keys, missing Secret", async () => {
  const pod: Pod = {
    metadata: { name: "p", namespace: "ns", uid: "u", labels: { app: "a" } },
    spec: { containers: [] },
  };
  const facts = { podIP: "10.1.0.2", hostIP: "10.1.0.1", nodeName: "n" };
  const env = await containerEnv(
    pod,
    {
      name: "c",
      image: "i",
      env: [
        { name: "A", value: "x" },
        { name: "B", value: "$(A)-$$(A)-$(NOPE)" },
        { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        { name: "G", valueFrom: { configMapKeyRef: { name: "cm", key: "g" } } },
      ],
    },
    facts,
    async (kind, name) => (kind === "configmap" && name === "cm" ? { data: { g: "hi" } } : undefined),
  );
  assert.deepEqual(
    [env.A, env.B, env.IP, env.APP, env.NODE, env.G],
    ["x", "x-$(A)-$(NOPE)", "10.1.0.2", "a", "n", "hi"],
  );
  assert.equal(expand("$(A)", { A: "1" }), "1");
  await assert.rejects(
    containerEnv(
      pod,
      { name: "c", image: "i", env: [{ name: "S", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] },
      facts,
      async () => undefined,
    ),
    (e: unknown) => e instanceof ConfigError && /secret "s" key "k" not found/.test(e.message),
  );
  assert.equal(quantity("500m"), 0.5);
  assert.equal(quantity("64Mi"), 64 * 2 ** 20);
});

test("phase: Pending before start, Running while running or backing off, Succeeded/Failed when all ended", () => {
  const facts = (states: Record<string, unknown>[]): RunnerFacts => ({
    hostIP: "h",
    startTime: "t",
    initialized: true,
    initFailed: false,
    initStatuses: [],
    statuses: states.map((state) => ({ state })),
  });
  assert.equal(phaseOf(facts([{ waiting: { reason: "ContainerCreating" } }])), "Pending");
  assert.equal(phaseOf(facts([{ running: {} }, { waiting: { reason: "ImageNotMapped" } }])), "Running");
  assert.equal(phaseOf(facts([{ waiting: { reason: "CrashLoopBackOff" } }])), "Running");
  assert.equal(phaseOf(facts([{ terminated: { exitCode: 0 } }])), "Succeeded");
  assert.equal(phaseOf(facts([{ terminated: { exitCode: 0 } }, { terminated: { exitCode: 1 } }])), "Failed");
  assert.equal(phaseOf({ ...facts([]), initFailed: true }), "Failed");
});

// fleet-helpers.ts: for the engine-group end-to-end tests — `portico engine` processes started
// in a network namespace (a "machine"), a controller's engine list, and a backend the namespace
// can reach.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { waitFor, watchChild } from "./harness.ts";
// One free-port picker for every e2e test (it never hands the same port out twice).
export { freePort } from "./l4-helpers.ts";
import type { Netns } from "./netns.ts";
import type { FleetView } from "../../src/controller/fleet/view.ts";

const main = resolve(import.meta.dirname, "../../src/cli/main.ts");

/** RemoteEngine is one `portico engine` process. */
export interface EngineProc {
  name: string;
  proc: ChildProcess;
  logs: string[];
  /** admin is the engine's admin URL (inside its namespace; reachable from the host by its veth). */
  admin: string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** startEngine runs `portico engine` in ns against the controller at ctl (HOST:PORT) with the state dir's credentials. */
export function startEngine(
  ns: Netns,
  o: {
    name: string;
    group: string;
    controller: string;
    stateDir: string;
    adminPort: number;
    extra?: string[];
  },
): EngineProc {
  const proc = ns.spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      main,
      "engine",
      "--controller",
      o.controller,
      "--ca-file",
      join(o.stateDir, "engine-ca.pem"),
      "--token-file",
      join(o.stateDir, "engine-token"),
      "--name",
      o.name,
      "--group",
      o.group,
      "--admin",
      `${ns.nsIp}:${o.adminPort}`,
      ...(o.extra ?? []),
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, PORTICO_LOG_LEVEL: "info" } },
  );
  const { logs, exited } = watchChild(proc);
  return {
    name: o.name,
    proc,
    logs,
    admin: `http://${ns.nsIp}:${o.adminPort}`,
    exited,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** groupManifests is an EngineGroup named group and a VipPool of the single address vip that it serves. */
export function groupManifests(
  group: string,
  vip: string,
  spec: { replicas: number; haMode: string },
): string {
  return `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: ${group} }
spec: { addresses: ["${vip}/32"], engineGroup: ${group} }
---
apiVersion: portico.dev/v1alpha1
kind: EngineGroup
metadata: { name: ${group} }
spec: { replicas: ${spec.replicas}, haMode: ${spec.haMode} }
---
`;
}

/** fleet reads a controller's engine list. */
export async function fleet(adminUrl: string): Promise<FleetView> {
  return (await (await fetch(`${adminUrl}/api/v1/engines`)).json()) as FleetView;
}

/**
 * allAcked waits until the named engines are connected, have acked the latest push sent to them,
 * and are ready. source is the controller's admin URL, or a function that reads its engine list
 * (a controller in another network namespace).
 */
export async function allAcked(
  source: string | (() => Promise<FleetView>),
  names: readonly string[],
  deadlineMs = 30_000,
): Promise<FleetView> {
  const read = typeof source === "string" ? () => fleet(source) : source;
  return waitFor(
    `engines ${names.join(", ")} to ack`,
    async () => {
      const f = await read();
      const ok = names.every((n) => {
        const e = f.engines.find((x) => x.identity.name === n);
        // Ready: it acked the latest push sent to it (pushes on a join go to that engine alone) and bound its listeners.
        return e?.connected && e.ready && e.pending === undefined && e.acked?.epoch === f.epoch;
      });
      return ok ? f : undefined;
    },
    deadlineMs,
  );
}

/** hostBackend is an HTTP server on address (the host side of a veth) that answers its name. */
export async function hostBackend(address: string, name: string): Promise<{ port: number; close(): void }> {
  const server = createServer((req, res) => {
    req.resume();
    const slow = /[?&]ms=(\d+)/.exec(req.url ?? "");
    const answer = () => res.end(`${name}\n`);
    req.on("end", () => (slow ? setTimeout(answer, Number(slow[1])) : answer()));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, address, r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

// testing.ts: fixtures for the fleet tests — a small snapshot with an L4 Service, an HTTPS Ingress
// VIP and a listener of another group, and the test-side engine client (our own protocol's peer,
// written from frames.ts, not `portico engine`: that is built elsewhere). Test-only.
import { connect, type TLSSocket } from "node:tls";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateCredentials, type LinkCredentials } from "../../link/credentials.ts";
import { assemble, nextState } from "../../sources/file/assemble.ts";
import { parseManifests } from "../../sources/file/parse.ts";
import type { ResourceSet } from "../../k8s/resource-set.ts";
import { Controller } from "../standalone.ts";
import { Hub } from "./hub.ts";
import { FleetPort } from "./fleet-port.ts";
import { once } from "node:events";
import type { EngineSnapshot, Pool } from "../../model/ir.ts";
import { idleLoad } from "../../engine/load.ts";
import type { EngineView } from "./view.ts";
/** fixtureZone is re-exported from the engine's DNS fixtures, where engine tests reach it too. */
export { fixtureZone } from "../../engine/dns/testing.ts";
import { readFrames, writeFrame } from "../../link/frames.ts";
import {
  LINK_VERSION,
  MAX_FRAME,
  TLS_SERVER_NAME,
  type EngineIdentity,
  type FromController,
  type FromEngine,
} from "../../link/protocol.ts";
import { selfSigned } from "../../engine/tls/default-cert.ts";
import { listenerKey } from "../../engine/listeners.ts";
import type { AnnounceStatus, BgpPeerStatus, VipAnnounceStatus } from "../../announce/types.ts";

const pool = (name: string): Pool => ({
  name,
  algorithm: { type: "RoundRobin" },
  endpoints: [{ address: "127.0.0.1", port: 9, weight: 1, ready: true, serving: true, terminating: false }],
});

/** fixtureSnapshot: Service/default/dns on 10.0.0.1:53/UDP, Ingress/default/web on 10.0.0.2:443
 * (certificate default/web-tls, pool default/web:80, mirrored to default/mirror:80) and a group "edge"
 * listener on 10.0.0.3:80 (pool default/edge:80). pool default/unused:80 and certificate default/unused
 * are referenced by nothing. */
export function fixtureSnapshot(version = 1): EngineSnapshot {
  const cert = selfSigned(new Date("2026-12-06T00:00:00Z"));
  return {
    version,
    l4: [
      {
        name: "Service/default/dns:53/UDP",
        address: "10.0.0.1",
        port: 53,
        protocol: "UDP",
        pool: "default/dns:53",
        idleTimeoutMs: 30_000,
        connectTimeoutMs: 5_000,
      },
    ],
    http: [
      {
        name: "Ingress/default/web:443",
        address: "10.0.0.2",
        port: 443,
        tls: { sni: [{ hostname: "web.example", certificate: "default/web-tls" }] },
        requestTimeoutMs: 60_000,
        idleTimeoutMs: 60_000,
        virtualHosts: [
          {
            hostname: "web.example",
            routes: [
              {
                name: "Ingress/default/web#0.0",
                match: { path: { type: "Prefix", value: "/" } },
                filters: [{ type: "RequestMirror", pool: "default/mirror:80", percent: 100 }],
                action: { type: "Forward", backends: [{ pool: "default/web:80", weight: 1 }] },
              },
            ],
          },
        ],
      },
      {
        group: "edge",
        name: "Service/default/edge:80",
        address: "10.0.0.3",
        port: 80,
        requestTimeoutMs: 60_000,
        idleTimeoutMs: 60_000,
        virtualHosts: [
          {
            hostname: "*",
            routes: [
              {
                name: "Service/default/edge#0",
                match: { path: { type: "Prefix", value: "/" } },
                action: { type: "Forward", backends: [{ pool: "default/edge:80", weight: 1 }] },
              },
            ],
          },
        ],
      },
    ],
    pools: Object.fromEntries(
      ["default/dns:53", "default/web:80", "default/mirror:80", "default/edge:80", "default/unused:80"].map(
        (n) => [n, pool(n)],
      ),
    ),
    certificates: { "default/web-tls": cert, "default/unused": cert },
  };
}

/** poolYaml is a VipPool manifest over range ("127.0.20.1-127.0.20.9"). */
export function poolYaml(range: string): string {
  return `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: fleet }
spec: { addresses: [${range}] }
`;
}

/** serviceYaml is a LoadBalancer Service manifest (TCP port, no endpoints), to append to others. */
export function serviceYaml(name: string, port: number): string {
  return `
---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  type: LoadBalancer
  ports: [{ port: ${port}, targetPort: 9, protocol: TCP }]
`;
}

/** identity is a plausible engine identity. */
export function identity(name: string, group = "default"): EngineIdentity {
  return {
    name,
    group,
    node: `node-${name}`,
    version: "0.1.0",
    pid: 1,
    vcpu: 1,
    memoryBytes: 1 << 30,
    limits: { maxConnections: 0, maxConnectionRate: 0 },
  };
}

/** engineView is a connected engine of the view with an idle load at the given event-loop utilisation. */
export function engineView(
  name: string,
  ready: boolean,
  eventLoopUtilization: number,
  group = "default",
): EngineView {
  return {
    identity: identity(name, group),
    local: false,
    connected: true,
    lastHeardMsAgo: 0,
    ready,
    listeners: [],
    history: [],
    load: { ...idleLoad(0, 2000), eventLoopUtilization },
  };
}

/** TestEngine is the test's engine side of the link: it records what the controller sends. */
export class TestEngine {
  readonly socket: TLSSocket;
  readonly received: FromController[] = [];
  closed = false;
  /** pong answers pings (an engine's heartbeat); false plays an engine gone silent. */
  pong = true;

  /**
   * auto, when set, answers each snapshot as it arrives: undefined acks it, an error nacks it.
   * Pings are always answered, as an engine's heartbeat.
   */
  auto: ((s: EngineSnapshot) => { error: string; code: string; listener?: string } | undefined) | undefined;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    readFrames(socket, MAX_FRAME, (m) => {
      const msg = m as FromController;
      this.received.push(msg);
      if (msg.type === "ping" && this.pong) this.send({ type: "pong", at: Date.now() });
      if (msg.type === "snapshot" && this.auto) this.answer(this.auto(msg.snapshot));
    });
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => undefined);
  }

  /** connect dials the hub on 127.0.0.1:port trusting caPem (checking TLS_SERVER_NAME). */
  static async connect(port: number, caPem: string): Promise<TestEngine> {
    const socket = connect({ host: "127.0.0.1", port, ca: caPem, servername: TLS_SERVER_NAME });
    await once(socket, "secureConnect");
    return new TestEngine(socket);
  }

  /** join connects, says hello as id and waits for the welcome; auto-acks unless told otherwise. */
  static async join(
    port: number,
    caPem: string,
    token: string,
    id: EngineIdentity,
    opts: { have?: { epoch: number; seq: number; version: number }; manual?: boolean } = {},
  ): Promise<TestEngine> {
    const e = await TestEngine.connect(port, caPem);
    if (!opts.manual) e.auto = () => undefined;
    e.hello(token, id, opts.have);
    for (let i = 0; i < 400 && e.of("welcome").length === 0 && !e.closed; i++)
      await new Promise((r) => setTimeout(r, 25));
    if (e.of("welcome").length === 0)
      throw new Error(`engine ${id.name} was not welcomed: ${JSON.stringify(e.received)}`);
    return e;
  }

  /** send writes one message. */
  send(m: FromEngine | Record<string, unknown>): void {
    writeFrame(this.socket, m);
  }

  /** hello authenticates as id with token. */
  hello(token: string, id: EngineIdentity, have?: { epoch: number; seq: number; version: number }): void {
    this.send({ type: "hello", linkVersion: LINK_VERSION, token, engine: id, ...(have ? { have } : {}) });
  }

  /** of lists the received messages of one type. */
  of<T extends FromController["type"]>(type: T): Extract<FromController, { type: T }>[] {
    return this.received.filter((m) => m.type === type) as Extract<FromController, { type: T }>[];
  }

  /** answer acks (or, with error, nacks) the latest snapshot and reports its listeners bound. */
  answer(error?: { error: string; code: string; listener?: string; stale?: boolean }): void {
    const s = this.of("snapshot").at(-1);
    if (s === undefined) throw new Error("no snapshot to answer");
    const ref = { epoch: s.epoch, seq: s.seq, version: s.snapshot.version };
    if (error) this.send({ type: "nack", ...ref, ...error });
    else {
      this.send({ type: "ack", ...ref });
      this.send({
        type: "status",
        listeners: [
          ...s.snapshot.l4.map((l) => ({
            protocol: l.protocol,
            address: l.address,
            port: l.port,
            name: l.name,
          })),
          ...s.snapshot.http.map((l) => ({
            protocol: "TCP" as const,
            address: l.address,
            port: l.port,
            name: l.name,
          })),
        ].map((l) => ({ ...l, key: listenerKey(l.protocol, l.address, l.port), state: "bound" as const })),
      });
    }
  }

  /**
   * announce reports the latest snapshot's announce slice as state (Announced by default, since
   * `since`), with failed naming VIPs that failed and why, and peers as the BGP sessions.
   */
  announce(
    opts: {
      state?: VipAnnounceStatus["state"];
      since?: string;
      failed?: Record<string, { reason: string; message: string }>;
      /** withdrawn reports every VIP Withdrawn for this reason (EngineFrozen, Draining). */
      withdrawn?: { reason: string; message: string };
      peers?: BgpPeerStatus[];
    } = {},
  ): AnnounceStatus {
    const a = this.of("snapshot").at(-1)?.snapshot.announce;
    const since = opts.since ?? "2026-12-06T20:00:00.000Z";
    const status: AnnounceStatus = {
      vips: (a?.vips ?? []).map((v) => {
        const f = opts.failed?.[v.address];
        return f
          ? { address: v.address, mode: v.mode, state: "Failed", since, reason: f.reason, message: f.message }
          : opts.withdrawn
            ? { address: v.address, mode: v.mode, state: "Withdrawn", since, ...opts.withdrawn }
            : { address: v.address, mode: v.mode, state: opts.state ?? "Announced", since };
      }),
      peers: opts.peers ?? [],
    };
    this.send({ type: "announce", status });
    return status;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** L2_POOL is VipPool l2: 192.0.2.10-192.0.2.19 announced by L2 on eth1. */
export const L2_POOL = `
apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: l2 }
spec:
  addresses: [192.0.2.10-192.0.2.19]
  announce: { mode: L2, l2: { interfaces: [eth1] } }
`;

/** resourceSet assembles manifests text as the file source would (file m.yaml). */
export function resourceSet(text: string): ResourceSet {
  return assemble(new Map([["m.yaml", nextState(undefined, "test", parseManifests("m.yaml", text))]]), []);
}

/** Rig is a hub, a FleetPort over it, the real Controller on top, and engines to join. */
export interface Rig {
  hub: Hub;
  port: number;
  creds: LinkCredentials;
  fleet: FleetPort;
  controller: Controller;
  logs: string[];
  join: (
    name: string,
    opts?: Parameters<typeof TestEngine.join>[4],
    id?: EngineIdentity,
  ) => Promise<TestEngine>;
  close: () => Promise<void>;
}

/** rig starts a Rig on 127.0.0.1 (a fresh state dir unless dir is given); close() ends it all. */
export async function rig(
  opts: { answerTimeoutMs?: number; epoch?: number; dir?: string } = {},
): Promise<Rig> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "fleet-"));
  const creds = loadOrCreateCredentials(dir);
  const logs: string[] = [];
  const log = (level: string, msg: string, fields?: Record<string, unknown>) =>
    logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const hub = new Hub({
    certPem: creds.certPem,
    keyPem: creds.keyPem,
    token: creds.token,
    epoch: opts.epoch ?? 1,
    controller: "t",
    log,
  });
  const { port } = await hub.listen("127.0.0.1", 0);
  const fleet = new FleetPort({ hub, log, answerTimeoutMs: opts.answerTimeoutMs ?? 10_000 });
  const controller = new Controller(
    fleet,
    undefined,
    { serveClasslessServices: true, ingressHttpPort: 80, ingressHttpsPort: 443 },
    log,
  );
  const engines: TestEngine[] = [];
  return {
    hub,
    port,
    creds,
    fleet,
    controller,
    logs,
    join: async (name, o, id) => {
      const e = await TestEngine.join(port, creds.caPem, creds.token, id ?? identity(name), o);
      engines.push(e);
      return e;
    },
    close: async () => {
      engines.forEach((e) => e.close());
      await fleet.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

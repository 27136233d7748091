// hub.ts: the controller's engine port — the TLS server `portico engine` processes dial. Until an
// engine is authenticated it may send one small frame (MAX_UNAUTHENTICATED_FRAME) within
// HELLO_TIMEOUT_MS: a Hello with the link version and the token (compared in constant time). Any
// failure gets a `refused` saying what to fix, then the link closes; nothing else is read. An
// authenticated engine is a session keyed by its name (a second connection with the same name
// replaces the first: an engine that restarted faster than its old link timed out). The hub pings
// every engine each PING_INTERVAL_MS and drops one silent for PEER_TIMEOUT_MS. It sends snapshots
// and tracks the answers; what to send to whom is fleet-port.ts's business.
import { createHash, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { ListenerStatus } from "../../engine/listeners.ts";
import type { EngineSnapshot } from "../../model/ir.ts";
import { encodeFrame, FrameReader, writeFrame } from "../../link/frames.ts";
import {
  HELLO_TIMEOUT_MS,
  LINK_VERSION,
  MAX_FRAME,
  MAX_UNAUTHENTICATED_FRAME,
  PEER_TIMEOUT_MS,
  PING_INTERVAL_MS,
  type EngineIdentity,
  type EngineLoad,
  type FromController,
  type FromEngine,
} from "../../link/protocol.ts";
import type { Logger } from "../log.ts";
import { LoadHistory } from "./load-history.ts";
import { checkIdentity } from "./identity.ts";
import type { AnnounceStatus } from "../../announce/types.ts";
import type { AnalyticsBatch } from "../../analytics/types.ts";
import { stamped } from "../../analytics/measures.ts";
import { validateBatch } from "../../analytics/validate-batch.ts";

/** SnapshotRef names one push to one engine. */
export interface SnapshotRef {
  epoch: number;
  seq: number;
  version: number;
}

/** Nack is an engine's refusal of a push, as it sent it. */
export type Nack = Extract<FromEngine, { type: "nack" }>;

/** Answer is how a push ended: acked, refused, not answered in time, or the engine went away. */
export type Answer = { type: "ack" } | { type: "nack"; nack: Nack } | { type: "timeout" } | { type: "gone" };

/** HubEvent is a change fleet-port.ts and the view react to. */
export type HubEvent =
  | { type: "joined"; engine: string }
  | { type: "left"; engine: string; reason: string; session: EngineSession }
  | { type: "acked"; engine: string; ref: SnapshotRef }
  | { type: "nacked"; engine: string; nack: Nack }
  | { type: "status"; engine: string }
  | { type: "announce"; engine: string };

/** EngineSession is one connected engine as the hub tracks it. */
export interface EngineSession {
  readonly identity: EngineIdentity;
  /** connectedSince is when the link was authenticated (ms since the epoch). */
  readonly connectedSince: number;
  /** lastHeard is when the engine last sent anything (performance.now() ms). */
  lastHeard: number;
  /** have is what the engine said it serves in its Hello. */
  readonly have?: SnapshotRef;
  acked?: SnapshotRef;
  pending?: SnapshotRef;
  lastNack?: Nack;
  listeners: ListenerStatus[];
  load?: EngineLoad;
  readonly history: LoadHistory;
  /** announce is the engine's latest announcement report. */
  announce?: AnnounceStatus;
  /** badBatchLogged is set once an unreadable analytics batch of this link was logged (once per link). */
  badBatchLogged?: boolean;
}

/** MAX_UNAUTHENTICATED_LINKS bounds the links not yet past their Hello (each may hold a frame's worth). */
export const MAX_UNAUTHENTICATED_LINKS = 256;

/** HubTiming overrides the protocol's timing constants (tests shorten them). */
export interface HubTiming {
  helloTimeoutMs: number;
  pingIntervalMs: number;
  peerTimeoutMs: number;
}

/** HubOptions configure a Hub: the server certificate, the token, this controller's epoch. */
export interface HubOptions {
  certPem: string;
  keyPem: string;
  token: string;
  epoch: number;
  /** controller names this controller in the welcome (the hostname standalone, the pod in Kubernetes). */
  controller: string;
  log: Logger;
  timing?: Partial<HubTiming>;
  /** maxUnauthenticated overrides MAX_UNAUTHENTICATED_LINKS (tests lower it). */
  maxUnauthenticated?: number;
}

interface Live {
  session: EngineSession;
  socket: TLSSocket;
  /** waiters are the pushes awaiting an answer, by (epoch, seq): an answer of another epoch is not theirs. */
  waiters: { epoch: number; seq: number; done: (a: Answer) => void }[];
}

/** Hub accepts engines and carries snapshots and answers. */
export class Hub {
  #server: Server | undefined;
  #opts: HubOptions;
  #timing: HubTiming;
  #tokenHash: Buffer;
  #live = new Map<string, Live>();
  #listeners: ((e: HubEvent) => void)[] = [];
  #analytics: ((batch: AnalyticsBatch) => void)[] = [];
  #ticker: NodeJS.Timeout | undefined;
  #reserved = new Map<string, string>();
  #encoded = new WeakMap<EngineSnapshot, { epoch: number; seq: number; bytes: Buffer }>();
  /** #sockets are every open link, authenticated or not, so close() ends them all at once. */
  #sockets = new Set<TLSSocket>();
  /** #unauthenticated counts the links still waiting for their Hello; #turnedAway those closed at the bound. */
  #unauthenticated = 0;
  #turnedAway = 0;

  constructor(opts: HubOptions) {
    this.#opts = opts;
    this.#timing = {
      helloTimeoutMs: HELLO_TIMEOUT_MS,
      pingIntervalMs: PING_INTERVAL_MS,
      peerTimeoutMs: PEER_TIMEOUT_MS,
      ...opts.timing,
    };
    this.#tokenHash = hashToken(opts.token);
  }

  /** epoch is this controller's epoch, sent with every snapshot. */
  get epoch(): number {
    return this.#opts.epoch;
  }

  /**
   * configure replaces the credentials and the epoch while the hub is closed: a cluster's leader
   * listens only while it leads, each term with the term's epoch and the Secret's credentials.
   */
  configure(next: Pick<HubOptions, "certPem" | "keyPem" | "token" | "epoch">): void {
    if (this.#server !== undefined) throw new Error("Hub.configure: close the hub first");
    this.#opts = { ...this.#opts, ...next };
    this.#tokenHash = hashToken(next.token);
  }

  /** listen binds the engine port (again after close); resolves with the bound address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    // An empty token would let any engine in: refuse to listen rather than accept everyone.
    if (this.#opts.token.length < 16)
      throw new Error("Hub.listen: the link token is missing or shorter than 16 characters");
    if (this.#server !== undefined) throw new Error("Hub.listen: already listening");
    const server = createServer(
      {
        cert: this.#opts.certPem,
        key: this.#opts.keyPem,
        minVersion: "TLSv1.3",
        // A peer that never finishes the handshake is held no longer than one that sends no hello.
        handshakeTimeout: this.#timing.helloTimeoutMs,
      },
      (s) => this.#accept(s),
    );
    // With a listener here Node leaves the socket open (a handshake timeout included): close it.
    server.on("tlsClientError", (err, socket) => {
      this.#opts.log("warn", "engine link: TLS handshake failed (does the engine trust the link's CA?)", {
        remote: socket.remoteAddress,
        error: err.message,
      });
      socket.destroy();
    });
    this.#server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      if (this.#server === server) this.#server = undefined;
      throw err;
    }
    if (this.#server !== server) {
      // close() ran while binding: what it closed was not listening yet, so close it now.
      server.close();
      throw new Error("Hub.listen: the hub was closed while binding");
    }
    this.#ticker = setInterval(() => this.#tick(), this.#timing.pingIntervalMs).unref();
    return server.address() as AddressInfo;
  }

  /** listening tells whether the engine port is bound. */
  listening(): boolean {
    return this.#server !== undefined;
  }

  /** reserve refuses engines called name; what says who has it. */
  reserve(name: string, what: string): void {
    this.#reserved.set(name, what);
  }

  /** onEvent registers fn for every HubEvent. */
  onEvent(fn: (e: HubEvent) => void): void {
    this.#listeners.push(fn);
  }

  /** onAnalytics registers fn for every analytics batch an engine sends, stamped with its name and group. */
  onAnalytics(fn: (batch: AnalyticsBatch) => void): void {
    this.#analytics.push(fn);
  }

  /** sessions are the connected engines, by name. */
  sessions(): EngineSession[] {
    return [...this.#live.values()]
      .map((l) => l.session)
      .sort((a, b) => (a.identity.name < b.identity.name ? -1 : 1));
  }

  /** session is the connected engine called name, if any. */
  session(name: string): EngineSession | undefined {
    return this.#live.get(name)?.session;
  }

  /**
   * send pushes snapshot to engine name as (this epoch, seq) and resolves with its answer, or
   * "timeout" after timeoutMs (the push then stays pending: a late answer still counts).
   */
  send(name: string, seq: number, snapshot: EngineSnapshot, timeoutMs: number): Promise<Answer> {
    const live = this.#live.get(name);
    if (live === undefined) return Promise.resolve({ type: "gone" });
    const ref = { epoch: this.epoch, seq, version: snapshot.version };
    live.session.pending = ref;
    // One push sends the same slice to many engines: encode it once (a 10,000-route slice is ~2 MB).
    let frame = this.#encoded.get(snapshot);
    if (frame === undefined || frame.seq !== seq || frame.epoch !== ref.epoch) {
      const bytes = encodeFrame({
        type: "snapshot",
        epoch: ref.epoch,
        seq,
        snapshot,
      } satisfies FromController);
      this.#encoded.set(snapshot, (frame = { epoch: ref.epoch, seq, bytes }));
    }
    if (!live.socket.destroyed) live.socket.write(frame.bytes);
    return new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => finish({ type: "timeout" }), timeoutMs).unref();
      const waiter = { epoch: ref.epoch, seq, done: (a: Answer) => finish(a) };
      const finish = (a: Answer) => {
        clearTimeout(timer);
        live.waiters = live.waiters.filter((w) => w !== waiter);
        resolve(a);
      };
      live.waiters.push(waiter);
    });
  }

  /** close stops accepting, closes every link and stops the pings; listen may open it again. */
  async close(): Promise<void> {
    clearInterval(this.#ticker);
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #emit(e: HubEvent): void {
    for (const fn of this.#listeners) fn(e);
  }

  #tick(): void {
    const now = performance.now();
    for (const live of this.#live.values()) {
      const silent = now - live.session.lastHeard;
      if (silent > this.#timing.peerTimeoutMs) {
        this.#opts.log("warn", "engine link: engine silent, dropped", {
          engine: live.session.identity.name,
          silentMs: Math.round(silent),
        });
        this.#drop(live, `silent for ${Math.round(silent)} ms`);
        continue;
      }
      writeFrame(live.socket, { type: "ping", at: Date.now() } satisfies FromController);
    }
  }

  #accept(socket: TLSSocket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    // Anyone who can reach the port can open links: bound what those without a token may hold.
    const bound = this.#opts.maxUnauthenticated ?? MAX_UNAUTHENTICATED_LINKS;
    if (this.#unauthenticated >= bound) {
      if (this.#turnedAway++ % 1000 === 0)
        this.#opts.log("warn", "engine link: too many links without a hello; closing new ones", {
          remote,
          bound,
          turnedAway: this.#turnedAway,
        });
      socket.destroy();
      return;
    }
    this.#unauthenticated++;
    let counted = true;
    const authenticated = () => {
      if (counted) this.#unauthenticated--;
      counted = false;
    };
    this.#sockets.add(socket);
    const reader = new FrameReader(MAX_UNAUTHENTICATED_FRAME);
    let live: Live | undefined;
    let refused = false;
    const refuse = (reason: string, fields: Record<string, unknown> = {}) => {
      if (refused) return;
      refused = true;
      clearTimeout(helloTimer);
      // The reason says what to fix; the token is never logged, whatever the engine sent.
      this.#opts.log("warn", "engine link refused", { remote, reason, ...fields });
      writeFrame(socket, { type: "refused", reason } satisfies FromController);
      socket.end();
      setTimeout(() => socket.destroy(), 1_000).unref();
    };
    const helloTimer = setTimeout(
      () => refuse(`no hello within ${this.#timing.helloTimeoutMs} ms of connecting`),
      this.#timing.helloTimeoutMs,
    ).unref();
    socket.on("data", (chunk: Buffer) => {
      if (refused) return;
      let messages: unknown[];
      try {
        messages = reader.push(chunk);
      } catch (e) {
        if (live === undefined) return refuse(`${(e as Error).message} before the hello was accepted`);
        this.#opts.log("warn", "engine link: broken frame, dropped", {
          engine: live.session.identity.name,
          error: (e as Error).message,
        });
        return this.#drop(live, (e as Error).message);
      }
      for (const m of messages) {
        if (refused || socket.destroyed) return;
        if (live === undefined) {
          const outcome = this.#hello(m, socket);
          if (typeof outcome === "string") return refuse(outcome, helloFields(m));
          clearTimeout(helloTimer);
          authenticated();
          live = outcome;
          reader.setLimit(MAX_FRAME);
        } else {
          try {
            this.#message(live, m as FromEngine);
          } catch (e) {
            // One engine's message must never take the controller down: drop that link only.
            this.#opts.log("warn", "engine link: a message could not be handled, link dropped", {
              engine: live.session.identity.name,
              error: (e as Error).message,
            });
            return this.#drop(live, (e as Error).message);
          }
        }
      }
    });
    socket.on("error", () => undefined); // 'close' follows; the reason is logged there when it matters
    socket.on("close", () => {
      this.#sockets.delete(socket);
      authenticated();
      clearTimeout(helloTimer);
      if (live !== undefined && this.#live.get(live.session.identity.name) === live)
        this.#drop(live, "link closed");
    });
  }

  // #hello checks the first message; a string is the refusal's reason.
  #hello(m: unknown, socket: TLSSocket): Live | string {
    const h = m as Partial<Extract<FromEngine, { type: "hello" }>>;
    if (h?.type !== "hello")
      return `the first message must be a hello, not ${JSON.stringify(h?.type ?? null)}`;
    if (h.linkVersion !== LINK_VERSION)
      return `link version ${JSON.stringify(h.linkVersion)} is not this controller's ${LINK_VERSION}: run the same Portico version on the engine and the controller`;
    const given = hashToken(typeof h.token === "string" ? h.token : "");
    if (!timingSafeEqual(given, this.#tokenHash))
      return "wrong token: give the engine the controller's token (--token-file: the engine-token file in its state directory, or token of the Secret portico-engine-link in a cluster)";
    const bad = checkIdentity(h.engine);
    if (bad !== undefined) return bad;
    const identity = h.engine!;
    const taken = this.#reserved.get(identity.name);
    if (taken !== undefined)
      return `engine name ${identity.name} is taken by ${taken}; give this engine another name (--name)`;
    const previous = this.#live.get(identity.name);
    if (previous !== undefined && this.#anotherEngine(previous, identity)) {
      const p = previous.session.identity;
      return `engine name ${identity.name} is in use by a connected engine (group ${p.group}, node ${p.node}, pid ${p.pid}); give each engine its own --name (names are unique among a controller's engines; two engines on one machine both default to its hostname)`;
    }
    if (previous !== undefined) {
      this.#opts.log("info", "engine link: a new connection replaces the old one", { engine: identity.name });
      // Not a departure: the engine is back before its old link timed out; no re-placement.
      this.#live.delete(identity.name);
      this.#drop(previous, "replaced by a new connection");
    }
    const have = h.have && Number.isFinite(h.have.seq) ? { ...h.have } : undefined;
    const session: EngineSession = {
      identity,
      connectedSince: Date.now(),
      lastHeard: performance.now(),
      ...(have ? { have, acked: have } : {}),
      listeners: [],
      history: new LoadHistory(),
    };
    if (have !== undefined && have.epoch > this.epoch)
      // Engines refuse older epochs: this controller's snapshots will be NACKed as stale.
      this.#opts.log("warn", "engine has seen a newer epoch than this controller's", {
        engine: identity.name,
        engineEpoch: have.epoch,
        epoch: this.epoch,
        hint: "another controller leads it, or this state directory was reset; restart the engine to follow this controller",
      });
    const live: Live = { session, socket, waiters: [] };
    this.#live.set(identity.name, live);
    writeFrame(socket, {
      type: "welcome",
      controller: this.#opts.controller,
      epoch: this.epoch,
    } satisfies FromController);
    this.#opts.log("info", "engine joined", {
      engine: identity.name,
      group: identity.group,
      node: identity.node,
      version: identity.version,
      ...(have ? { have } : {}),
    });
    this.#emit({ type: "joined", engine: identity.name });
    return live;
  }

  /**
   * #anotherEngine tells whether a Hello with identity comes from another engine than the live
   * link of its name: a different group, node or process while that link is still heard from. The
   * same engine back (its old link not timed out yet) replaces it; another one is refused, or the
   * two would swap each other out at every reconnect.
   */
  #anotherEngine(previous: Live, identity: EngineIdentity): boolean {
    const p = previous.session.identity;
    if (p.group === identity.group && p.node === identity.node && p.pid === identity.pid) return false;
    return performance.now() - previous.session.lastHeard <= this.#timing.peerTimeoutMs;
  }

  #message(live: Live, m: FromEngine): void {
    const s = live.session;
    s.lastHeard = performance.now();
    const name = s.identity.name;
    switch (m?.type) {
      case "ack": {
        const ref = { epoch: m.epoch, seq: m.seq, version: m.version };
        if (
          s.acked === undefined ||
          ref.epoch > s.acked.epoch ||
          (ref.epoch === s.acked.epoch && ref.seq >= s.acked.seq)
        )
          s.acked = ref;
        if (s.pending?.epoch === ref.epoch && s.pending.seq === ref.seq) delete s.pending;
        this.#answer(live, m.epoch, m.seq, { type: "ack" });
        this.#emit({ type: "acked", engine: name, ref });
        return;
      }
      case "nack":
        s.lastNack = m;
        if (s.pending?.epoch === m.epoch && s.pending.seq === m.seq) delete s.pending;
        this.#opts.log("warn", "engine rejected a snapshot", {
          engine: name,
          version: m.version,
          seq: m.seq,
          code: m.code,
          error: m.error,
          ...(m.listener ? { listener: m.listener } : {}),
          ...(m.stale ? { stale: true } : {}),
        });
        this.#answer(live, m.epoch, m.seq, { type: "nack", nack: m });
        this.#emit({ type: "nacked", engine: name, nack: m });
        return;
      case "status":
        if (Array.isArray(m.listeners)) s.listeners = m.listeners;
        this.#emit({ type: "status", engine: name });
        return;
      case "load":
        if (m.load && Number.isFinite(m.load.at)) {
          s.load = m.load;
          s.history.add(m.load);
        }
        return;
      case "announce":
        // Only the shape the view reads is kept: a report it cannot read is ignored, not stored.
        if (Array.isArray(m.status?.vips) && Array.isArray(m.status?.peers)) {
          s.announce = m.status;
          this.#emit({ type: "announce", engine: name });
        }
        return;
      case "analytics": {
        // A batch that fails the check anywhere (a newer engine's shape, a bug) is dropped whole:
        // never half-stored, never a throw here. Logged once per engine, not at every interval.
        const check = validateBatch(m.batch);
        if (!check.ok) {
          if (!s.badBatchLogged)
            this.#opts.log("warn", "engine sent an analytics batch this controller cannot read; dropped", {
              engine: name,
              error: check.error,
            });
          s.badBatchLogged = true;
          return;
        }
        const batch = stamped(check.batch, name, s.identity.group);
        for (const fn of this.#analytics) fn(batch);
        return;
      }
      case "pong":
        return;
      default:
        // A newer engine may send more; an older controller ignores what it does not know.
        return;
    }
  }

  // #answer settles the pushes of (epoch, seq): an engine's answer to an older leader's snapshot
  // (applied while its link moved here) carries that leader's epoch and may share a seq with ours.
  #answer(live: Live, epoch: number, seq: number, a: Answer): void {
    for (const w of live.waiters.filter((w) => w.epoch === epoch && w.seq === seq)) w.done(a);
  }

  #drop(live: Live, reason: string): void {
    const name = live.session.identity.name;
    if (this.#live.get(name) === live) {
      this.#live.delete(name);
      this.#opts.log("info", "engine left", { engine: name, reason });
      this.#emit({ type: "left", engine: name, reason, session: live.session });
    }
    for (const w of [...live.waiters]) w.done({ type: "gone" });
    live.socket.destroy();
  }
}

// hashToken hashes a token so comparing it is constant-time whatever the lengths.
function hashToken(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

// helloFields is what a refused hello may log: who it claimed to be, never its token.
function helloFields(m: unknown): Record<string, unknown> {
  const e = (m as { engine?: { name?: unknown; group?: unknown } })?.engine;
  return typeof e?.name === "string"
    ? { engine: e.name.slice(0, 100), group: String(e.group).slice(0, 100) }
    : {};
}

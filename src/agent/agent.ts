// agent.ts: the engine's side of the link (`portico engine`). It dials the controller over TLS,
// pinning the controller's CA and checking the name TLS_SERVER_NAME, says Hello with its token and
// what it serves, then applies each snapshot the epoch/sequence guard lets through and answers ACK
// or NACK. The link is only the way configuration arrives: when it drops, the engine keeps serving
// its last good snapshot and dials again (100 ms doubling to 5 s, with jitter, so a restarted
// controller is not met by every engine at the same instant). Several controller addresses (the
// replicas of a cluster, of which only the leader listens) are tried in turn: a refused or failed
// dial moves on to the next at once, and the backoff grows only once every address failed.
import { connect, type TLSSocket } from "node:tls";
import type { EnginePort } from "../controller/standalone.ts";
import type { Logger } from "../controller/log.ts";
import { readFrames, writeFrame } from "../link/frames.ts";
import {
  LINK_VERSION,
  LOAD_INTERVAL_MS,
  MAX_FRAME,
  MAX_UNAUTHENTICATED_FRAME,
  PEER_TIMEOUT_MS,
  TLS_SERVER_NAME,
  type EngineIdentity,
  type EngineLoad,
  type FromController,
  type FromEngine,
} from "../link/protocol.ts";
import { SnapshotGuard, type Applied } from "./guard.ts";
import type { AnalyticsBatch } from "../analytics/types.ts";

/** AgentOptions wire an agent; the timings exist for tests and default to protocol.ts. */
export interface AgentOptions {
  host: string;
  port: number;
  /** alternates are further controller addresses, tried in turn after host:port. */
  alternates?: { host: string; port: number }[];
  /** ca is the controller CA's PEM: the only certificate authority this link trusts. */
  ca: string;
  /** token authenticates this engine; it goes in the Hello and nowhere else (never logged). */
  token: string;
  identity: EngineIdentity;
  engine: EnginePort;
  log: Logger;
  /** load, when given, is sampled every loadIntervalMs and sent as a load report. */
  load?: () => EngineLoad | undefined;
  /**
   * analytics, when given, is taken every loadIntervalMs while the link is up and sent when there
   * is a batch; while it is down nothing takes it, so the engine's collector keeps merging.
   */
  analytics?: () => AnalyticsBatch | undefined;
  /** onDrain runs when the controller asks this engine to drain (a rolling restart). */
  onDrain?: (deadlineMs: number) => void;
  loadIntervalMs?: number;
  peerTimeoutMs?: number;
  backoff?: { firstMs: number; maxMs: number };
}

/** LinkState is what /readyz and logs say about the link. */
export interface LinkState {
  connected: boolean;
  /** since is when the link came up or went down (ms since the epoch). */
  since: number;
  controller?: string;
  /** refused is the controller's last refusal reason while not connected. */
  refused?: string;
}

/** EngineAgent keeps one link to the controller up, reconnecting until stop(). */
export class EngineAgent {
  readonly #o: AgentOptions;
  readonly #guard = new SnapshotGuard();
  #socket: TLSSocket | undefined;
  #stopped = false;
  #attempt = 0;
  /** #at is the index of the address dialled last in [host:port, ...alternates]. */
  #at = 0;
  #retry: NodeJS.Timeout | undefined;
  #state: LinkState = { connected: false, since: Date.now() };
  /** #said remembers the last problem logged, so a controller away for an hour is one line, not 700. */
  #said = "";
  // Snapshots apply one at a time, in the order they came.
  #chain: Promise<void> = Promise.resolve();

  constructor(o: AgentOptions) {
    this.#o = o;
    o.engine.onListenerChange?.(() => this.#sendStatus());
    o.engine.onAnnounceChange?.(() => this.#sendAnnounce());
  }

  /** start dials the controller; the agent keeps dialling until stop(). */
  start(): void {
    this.#dial();
  }

  /** applied is what the engine serves (epoch, seq, version); undefined before the first snapshot. */
  applied(): Applied | undefined {
    return this.#guard.current();
  }

  /** link is the link's state now. */
  link(): LinkState {
    return { ...this.#state };
  }

  /** stop closes the link and dials no more; the engine keeps serving until its owner closes it. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#socket?.destroy();
  }

  #dial(): void {
    if (this.#stopped) return;
    const { ca, log } = this.#o;
    const addresses = [{ host: this.#o.host, port: this.#o.port }, ...(this.#o.alternates ?? [])];
    const { host, port } = addresses[this.#at % addresses.length]!;
    const socket = connect({ host, port, ca, servername: TLS_SERVER_NAME });
    this.#socket = socket;
    let heard = Date.now();
    let welcomed = false;
    const peerTimeoutMs = this.#o.peerTimeoutMs ?? PEER_TIMEOUT_MS;
    const timers: NodeJS.Timeout[] = [];
    const reader = readFrames(socket, MAX_UNAUTHENTICATED_FRAME, (m) => {
      heard = Date.now();
      const msg = m as FromController;
      if (msg.type === "welcome") {
        welcomed = true;
        reader.setLimit(MAX_FRAME);
        this.#attempt = 0;
        this.#said = "";
        this.#state = { connected: true, since: Date.now(), controller: msg.controller };
        log("info", "connected to the controller", {
          controller: msg.controller,
          epoch: msg.epoch,
          address: `${host}:${port}`,
          have: this.#guard.current(),
        });
        this.#sendStatus();
        // The controller of a new link knows nothing of this engine's announcements yet.
        this.#sendAnnounce();
        const every = this.#o.loadIntervalMs ?? LOAD_INTERVAL_MS;
        if (this.#o.load || this.#o.analytics)
          timers.push(
            setInterval(() => {
              const load = this.#o.load?.();
              if (load) this.#send({ type: "load", load });
              const batch = this.#o.analytics?.();
              if (batch) this.#send({ type: "analytics", batch });
            }, every),
          );
      } else if (msg.type === "refused") {
        this.#state = { ...this.#state, refused: msg.reason };
        this.#once("error", "the controller refused this engine; retrying", { reason: msg.reason });
        socket.destroy();
      } else if (!welcomed) {
        socket.destroy(new Error(`the controller sent ${String(msg.type)} before welcome`));
      } else if (msg.type === "snapshot") {
        this.#chain = this.#chain.then(() => this.#snapshot(msg));
      } else if (msg.type === "ping") {
        this.#send({ type: "pong", at: msg.at });
      } else if (msg.type === "drain") {
        log("info", "the controller asked this engine to drain", { deadlineMs: msg.deadlineMs });
        this.#o.onDrain?.(msg.deadlineMs);
      }
    });
    socket.once("secureConnect", () => {
      const hello: FromEngine = {
        type: "hello",
        linkVersion: LINK_VERSION,
        token: this.#o.token,
        engine: this.#o.identity,
        ...(this.#guard.current() ? { have: this.#guard.current()! } : {}),
      };
      writeFrame(socket, hello);
    });
    // A controller silent past the timeout (no ping, no welcome) is gone: close and dial again.
    timers.push(
      setInterval(
        () => {
          if (Date.now() - heard > peerTimeoutMs)
            socket.destroy(new Error(`the controller was silent for ${peerTimeoutMs / 1000} s`));
        },
        Math.min(1000, peerTimeoutMs / 2),
      ),
    );
    socket.on("error", (err: NodeJS.ErrnoException) =>
      // TLS failures (a wrong CA, a wrong name) are the user's to fix: say which, once.
      this.#once("warn", "controller link failed; serving the last good snapshot and retrying", {
        address: `${host}:${port}`,
        code: err.code,
        error: err.message,
      }),
    );
    socket.once("close", () => {
      for (const t of timers) clearInterval(t);
      if (this.#socket === socket) this.#socket = undefined;
      if (welcomed) {
        this.#state = { connected: false, since: Date.now() };
        log("warn", "controller link closed; serving the last good snapshot", {
          have: this.#guard.current(),
        });
      }
      if (this.#stopped) return;
      // 100 ms doubling to 5 s, each wait jittered ±50% so engines spread their dials. Another
      // address not tried since the last failure round is dialled after the first wait only.
      const { firstMs, maxMs } = this.#o.backoff ?? { firstMs: 100, maxMs: 5000 };
      if (!welcomed) this.#at = (this.#at + 1) % addresses.length;
      const round = !welcomed && this.#at === 0;
      const base =
        round || addresses.length === 1
          ? Math.min(maxMs, firstMs * 2 ** Math.min(this.#attempt++, 16))
          : firstMs;
      this.#retry = setTimeout(() => this.#dial(), base * (0.5 + Math.random()));
    });
  }

  async #snapshot(m: Extract<FromController, { type: "snapshot" }>): Promise<void> {
    // A drain began while this snapshot waited its turn: its listeners must not open again.
    if (this.#stopped) return;
    const { epoch, seq, snapshot } = m;
    const version = snapshot?.version ?? -1;
    const verdict = this.#guard.accept(epoch, seq);
    if (verdict === "reack") {
      this.#send({ type: "ack", epoch, seq, version: this.#guard.current()!.version });
    } else if (verdict !== "apply") {
      this.#o.log("warn", "stale snapshot refused", { epoch, seq, version, reason: verdict.stale });
      this.#send({ type: "nack", epoch, seq, version, error: verdict.stale, code: "Stale", stale: true });
    } else {
      let r: Awaited<ReturnType<EnginePort["apply"]>>;
      try {
        r = await this.#o.engine.apply(snapshot);
      } catch (e) {
        r = { ok: false, error: e instanceof Error ? e.message : String(e), code: "ApplyFailed" };
      }
      if (r.ok) {
        this.#guard.applied({ epoch, seq, version });
        this.#o.log("info", "snapshot applied", { epoch, seq, version });
        this.#send({ type: "ack", epoch, seq, version });
      } else {
        this.#o.log("error", "snapshot refused; the last good one keeps serving", {
          epoch,
          seq,
          version,
          code: r.code,
          error: r.error,
        });
        this.#send({
          type: "nack",
          epoch,
          seq,
          version,
          error: r.error,
          code: r.code ?? "ApplyFailed",
          ...(r.listener !== undefined ? { listener: r.listener } : {}),
        });
      }
    }
    this.#sendStatus();
  }

  #sendStatus(): void {
    const listeners = this.#o.engine.status()?.listeners;
    if (listeners !== undefined) this.#send({ type: "status", listeners });
  }

  #sendAnnounce(): void {
    const status = this.#o.engine.announce?.();
    if (status !== undefined) this.#send({ type: "announce", status });
  }

  #send(m: FromEngine): void {
    if (this.#state.connected && this.#socket !== undefined) writeFrame(this.#socket, m);
  }

  #once(level: "warn" | "error", msg: string, fields: Record<string, unknown>): void {
    const key = msg + JSON.stringify(fields);
    if (key === this.#said) return;
    this.#said = key;
    this.#o.log(level, msg, fields);
  }
}

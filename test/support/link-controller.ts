// link-controller.ts: a small controller side of the engine link for tests — a real TLS server
// (certificate from caAndLeaf, signed by the CA the engine pins) speaking frames.ts. It checks the
// token, welcomes or refuses, records every message, and lets the test push snapshots and pings.
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { readFrames, writeFrame } from "../../src/link/frames.ts";
import { MAX_FRAME, type FromController, type FromEngine } from "../../src/link/protocol.ts";
import type { Certificate } from "../../src/model/ir.ts";
import type { EngineSnapshot } from "../../src/model/ir.ts";

/** Received is one engine message and which connection (1, 2, ...) it came on. */
export interface Received {
  conn: number;
  msg: FromEngine;
}

/** LinkController is a listening test controller. */
export class LinkController {
  readonly server: Server;
  readonly received: Received[] = [];
  /** connections counts TLS connections that completed the handshake; dials counts TCP connections. */
  connections = 0;
  dials = 0;
  port = 0;
  #current: TLSSocket | undefined;
  #sockets = new Set<TLSSocket>();
  readonly #opts: { token: string; epoch: number; refuse?: string };

  constructor(leaf: Certificate, opts: { token: string; epoch: number; refuse?: string }) {
    this.#opts = opts;
    this.server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (socket) => {
      const conn = ++this.connections;
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.on("error", () => {});
      readFrames(socket, MAX_FRAME, (m) => {
        const msg = m as FromEngine;
        this.received.push({ conn, msg });
        if (msg.type !== "hello") return;
        if (this.#opts.refuse !== undefined || msg.token !== this.#opts.token) {
          writeFrame(socket, {
            type: "refused",
            reason: this.#opts.refuse ?? "wrong token",
          } satisfies FromController);
          socket.end();
          return;
        }
        this.#current = socket;
        writeFrame(socket, {
          type: "welcome",
          controller: "test-controller",
          epoch: this.#opts.epoch,
        } satisfies FromController);
      });
    });
    this.server.on("connection", () => this.dials++);
  }

  /** listen binds 127.0.0.1 (port 0: a free one) and resolves with the port. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** send writes a message to the engine that was welcomed last. */
  send(msg: FromController): void {
    if (this.#current === undefined) throw new Error("no engine connected");
    writeFrame(this.#current, msg);
  }

  /** snapshot pushes one snapshot with epoch and seq. */
  snapshot(epoch: number, seq: number, snapshot: EngineSnapshot): void {
    this.send({ type: "snapshot", epoch, seq, snapshot });
  }

  /** of lists the messages of one type received (optionally after index from). */
  of<T extends FromEngine["type"]>(type: T, from = 0): Extract<FromEngine, { type: T }>[] {
    return this.received
      .slice(from)
      .map((r) => r.msg)
      .filter((m): m is Extract<FromEngine, { type: T }> => m.type === type);
  }

  /** close stops listening and drops every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}

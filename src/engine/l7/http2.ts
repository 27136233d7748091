// http2.ts: placeholder, replaced below.
import type { Socket } from "node:net";
import type { EngineSnapshot } from "../../model/ir.ts";
import type { ListenerRuntime } from "./runtime.ts";
/** H2Front serves HTTP/2 connections of one listener. */
export class H2Front {
  constructor(_rt: ListenerRuntime, _s: EngineSnapshot) {}
  accept(socket: Socket): void {
    socket.destroy();
  }
}

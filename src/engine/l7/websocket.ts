// websocket.ts: after a backend's 101, the client and backend sockets are joined byte for byte.
// pipe() gives backpressure both ways; a FIN from one side is passed on as a FIN to the other
// (half-close), and the tunnel ends when both directions ended or either side broke.
import type { Socket } from "node:net";

/** tunnel joins client and backend; rest are backend bytes after the 101 head, early client bytes sent before it. */
export function tunnel(
  client: Socket,
  backend: Socket,
  rest: Buffer,
  early: Buffer | undefined,
  idleMs: number,
): void {
  if (rest.length > 0) client.write(rest);
  if (early !== undefined && early.length > 0) backend.write(early);
  const destroyBoth = () => {
    client.destroy();
    backend.destroy();
  };
  client.on("error", destroyBoth);
  backend.on("error", destroyBoth);
  client.on("close", () => backend.destroy());
  backend.on("close", () => client.destroy());
  if (idleMs > 0) {
    client.setTimeout(idleMs);
    client.on("timeout", destroyBoth);
  }
  client.pipe(backend);
  backend.pipe(client);
  backend.resume();
}

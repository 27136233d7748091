// tcp-queue.ts: what the kernel holds for a loopback TCP connection, read from /proc/net/tcp (IPv4,
// Linux), so tests can wait until bytes are with the kernel before a socket reads them.
import { readFileSync } from "node:fs";

/** rxQueued is how many bytes wait unread on 127.0.0.1:local's connection with 127.0.0.1:peer; -1 if there is none. */
export function rxQueued(local: number, peer: number): number {
  const line = tcpLine(local, peer);
  // Columns: sl local rem st tx_queue:rx_queue ...
  return line === undefined ? -1 : parseInt(line.trim().split(/\s+/)[4]!.split(":")[1]!, 16);
}

/** peerClosed says whether 127.0.0.1:local's connection with 127.0.0.1:peer got the peer's FIN (CLOSE_WAIT). */
export function peerClosed(local: number, peer: number): boolean {
  // Column st: 08 is TCP_CLOSE_WAIT.
  return tcpLine(local, peer)?.trim().split(/\s+/)[3] === "08";
}

/** kernelHas says whether 127.0.0.1:local has a TCP connection with 127.0.0.1:peer. */
export function kernelHas(local: number, peer: number): boolean {
  return tcpLine(local, peer) !== undefined;
}

function tcpLine(local: number, peer: number): string | undefined {
  const hex = (p: number) => `0100007F:${p.toString(16).toUpperCase().padStart(4, "0")}`;
  const want = `${hex(local)} ${hex(peer)}`;
  return readFileSync("/proc/net/tcp", "latin1")
    .split("\n")
    .find((l) => l.includes(want));
}

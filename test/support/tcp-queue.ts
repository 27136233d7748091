// tcp-queue.ts: what the kernel holds for a loopback TCP connection, read from /proc/net/tcp (IPv4,
// Linux), so tests can wait until bytes are with the kernel before a socket reads them.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** rxQueued is how many bytes wait unread on 127.0.0.1:local's connection with 127.0.0.1:peer; -1 if there is none. */
export function rxQueued(local: number, peer: number): number {
  const line = tcpLine(local, peer);
  return line === undefined ? -1 : rxColumn(line);
}

/** rxColumn reads rx_queue from a /proc/net/tcp line (columns: sl local rem st tx_queue:rx_queue ...). */
function rxColumn(line: string): number {
  return parseInt(line.trim().split(/\s+/)[4]!.split(":")[1]!, 16);
}

/** hex renders 127.0.0.1:port as /proc/net/tcp does. */
const hex = (p: number) => `0100007F:${p.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * rxQueuedEach answers rxQueued for each (local, peer) pair from one read of /proc/net/tcp, off the
 * event loop. Why: the file lists every TCP socket of the machine — 23,566 while a full suite ran
 * here (its neighbours hold 10,000 connections), one read then 0.5 s — and a test whose engine runs
 * in its own process starves that engine when it polls with synchronous reads: a 6 MB upload through
 * an in-process engine that filled the backend's queues in 0.5–1.3 s took 2.0–2.5 s while three
 * such reads blocked the loop every 2 ms, and timed out under heavier load.
 */
export async function rxQueuedEach(pairs: readonly (readonly [number, number])[]): Promise<number[]> {
  const lines = (await readFile("/proc/net/tcp", "latin1")).split("\n");
  return pairs.map(([local, peer]) => {
    const line = lines.find((l) => l.includes(`${hex(local)} ${hex(peer)}`));
    return line === undefined ? -1 : rxColumn(line);
  });
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
  const want = `${hex(local)} ${hex(peer)}`;
  return readFileSync("/proc/net/tcp", "latin1")
    .split("\n")
    .find((l) => l.includes(want));
}

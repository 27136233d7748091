// idle-conns.ts HOST PORT COUNT: opens COUNT keep-alive connections to an HTTP proxy, sends one
// request on each (so the proxy has parsed, routed and answered on it), then holds them idle
// and prints one JSON line {"open":N,"failed":M}. It closes everything on SIGTERM, and by itself
// after 5 minutes so a crashed harness cannot leave it holding connections.
// Run under a raised open-file limit (the harness wraps it with `ulimit -n`).
import { connect, type Socket } from "node:net";

const [host = "127.0.0.1", portText = "8000", countText = "10000"] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const sockets: Socket[] = [];
let failed = 0;

/** openOne connects, sends a request and resolves once the whole 13-byte answer arrived. */
function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let got = "";
    const timer = setTimeout(() => done(false), 20000);
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.removeAllListeners("data");
      if (ok) sockets.push(s);
      else {
        failed++;
        s.destroy();
      }
      resolve();
    };
    s.on("connect", () => s.write(`GET / HTTP/1.1\r\nHost: bench.local\r\n\r\n`));
    s.on("data", (b: Buffer) => {
      got += b.toString("latin1");
      if (got.endsWith("hello, world\n")) done(true);
    });
    s.on("error", () => done(false));
  });
}

// Batches keep the connect backlog small so the count measures held connections, not SYN drops.
for (let i = 0; i < count; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, count - i) }, openOne));
}
// A proxy that closes an idle connection early shows up here, not as a lower RSS.
for (const s of sockets) s.on("close", () => failed++);
console.log(JSON.stringify({ open: sockets.length, failed }));

const close = (): void => {
  for (const s of sockets) s.destroy();
  process.exit(0);
};
process.on("SIGTERM", close);
setTimeout(close, 300_000);

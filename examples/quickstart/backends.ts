// backends.ts: the quickstart's demo backends on 127.0.0.1 — three tiny HTTP apps (web, api, blog)
// that say who answered, and a TCP + UDP echo. Run by start.ts; `node backends.ts` alone works too.
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { createSocket } from "node:dgram";

const apps: [string, number][] = [
  ["web", 18081],
  ["api", 18082],
  ["blog", 18083],
];

/** startBackends starts every demo backend and resolves once all listen. */
export async function startBackends(host = "127.0.0.1"): Promise<() => void> {
  const closers: (() => void)[] = [];
  const listening: Promise<void>[] = [];
  for (const [name, port] of apps) {
    const server = createServer((req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(
        `${name}: ${req.method} ${req.url} (host ${req.headers.host}, via ${req.headers["x-forwarded-for"] ?? "direct"})\n`,
      );
    });
    listening.push(new Promise((resolve) => server.listen(port, host, resolve)));
    closers.push(() => server.close());
  }
  const tcp = createTcpServer((socket) => socket.pipe(socket));
  listening.push(new Promise((resolve) => tcp.listen(18084, host, resolve)));
  closers.push(() => tcp.close());
  const udp = createSocket("udp4");
  udp.on("message", (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  listening.push(new Promise((resolve) => udp.bind(18084, host, resolve)));
  closers.push(() => udp.close());
  await Promise.all(listening);
  return () => closers.forEach((close) => close());
}

if (import.meta.main) {
  await startBackends();
  console.log("demo backends on 127.0.0.1:18081-18084 (Ctrl-C to stop)");
}

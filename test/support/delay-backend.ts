// delay-backend.ts: an HTTP backend that answers after a known delay — base ± jitter drawn from a
// seeded generator, so a run's latency distribution is known and repeatable — for the analytics
// accuracy tests and the generator's own test. It runs in a process of its own (startDelayBackend
// spawns this file): in the test's process its timers would share an event loop with the load
// generator, and every late timer would add to the client's latency but not to the proxy's.
//   ?status=NNN  answers with that status instead of 200
// With peers (engine name → pid), it also says which engine sent a request: the proxy's socket to
// it is found in /proc/net/tcp and its inode among the engine's (or its workers') descriptors; the
// answer carries `x-served-by: NAME`, and delayByPeer can give each engine its own base delay.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** DelayBackendOptions configure one backend process. */
export interface DelayBackendOptions {
  address: string;
  /** port to listen on (default: any free one). */
  port?: number;
  /** delayMs ± jitterMs (uniform) is each answer's delay; seed makes the draws repeatable. */
  delayMs: number;
  jitterMs?: number;
  seed?: number;
  /** name is answered in the body ("NAME\n"). */
  name?: string;
  /** peers maps an engine name to its process id (its worker processes count as it). */
  peers?: Record<string, number>;
  /** delayByPeer replaces delayMs for requests from that engine. */
  delayByPeer?: Record<string, number>;
}

/** DelayBackend is a running backend process. */
export interface DelayBackend {
  port: number;
  close(): Promise<void>;
}

/** mulberry32 is a small seeded generator of floats in [0, 1) (repeatable jitter). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** startDelayBackend spawns a backend process and resolves once it listens. */
export async function startDelayBackend(o: DelayBackendOptions): Promise<DelayBackend> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", import.meta.filename, JSON.stringify(o)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const reap = (): void => void child.kill("SIGKILL");
  process.once("exit", reap);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  void exited.then(() => process.off("exit", reap));
  const port = await new Promise<number>((res, rej) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)\n/.exec(out);
      if (m) res(Number(m[1]));
    });
    void exited.then(() => rej(new Error(`delay backend exited before listening: ${out}`)));
  });
  return {
    port,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** hexAddr is an IPv4 address:port as /proc/net/tcp writes it ("0100007F:1F90"). */
export function hexAddr(address: string, port: number): string {
  const b = address.split(".").map(Number);
  const le = ((b[3]! << 24) | (b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0;
  return `${le.toString(16).toUpperCase().padStart(8, "0")}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** socketInode finds the inode of the IPv4 TCP socket whose local end is local and remote end remote. */
function socketInode(local: string, remote: string): string | undefined {
  for (const line of readFileSync("/proc/net/tcp", "latin1").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[2] === remote) return f[9];
  }
  return undefined;
}

/** descendants lists pid and every process below it. */
function descendants(pid: number): number[] {
  const out = [pid];
  for (let k = 0; k < out.length; k++) {
    try {
      for (const t of readdirSync(`/proc/${out[k]}/task`)) {
        const kids = readFileSync(`/proc/${out[k]}/task/${t}/children`, "latin1").trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/** ownerOf names the peer whose processes hold the socket with inode, if any. */
function ownerOf(inode: string, peers: Record<string, number>): string | undefined {
  const link = `socket:[${inode}]`;
  for (const [name, pid] of Object.entries(peers)) {
    for (const p of descendants(pid)) {
      let fds: string[] = [];
      try {
        fds = readdirSync(`/proc/${p}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          if (readlinkSync(`/proc/${p}/fd/${fd}`) === link) return name;
        } catch {
          /* closed meanwhile */
        }
      }
    }
  }
  return undefined;
}

/** serve runs the backend in this process (the child's side). */
function serve(o: DelayBackendOptions): void {
  const rand = mulberry32(o.seed ?? 1);
  const jitter = o.jitterMs ?? 0;
  const owners = new WeakMap<Socket, string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const peer = owners.get(req.socket);
    const base = (peer !== undefined ? o.delayByPeer?.[peer] : undefined) ?? o.delayMs;
    const delay = base + (rand() * 2 - 1) * jitter;
    const status = Number(/[?&]status=(\d{3})/.exec(req.url ?? "")?.[1] ?? 200);
    req.resume();
    req.on("end", () =>
      setTimeout(() => {
        const body = `${o.name ?? "backend"}\n`;
        res.writeHead(status, {
          "content-type": "text/plain",
          "content-length": Buffer.byteLength(body),
          ...(peer === undefined ? {} : { "x-served-by": peer }),
        });
        res.end(body);
      }, delay),
    );
  });
  server.keepAliveTimeout = 120_000;
  if (o.peers) {
    const peers = o.peers;
    server.on("connection", (s: Socket) => {
      // Once per pooled proxy connection, so the cost stays out of the per-request path.
      const inode = socketInode(
        hexAddr(s.remoteAddress!, s.remotePort!),
        hexAddr(s.localAddress!, s.localPort!),
      );
      const name = inode === undefined ? undefined : ownerOf(inode, peers);
      if (name !== undefined) owners.set(s, name);
    });
  }
  server.listen(o.port ?? 0, o.address, () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
  process.on("SIGTERM", () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}

if (import.meta.main) serve(JSON.parse(process.argv[2]!) as DelayBackendOptions);

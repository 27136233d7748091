// no-delay.test.ts: with TCP_NODELAY set once on the listening socket (noDelayAtListen), every
// accepted connection still has it — on Node's accept path (net.Sockets: TLS) and on the own
// socket layer — and neither sets it per connection any more. The accepted socket's option is read
// by the kernel's own answer: the descriptor is handed to a python3 child, which calls getsockopt
// (Node has no getsockopt). Linux only: elsewhere noDelayAtListen declines and nothing changes.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import net from "node:net";
import { once } from "node:events";
import { noDelayAtListen, takeAccepts, type OwnSocket } from "./own-socket.ts";

const python = ((): boolean => {
  try {
    execFileSync("python3", ["-c", "pass"]);
    return true;
  } catch {
    return false;
  }
})();
const skip = process.platform !== "linux" ? "Linux only" : !python ? "needs python3 for getsockopt" : false;

// nodelayOf asks the kernel for TCP_NODELAY of socket's descriptor (passed to a child as its fd 3).
async function nodelayOf(socket: net.Socket): Promise<number> {
  const child = spawn(
    "python3",
    [
      "-c",
      "import socket; s = socket.socket(fileno=3); print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)); s.detach()",
    ],
    { stdio: ["ignore", "pipe", "inherit", socket] },
  );
  let out = "";
  child.stdout!.setEncoding("latin1").on("data", (d: string) => (out += d));
  const [code] = (await once(child, "exit")) as [number];
  assert.equal(code, 0);
  return Number(out.trim());
}

async function listening(server: net.Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  after(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

// acceptedByNode accepts one connection on Node's accept path of a server made with noDelay, given
// TCP_NODELAY at listen or not.
async function acceptedByNode(noDelay: boolean, atListen: boolean): Promise<net.Socket> {
  const server = net.createServer({ noDelay });
  const port = await listening(server);
  if (atListen) {
    assert.equal(noDelayAtListen(server), true);
    // Node's accept callback reads server.noDelay (undocumented) before its per-socket setsockopt.
    const { noDelay: perSocket } = server as unknown as { noDelay: boolean };
    assert.equal(perSocket, false, "Node no longer sets it per connection");
  }
  const c = net.connect(port, "127.0.0.1");
  after(() => c.destroy());
  const [s] = (await once(server, "connection")) as [net.Socket];
  after(() => s.destroy());
  return s;
}

test(
  "Node's accept path: the accepted socket has TCP_NODELAY from the listening socket",
  { skip },
  async () => {
    assert.equal(await nodelayOf(await acceptedByNode(true, true)), 1);
  },
);

test(
  "own sockets: the accepted handle has TCP_NODELAY though OwnSocket did not set it",
  { skip },
  async () => {
    const accepted: OwnSocket[] = [];
    const server = net.createServer({ noDelay: true });
    const port = await listening(server);
    assert.equal(noDelayAtListen(server), true);
    assert.equal(
      takeAccepts(server, { wants: () => true, take: (s) => void accepted.push(s), failed: assert.fail }),
      true,
    );
    const c = net.connect(port, "127.0.0.1");
    after(() => c.destroy());
    const deadline = Date.now() + 5000;
    while (accepted.length === 0) {
      if (Date.now() > deadline) throw new Error("no connection accepted within 5 s");
      await new Promise((r) => setImmediate(r));
    }
    // detach() wraps the same handle in a net.Socket, which the child can be given.
    const s = accepted[0]!.detach();
    assert.equal(await nodelayOf(s), 1);
    s.destroy();
  },
);

test(
  "without it, a listening socket's accepted sockets have no TCP_NODELAY (what the tests above rule out)",
  { skip },
  async () => {
    assert.equal(await nodelayOf(await acceptedByNode(false, false)), 0);
  },
);

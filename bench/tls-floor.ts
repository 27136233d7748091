// tls-floor.ts: what a full TLS handshake costs Node's TLS socket layer, apart from Portico. Four
// servers answer every request themselves (200, "Hello, world!", then close), each pinned to CPU 1,
// wrk (a full handshake per request: "Connection: close", no resumption) on CPU 0, rounds
// interleaved with the order rotating, CPU per handshake from /proc/PID/stat:
//   - node-tlssocket: net.Server and a tls.TLSSocket over each accepted net.Socket (the engine's
//     path today, without the engine);
//   - node-tlswrap: the listening handle's onconnection and Node's native TLSWrap straight over the
//     accepted TCP handle (process.binding("tls_wrap")), read and written as own-socket.ts drives
//     TCP handles: no net.Socket, no TLSSocket, no streams, no listeners. A prototype of an own TLS
//     socket layer, not production code (no timeouts beyond a 10 s sweep, no error counting);
//   - node-netsocket: the same TLSWrap under one net.Socket (what Portico's HTTP/1.1 and HTTP/2 code
//     takes today): how much of the gain is the TLSSocket alone;
//   - HAProxy answering itself (`http-request return`), same certificate, ALPN h2,http/1.1.
// Equal OpenSSL work in all four (TLS 1.3, X25519, ECDSA P-256, two session tickets each), so the
// differences between the Node servers are the JavaScript socket layer, and node-tlswrap against
// HAProxy says whether Node's OpenSSL (3.5, bundled) is the gap. The Node servers parse nothing
// (any read gets the answer) where HAProxy parses the request and builds its answer: their figures
// are floors, a little kinder to Node than an equal HTTP job. Not a test: figures depend on the
// machine; on a shared one the paired ratios per round move far less than the rates.
//   sh scripts/node.sh bench/tls-floor.ts [--rounds=8] [--duration=4] [--conns=64] [--net=127.0.0.90]
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cpuSeconds } from "./procs.ts";
import { median } from "./summary.ts";
import { defaultTopology, makeCertificate } from "./topology.ts";

const { values: v } = parseArgs({
  options: {
    rounds: { type: "string", default: "8" },
    duration: { type: "string", default: "4" },
    conns: { type: "string", default: "64" },
    net: { type: "string", default: "127.0.0.90" },
  },
});
const base = v.net!.split(".").map(Number);
if (base.length !== 4 || base[0] !== 127 || base[3]! > 251)
  throw new Error(`--net=${v.net}: give an address in 127.0.0.0/8 with room for three after it`);
const at = (k: number) => [base[0], base[1], base[2], base[3]! + k].join(".");
const PORT = 8443;
const dir = mkdtempSync(join(tmpdir(), "tls-floor-"));
const topo = defaultTopology(dir);
const children: ChildProcess[] = [];
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

// SERVER is the Node servers' program: argv mode, address, port, certificate, key.
const SERVER = `
const net = require("node:net"), tls = require("node:tls"), fs = require("node:fs");
const [mode, addr, port, cert, key] = process.argv.slice(1);
const ctx = tls.createSecureContext({ cert: fs.readFileSync(cert), key: fs.readFileSync(key),
  minVersion: "TLSv1.2", honorCipherOrder: true });
const ALPN = Buffer.from("\\x02h2\\x08http/1.1", "latin1");
const RESP = "HTTP/1.1 200 OK\\r\\nContent-Length: 13\\r\\nConnection: close\\r\\n\\r\\nHello, world!";
const server = net.createServer({ noDelay: true });
server.listen(+port, addr, () => {
  if (mode === "tlssocket") {
    server.on("connection", (s) => {
      const t = new tls.TLSSocket(s, { isServer: true, secureContext: ctx, ALPNProtocols: ALPN });
      t.on("error", () => t.destroy());
      t.on("data", () => t.end(RESP, "latin1"));
    });
    return;
  }
  const { wrap } = process.binding("tls_wrap");
  const sw = process.binding("stream_wrap");
  const state = sw.streamBaseState, N = sw.kReadBytesOrError;
  const BUF = Buffer.alloc(65536);
  const noop = () => {};
  const live = new Set();
  function close(ssl) {
    if (!live.delete(ssl)) return;
    ssl.destroySSL();
    ssl._parent.close();
  }
  function onShutdown() { close(this.handle); }
  function onread() {
    const n = state[N];
    if (n > 0) {
      const req = new sw.WriteWrap(); req.handle = this; req.oncomplete = noop; req.async = false;
      this.writeLatin1String(req, RESP);
      const sh = new sw.ShutdownWrap(); sh.handle = this; sh.callback = noop; sh.oncomplete = onShutdown;
      if (this.shutdown(sh) !== 0) close(this);
    } else if (n < 0) close(this);
  }
  function onerror() { close(this); }
  function onSocketClose() { this._tlsWrap.destroySSL(); }
  server._handle.onconnection = function (err, handle) {
    if (err) return;
    if (mode === "netsocket") {
      // One net.Socket straight over the TLSWrap: no TLSSocket, no net.Socket under it.
      handle.onread = noop;
      const ssl = wrap(handle, ctx.context, true, false);
      ssl._parent = handle;
      ssl.onhandshakestart = noop; ssl.onhandshakedone = noop; ssl.onkeylog = noop; ssl.onnewsession = noop;
      ssl.setALPNProtocols(ALPN);
      const t = new net.Socket({ handle: ssl, readable: true, writable: true });
      t._tlsWrap = ssl;
      ssl.onerror = () => t.destroy();
      t.on("error", () => t.destroy());
      t.on("data", () => t.end(RESP, "latin1"));
      t.on("close", onSocketClose);
      return;
    }
    handle.onread = noop; // the TCP handle's reads go to the TLSWrap; after it is gone, nowhere
    const ssl = wrap(handle, ctx.context, true, false);
    ssl._parent = handle; // Node's TLSWrap proxies getpeername, setNoDelay, ... to _parent
    ssl.onhandshakestart = noop; ssl.onhandshakedone = noop; ssl.onkeylog = noop; ssl.onnewsession = noop;
    ssl.onerror = onerror;
    ssl.setALPNProtocols(ALPN);
    ssl.onread = onread;
    ssl.useUserBuffer(BUF);
    ssl.at = Date.now();
    live.add(ssl);
    ssl.readStart();
  };
  // A prototype's safety net: anything still open after 10 s is closed.
  setInterval(() => { const old = Date.now() - 10000; for (const s of live) if (s.at < old) close(s); }, 1000).unref();
});
`;

function haproxyConfig(addr: string): string {
  return `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind ${addr}:${PORT} ssl crt ${topo.comboFile} alpn h2,http/1.1
  http-request return status 200 content-type text/plain string "Hello, world!"
`;
}

async function waitFor(addr: string): Promise<void> {
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      execFileSync("curl", [
        "-sk",
        "--http1.1",
        "-o",
        "/dev/null",
        "--max-time",
        "1",
        `https://${addr}:${PORT}/`,
      ]);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`https://${addr}:${PORT}/ did not answer within 20 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function main(): Promise<void> {
  makeCertificate(topo);
  const servers: { name: string; addr: string; pid: number }[] = [];
  for (const [k, mode] of ["tlssocket", "tlswrap", "netsocket"].entries()) {
    const c = spawn(
      "taskset",
      ["-c", "1", process.execPath, "-e", SERVER, mode, at(k), String(PORT), topo.certFile, topo.keyFile],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    children.push(c);
    servers.push({ name: `node-${mode}`, addr: at(k), pid: c.pid! });
  }
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(cfg, haproxyConfig(at(3)));
  const h = spawn("taskset", ["-c", "1", "haproxy", "-f", cfg, "-db"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(h);
  servers.push({ name: "HAProxy", addr: at(3), pid: h.pid! });
  for (const s of servers) await waitFor(s.addr);
  const wrk = (addr: string, secs: string): number => {
    const out = execFileSync(
      "taskset",
      [
        "-c",
        "0",
        "wrk",
        "-t1",
        `-c${v.conns}`,
        `-d${secs}s`,
        "-H",
        "Connection: close",
        `https://${addr}:${PORT}/`,
      ],
      { encoding: "utf8" },
    );
    const m = /(\d+) requests in/.exec(out);
    if (m === null) throw new Error(`wrk said: ${out}`);
    return Number(m[1]);
  };
  for (const s of servers) wrk(s.addr, "2"); // warm-up: JIT, pools
  const cpu = servers.map(() => [] as number[]);
  const vsHaproxy = servers.map(() => [] as number[]);
  for (let r = 0; r < Number(v.rounds); r++) {
    const got: number[] = [];
    for (let j = 0; j < servers.length; j++) {
      const i = (j + r) % servers.length;
      const s = servers[i]!;
      const before = cpuSeconds(s.pid);
      const n = wrk(s.addr, v.duration!);
      got[i] = ((cpuSeconds(s.pid) - before) * 1e6) / Math.max(n, 1); // µs
      cpu[i]!.push(got[i]);
    }
    for (let i = 0; i < servers.length; i++) vsHaproxy[i]!.push(got[i]! / got[servers.length - 1]!);
    console.log(`round ${r + 1}: ${servers.map((s, i) => `${s.name} ${got[i]!.toFixed(0)} µs`).join(", ")}`);
  }
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  for (let i = 0; i < servers.length; i++)
    console.log(
      `${servers[i]!.name}: CPU per handshake median ${median(cpu[i]!).toFixed(0)} µs ` +
        `(${Math.min(...cpu[i]!).toFixed(0)}–${Math.max(...cpu[i]!).toFixed(0)}), ÷ HAProxy's in the same round: ` +
        `paired median ${median(vsHaproxy[i]!).toFixed(3)}`,
    );
  console.log(`load ${load}`);
  process.exit(0);
}

await main();

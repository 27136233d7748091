// mem-probe.ts (dev tool): one engine in this process with the bench topology, a raw in-process
// backend (or BACKEND_PORT's, e.g. an nginx on 127.0.0.2), then each command line in turn (a wrk
// run, idle-conns.ts …), printing RSS, heap and open client sockets per listener after each —
// after a forced GC when run with --expose-gc. Add --cpu-prof to profile the engine under load.
//   node --expose-gc bench/mem-probe.ts "wrk -t1 -c64 -d5s http://127.0.0.13:18000/"
// A command starting with "&" runs in the background: the report is taken once it printed its
// first line (idle-conns.ts holding its connections), and it is stopped at the end.
//   node --expose-gc bench/mem-probe.ts "&node bench/idle-conns.ts 127.0.0.13 18000 10000"
// SNAP=DIR writes a heap snapshot per report into DIR; MODULES=1 lists the Node modules loaded since
// the last report. The benchmark's build carries this probe
// (.cache/dist/bench/mem-probe.js after scripts/build.sh), to measure without the type stripper.
// Needs a certificate pair in CERT_DIR (default /tmp/probe: cert.pem, key.pem). PROBE_ADDRESS moves
// the engine's listeners (default 127.0.0.13) and PROBE_BACKEND_PORT the in-process backend's port
// (default 18080), so that two probes can run side by side.
import { exec, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";
import { join } from "node:path";
import { Engine } from "../src/engine/engine.ts";
import { compileHttp } from "../src/engine/l7/compile.ts";
import { benchSnapshot } from "./portico-engine.ts";

const certDir = process.env.CERT_DIR ?? "/tmp/probe";
const ownBackendPort = Number(process.env.PROBE_BACKEND_PORT ?? 18080);
const backendPort = Number(process.env.BACKEND_PORT ?? ownBackendPort);
const address = process.env.PROBE_ADDRESS ?? "127.0.0.13";
const resp = Buffer.from(
  "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello, world\n",
);
// The raw backend answers every complete head it sees (GETs only; enough for a probe).
const be = net.createServer((s) => {
  s.on("data", (d) => {
    const n = d.toString("latin1").split("\r\n\r\n").length - 1;
    for (let i = 0; i < n; i++) s.write(resp);
  });
  s.on("error", () => {});
});
if (process.env.BACKEND_PORT === undefined)
  await new Promise<void>((r) => be.listen(ownBackendPort, "127.0.0.2", r));
const engine = new Engine({ compileHttp });
const r = engine.apply(
  benchSnapshot({
    address,
    httpPort: 18000,
    httpsPort: 18443,
    tcpPort: 19000,
    backend: { address: "127.0.0.2", port: backendPort },
    tcpBackend: { address: "127.0.0.3", port: 5201 },
    certPem: readFileSync(join(certDir, "cert.pem"), "utf8"),
    keyPem: readFileSync(join(certDir, "key.pem"), "utf8"),
  }),
);
if (!r.ok) throw new Error(r.error);
await engine.settled();

const mib = (n: number) => (n / 1048576).toFixed(1);
function report(tag: string): void {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const open = engine
    .status()
    .listeners.map((l) => l.key)
    .join(" ");
  console.log(
    `${tag}: rss ${mib(m.rss)} heap ${mib(m.heapUsed)}/${mib(m.heapTotal)} external ${mib(m.external)} MiB (${open})`,
  );
  if (process.env.SPACES !== undefined) {
    const spaces = getHeapSpaceStatistics().map(
      (s) => `${s.space_name} ${mib(s.space_used_size)}/${mib(s.space_size)}`,
    );
    console.log(`  spaces: ${spaces.join(", ")}`);
  }
  if (process.env.SMAPS !== undefined) console.log(`  rss by mapping: ${smaps()}`);
  if (process.env.MODULES !== undefined) {
    // Node's own modules loaded since the last report (lazy-node.ts: what an idle engine should not load).
    const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
    const loaded = list.filter((m) => m.startsWith("NativeModule ") && !seenModules.has(m));
    for (const m of loaded) seenModules.add(m);
    console.log(`  modules loaded: ${loaded.map((m) => m.slice(13)).join(" ")}`);
  }
  if (process.env.SNAP !== undefined)
    console.log(`  snapshot ${writeHeapSnapshot(join(process.env.SNAP, `${snaps++}.heapsnapshot`))}`);
}
let snaps = 0;
const seenModules = new Set<string>();

/** smaps sums the process's resident memory by kind of mapping (Linux; "" elsewhere). */
function smaps(): string {
  let text: string;
  try {
    text = readFileSync("/proc/self/smaps", "utf8");
  } catch {
    return "";
  }
  const sums = new Map<string, number>();
  let kind = "";
  for (const line of text.split("\n")) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m !== null) kind = m[1] === "" ? "anon" : m[1]!.startsWith("/") ? "file" : m[1]!;
    else if (line.startsWith("Rss:"))
      sums.set(kind, (sums.get(kind) ?? 0) + Number(line.split(/\s+/)[1]) * 1024);
  }
  return [...sums].map(([k, v]) => `${k} ${mib(v)}`).join(", ");
}
const background: ChildProcess[] = [];

/** held starts cmd in the background and resolves with its first line of output. */
function held(cmd: string): Promise<string> {
  const c = spawn("sh", ["-c", `exec ${cmd}`], { stdio: ["ignore", "pipe", "inherit"] });
  background.push(c);
  return new Promise((res) => {
    let out = "";
    c.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) res(out);
    });
    c.on("exit", () => res(out));
  });
}

report("start");
for (const cmd of process.argv.slice(2)) {
  const cpu0 = process.cpuUsage();
  const out = cmd.startsWith("&")
    ? await held(cmd.slice(1))
    : await new Promise<string>((res) => exec(cmd, (_e, so, se) => res(so + se)));
  const cpu = process.cpuUsage(cpu0);
  const done = /(\d+) requests in/.exec(out);
  if (done !== null)
    console.log(
      `cpu ${((cpu.user + cpu.system) / Number(done[1])) | 0} µs per request (${done[1]} requests)`,
    );
  console.log(
    out
      .split("\n")
      .filter((l) => /Requests\/sec|Socket errors|requests in|"open"/.test(l))
      .join(" | "),
  );
  await new Promise((res) => setTimeout(res, 500));
  report(cmd.slice(0, 60));
}
for (const c of background) c.kill();
await engine.close();
be.close();
process.exit(0);

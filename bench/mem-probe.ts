// mem-probe.ts (dev tool): one engine in this process with the bench topology, a raw in-process
// backend (or BACKEND_PORT's, e.g. an nginx on 127.0.0.2), then each command line in turn (a wrk
// run, idle-conns.ts …), printing RSS, heap and open client sockets per listener after each —
// after a forced GC when run with --expose-gc. Add --cpu-prof to profile the engine under load.
//   node --expose-gc bench/mem-probe.ts "wrk -t1 -c64 -d5s http://127.0.0.13:18000/"
// Needs a certificate pair in CERT_DIR (default /tmp/probe: cert.pem, key.pem).
import { exec } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { getHeapSpaceStatistics } from "node:v8";
import { join } from "node:path";
import { Engine } from "../src/engine/engine.ts";
import { compileHttp } from "../src/engine/l7/compile.ts";
import { benchSnapshot } from "./portico-engine.ts";

const certDir = process.env.CERT_DIR ?? "/tmp/probe";
const backendPort = Number(process.env.BACKEND_PORT ?? 18080);
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
if (process.env.BACKEND_PORT === undefined) await new Promise<void>((r) => be.listen(18080, "127.0.0.2", r));
const engine = new Engine({ compileHttp });
const r = engine.apply(
  benchSnapshot({
    address: "127.0.0.13",
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
}

report("start");
for (const cmd of process.argv.slice(2)) {
  const cpu0 = process.cpuUsage();
  const out = await new Promise<string>((res) => exec(cmd, (_e, so, se) => res(so + se)));
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
await engine.close();
be.close();
process.exit(0);

// topology.ts: where everything in a benchmark run lives. Loopback only (127.0.0.0/8): each
// proxy gets its own address so the three can run side by side with the same ports.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** ProxyName names a proxy under test. */
export type ProxyName = "HAProxy" | "nginx" | "Portico";

/** PROXIES lists the proxies in the order each round runs them (A B C, A B C ...). */
export const PROXIES: readonly ProxyName[] = ["HAProxy", "nginx", "Portico"];

/** Topology is every address, port, CPU set and file a run uses. */
export interface Topology {
  /** dir is the run's temporary directory (configs, certificate, pid files). */
  dir: string;
  backend: { address: string; port: number };
  iperf: { address: string; port: number };
  /** proxies hold each proxy's address; all share the ports below. */
  proxies: Record<ProxyName, string>;
  httpPort: number;
  httpsPort: number;
  tcpPort: number;
  /** proxyCpus pins the proxy; loadCpus pins the load generator and the backends. */
  proxyCpus: string;
  loadCpus: string;
  /**
   * haproxyMaxconn is HAProxy's connection cap. HAProxy refuses to start unless the open-file
   * limit covers two descriptors per connection, and containers often forbid raising the hard
   * limit (20,000 here), so the cap follows the limit and the idle test holds that many at most.
   */
  haproxyMaxconn: number;
  /** nofile is the open-file limit the proxies run with (nginx's worker_rlimit_nofile). */
  nofile: number;
  /** certFile/keyFile are PEM; comboFile is both in one file, as HAProxy wants it. */
  certFile: string;
  keyFile: string;
  comboFile: string;
}

/** defaultTopology builds the standard layout inside dir (proxy on CPU 1, load on CPU 0). */
export function defaultTopology(dir: string): Topology {
  const net = benchNet();
  return {
    dir,
    backend: { address: `${net}.2`, port: 8080 },
    iperf: { address: `${net}.3`, port: 5201 },
    proxies: { HAProxy: `${net}.10`, nginx: `${net}.11`, Portico: `${net}.12` },
    httpPort: 8000,
    httpsPort: 8443,
    tcpPort: 9000,
    proxyCpus: "1",
    loadCpus: "0",
    haproxyMaxconn: Math.min(30000, Math.floor((hardFileLimit() - 100) / 2)),
    nofile: Math.min(65536, hardFileLimit()),
    certFile: join(dir, "cert.pem"),
    keyFile: join(dir, "key.pem"),
    comboFile: join(dir, "combo.pem"),
  };
}

/**
 * benchNet is the /24 the run's addresses live in: 127.0.0, or PORTICO_BENCH_NET (say 127.0.7) so
 * that two runs on one machine (several people's work on a shared VM) do not take each other's
 * ports. Loopback only.
 */
export function benchNet(): string {
  const net = process.env["PORTICO_BENCH_NET"] ?? "127.0.0";
  if (!/^127\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(net))
    throw new Error(
      `PORTICO_BENCH_NET=${net}: give the first three parts of a 127.x.y.0/24 network, e.g. 127.0.7`,
    );
  return net;
}

/** hardFileLimit is the hard RLIMIT_NOFILE a child may raise its soft limit to. */
export function hardFileLimit(): number {
  const out = execFileSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim();
  return out === "unlimited" ? 1 << 20 : Number(out);
}

/**
 * makeCertificate writes one self-signed ECDSA P-256 certificate for "bench.local" with the
 * openssl CLI. ECDSA because it is what a modern deployment serves; handshake rates with RSA
 * keys are several times lower for every proxy alike.
 */
export function makeCertificate(t: Topology): void {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      t.keyFile,
      "-out",
      t.certFile,
      "-days",
      "2",
      "-subj",
      "/CN=bench.local",
      "-addext",
      "subjectAltName=DNS:bench.local,IP:127.0.0.10,IP:127.0.0.11,IP:127.0.0.12",
    ],
    { stdio: "ignore" },
  );
  writeFileSync(t.comboFile, readFileSync(t.certFile, "utf8") + readFileSync(t.keyFile, "utf8"));
}

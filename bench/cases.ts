// cases.ts: the benchmark's tests. Each builds the exact load-generator command for one proxy
// address and says how to read its output and which target (issue 6) applies.
import { parseH2load, parseIperf3, parseSTime, parseWrk, type LoadResult } from "./parse.ts";
import type { Topology } from "./topology.ts";

/** BenchCase is one test run against every proxy in turn. */
export interface BenchCase {
  id: string;
  title: string;
  unit: "req/s" | "Gbit/s";
  /** what says what the test measures, for the report and docs/performance.md. */
  what: string;
  /** target is the minimum Portico/HAProxy throughput ratio, when issue 6 sets one. */
  target?: number;
  /** p99Target is the maximum Portico/HAProxy p99 latency ratio, when set. */
  p99Target?: number;
  argv: (host: string, t: Topology, seconds: number) => string[];
  /** parse reads the result; elapsedMs is the command's wall time, for tools that lack one. */
  parse: (stdout: string, elapsedMs: number) => LoadResult;
}

const wrk =
  (conns: number, scheme: "http" | "https", close: boolean) =>
  (host: string, t: Topology, seconds: number): string[] => [
    "wrk",
    "-t1",
    `-c${conns}`,
    `-d${seconds}s`,
    "--latency",
    ...(close ? ["-H", "Connection: close"] : []),
    `${scheme}://${host}:${scheme === "http" ? t.httpPort : t.httpsPort}/`,
  ];

const iperf =
  (streams: number) =>
  (host: string, t: Topology, seconds: number): string[] => [
    "iperf3",
    "-c",
    host,
    "-p",
    String(t.tcpPort),
    "-t",
    String(seconds),
    "-P",
    String(streams),
    "-J",
  ];

/** CASES are all tests, in the order a round runs them. */
export const CASES: readonly BenchCase[] = [
  {
    id: "http-ka-64",
    title: "HTTP/1.1 keep-alive, 64 connections",
    unit: "req/s",
    what: "Requests/s over 64 persistent client connections; each request is proxied to the backend over a reused keep-alive connection. The core L7 forwarding cost.",
    target: 0.8,
    p99Target: 1.5,
    argv: wrk(64, "http", false),
    parse: parseWrk,
  },
  {
    id: "http-ka-256",
    title: "HTTP/1.1 keep-alive, 256 connections",
    unit: "req/s",
    what: "The same with 256 connections: more concurrency, larger event-loop batches, more memory per connection.",
    target: 0.8,
    p99Target: 1.5,
    argv: wrk(256, "http", false),
    parse: parseWrk,
  },
  {
    id: "http-close",
    title: "HTTP/1.1 new connection per request",
    unit: "req/s",
    what: 'wrk sends "Connection: close": every request is a new TCP connection (accept, parse, forward over a pooled backend connection, close). New connections per second.',
    target: 0.7,
    argv: wrk(64, "http", true),
    parse: parseWrk,
  },
  {
    id: "https-ka",
    title: "HTTPS keep-alive, 64 connections",
    unit: "req/s",
    what: "HTTP/1.1 over TLS 1.3 (ECDSA P-256) on persistent connections: record encryption plus forwarding.",
    target: 0.7,
    argv: wrk(64, "https", false),
    parse: parseWrk,
  },
  {
    id: "https-handshake",
    title: "HTTPS new handshake per request",
    unit: "req/s",
    what: 'HTTPS with "Connection: close": a full TLS handshake per request (wrk does not resume sessions), so this is the handshake rate.',
    target: 0.7,
    argv: wrk(64, "https", true),
    parse: parseWrk,
  },
  {
    id: "https-resume",
    title: "HTTPS resumed handshake per request",
    unit: "req/s",
    what: "8 parallel `openssl s_time -reuse` clients: each request on a new TLS connection that resumes the session (TLS 1.3 ticket), then an HTTP/1.0 GET. The rate with resumption; https-handshake is the rate without.",
    target: 0.7,
    argv: (host, t, seconds) => [
      "sh",
      "-c",
      `for i in 1 2 3 4 5 6 7 8; do openssl s_time -connect ${host}:${t.httpsPort} -reuse -time ${seconds} -www / & done; wait`,
    ],
    parse: parseSTime,
  },
  {
    id: "h2-tls",
    title: "HTTP/2 over TLS, 64 connections × 10 streams",
    unit: "req/s",
    what: "h2load multiplexes 10 concurrent streams on each of 64 TLS connections (ALPN h2); the proxy forwards them as HTTP/1.1. Latency is h2load's mean time per request.",
    argv: (host, t, seconds) => [
      "h2load",
      "-D",
      String(seconds),
      "-c",
      "64",
      "-m",
      "10",
      "-t",
      "1",
      `https://${host}:${t.httpsPort}/`,
    ],
    parse: parseH2load,
  },
  {
    id: "tcp-1",
    title: "L4 TCP throughput, 1 stream (iperf3)",
    unit: "Gbit/s",
    what: "iperf3 through the proxy's plain TCP virtual service to an iperf3 server: bulk byte copying, one stream.",
    target: 0.9,
    argv: iperf(1),
    parse: parseIperf3,
  },
  {
    id: "tcp-8",
    title: "L4 TCP throughput, 8 streams (iperf3)",
    unit: "Gbit/s",
    what: "The same with 8 parallel streams.",
    target: 0.9,
    argv: iperf(8),
    parse: parseIperf3,
  },
];

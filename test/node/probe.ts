// probe.ts: one readiness probe attempt, from the host as a kubelet probes from the node: httpGet
// and tcpSocket connect to the pod IP (the host routes to it over the bridge), exec runs the
// command inside the Pod's network namespace. gRPC probes are attempted as a TCP connect (the
// agent has no gRPC health client); README.md says so.
import { execFile } from "node:child_process";
import http from "node:http";
import https from "node:https";
import { connect } from "node:net";
import type { Container, Probe } from "./types.ts";

/** portOf resolves a probe port: a number, or the name of one of the container's ports. */
export function portOf(c: Container, port: number | string): number {
  if (typeof port === "number") return port;
  const named = c.ports?.find((p) => p.name === port)?.containerPort;
  if (named !== undefined) return named;
  if (/^\d+$/.test(port)) return Number(port);
  throw new Error(`probe port "${port}" names no port of container ${c.name}`);
}

/** probeOnce answers whether one attempt of p succeeds for container c at podIP in netns. */
export function probeOnce(
  p: Probe,
  c: Container,
  podIP: string,
  netns: string,
  env: Record<string, string>,
): Promise<boolean> {
  const timeout = (p.timeoutSeconds ?? 1) * 1000;
  if (p.httpGet) {
    const g = p.httpGet;
    const lib = g.scheme === "HTTPS" ? https : http;
    return new Promise((done) => {
      const req = lib.get(
        {
          host: g.host || podIP,
          port: portOf(c, g.port),
          path: g.path ?? "/",
          headers: Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value])),
          timeout,
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          res.resume();
          const s = res.statusCode ?? 0;
          done(s >= 200 && s < 400);
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => done(false));
    });
  }
  const tcp = p.tcpSocket ?? (p.grpc ? { port: p.grpc.port, host: undefined } : undefined);
  if (tcp) {
    return new Promise((done) => {
      const s = connect({ host: tcp.host || podIP, port: portOf(c, tcp.port), timeout }, () => {
        s.destroy();
        done(true);
      });
      s.on("timeout", () => s.destroy());
      s.on("error", () => done(false));
      s.on("close", () => done(false));
    });
  }
  if (p.exec) {
    const cmd = p.exec.command;
    return new Promise((done) => {
      execFile("ip", ["netns", "exec", netns, ...cmd], { env, timeout }, (err) => done(!err));
    });
  }
  return Promise.resolve(true);
}

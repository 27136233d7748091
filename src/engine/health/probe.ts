// probe.ts: the real active checks. A TCP check passes when a connection is accepted within the
// timeout; an HTTP check when a GET answers with a status in the expected range (default 200-399).
import { nodeHttp } from "../lazy-node.ts";
import { connect } from "node:net";
import type { HealthCheck } from "../../model/ir.ts";

/** Probe runs one check against one endpoint and resolves to whether it passed; never rejects. */
export type Probe = (address: string, port: number, check: HealthCheck) => Promise<boolean>;

/** tcpProbe passes when the endpoint accepts a TCP connection within check.timeoutMs. */
export function tcpProbe(address: string, port: number, check: HealthCheck): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), check.timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** httpProbe passes when GET check.path answers in check.expectedStatuses within check.timeoutMs. */
export function httpProbe(address: string, port: number, check: HealthCheck): Promise<boolean> {
  const [lo, hi] = check.expectedStatuses ?? [200, 399];
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(ok);
    };
    const host = check.host ?? (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);
    const req = nodeHttp().request({
      host: address,
      port,
      path: check.path ?? "/",
      method: "GET",
      agent: false,
      headers: { host, "user-agent": "portico-health/1", connection: "close" },
    });
    const timer = setTimeout(() => done(false), check.timeoutMs);
    req.once("response", (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done(status >= lo && status <= hi);
    });
    req.once("error", () => done(false));
    req.end();
  });
}

/** defaultProbe dispatches on the check type. */
export const defaultProbe: Probe = (address, port, check) =>
  check.type === "HTTP" ? httpProbe(address, port, check) : tcpProbe(address, port, check);

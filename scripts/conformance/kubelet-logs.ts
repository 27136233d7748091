// kubelet-logs.ts: the one kubelet API the conformance suite calls through kube-apiserver — Pod logs
// (`GET /api/v1/namespaces/NS/pods/P/log`, which the API server forwards to the Pod's Node at
// https://InternalIP:<daemonEndpoints.kubeletEndpoint.Port>/containerLogs/NS/P/CONTAINER). The mirror
// tests read the mirror backend's log to see the mirrored request. Served from the node agent's
// container log files (stateDir/<ns>_<pod>_<uid>/<container>.log). Test harness only.
// The files carry no timestamps, so `sinceTime` cannot be honoured: the whole log is returned.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { selfSigned } from "../../test/support/certs.ts";

/** containerLogFile finds the log of container in Pod ns/pod below stateDir, or undefined. */
export function containerLogFile(
  stateDir: string,
  ns: string,
  pod: string,
  container: string,
): string | undefined {
  const prefix = `${ns}_${pod}_`;
  const dirs = existsSync(stateDir) ? readdirSync(stateDir).filter((d) => d.startsWith(prefix)) : [];
  for (const d of dirs) {
    const file = join(stateDir, d, `${container}.log`);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** startKubeletLogs serves /containerLogs on host (a random port) with a throwaway self-signed
 * certificate; kube-apiserver does not verify kubelets without --kubelet-certificate-authority. */
export async function startKubeletLogs(
  host: string,
  stateDir: string,
): Promise<{ port: number; stop(): Promise<void> }> {
  const cert = selfSigned(["portico-test-node"], "rsa", 1);
  const server: Server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/?]+)/.exec(req.url ?? "");
    const file = m && containerLogFile(stateDir, m[1]!, m[2]!, m[3]!);
    if (!file) {
      res.writeHead(404).end(`no log for ${req.url}\n`);
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end(readFileSync(file));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, host, () => ok());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

// kubelet-logs.ts: the one kubelet API the conformance suite calls through kube-apiserver — Pod logs
// (`GET /api/v1/namespaces/NS/pods/P/log`, which the API server forwards to the Pod's Node at
// https://InternalIP:<daemonEndpoints.kubeletEndpoint.Port>/containerLogs/NS/P/CONTAINER). The mirror
// tests read the mirror backend's log to see the mirrored request. Served from the node agent's
// container log files (stateDir/<ns>_<pod>_<uid>/<container>.log). Test harness only.
// The files carry no timestamps, so `sinceTime` cannot be honoured: the whole log is returned.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

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
  const dir = mkdtempSync(join(tmpdir(), "portico-kubelet-"));
  try {
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=portico-test-node",
      "-days",
      "1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ]);
    const server: Server = createServer(
      { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
      (req, res) => {
        const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/?]+)/.exec(req.url ?? "");
        const file = m && containerLogFile(stateDir, m[1]!, m[2]!, m[3]!);
        if (!file) {
          res.writeHead(404).end(`no log for ${req.url}\n`);
          return;
        }
        res.writeHead(200, { "content-type": "text/plain" }).end(readFileSync(file));
      },
    );
    await new Promise<void>((ok, fail) => {
      server.once("error", fail);
      server.listen(0, host, () => ok());
    });
    return {
      port: (server.address() as AddressInfo).port,
      stop: () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => {
            rmSync(dir, { recursive: true, force: true });
            done();
          });
        }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

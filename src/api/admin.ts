// admin.ts: the admin HTTP API (loopback by default). Not a hot path, so node:http is fine here.
//   GET /healthz        200 once the first snapshot serves traffic, 503 before
//   GET /api/v1/status  JSON list of {kind, namespace, name, status} as Portico would write them
//   GET /api/v1/errors  input problems (file:line) and the last rejected snapshot, if any
//   GET /api/v1/tables/*, /api/v1/explain/*, /api/v1/translate, /api/v1/validate  (cli-routes.ts)
//   GET /metrics        Prometheus text exposition
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serveCliRoute, type CliView } from "./cli-routes.ts";

/** AdminView is what the admin API reads; the controller owns it. */
export interface AdminView extends CliView {
  ready(): boolean;
  statuses(): unknown[];
  errors(): unknown;
  metrics(): string;
}

/** startAdmin serves view on host:port and resolves with the bound address. */
export async function startAdmin(
  view: AdminView,
  host: string,
  port: number,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "method not allowed\n");
    if (serveCliRoute(view, path ?? "/", send)) return;
    switch (path) {
      case "/healthz":
        return view.ready()
          ? send(200, "text/plain", "ok\n")
          : send(503, "text/plain", "no snapshot serving yet\n");
      case "/api/v1/status":
        return send(200, "application/json", JSON.stringify(view.statuses(), null, 2) + "\n");
      case "/api/v1/errors":
        return send(200, "application/json", JSON.stringify(view.errors(), null, 2) + "\n");
      case "/metrics":
        return send(200, "text/plain; version=0.0.4", view.metrics());
      default:
        return send(404, "text/plain", "not found: try /healthz, /api/v1/status, /api/v1/errors, /metrics\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const h = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return { server, url: `http://${h}:${addr.port}` };
}

// admin.ts: the admin HTTP API (loopback by default). Not a hot path, so node:http is fine here.
//   GET /healthz        200 once the first snapshot serves traffic, 503 before
//   GET /api/v1/status  JSON list of {kind, namespace, name, status} as Portico would write them
//   GET /api/v1/errors  input problems (file:line) and the last rejected snapshot, if any
//   GET /api/v1/tables/services|ingresses  rows for `portico get`
//   GET /metrics        Prometheus text exposition
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** AdminView is what the admin API reads; the controller owns it. */
export interface AdminView {
  ready(): boolean;
  statuses(): unknown[];
  errors(): unknown;
  metrics(): string | Promise<string>;
  table(kind: "services" | "ingresses"): unknown[];
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
    switch (path) {
      case "/healthz":
        return view.ready()
          ? send(200, "text/plain", "ok\n")
          : send(503, "text/plain", "no snapshot serving yet\n");
      case "/api/v1/status":
        return send(200, "application/json", JSON.stringify(view.statuses(), null, 2) + "\n");
      case "/api/v1/errors":
        return send(200, "application/json", JSON.stringify(view.errors(), null, 2) + "\n");
      case "/api/v1/tables/services":
      case "/api/v1/tables/ingresses":
        return send(
          200,
          "application/json",
          JSON.stringify(view.table(path.endsWith("services") ? "services" : "ingresses")) + "\n",
        );
      case "/metrics":
        // The engine may answer from another thread (portico run), so metrics can be a promise.
        return void Promise.resolve(view.metrics()).then(
          (text) => send(200, "text/plain; version=0.0.4", text),
          (e: unknown) => send(503, "text/plain", `engine metrics unavailable: ${String(e)}\n`),
        );
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

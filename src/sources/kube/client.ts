// client.ts: a small JSON client for the Kubernetes API. @kubernetes/client-node reads the
// kubeconfig and supplies credentials (tokens, client certificates, exec plugins); requests go out
// on node:https so that objects stay plain JSON exactly as the API serves them (the generated
// client turns timestamps into Date objects) and so that watch streams, their errors and 410 Gone
// are handled here, in one place, rather than inside a library's informer.
import https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

/** KubeApiError is a non-2xx answer from the API server; status and reason come from its Status. */
export class KubeApiError extends Error {
  readonly code = "PORTICO_KUBE_API";
  override name = "KubeApiError";
  /** status is the HTTP status (409 conflict, 410 gone, 404 not found, ...). */
  readonly status: number;
  /** reason is metav1.Status.reason ("Conflict", "Expired", "NotFound", "Forbidden", ...). */
  readonly reason: string;
  constructor(method: string, path: string, status: number, reason: string, message: string) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
    this.status = status;
    this.reason = reason;
  }
}

/** WatchEvent is one line of a watch stream. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Record<string, unknown>;
}

/** KubeClient sends JSON requests and opens watch streams with the kubeconfig's credentials. */
export class KubeClient {
  readonly #kc: KubeConfig;
  readonly #server: URL;
  readonly #agent: https.Agent;

  /** constructor takes a loaded KubeConfig and the TLS options it yields; see fromConfig. */
  constructor(kc: KubeConfig, tls: https.AgentOptions) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.#kc = kc;
    this.#server = new URL(cluster.server);
    // Our own agent, not the library's shared one, so close() can end its sockets.
    this.#agent = new https.Agent({ ...tls, keepAlive: true, maxSockets: 64 });
  }

  /** fromConfig builds a client for kc's current context. */
  static async fromConfig(kc: KubeConfig): Promise<KubeClient> {
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const tls: Record<string, unknown> = {};
    for (const k of ["ca", "cert", "key", "rejectUnauthorized", "servername"] as const)
      if (opts[k] !== undefined) tls[k] = opts[k];
    return new KubeClient(kc, tls as https.AgentOptions);
  }

  /** fromFile loads a kubeconfig file and builds a client for its current context. */
  static fromFile(path: string): Promise<KubeClient> {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return KubeClient.fromConfig(kc);
  }

  /** user names the kubeconfig's current user, for logs. */
  user(): string {
    return this.#kc.getCurrentUser()?.name ?? "";
  }

  /** #options builds request options with fresh credentials (exec plugins may rotate tokens). */
  async #options(
    method: string,
    path: string,
    headers: Record<string, string>,
  ): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = {};
    await this.#kc.applyToHTTPSOptions(opts);
    return {
      protocol: this.#server.protocol,
      hostname: this.#server.hostname.replace(/^\[|\]$/g, ""),
      port: this.#server.port || 443,
      path: this.#server.pathname.replace(/\/$/, "") + path,
      method,
      agent: this.#agent,
      headers: { ...(opts.headers as Record<string, string>), Accept: "application/json", ...headers },
      ...(opts.auth ? { auth: opts.auth } : {}),
    };
  }

  /** request sends method to path with an optional JSON body; resolves with the parsed answer. */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = payload
      ? { "Content-Type": contentType, "Content-Length": String(payload.length) }
      : {};
    const opts = await this.#options(method, path, headers);
    return new Promise<T>((resolve, reject) => {
      const req = https.request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            parsed = { message: text.slice(0, 200) };
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(apiError(method, path, status, parsed));
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out after 30 s`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /**
   * watch opens a watch stream on path and calls onEvent per line; it resolves when the server
   * ends the stream (timeoutSeconds) or signal aborts, and rejects on a transport error or a
   * non-2xx answer (a KubeApiError, e.g. status 410 when the resourceVersion is too old), or
   * when nothing arrived for idleMs.
   */
  async watch(
    path: string,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
    idleMs = 330_000,
  ): Promise<void> {
    const opts = await this.#options("GET", path, {});
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      const req = https.request({ ...opts, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            let parsed: Record<string, unknown> = {};
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
            } catch {
              // Not a Status object; the status code alone says enough.
            }
            reject(apiError("GET", path, status, parsed));
          });
          return;
        }
        let rest = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          rest += chunk;
          let nl;
          while ((nl = rest.indexOf("\n")) >= 0) {
            const line = rest.slice(0, nl);
            rest = rest.slice(nl + 1);
            if (line.trim() === "") continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent);
            } catch (e) {
              // A bad line or a handler failure ends this watch; the caller decides how to resume.
              reject(e);
              req.destroy();
              return;
            }
          }
        });
        res.on("end", () => resolve());
        res.on("error", (e) => (signal.aborted ? resolve() : reject(e)));
        // A stream cut without "end" or "error" is resumed by the caller like a normal end.
        res.on("close", () => resolve());
      });
      req.on("error", (e) => (signal.aborted ? resolve() : reject(e)));
      // A connection that died without a FIN or RST would hang the watch forever: give up when
      // nothing (not even a bookmark) arrived for longer than the server's own timeout.
      req.setTimeout(idleMs, () => req.destroy(new Error(`watch idle for ${idleMs} ms`)));
      req.end();
    });
  }

  /** close ends idle keep-alive sockets; open watches end through their AbortSignal. */
  close(): void {
    this.#agent.destroy();
  }
}

/** apiError turns a metav1.Status body into a KubeApiError. */
function apiError(method: string, path: string, status: number, body: Record<string, unknown>): KubeApiError {
  const reason = typeof body.reason === "string" ? body.reason : "";
  const message = typeof body.message === "string" ? body.message : "";
  return new KubeApiError(method, path, status, reason, message);
}

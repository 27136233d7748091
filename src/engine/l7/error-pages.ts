// error-pages.ts: ingress-nginx's custom-http-errors. When the backend answers one of the route's
// codes, its answer is dropped (the connection closed, not reused mid-body) and the client gets the
// default backend's instead, asked with the headers ingress-nginx sends it: X-Code, X-Format (the
// client's Accept), X-Original-URI, X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port,
// X-Request-ID. The default backend's status and Content-Type are kept, as nginx's error_page =
// does. A default backend that cannot answer leaves the client the original code with a plain page.
import { randomBytes } from "../node-crypto.ts";
import type { ErrorPages } from "../../model/ir.ts";
import { publicText } from "./failure.ts";
import type { Answer, PhaseRequest } from "./phases.ts";
import { subrequest } from "./subrequest.ts";

/** ERROR_PAGE_TIMEOUT_MS bounds the default backend's answer. */
export const ERROR_PAGE_TIMEOUT_MS = 10_000;

/** intercepts tells whether a backend answer with status is replaced on a route with ep. */
export function intercepts(ep: ErrorPages | undefined, status: number): ep is ErrorPages {
  return ep !== undefined && status >= 300 && ep.codes.includes(status);
}

/** errorPage asks ep's default backend for the page of status, for req; never rejects. */
export async function errorPage(req: PhaseRequest, ep: ErrorPages, status: number): Promise<Answer> {
  const fallback = (why: string): Answer => ({
    status,
    body: publicText(status),
    error: `custom error page for ${status}: ${why}`,
  });
  if (ep.pool === undefined) return fallback("no default backend");
  const uri = req.query === "" ? req.path : `${req.path}?${req.query}`;
  try {
    const res = await subrequest(req.rt, {
      url: new URL("http://default-backend/"),
      pool: ep.pool,
      method: "GET",
      headers: {
        "x-code": String(status),
        "x-format": req.header("accept") ?? "text/html",
        "x-original-uri": uri,
        "x-namespace": ep.namespace,
        "x-ingress-name": ep.ingress,
        "x-service-name": ep.service,
        "x-service-port": ep.port,
        "x-request-id": req.header("x-request-id") ?? randomBytes(16).toString("hex"),
      },
      timeoutMs: ERROR_PAGE_TIMEOUT_MS,
      sourceIp: req.clientIp(),
      signal: req.abortSignal?.(),
    });
    const type = res.headers["content-type"];
    return {
      status: res.status,
      body: res.body.toString("utf8"),
      contentType: type ?? "text/html",
      error: `backend answered ${status}: custom error page served`,
    };
  } catch (err) {
    return fallback(err instanceof Error ? err.message : String(err));
  }
}

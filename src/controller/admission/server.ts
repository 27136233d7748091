// server.ts: the admission webhook `portico controller --admission-listen` serves — HTTPS, one
// POST per request, admission.k8s.io/v1 AdmissionReview in and out. The verdict is decide.ts over
// the view (view.ts): refused with code 403 and the condition message, or allowed with warnings.
// Without a view yet (the replica is still listing) it answers 503, so the webhook configuration's
// failurePolicy decides, as it does when the controller is down: that choice stays the user's.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import type { TenantMemory, TranslateOptions } from "../../translate/types.ts";
import type { Logger } from "../log.ts";
import type { ServingPair } from "./credentials.ts";
import { decide, type Operation, type Verdict } from "./decide.ts";

/** AdmissionView is what a verdict reads: the cluster as this replica sees it, and what the last build admitted. */
export interface AdmissionView {
  set: ResourceSet;
  /** memory is the leader's last build's admissions (incumbents first); absent on a standby. */
  memory?: TenantMemory;
}

/** AdmissionServerOptions configure the webhook. */
export interface AdmissionServerOptions {
  host: string;
  port: number;
  /** pair is read at start and again every reloadMs (a renewed Secret needs no restart). */
  pair: () => ServingPair;
  reloadMs?: number;
  view: () => AdmissionView | undefined;
  translate: TranslateOptions;
  log: Logger;
  now?: () => Date;
}

/** AdmissionServer is a listening webhook. */
export interface AdmissionServer {
  /** port is the bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** MAX_REVIEW caps a request body: an object may hold 1.5 MiB, a review carries it and its old self. */
const MAX_REVIEW = 3 * 1024 * 1024;

/**
 * MAX_OPEN caps the reviews read or judged at once (one is judged at a time, decide is synchronous;
 * the rest are bodies arriving): the port takes no client certificate, so anyone who reaches it
 * could otherwise make it buffer and translate without bound. Beyond, 503 at once, before the
 * body is read, and the webhook's failurePolicy decides (docs/tenants.md "Who may call it": a NetworkPolicy
 * admits only the API server).
 */
export const MAX_OPEN = 4;

/** TIMEOUTS_MS bound a request's headers and whole request: a slow client cannot hold a place. */
const TIMEOUTS_MS = { headers: 10_000, request: 15_000 };

interface ReviewRequest {
  uid?: string;
  operation?: Operation;
  namespace?: string;
  object?: AnyObject | null;
  oldObject?: AnyObject | null;
}

/** startAdmission listens on host:port and answers AdmissionReviews until closed. */
export async function startAdmission(o: AdmissionServerOptions): Promise<AdmissionServer> {
  let pair = o.pair();
  let open = 0;
  const server: Server = createServer(
    {
      key: pair.keyPem,
      cert: pair.certPem,
      minVersion: "TLSv1.2",
      headersTimeout: TIMEOUTS_MS.headers,
      requestTimeout: TIMEOUTS_MS.request,
    },
    (req, res) => {
      if (open >= MAX_OPEN) {
        res.setHeader("connection", "close");
        return reply(res, 503, { message: `portico admission: busy (${MAX_OPEN} reviews open); try again` });
      }
      open++;
      res.once("close", () => open--);
      void handle(o, req, res);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const reload = setInterval(() => {
    try {
      const next = o.pair();
      if (next.certPem === pair.certPem && next.keyPem === pair.keyPem) return;
      server.setSecureContext({ key: next.keyPem, cert: next.certPem });
      pair = next;
      o.log("info", "admission webhook: certificate reloaded");
    } catch (e) {
      // The last good certificate keeps serving; the problem is said, once per attempt.
      o.log("warn", "admission webhook: certificate not reloaded", { error: (e as Error).message });
    }
  }, o.reloadMs ?? 30_000);
  reload.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(reload);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** handle answers one HTTP request. */
async function handle(o: AdmissionServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST")
    return reply(res, 405, { message: "POST an admission.k8s.io/v1 AdmissionReview" });
  let review: { apiVersion?: string; kind?: string; request?: ReviewRequest };
  try {
    review = JSON.parse(await body(req)) as typeof review;
  } catch (e) {
    return reply(res, 400, { message: `not an AdmissionReview: ${(e as Error).message}` });
  }
  const r = review.request;
  if (review.kind !== "AdmissionReview" || !r?.uid)
    return reply(res, 400, { message: "not an AdmissionReview with a request.uid" });
  const view = o.view();
  if (!view)
    return reply(res, 503, { message: "portico admission: this replica has not listed the cluster yet" });
  const obj = withNamespace(r.object ?? undefined, r.namespace);
  const old = withNamespace(r.oldObject ?? undefined, r.namespace);
  const opts = view.memory ? { ...o.translate, tenantsBefore: view.memory } : o.translate;
  let v: Verdict;
  try {
    v = decide(view.set, opts, r.operation ?? "CREATE", obj, old, o.now?.() ?? new Date());
  } catch (e) {
    o.log("error", "admission webhook: decision failed", { error: String(e), uid: r.uid });
    return reply(res, 500, { message: "portico admission: internal error (see the controller's log)" });
  }
  if (!v.allowed)
    o.log("info", "admission webhook: refused", {
      object: obj ? `${obj.kind}/${obj.metadata.namespace ?? ""}/${obj.metadata.name}` : "",
      reasons: v.reasons,
    });
  reply(res, 200, {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid: r.uid,
      allowed: v.allowed,
      ...(v.allowed ? {} : { status: { code: 403, reason: "Forbidden", message: v.message } }),
      ...(v.warnings.length > 0 ? { warnings: v.warnings } : {}),
    },
  });
}

/** withNamespace fills an object's namespace from the request (a namespaced create may omit it). */
function withNamespace(obj: AnyObject | undefined, ns: string | undefined): AnyObject | undefined {
  if (!obj?.metadata || obj.metadata.namespace || !ns) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace: ns } };
}

function reply(res: ServerResponse, code: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** body reads a request body up to MAX_REVIEW. */
function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_REVIEW) {
        reject(new Error(`body over ${MAX_REVIEW} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

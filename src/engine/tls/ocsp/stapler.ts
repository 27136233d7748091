// stapler.ts: keeps a current OCSP response in memory for every served certificate that names a
// responder (Authority Information Access), as HAProxy's `ocsp-update on` does: fetched when the
// certificate is first served, refreshed halfway between thisUpdate and nextUpdate, retried with
// backoff when the responder fails. A response is stapled only while it verified and is current;
// a responder that is down means no staple (the handshake itself is untouched), a metric and a log.
import { channel } from "node:diagnostics_channel";
import { X509Certificate } from "../../node-crypto.ts";
import { nodeHttp, nodeHttps } from "../../lazy-node.ts";
import type { Certificate } from "../../../model/ir.ts";
import type { CompileDeps } from "../../contracts.ts";
import {
  certIdOf,
  checkResponse,
  ocspRequest,
  ocspUrlOf,
  OcspError,
  type CertId,
  type OcspAnswer,
} from "./message.ts";

/** OCSP_CHANNEL carries an OcspEvent per fetch outcome and per certificate no longer served. */
export const OCSP_CHANNEL = "portico:tls.ocsp";
const events = channel(OCSP_CHANNEL);

/** OcspResult is a fetch's outcome: the status stapled, or why nothing new is (a bounded set). */
export type OcspResult =
  | "good"
  | "revoked"
  | "unknown"
  | "unreachable"
  | "http_error"
  | "no_issuer"
  | "removed"
  | "expired"
  | OcspError["reason"];

/** OcspEvent reports a certificate's stapling state after a fetch (or its removal). */
export interface OcspEvent {
  certificate: string;
  result: OcspResult;
  /** stapling: a verified, current response is stapled now. */
  stapling: boolean;
  /** nextUpdate of the stapled response (ms since the epoch), when stapling. */
  nextUpdate?: number;
}

/** Staple returns the response to staple now, or undefined (none, or no longer current). */
export type Staple = () => Buffer | undefined;

/** StapleSource gives compileTls the staple of a certificate that names an OCSP responder. */
export interface StapleSource {
  /** stapleFor starts tracking cert (served as name); undefined: it names no responder. */
  stapleFor(name: string, cert: Certificate): Staple | undefined;
}

/** StaplerOptions tune the schedule (tests shorten it) and where fetches go. */
export interface StaplerOptions {
  log: CompileDeps["log"];
  /** timeoutMs bounds one fetch (default 10 s). */
  timeoutMs?: number;
  /** minRefreshMs is the shortest wait before a refresh (default 10 s): a responder handing out old responses must not be asked in a loop. */
  minRefreshMs?: number;
}

const RETRY_FIRST_MS = 2_000;
const RETRY_MAX_MS = 3600_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
// MAX_TIMER_MS is the longest setTimeout node honours (longer fires at once); a later refresh
// simply runs early and schedules itself again.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** OcspStapler fetches, checks and keeps OCSP responses; one per engine. */
export class OcspStapler implements StapleSource {
  private readonly entries = new Map<string, Entry>();
  /** plain are served certificates that name no responder: not parsed again at every snapshot. */
  private readonly plain = new Set<string>();
  private readonly opts: Required<StaplerOptions>;

  constructor(opts: StaplerOptions) {
    this.opts = { timeoutMs: 10_000, minRefreshMs: 10_000, ...opts };
  }

  stapleFor(name: string, cert: Certificate): Staple | undefined {
    let e = this.entries.get(cert.certPem);
    if (e === undefined) {
      if (this.plain.has(cert.certPem)) return undefined;
      const made = Entry.of(name, cert.certPem, this.opts);
      if (made === undefined) {
        this.plain.add(cert.certPem);
        return undefined;
      }
      e = made;
      this.entries.set(cert.certPem, e);
      e.start();
    }
    const entry = e;
    return () => entry.staple();
  }

  /** retain stops tracking certificates no longer in certs (the snapshot serving now). */
  retain(certs: Record<string, Certificate>): void {
    const keep = new Set(Object.values(certs).map((c) => c.certPem));
    for (const pem of this.plain) if (!keep.has(pem)) this.plain.delete(pem);
    for (const [pem, e] of this.entries)
      if (!keep.has(pem)) {
        e.stop();
        this.entries.delete(pem);
        publish({ certificate: e.name, result: "removed", stapling: false });
      }
  }

  /** close stops every refresh. */
  close(): void {
    for (const e of this.entries.values()) e.stop();
    this.entries.clear();
  }
}

function publish(e: OcspEvent): void {
  if (events.hasSubscribers) events.publish(e);
}

// Entry is one certificate's responder, request and current response.
class Entry {
  private der: Buffer | undefined;
  private answer: OcspAnswer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastProblem = "";
  private stopped = false;

  readonly name: string;
  private readonly url: string;
  private readonly id: CertId | undefined;
  private readonly issuer: X509Certificate | undefined;
  private readonly opts: Required<StaplerOptions>;

  private constructor(
    name: string,
    url: string,
    id: CertId | undefined,
    issuer: X509Certificate | undefined,
    opts: Required<StaplerOptions>,
  ) {
    this.name = name;
    this.url = url;
    this.id = id;
    this.issuer = issuer;
    this.opts = opts;
  }

  // of reads the leaf and its issuer (the chain's next certificate); undefined: no responder named.
  static of(name: string, pem: string, opts: Required<StaplerOptions>): Entry | undefined {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(blocks[0] ?? pem);
    } catch {
      return undefined;
    }
    const url = ocspUrlOf(leaf);
    if (url === undefined || !/^https?:\/\//i.test(url)) return undefined;
    let issuer: X509Certificate | undefined;
    try {
      const next = blocks[1] === undefined ? undefined : new X509Certificate(blocks[1]);
      if (next !== undefined && leaf.checkIssued(next) && leaf.verify(next.publicKey)) issuer = next;
    } catch {
      issuer = undefined;
    }
    return new Entry(name, url, issuer && certIdOf(leaf, issuer), issuer, opts);
  }

  start(): void {
    if (this.id === undefined) {
      this.opts.log(
        "warn",
        "ocsp: certificate names a responder but its chain lacks the issuer; not stapled",
        {
          certificate: this.name,
          responder: safeUrl(this.url),
        },
      );
      publish({ certificate: this.name, result: "no_issuer", stapling: false });
      return;
    }
    void this.fetch();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.expiry);
  }

  staple(): Buffer | undefined {
    return this.answer !== undefined && Date.now() < this.answer.nextUpdate.getTime() ? this.der : undefined;
  }

  private async fetch(): Promise<void> {
    const id = this.id!;
    let result: OcspResult;
    let problem = "";
    try {
      const res = await post(this.url, ocspRequest(id), this.opts.timeoutMs);
      if (res.status !== 200 || res.body === undefined) {
        result = "http_error";
        problem = res.body === undefined ? `response over ${MAX_RESPONSE_BYTES} bytes` : `HTTP ${res.status}`;
      } else {
        const answer = checkResponse(res.body, id, this.issuer!, new Date());
        this.der = res.body;
        this.answer = answer;
        result = answer.status;
      }
    } catch (err) {
      result = err instanceof OcspError ? err.reason : "unreachable";
      problem = err instanceof Error ? err.message : String(err);
    }
    if (this.stopped) return;
    this.settle(result, problem);
  }

  // settle logs a change of state (not every retry), reports it and schedules the next fetch.
  private settle(result: OcspResult, problem: string): void {
    const stapling = this.staple() !== undefined;
    const fields = { certificate: this.name, responder: safeUrl(this.url) };
    if (problem === "") {
      if (this.failures > 0 || this.lastProblem !== "" || this.answer?.status !== "good")
        this.opts.log("info", "ocsp: response fetched", { ...fields, status: result });
      this.failures = 0;
      this.lastProblem = "";
    } else {
      if (problem !== this.lastProblem)
        this.opts.log("warn", "ocsp: fetch failed; retrying", {
          ...fields,
          result,
          error: problem,
          stapling,
        });
      this.failures++;
      this.lastProblem = problem;
    }
    publish({
      certificate: this.name,
      result,
      stapling,
      ...(stapling ? { nextUpdate: this.answer!.nextUpdate.getTime() } : {}),
    });
    const now = Date.now();
    let wait: number;
    if (problem === "") {
      const a = this.answer!;
      const half = a.thisUpdate.getTime() + (a.nextUpdate.getTime() - a.thisUpdate.getTime()) / 2;
      wait = Math.max(this.opts.minRefreshMs, half - now);
    } else {
      const backoff = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(20, this.failures - 1));
      wait = backoff * (1 + Math.random() * 0.25);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fetch(), Math.min(wait, MAX_TIMER_MS));
    this.timer.unref();
    // When a response runs out before a refresh replaced it, say so: it is no longer stapled.
    clearTimeout(this.expiry);
    if (stapling) {
      const left = Math.min(MAX_TIMER_MS, Math.max(0, this.answer!.nextUpdate.getTime() - now));
      this.expiry = setTimeout(() => this.expired(), left);
      this.expiry.unref();
    }
  }

  private expired(): void {
    if (this.stopped || this.staple() !== undefined) return;
    this.opts.log("warn", "ocsp: response past nextUpdate; no longer stapled", {
      certificate: this.name,
      responder: safeUrl(this.url),
    });
    publish({ certificate: this.name, result: "expired", stapling: false });
  }
}

// post sends an OCSP request on a connection of its own, closed after the answer: responders are
// often single-threaded (openssl ocsp serves one connection at a time), so a kept-alive idle
// connection would hold up every other certificate's fetch.
function post(url: string, body: Buffer, timeoutMs: number): Promise<{ status: number; body?: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith("https:") ? nodeHttps().request : nodeHttp().request)(url, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/ocsp-request",
        accept: "application/ocsp-response",
        "content-length": body.length,
        connection: "close",
      },
      timeout: timeoutMs,
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on("data", (d: Buffer) => {
        size += d.length;
        if (size > MAX_RESPONSE_BYTES) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0 });
        } else parts.push(d);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.end(body);
  });
}

// safeUrl drops credentials and the query from a responder URL before it is logged.
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}

// waf.ts: the WAF in the data plane. A route with `waf` (IR WafConfig) gets a WafRoute when its
// phases are compiled (phases.ts): the shared program (waf-program.ts) and the allowlist. Each
// exchange of the route gets a WafRun from the requestHeaders phase, which the fronts (exchange.ts,
// h2-exchange.ts, h2c.ts) call at the transaction's phases: 1 before any backend is chosen, 2 on
// the whole body buffered before the backend attempt, 3 on the backend's response head, 5 when
// the exchange finished (the evidence goes on the access-log event). Routes without a WAF never
// reach this file: the fronts check one field (req.waf).
import { randomBytes } from "../node-crypto.ts";
import { BlockList, isIP } from "node:net";
import type { Header, WafConfig } from "../../model/ir.ts";
import type {
  ConnInfo,
  Interruption,
  PhaseResult,
  RequestHead,
  Transaction,
} from "../../waf/engine/types.ts";
import type { CompileDeps } from "../contracts.ts";
import type { WafEvidence } from "./events.ts";
import type { Answer, PhaseRequest } from "./phases.ts";
import { compilePath, type PathTest } from "./router/match.ts";
import { wafProgram, type WafProgramEntry } from "./waf-program.ts";

/** WAF_BLOCKED_BODY is the body of the WAF's deny answers (the access log says which rule). */
export const WAF_BLOCKED_BODY = "blocked by the web application firewall";
const EMPTY = Buffer.alloc(0);
/** HITS_KEPT bounds the hits an access-log event carries (ruleIds has them all). */
const HITS_KEPT = 16;

/** WafSubject is what the WAF reads of a request's connection and head (each front gives it). */
export interface WafSubject {
  conn: ConnInfo;
  head: RequestHead;
}

/** WafRequest is a request on a WAF route: the phase request, its run and how to read it. */
export interface WafRequest extends PhaseRequest {
  /** wafSubject gives the connection and head as sent (called once, by phase 1). */
  wafSubject(): WafSubject;
}

/** WafRoute is one route's WAF: its config, the shared program and the allowlist. */
export class WafRoute {
  readonly config: WafConfig;
  readonly entry: WafProgramEntry;
  private readonly cidrs: BlockList | undefined;
  private readonly paths: PathTest[];

  private readonly log: CompileDeps["log"];
  private faulted = false;

  constructor(config: WafConfig, log: CompileDeps["log"]) {
    this.config = config;
    this.log = log;
    this.entry = wafProgram(config, log);
    const list = config.allowlist;
    this.paths = (list?.paths ?? []).map(compilePath);
    const cidrs = list?.clientCidrs ?? [];
    if (cidrs.length > 0) {
      const b = new BlockList();
      for (const c of cidrs) {
        const [addr = "", len] = c.split("/");
        const v = isIP(addr);
        if (v === 0) {
          log("warn", "WAF allowlist: not a CIDR, ignored", { policy: config.policy, cidr: c });
          continue;
        }
        const family = v === 4 ? "ipv4" : "ipv6";
        b.addSubnet(addr, len === undefined ? (v === 4 ? 32 : 128) : Number(len), family);
      }
      this.cidrs = b;
    }
  }

  /** allowed says whether the request bypasses inspection (allowlisted client or path). */
  allowed(client: string, path: string): boolean {
    if (this.cidrs !== undefined && client !== "") {
      const a = client.startsWith("::ffff:") && isIP(client.slice(7)) === 4 ? client.slice(7) : client;
      if (this.cidrs.check(a, isIP(a) === 6 ? "ipv6" : "ipv4")) return true;
    }
    if (this.paths.length === 0 || mayLeave(path)) return false;
    for (let i = 0; i < this.paths.length; i++) if (this.paths[i]!(path) >= 0) return true;
    return false;
  }

  /** requestHeaders is the route's first requestHeaders step: phase 1 (or bypass, or failure). */
  requestHeaders(req: PhaseRequest): Answer | undefined {
    const r = req as WafRequest;
    const subject = r.wafSubject();
    if (this.allowed(subject.conn.clientAddress, req.path)) {
      r.waf = new WafRun(this, undefined, "bypass");
      return undefined;
    }
    const program = this.entry.program;
    if (program === undefined) {
      const run = (r.waf = new WafRun(this, undefined, "error"));
      return run.failure();
    }
    let tx: Transaction;
    try {
      tx = program.newTransaction(subject.conn);
    } catch (err) {
      this.fault(err);
      return (r.waf = new WafRun(this, undefined, "error")).failure();
    }
    const run = (r.waf = new WafRun(this, tx, "pass"));
    return run.phase(() => tx.requestHeaders(subject.head));
  }

  /** fault logs the first exception of the rule engine on this route (a bug: the route's
   * failurePolicy decides meanwhile); later ones only count in the evidence. */
  fault(err: unknown): void {
    if (this.faulted) return;
    this.faulted = true;
    this.log("error", "WAF rule engine failed on a request: the route follows its failure policy", {
      policy: this.config.policy,
      failurePolicy: this.config.failurePolicy,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
}

/** WafRun is one exchange's WAF state, from phase 1 to the evidence. */
export class WafRun {
  readonly route: WafRoute;
  /** tx is the transaction; undefined when bypassed, failed, or once inspection stopped. */
  tx: Transaction | undefined;
  private action: WafEvidence["action"];
  private ended: WafEvidence | undefined;
  // inspected is the transaction kept for the evidence after tx was cleared (over budget).
  private readonly inspected: Transaction | undefined;
  private overBudget = false;
  // faulted: the engine threw; its logging() is not trusted either.
  private faulted = false;
  // bodySeen / responseSeen: phase 2 / phase 4 ran (each runs at most once).
  private bodySeen = false;
  private responseSeen = false;

  constructor(route: WafRoute, tx: Transaction | undefined, action: WafEvidence["action"]) {
    this.route = route;
    this.tx = tx;
    this.inspected = tx;
    this.action = action;
  }

  /** phase2Pending: phase 2 is still to run — it always runs (CRS decides there), body or not. */
  get phase2Pending(): boolean {
    return this.tx !== undefined && !this.bodySeen;
  }

  /** wantsRequestBody: buffer the whole request body (up to requestBodyLimit) for phase 2. */
  get wantsRequestBody(): boolean {
    return this.tx !== undefined && !this.bodySeen && this.tx.wantsRequestBody;
  }

  /** requestBodyLimit is how much of the body phase 2 inspects. */
  get requestBodyLimit(): number {
    return this.tx?.requestBodyLimit ?? this.route.config.requestBodyLimitBytes;
  }

  /**
   * requestBody runs phase 2 on the buffered body (size bytes in chunks). Past the limit the
   * engine gets the first requestBodyLimit bytes, truncated: Reject answers 413 there when the
   * rule engine is On (in Detection it is only what would have happened, as in ModSecurity and
   * Coraza), ProcessPartial inspects what it got.
   */
  requestBody(chunks: readonly Buffer[], size: number): Answer | undefined {
    const tx = this.tx;
    if (tx === undefined || this.bodySeen) return undefined;
    this.bodySeen = true;
    // Body access off (or turned off by ctl): the phase runs without the body.
    if (!tx.wantsRequestBody) return this.phase(() => tx.requestBody(EMPTY, false));
    const limit = tx.requestBodyLimit;
    const over = size > limit;
    // No body (a GET): the shared empty buffer, not a new one from concat.
    const all =
      size === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks as Buffer[], size);
    const a = this.phase(() => tx.requestBody(over ? all.subarray(0, limit) : all, over));
    if (over && a?.status === 413 && this.route.config.requestBodyLimitAction === "Reject")
      return {
        status: 413,
        body: "request body too large for inspection",
        error: `WAF request body limit ${limit} bytes`,
      };
    return a;
  }

  /** responseHeaders runs phase 3 on the backend's response head (headers as name/value pairs). */
  responseHeaders(
    status: number,
    protocol: string,
    headers: readonly (readonly [string, string])[],
  ): Answer | undefined {
    const tx = this.tx;
    if (tx === undefined) return undefined;
    return this.phase(() => tx.responseHeaders({ status, protocol, headers }));
  }

  /** wantsResponseBody: hold the response body (text types, up to responseBodyLimit) for phase 4. */
  get wantsResponseBody(): boolean {
    return this.tx !== undefined && !this.responseSeen && this.tx.wantsResponseBody;
  }

  /** responseBodyLimit is how much of the response body phase 4 inspects. */
  get responseBodyLimit(): number {
    return this.tx?.responseBodyLimit ?? this.route.config.responseBodyLimitBytes;
  }

  /** responseBody runs phase 4 on the held response body; past the limit, on its first part. */
  responseBody(chunks: readonly Buffer[], size: number): Answer | undefined {
    const tx = this.tx;
    if (tx === undefined || this.responseSeen) return undefined;
    this.responseSeen = true;
    const limit = tx.responseBodyLimit;
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks as Buffer[], size);
    return this.phase(() => tx.responseBody(size > limit ? all.subarray(0, limit) : all, size > limit));
  }

  /** phase runs one of the transaction's phases; an exception of the engine is a failure. */
  phase(run: () => PhaseResult): Answer | undefined {
    let r: PhaseResult;
    try {
      r = run();
    } catch (err) {
      this.route.fault(err);
      this.faulted = true;
      this.tx = undefined;
      this.action = "error";
      return this.failure();
    }
    return this.result(r);
  }

  /** result turns a phase's result into the answer the front gives, or undefined to go on. */
  result(r: PhaseResult): Answer | undefined {
    const i = r.interruption;
    if (i !== undefined) {
      this.tx = undefined;
      this.action = i.action === "drop" ? "drop" : "block";
      return interruptionAnswer(i);
    }
    if (r.overBudget === true) {
      this.overBudget = true;
      this.tx = undefined;
      this.action = "error";
      return this.failure();
    }
    return undefined;
  }

  /** failure is the failure policy's answer: FailOpen goes on uninspected, FailClosed 503. */
  failure(): Answer | undefined {
    const c = this.route.config;
    if (c.failurePolicy === "FailOpen") return undefined;
    const why = this.overBudget
      ? `WAF budget of ${c.budgetMs} ms spent (policy ${c.policy})`
      : `WAF policy ${c.policy} cannot run`;
    return { status: 503, body: "service unavailable", error: why };
  }

  /** end runs phase 5 once and returns the evidence for the access-log event. */
  end(): WafEvidence {
    if (this.ended !== undefined) return this.ended;
    const policy = this.route.config.policy;
    const t = this.faulted ? undefined : this.inspected;
    if (t === undefined) {
      return (this.ended = {
        policy,
        action: this.action,
        ruleIds: [],
        hits: [],
        inbound: 0,
        outbound: 0,
        elapsedMs: 0,
      });
    }
    let log: ReturnType<Transaction["logging"]>;
    try {
      log = t.logging();
    } catch (err) {
      this.route.fault(err);
      return (this.ended = {
        policy,
        action: "error",
        ruleIds: [],
        hits: [],
        inbound: 0,
        outbound: 0,
        elapsedMs: 0,
      });
    }
    let action = this.action;
    if (action === "pass" && log.wouldBlock !== undefined) action = "detect";
    const ev: WafEvidence = {
      policy,
      action,
      ruleIds: log.hits.map((h) => h.ruleId),
      hits: log.hits.length > HITS_KEPT ? log.hits.slice(0, HITS_KEPT) : log.hits,
      inbound: log.inbound,
      outbound: log.outbound,
      elapsedMs: log.elapsedMs,
    };
    if (log.interruption !== undefined) ev.blockedBy = log.interruption.ruleId;
    if (log.wouldBlock !== undefined) ev.wouldBlock = log.wouldBlock.ruleId;
    if (this.overBudget || log.overBudget === true) ev.overBudget = true;
    return (this.ended = ev);
  }
}

// mayLeave says whether a backend may resolve path to another one than it reads: a dot segment,
// plain or percent-encoded, or with a path parameter (Tomcat reads "/..;/" as "/../"). Such a
// path is never allowlisted: "/health/../admin" must not bypass inspection on a /health prefix.
function mayLeave(path: string): boolean {
  let p = path;
  if (p.includes("%")) {
    try {
      p = decodeURIComponent(p);
    } catch {
      // Malformed escapes: decode the dots alone.
      p = p.replace(/%2e/gi, ".");
    }
  }
  if (!p.includes(".")) return false;
  // A backslash separates segments to some backends (IIS), encoded or, over HTTP/2, plain.
  for (const seg of p.split(/[/\\]/)) {
    const s = seg.includes(";") ? seg.slice(0, seg.indexOf(";")) : seg;
    if (s === "." || s === "..") return true;
  }
  return false;
}

// interruptionAnswer is the WAF's own answer for a disruptive action.
function interruptionAnswer(i: Interruption): Answer {
  const error = `blocked by WAF rule ${i.ruleId}`;
  if (i.action === "redirect" && i.url !== undefined) {
    // The target may expand request data (%{ARGS.next}): control characters are percent-encoded,
    // or a CR LF would split the HTTP/1.1 response and make HTTP/2's respond() throw.
    let url = "";
    for (let k = 0; k < i.url.length; k++) {
      const c = i.url.charCodeAt(k);
      url += c < 0x20 || c === 0x7f ? "%" + c.toString(16).toUpperCase().padStart(2, "0") : i.url[k];
    }
    const headers: Header[] = [{ name: "Location", value: url }];
    return {
      status: i.status >= 300 && i.status < 400 ? i.status : 302,
      body: `redirecting to ${url}`,
      headers,
      error,
    };
  }
  const status = i.status >= 400 && i.status < 600 ? i.status : 403;
  return { status, body: WAF_BLOCKED_BODY, error, drop: i.action === "drop" ? true : undefined };
}

// ids make UNIQUE_ID: a process prefix and a counter (no request id exists elsewhere yet).
const ID_PREFIX = randomBytes(4).toString("hex");
let idSeq = 0;

/** ConnSocket is what wafConn reads of a client connection's socket. */
export interface ConnSocket {
  remotePort?: number | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
}

/** wafConn is a transaction's connection facts (REMOTE_ADDR, SERVER_PORT, UNIQUE_ID, TIME). */
export function wafConn(socket: ConnSocket | undefined, clientIp: string): ConnInfo {
  return {
    id: `${ID_PREFIX}-${(++idSeq).toString(36)}`,
    clientAddress: clientIp,
    clientPort: socket?.remotePort ?? 0,
    serverAddress: socket?.localAddress ?? "",
    serverPort: socket?.localPort ?? 0,
    now: Date.now(),
  };
}

/** fieldPairs turns HTTP/2 header fields into name/value pairs, pseudo-headers left out. */
export function fieldPairs(h: Record<string, string | string[] | number | undefined>): [string, string][] {
  const out: [string, string][] = [];
  for (const k in h) {
    const v = h[k];
    if (k.charCodeAt(0) === 58 /* : */ || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, String(v)]);
  }
  return out;
}

/** headerPairs turns a flat [name, value, ...] list into the pairs the engine reads. */
export function headerPairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

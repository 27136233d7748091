// transaction.ts: one exchange through the compiled program, phase by phase (ModSecurity v3 /
// Coraza semantics). Each phase fills its variables (fill.ts) and runs its rules in file order,
// honouring skip/skipAfter, runtime ctl removals, allow scopes and the time budget; a matching
// rule's disruptive action interrupts (SecRuleEngine On) or is recorded as wouldBlock
// (DetectionOnly). Phase 5 runs once, from logging(), whatever happened before.
import type { XmlNode } from "../body/types.ts";
import type { BodyProcessorName } from "../body/types.ts";
import type { Ctl, IdRange, Phase } from "../lang/model.ts";
import { inRanges } from "./edits.ts";
import { Evaluator } from "./evaluate.ts";
import {
  bodyError,
  fillBodyResult,
  fillConnection,
  fillRequestHead,
  fillResponseHead,
  header,
} from "./fill.ts";
import type { Compiled, CompiledRule, TargetRemoval } from "./program.ts";
import type {
  ConnInfo,
  Interruption,
  PhaseResult,
  RequestHead,
  ResponseHead,
  Transaction,
  WafHit,
  WafLog,
} from "./types.ts";
import { Vars } from "./vars.ts";

const PROCESSORS = new Set(["URLENCODED", "MULTIPART", "JSON", "XML"]);

/** Tx is the Transaction implementation. */
export class Tx implements Transaction {
  readonly program: Compiled;
  readonly vars: Vars;
  readonly hits: WafHit[] = [];
  mode: "On" | "DetectionOnly" | "Off";
  interruption: Interruption | undefined;
  wouldBlock: Interruption | undefined;
  overBudget = false;
  spentMs = 0;
  /** done is the last phase run (0: none). */
  private done = 0;
  private requestBodyAccess: boolean;
  private reqLimit: number;
  private responseBodyAccess: boolean;
  private resLimit: number;
  private mime = "";
  private contentType: string | undefined;
  private full = "";
  xml: XmlNode | undefined;
  /** allow: the scope of an `allow` that took effect. */
  allow: "all" | "request" | undefined;
  /** runtime ctl removals (ruleRemoveById/ByTag/ByMsg, ruleRemoveTarget*). */
  removedIds: IdRange[] = [];
  removedTags = new Set<string>();
  removedMsgs = new Set<string>();
  targetRemovals: TargetRemoval[] = [];
  private forceBody = false;
  private phaseStart = 0;
  private readonly eval: Evaluator;

  constructor(program: Compiled, conn: ConnInfo) {
    this.program = program;
    const s = program.settings;
    this.mode = s.ruleEngine;
    this.requestBodyAccess = s.requestBodyAccess;
    this.reqLimit = s.requestBodyLimit;
    this.responseBodyAccess = s.responseBodyAccess;
    this.resLimit = s.responseBodyLimit;
    this.vars = new Vars(conn);
    fillConnection(this.vars, conn);
    this.eval = new Evaluator(this);
  }

  get wantsRequestBody(): boolean {
    return this.requestBodyAccess && this.mode !== "Off";
  }
  get requestBodyLimit(): number {
    return this.reqLimit;
  }
  get wantsResponseBody(): boolean {
    return (
      this.responseBodyAccess &&
      this.mode !== "Off" &&
      this.program.settings.responseBodyMimeTypes.includes(this.mime)
    );
  }
  get responseBodyLimit(): number {
    return this.resLimit;
  }

  requestHeaders(head: RequestHead): PhaseResult {
    this.phaseStart = performance.now();
    this.order(1);
    this.contentType = header(head.headers, "content-type");
    this.full = fillRequestHead(this.vars, head, this.program.body, this.program.settings.argumentsLimit);
    return this.phase(1);
  }

  requestBody(body: Buffer, truncated: boolean): PhaseResult {
    this.phaseStart = performance.now();
    this.order(2);
    if (this.interruption) return this.result();
    if (this.wantsRequestBody) this.readRequestBody(body, truncated);
    return this.phase(2);
  }

  responseHeaders(head: ResponseHead): PhaseResult {
    if (this.done < 2) this.requestBody(Buffer.alloc(0), false);
    this.phaseStart = performance.now();
    this.order(3);
    this.mime = fillResponseHead(this.vars, head);
    return this.phase(3);
  }

  responseBody(body: Buffer, truncated: boolean): PhaseResult {
    this.phaseStart = performance.now();
    this.order(4);
    if (this.interruption) return this.result();
    if (this.wantsResponseBody) {
      this.vars.setScalar("RESPONSE_BODY", body.toString("latin1"));
      if (truncated) {
        this.vars.setScalar("OUTBOUND_DATA_ERROR", "1");
        // ModSecurity answers 500 when a response over the limit must be rejected.
        if (this.program.settings.responseBodyLimitAction === "Reject")
          this.interrupt({ ruleId: 0, action: "deny", status: 500 }, 4);
      }
    }
    return this.phase(4);
  }

  logging(): WafLog {
    if (this.done < 5) {
      this.done = 5;
      this.phaseStart = performance.now();
      this.phase(5);
      this.eval.release();
    }
    const score = (k: string) => {
      const n = Number(this.vars.txValue(k) ?? 0);
      return Number.isFinite(n) ? n : 0;
    };
    const log: WafLog = {
      hits: this.hits,
      inbound: score("blocking_inbound_anomaly_score"),
      outbound: score("blocking_outbound_anomaly_score"),
      elapsedMs: this.spentMs,
    };
    if (this.interruption) log.interruption = this.interruption;
    if (this.wouldBlock) log.wouldBlock = this.wouldBlock;
    if (this.overBudget) log.overBudget = true;
    return log;
  }

  /** interrupt applies a disruptive action: it takes effect (On) or is recorded (DetectionOnly). */
  interrupt(it: Interruption, phase: Phase): boolean {
    if (phase === 5 || this.mode === "Off") return false;
    if (this.mode === "On") this.interruption ??= it;
    else this.wouldBlock ??= it;
    return true;
  }

  /** removed says whether a runtime ctl removed the rule from this transaction. */
  removed(r: CompiledRule): boolean {
    if (this.removedIds.length && inRanges(r.id, this.removedIds)) return true;
    if (this.removedTags.size && r.tags.some((t) => this.removedTags.has(t))) return true;
    return this.removedMsgs.size > 0 && r.msg !== undefined && this.removedMsgs.has(r.msg.raw);
  }

  /** overTime checks the budget between rules. */
  overTime(): boolean {
    const budget = this.program.budgetMs;
    if (budget <= 0) return false;
    if (this.spentMs + (performance.now() - this.phaseStart) <= budget) return false;
    this.overBudget = true;
    return true;
  }

  /** ctl applies a ctl action to this transaction. */
  ctl(c: Ctl, remove: TargetRemoval | undefined): void {
    if (remove) {
      this.targetRemovals.push(remove);
      return;
    }
    switch (c.option) {
      case "ruleRemoveById":
        if ("ids" in c) this.removedIds.push(...c.ids);
        return;
      case "ruleRemoveByTag":
        if ("value" in c) this.removedTags.add(String(c.value));
        return;
      case "ruleRemoveByMsg":
        if ("value" in c) this.removedMsgs.add(String(c.value));
        return;
      case "ruleEngine":
        if ("value" in c) this.mode = c.value as Tx["mode"];
        return;
      case "requestBodyAccess":
        if ("value" in c) this.requestBodyAccess = c.value === true;
        return;
      case "requestBodyLimit":
        if ("value" in c) this.reqLimit = Number(c.value);
        return;
      case "responseBodyAccess":
        if ("value" in c) this.responseBodyAccess = c.value === true;
        return;
      case "responseBodyLimit":
        if ("value" in c) this.resLimit = Number(c.value);
        return;
      case "requestBodyProcessor":
        if ("value" in c) this.vars.setScalar("REQBODY_PROCESSOR", String(c.value));
        return;
    }
    if (c.option === "forceRequestBodyVariable" && "value" in c) this.forceBody = c.value === true;
    // The audit, debug, hash, parseXmlIntoArgs and responseBodyProcessor options have nothing to
    // act on in Portico (REQUEST_BODY is always filled when the body is read).
  }

  private order(phase: number): void {
    if (this.done >= phase) throw new Error(`waf transaction: phase ${phase} called twice or out of order`);
    if (phase === 2 && this.done < 1) throw new Error("waf transaction: requestHeaders must come first");
    if (phase === 4 && this.done < 3)
      throw new Error("waf transaction: responseHeaders must come before responseBody");
    this.done = phase;
  }

  private readRequestBody(body: Buffer, truncated: boolean): void {
    const s = this.program.settings;
    let processor = this.vars.scalar("REQBODY_PROCESSOR");
    // Coraza: a body no processor claims is read as URLENCODED once forceRequestBodyVariable is on.
    if (!processor && this.forceBody) {
      processor = "URLENCODED";
      this.vars.setScalar("REQBODY_PROCESSOR", processor);
    }
    let text = body.toString("latin1");
    const overNoFiles = processor !== "MULTIPART" && text.length > s.requestBodyNoFilesLimit;
    if (truncated || overNoFiles) {
      this.vars.setScalar("INBOUND_DATA_ERROR", "1");
      // Reject answers 413 (ModSecurity, Coraza); ProcessPartial inspects what fits.
      if (s.requestBodyLimitAction === "Reject")
        this.interrupt({ ruleId: 0, action: "deny", status: 413 }, 2);
      if (overNoFiles) text = text.slice(0, s.requestBodyNoFilesLimit);
    }
    // Coraza: REQUEST_BODY holds urlencoded (or unparsed) bodies only; JSON, XML and multipart
    // bodies are inspected through what their processor found (CRS tests expect no REQUEST_BODY
    // hit on an XML body).
    if (!processor || processor === "URLENCODED" || processor === "RAW")
      this.vars.setScalar("REQUEST_BODY", text);
    this.vars.setScalar("REQUEST_BODY_LENGTH", String(body.length));
    this.vars.setScalar("FULL_REQUEST", this.full + text);
    this.vars.setScalar("FULL_REQUEST_LENGTH", String(this.full.length + text.length));
    if (!processor || !PROCESSORS.has(processor)) return;
    const argsRoom = s.argumentsLimit - this.vars.members("ARGS_GET").length;
    try {
      const r = this.program.body.parseBody(processor as BodyProcessorName, text, this.contentType, {
        maxArgs: Math.max(0, argsRoom),
        maxDepth: s.jsonDepthLimit,
        fileContentBytes: this.reqLimit,
      });
      this.xml = fillBodyResult(this.vars, r, argsRoom);
    } catch (err) {
      bodyError(this.vars, `${processor} body processor: ${(err as Error).message}`);
    }
  }

  /** phase runs a phase's rules; phaseStart was set when the phase's method was called, so the
   * budget and elapsedMs count the parsing of the phase's input too. */
  private phase(phase: Phase): PhaseResult {
    const items = this.program.phases[phase] ?? [];
    try {
      if (
        items.length > 0 &&
        this.mode !== "Off" &&
        !this.overBudget &&
        (!this.interruption || phase === 5) &&
        this.allow !== "all" &&
        !(this.allow === "request" && phase <= 2)
      )
        this.eval.runPhase(phase, items);
    } finally {
      this.spentMs += performance.now() - this.phaseStart;
    }
    return this.result();
  }

  private result(): PhaseResult {
    const r: PhaseResult = {};
    if (this.interruption) r.interruption = this.interruption;
    if (this.overBudget) r.overBudget = true;
    return r;
  }
}

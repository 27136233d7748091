// log.ts: reads Portico's access log (one JSON line per exchange) and finds a stage's lines
// between its two marker requests, as go-ftw's waflog does with its X-CRS-Test markers: the lines
// after the last start marker and before the first end marker. The evidence is `waf.ruleIds`
// (WafEvidence, src/engine/l7/events.ts); match_regex is tried on each line and on each hit
// rendered the way ModSecurity's error log writes it, which is what the corpus's regexes expect.
import type { Readable } from "node:stream";

/** MARKER_PREFIX is the path prefix of marker requests; the corpus policy allowlists it. */
export const MARKER_PREFIX = "/__ftw/marker/";

/** WafHitLine is the part of a logged WafHit the checks read. */
export interface WafHitLine {
  ruleId: number;
  msg?: string;
  data?: string;
  variable?: string;
  value?: string;
  severity?: number;
  tags?: string[];
}

/** AccessLine is one parsed access-log line. */
export interface AccessLine {
  path: string;
  status: number;
  waf?: { action?: string; ruleIds?: number[]; hits?: WafHitLine[] };
  /** text is the line as written. */
  text: string;
}

/** parseLine reads one access-log line, or undefined for anything else (engine log lines). */
export function parseLine(text: string): AccessLine | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    if (typeof j.path !== "string" || typeof j.status !== "number") return undefined;
    return { path: j.path, status: j.status, waf: j.waf as AccessLine["waf"], text };
  } catch {
    return undefined;
  }
}

/** between returns the lines after the last `start` marker line before the first `end` marker
 * after it, or undefined when either marker is missing. */
export function between(lines: readonly AccessLine[], start: string, end: string): AccessLine[] | undefined {
  const e = lines.findIndex((l) => l.path === end);
  if (e < 0) return undefined;
  let s = -1;
  for (let i = e - 1; i >= 0; i--)
    if (lines[i]!.path === start) {
      s = i;
      break;
    }
  if (s < 0) return undefined;
  // Repeated markers (a retried marker request) are not the stage's.
  return lines.slice(s + 1, e).filter((l) => !l.path.startsWith(MARKER_PREFIX));
}

/** ruleIds is the sorted set of rule ids the lines logged (go-ftw's TriggeredRules). */
export function ruleIds(lines: readonly AccessLine[]): number[] {
  const set = new Set<number>();
  for (const l of lines) for (const id of l.waf?.ruleIds ?? []) set.add(id);
  return [...set].sort((a, b) => a - b);
}

/** modsecText renders a hit as a ModSecurity error-log line (`[id "942100"] [msg "..."] ...`). */
export function modsecText(h: WafHitLine): string {
  const parts = [`Warning. ${h.data ?? ""}`, `[id "${h.ruleId}"]`];
  if (h.msg !== undefined) parts.push(`[msg "${h.msg}"]`);
  if (h.data !== undefined) parts.push(`[data "${h.data}"]`);
  if (h.severity !== undefined) parts.push(`[severity "${h.severity}"]`);
  for (const t of h.tags ?? []) parts.push(`[tag "${t}"]`);
  return parts.join(" ");
}

/** logTexts are the strings match_regex / no_match_regex are tried on. */
export function logTexts(lines: readonly AccessLine[]): string[] {
  return lines.flatMap((l) => [l.text, ...(l.waf?.hits ?? []).map(modsecText)]);
}

/** AccessLog collects the access-log lines a stream writes and lets callers wait for a path. */
export class AccessLog {
  readonly lines: AccessLine[] = [];
  /** other keeps the stream's non-access lines (the engine's own log), for failure reports. */
  readonly other: string[] = [];
  private partial = "";
  private waiters: (() => void)[] = [];

  /** AccessLog.follow reads stream (the Portico child's stdout) until it ends. */
  follow(stream: Readable): void {
    stream.on("data", (d: Buffer) => this.push(d.toString("utf8")));
  }

  /** push adds text as the stream wrote it (possibly a partial line). */
  push(text: string): void {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop()!;
    for (const p of parts) {
      const l = parseLine(p);
      if (l) this.lines.push(l);
      else if (p) this.other.push(p);
    }
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** waitFor resolves true once a line with path arrived, false after ms. */
  async waitFor(path: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.lines.some((l) => l.path === path)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  /** forget drops lines already read (a long run keeps memory flat). */
  forget(): void {
    this.lines.length = 0;
  }
}

// testing.ts: TEST-ONLY. RecordingAnnouncer records the calls an engine port makes and reports the
// status a test sets; it announces nothing. Production code never uses it: the engine's announcer
// is KernelAnnouncer (announcer.ts).
import type { AnnounceStatus, Announcer } from "./types.ts";
import type { Announcement } from "../model/ir.ts";

/** RecordingAnnouncer (test-only) lists each call as "prepare:V1,V2" / "commit:..." / "withdrawAll" / "close". */
export class RecordingAnnouncer implements Announcer {
  readonly calls: string[] = [];
  #status: AnnounceStatus = { vips: [], peers: [] };
  #listeners: (() => void)[] = [];

  async prepare(next: Announcement | undefined): Promise<void> {
    this.calls.push(`prepare:${names(next)}`);
  }
  async commit(next: Announcement | undefined): Promise<void> {
    this.calls.push(`commit:${names(next)}`);
  }
  async withdrawAll(): Promise<void> {
    this.calls.push("withdrawAll");
  }
  async releaseL2(): Promise<void> {
    this.calls.push("releaseL2");
  }

  status(): AnnounceStatus {
    return this.#status;
  }
  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }
  async close(): Promise<void> {
    this.calls.push("close");
  }
  /** report sets the status and tells the listeners, as a real announcer does on a change. */
  report(s: AnnounceStatus): void {
    this.#status = s;
    for (const fn of this.#listeners) fn();
  }
}

function names(a: Announcement | undefined): string {
  return a ? a.vips.map((v) => v.address).join(",") : "none";
}

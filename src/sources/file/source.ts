// source.ts: the standalone source. Reads directories of manifests into a ResourceSet, watches
// them, and emits a new set after each burst of changes (hold-off with a maximum, as Contour's
// handler does). A file that turns invalid keeps its last good version in force until fixed.
// docs/reloads.md explains watching, the stability hold-off, removal confirmation and the limits.
import { stat } from "node:fs/promises";
import { emptyResourceSet, type ResourceSet, type SourceError } from "../../k8s/resource-set.ts";
import { assemble, nextState, type FileState } from "./assemble.ts";
import { FirstSeen, type FirstSeenStore } from "./first-seen.ts";
import { Generations } from "./generation.ts";
import { formatError, parseManifests } from "./parse.ts";
import { DEFAULT_MAX_FILE_BYTES, listRoots, scanRoots, tooBig } from "./scan.ts";
import { readStable, type Observed } from "./read.ts";
import { DirWatcher } from "./watch.ts";
import { parseIsolated } from "./isolate.ts";
import { overLimit, removesObjects, DEFAULT_MAX_OBJECTS } from "./guard.ts";

/** Log writes one structured line (the same shape as the engine's logger). */
export type Log = (
  level: "debug" | "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** Timing tunes the debounce, the stability hold-off, removal confirmation and the rescan; tests shorten them. */
export interface Timing {
  /** holdOffMs waits this long after the last event before rebuilding. Default 100. */
  holdOffMs?: number;
  /** maxDelayMs caps the wait after the first event of a burst. Default 1000. */
  maxDelayMs?: number;
  /** settleMs: a file is read once its last write is this old (size and mtime unchanged). Default 100. */
  settleMs?: number;
  /** confirmMs: a change that removes objects waits this long for a second, agreeing read. Default 2000. */
  confirmMs?: number;
  /** rescanMs re-reads and re-hashes every file this often, whatever the watcher said (0: never). Default 5000. */
  rescanMs?: number;
}

/** Limits refuse inputs too big to read safely; both name the file or directory refused. */
export interface Limits {
  /** maxFileBytes refuses a bigger file by its size, unread. Default 64 MiB. */
  maxFileBytes?: number;
  /** maxObjects refuses a root directory holding more objects. Default 50,000. */
  maxObjects?: number;
}

/** FileSourceError is thrown by start() when a root cannot be watched; code is stable. */
export class FileSourceError extends Error {
  readonly code = "PORTICO_FILE_SOURCE_ROOT";
  override name = "FileSourceError";
}

/** loadDirs reads dirs once (for `portico validate` and `portico translate`); missing dirs are errors. */
export async function loadDirs(
  dirs: readonly string[],
  limits: Limits = {},
  firstSeen?: Record<string, string>,
): Promise<ResourceSet> {
  const scan = await scanRoots(dirs, limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  const files = new Map<string, FileState>();
  for (const [path, { text, hash }] of scan.files)
    files.set(path, nextState(undefined, hash, parseManifests(path, text)));
  const refused = overLimit(dirs, files, limits.maxObjects ?? DEFAULT_MAX_OBJECTS);
  for (const path of refused.paths) files.delete(path);
  // The saved first-seen times (read-only here: nothing is saved back) age objects as the running
  // Portico does, so both pick the same winner of a hostname conflict.
  const generations = firstSeen
    ? new Generations(new FirstSeen({ loadFirstSeen: () => firstSeen, saveFirstSeen: () => {} }))
    : undefined;
  return assemble(files, [...scan.errors, ...refused.errors], generations);
}

/** Pending is a read that would remove objects, held until a later read agrees with it. */
interface Pending {
  hash: string;
  since: number;
}

/** FileSource watches directories of manifests and emits a ResourceSet after each change. */
export class FileSource {
  #dirs: readonly string[];
  #log: Log;
  #onChange: (set: ResourceSet) => void;
  #timing: Required<Timing>;
  #limits: Required<Limits>;
  #files = new Map<string, FileState>();
  #generations: Generations;
  #seen = new Map<string, Observed>();
  #pending = new Map<string, Pending>();
  #errorsKey = "";
  #current: ResourceSet = emptyResourceSet();
  #watcher: DirWatcher;
  #timer: NodeJS.Timeout | undefined;
  #retry: { at: number; timer: NodeJS.Timeout } | undefined;
  #rescan: NodeJS.Timeout | undefined;
  #burstStart: number | undefined;
  #deferredSince: number | undefined;
  #queue: Promise<void> = Promise.resolve();
  #emitted = false;
  #firstEmit: { promise: Promise<void>; resolve: () => void } = Promise.withResolvers<void>();
  #closed = false;

  /**
   * constructor takes dirs (directories, or single files, of manifests; paths in messages keep
   * their spelling) and onChange, which receives every new set, the first one included. With
   * firstSeen, objects without a creationTimestamp get the time first seen (first-seen.ts).
   */
  constructor(
    dirs: readonly string[],
    log: Log,
    onChange: (set: ResourceSet) => void,
    timing: Timing = {},
    limits: Limits = {},
    firstSeen?: FirstSeenStore,
  ) {
    this.#generations = new Generations(firstSeen ? new FirstSeen(firstSeen) : undefined);
    this.#dirs = [...dirs];
    this.#log = log;
    this.#onChange = onChange;
    this.#timing = {
      holdOffMs: timing.holdOffMs ?? 100,
      maxDelayMs: timing.maxDelayMs ?? 1000,
      settleMs: timing.settleMs ?? 100,
      confirmMs: timing.confirmMs ?? 2000,
      rescanMs: timing.rescanMs ?? 5000,
    };
    this.#limits = {
      maxFileBytes: limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      maxObjects: limits.maxObjects ?? DEFAULT_MAX_OBJECTS,
    };
    this.#watcher = new DirWatcher(() => this.#schedule(), log);
  }

  /** inputBytes is the total size of the files last read (to tell a large input from a small one). */
  inputBytes(): number {
    let n = 0;
    for (const o of this.#seen.values()) n += o.size;
    return n;
  }

  /** current returns the last set emitted (empty before start). */
  current(): ResourceSet {
    return this.#current;
  }

  /** start checks the roots, watches them, loads them, emits the first set and returns it. */
  async start(): Promise<ResourceSet> {
    for (const dir of this.#dirs) {
      const info = await stat(dir).catch(() => undefined);
      if (!info) throw new FileSourceError(`${dir}: not found; create the directory or pass the right path`);
    }
    // Watch before the first read, so a write landing during the read still triggers a rebuild.
    this.#watcher.sync((await listRoots(this.#dirs)).dirs);
    if (this.#timing.rescanMs > 0) {
      this.#rescan = setInterval(() => void this.#enqueue(true), this.#timing.rescanMs);
      this.#rescan.unref();
    }
    void this.#enqueue(false);
    await this.#firstEmit.promise;
    return this.#current;
  }

  /** close stops watching and waits for a rebuild in progress; no onChange follows. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retry?.timer);
    clearInterval(this.#rescan);
    this.#watcher.close();
    this.#firstEmit.resolve();
    await this.#queue;
  }

  /** #schedule restarts the hold-off timer, never past maxDelayMs after the burst began. */
  #schedule(): void {
    if (this.#closed) return;
    const now = Date.now();
    this.#burstStart ??= now;
    const deadline = this.#burstStart + this.#timing.maxDelayMs;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#burstStart = undefined;
        void this.#enqueue(false);
      },
      Math.max(0, Math.min(this.#timing.holdOffMs, deadline - now)),
    );
  }

  /** #retryIn runs a rebuild after ms (a file not yet stable, a removal awaiting confirmation). */
  #retryIn(ms: number): void {
    if (this.#closed) return;
    const at = Date.now() + ms;
    if (this.#retry && this.#retry.at <= at) return;
    clearTimeout(this.#retry?.timer);
    const timer = setTimeout(() => {
      this.#retry = undefined;
      void this.#enqueue(false);
    }, ms);
    this.#retry = { at, timer };
  }

  /** #enqueue runs rebuilds one at a time, in order; full re-reads every file, ignoring stat. */
  #enqueue(full: boolean): Promise<void> {
    this.#queue = this.#queue
      .then(() => this.#rebuild(full))
      .catch((e: unknown) => {
        this.#log("error", "file source: rebuild failed; keeping the previous set", {
          error: String(e),
        });
        this.#retryIn(1000); // a passing fault (EMFILE, a directory swapped mid-walk) is retried
      });
    return this.#queue;
  }

  /**
   * #rebuild lists the roots, re-syncs the watchers, reads what changed and emits a new set unless
   * nothing did. A file still being written defers the whole rebuild (up to maxDelayMs), so one save
   * of several files lands as one set; a read that removes objects is held until confirmed.
   */
  async #rebuild(full: boolean): Promise<void> {
    if (this.#closed) return;
    const { settleMs, maxDelayMs } = this.#timing;
    const listing = await listRoots(this.#dirs);
    this.#watcher.sync(listing.dirs);
    const files = new Map<string, FileState>();
    const seen = new Map<string, Observed>();
    const pending = new Map<string, Pending>();
    const errors: SourceError[] = [...listing.errors];
    let retryMs = Infinity;
    let unstable = false;
    for (const path of listing.paths) {
      const old = this.#files.get(path);
      const held = this.#pending.get(path);
      const prev = full || held || !old ? undefined : this.#seen.get(path);
      const r = await readStable(path, {
        settleMs,
        maxBytes: this.#limits.maxFileBytes,
        now: Date.now(),
        prev,
      });
      if (r.kind === "unchanged") {
        files.set(path, old!); // prev is only given when there is an old state
        seen.set(path, r.seen);
        continue;
      }
      if (r.kind === "unstable") {
        unstable = true;
        retryMs = Math.min(retryMs, r.retryMs);
        if (old) files.set(path, old);
        if (held) pending.set(path, held);
        continue;
      }
      if (r.kind === "gone") continue; // deleted between listing and reading: as if not listed
      if (r.kind === "tooBig" || r.kind === "error") {
        errors.push(
          r.kind === "tooBig"
            ? tooBig(path, r.size, this.#limits.maxFileBytes)
            : { file: path, line: 0, object: "", message: r.message },
        );
        if (old) files.set(path, old); // the last version read keeps serving
        continue;
      }
      if (old && old.hash === r.hash) {
        files.set(path, old);
        seen.set(path, r.seen);
        continue;
      }
      const next = nextState(old, r.hash, await parseIsolated(path, r.bytes));
      const wait = this.#confirm(path, old, next, held, r.hash);
      if (wait > 0) {
        pending.set(path, held?.hash === r.hash ? held : { hash: r.hash, since: Date.now() });
        retryMs = Math.min(retryMs, wait);
        files.set(path, old!); // removesObjects implies an old state
        continue;
      }
      files.set(path, next);
      seen.set(path, r.seen);
    }
    // A file gone (from the listing, or between listing and reading) removes its objects only
    // once a second look agrees; "" is the hash of a missing file.
    for (const [path, old] of this.#files) {
      if (files.has(path)) continue;
      const held = this.#pending.get(path);
      const wait = this.#confirm(path, old, undefined, held, "");
      if (wait > 0) {
        pending.set(path, held?.hash === "" ? held : { hash: "", since: Date.now() });
        retryMs = Math.min(retryMs, wait);
        files.set(path, old);
      }
    }
    const refused = overLimit(this.#dirs, files, this.#limits.maxObjects);
    for (const path of refused.paths) {
      const old = this.#files.get(path);
      if (old) files.set(path, old);
      else files.delete(path);
      seen.delete(path); // read it again once the directory is back under the limit
    }
    errors.push(...refused.errors);
    if (this.#closed) return;
    if (retryMs < Infinity) this.#retryIn(retryMs);
    this.#pending = pending;
    // A file still being written holds back the whole set (one save of many files lands as one),
    // unless that has gone on for maxDelayMs: a file rewritten without pause must not stall the rest.
    const now = Date.now();
    if (unstable && now - (this.#deferredSince ??= now) < maxDelayMs) {
      this.#log("debug", "file source: waiting for files to settle", { retryMs });
      return;
    }
    this.#deferredSince = undefined;
    const errorsKey = JSON.stringify(errors);
    const changed =
      files.size !== this.#files.size || [...files].some(([path, s]) => this.#files.get(path) !== s);
    this.#seen = seen;
    if (this.#emitted && !changed && errorsKey === this.#errorsKey) {
      this.#log("debug", "file source: event changed nothing");
      return;
    }
    this.#files = files;
    this.#errorsKey = errorsKey;
    this.#emit(assemble(files, errors, this.#generations));
  }

  /**
   * #confirm answers how long a read must wait before it takes effect: 0 unless it removes objects
   * from the version in force; then until a read of the same bytes (hash; "" for a missing file)
   * comes confirmMs after the first. A half-written file that happens to parse is so never served.
   */
  #confirm(
    path: string,
    old: FileState | undefined,
    next: FileState | undefined,
    held: Pending | undefined,
    hash: string,
  ): number {
    if (!old || !removesObjects(old, next)) return 0;
    const since = held?.hash === hash ? held.since : Date.now();
    const wait = since + this.#timing.confirmMs - Date.now();
    if (wait > 0)
      this.#log("debug", "file source: change removes objects; waiting for a second read", { file: path });
    return Math.max(0, wait);
  }

  /** #emit publishes set as current and hands it to onChange. */
  #emit(set: ResourceSet): void {
    this.#current = set;
    this.#emitted = true;
    this.#firstEmit.resolve();
    this.#log("info", "file source: loaded", {
      files: this.#files.size,
      objects: set.origins.size,
      errors: set.errors.length,
    });
    for (const e of set.errors) this.#log("warn", formatError(e));
    try {
      this.#onChange(set);
    } catch (e) {
      this.#log("error", "file source: onChange threw", { error: String(e) });
    }
  }
}

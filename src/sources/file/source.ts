// source.ts: the standalone source. Reads directories of manifests into a ResourceSet, watches
// them, and emits a new set after each burst of changes (hold-off with a maximum, as Contour's
// handler does). A file that turns invalid keeps its last good version in force until fixed.
import { watch, type FSWatcher } from "node:fs";
import { stat } from "node:fs/promises";
import { emptyResourceSet, type ResourceSet } from "../../k8s/resource-set.ts";
import { assemble, nextState, type FileState } from "./assemble.ts";
import { FirstSeen, type FirstSeenStore } from "./first-seen.ts";
import { Generations } from "./generation.ts";
import { formatError, parseManifests } from "./parse.ts";
import { scanRoots } from "./scan.ts";

/** Log writes one structured line (the same shape as the engine's logger). */
export type Log = (
  level: "debug" | "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** Timing tunes the debounce; tests shorten it. */
export interface Timing {
  /** holdOffMs waits this long after the last event before rebuilding. Default 100. */
  holdOffMs?: number;
  /** maxDelayMs caps the wait after the first event of a burst. Default 1000. */
  maxDelayMs?: number;
}

/** FileSourceError is thrown by start() when a root cannot be watched; code is stable. */
export class FileSourceError extends Error {
  readonly code = "PORTICO_FILE_SOURCE_ROOT";
  override name = "FileSourceError";
}

/** readState parses the scan into file states, reusing prev where a file's bytes did not change. */
async function readState(
  dirs: readonly string[],
  prev: ReadonlyMap<string, FileState>,
  generations?: Generations,
): Promise<{ files: Map<string, FileState>; rootErrors: string; set: () => ResourceSet; changed: boolean }> {
  const scan = await scanRoots(dirs);
  const files = new Map<string, FileState>();
  let changed = scan.files.size !== prev.size;
  for (const [path, { text, hash }] of scan.files) {
    const old = prev.get(path);
    if (old && old.hash === hash) {
      files.set(path, old);
      continue;
    }
    changed = true;
    files.set(path, nextState(old, hash, parseManifests(path, text)));
  }
  const rootErrors = JSON.stringify(scan.errors);
  return { files, rootErrors, set: () => assemble(files, scan.errors, generations), changed };
}

/** loadDirs reads dirs once (for `portico validate` and `portico translate`); missing dirs are errors. */
export async function loadDirs(dirs: readonly string[]): Promise<ResourceSet> {
  return (await readState(dirs, new Map())).set();
}

/** FileSource watches directories of manifests and emits a ResourceSet after each change. */
export class FileSource {
  #dirs: readonly string[];
  #log: Log;
  #onChange: (set: ResourceSet) => void;
  #timing: Timing;
  #files = new Map<string, FileState>();
  #generations: Generations;
  #rootErrors = "[]";
  #current: ResourceSet = emptyResourceSet();
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;
  #burstStart: number | undefined;
  #queue: Promise<void> = Promise.resolve();
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
    firstSeen?: FirstSeenStore,
  ) {
    this.#generations = new Generations(firstSeen ? new FirstSeen(firstSeen) : undefined);
    this.#dirs = [...dirs];
    this.#log = log;
    this.#onChange = onChange;
    this.#timing = timing;
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
      // Watch before the first read, so a write landing during the read still triggers a rebuild.
      const w = watch(dir, { recursive: info.isDirectory() }, () => this.#schedule());
      w.on("error", (e) => this.#log("warn", "file source: watch failed", { dir, error: String(e) }));
      this.#watchers.push(w);
    }
    await this.#enqueue(true);
    return this.#current;
  }

  /** close stops watching and waits for a rebuild in progress; no onChange follows. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    await this.#queue;
  }

  /** #schedule restarts the hold-off timer, never past maxDelayMs after the burst began. */
  #schedule(): void {
    if (this.#closed) return;
    const now = Date.now();
    this.#burstStart ??= now;
    const holdOff = this.#timing.holdOffMs ?? 100;
    const deadline = this.#burstStart + (this.#timing.maxDelayMs ?? 1000);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#burstStart = undefined;
        void this.#enqueue(false);
      },
      Math.max(0, Math.min(holdOff, deadline - now)),
    );
  }

  /** #enqueue runs rebuilds one at a time, in order. */
  #enqueue(first: boolean): Promise<void> {
    this.#queue = this.#queue
      .then(() => this.#rebuild(first))
      .catch((e: unknown) => {
        this.#log("error", "file source: rebuild failed; keeping the previous set", {
          error: String(e),
        });
      });
    return this.#queue;
  }

  /** #rebuild rescans the roots and emits a new set unless no file's bytes changed. */
  async #rebuild(first: boolean): Promise<void> {
    if (this.#closed) return;
    const next = await readState(this.#dirs, this.#files, this.#generations);
    if (this.#closed) return;
    if (!first && !next.changed && next.rootErrors === this.#rootErrors) {
      this.#log("debug", "file source: event changed nothing");
      return;
    }
    this.#files = next.files;
    this.#rootErrors = next.rootErrors;
    const set = next.set();
    this.#current = set;
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

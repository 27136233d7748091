// watch.ts: one non-recursive fs.watch per directory. Why not fs.watch(root, {recursive: true}):
// on Linux, Node emulates recursion with an inotify watch per file, and a rename-style save (sed -i,
// vim, an editor's atomic save, git checkout) replaces the file's inode, so that watch goes stale
// and later edits to the file are never reported (measured on Node 24: after one rename, neither
// in-place writes nor further renames raised an event). inotify on a directory reports every
// create, write, rename and delete of its entries whatever their inode, so each directory is
// watched itself and the set of watched directories follows every scan (new subdirectories, a
// swapped `..data` symlink of a ConfigMap volume, a root deleted and re-created).
import { watch, type FSWatcher } from "node:fs";
import type { Log } from "./source.ts";

interface Watched {
  id: string;
  watcher: FSWatcher;
}

/** DirWatcher keeps one watcher per directory and calls onEvent on anything that happens in one. */
export class DirWatcher {
  #onEvent: () => void;
  #log: Log;
  #watched = new Map<string, Watched>();
  /** unwatchable are directories already warned about, so a rescan does not repeat the warning. */
  #unwatchable = new Set<string>();
  #closed = false;

  /** constructor takes the callback run on every event (the caller debounces) and a logger. */
  constructor(onEvent: () => void, log: Log) {
    this.#onEvent = onEvent;
    this.#log = log;
  }

  /** sync watches exactly dirs (path → device:inode); a directory whose identity changed is re-watched. */
  sync(dirs: ReadonlyMap<string, string>): void {
    if (this.#closed) return;
    for (const [path, w] of this.#watched) {
      if (dirs.get(path) === w.id) continue;
      w.watcher.close();
      this.#watched.delete(path);
    }
    for (const [path, id] of dirs) {
      if (this.#watched.has(path)) continue;
      try {
        const watcher = watch(path, { persistent: false }, () => this.#onEvent());
        watcher.on("error", (e) => {
          // A watched directory that was deleted errors here; the next scan decides what to watch.
          this.#log("debug", "file source: watch ended", { dir: path, error: String(e) });
          watcher.close();
          if (this.#watched.get(path)?.watcher === watcher) this.#watched.delete(path);
          this.#onEvent();
        });
        this.#watched.set(path, { id, watcher });
        this.#unwatchable.delete(path);
      } catch (e) {
        // Gone between the scan and now, or out of inotify watches: the periodic rescan still sees it.
        if (this.#unwatchable.has(path)) continue;
        this.#unwatchable.add(path);
        this.#log("warn", "file source: cannot watch directory; relying on the periodic rescan", {
          dir: path,
          error: String(e),
        });
      }
    }
  }

  /** size is the number of directories watched. */
  size(): number {
    return this.#watched.size;
  }

  /** close stops every watcher. */
  close(): void {
    this.#closed = true;
    for (const w of this.#watched.values()) w.watcher.close();
    this.#watched.clear();
  }
}

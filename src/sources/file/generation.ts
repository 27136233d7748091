// generation.ts: metadata.generation for objects read from files. In a cluster the API server
// sets it (1 on create, +1 on every change outside metadata and status) and controllers report
// it as observedGeneration; files rarely carry it, so the file source keeps the count itself.
// A generation written in the file wins (a manifest exported from a cluster keeps its own).
import { objectKey } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import type { FirstSeen } from "./first-seen.ts";

interface Seen {
  body: string;
  generation: number;
}

/** Generations remembers, per object, its last body and generation across rebuilds of one source. */
export class Generations {
  #seen = new Map<string, Seen>();
  #next = new Map<string, Seen>();
  readonly #firstSeen: FirstSeen | undefined;

  /** constructor takes firstSeen when objects should also get a creation time (`portico run`). */
  constructor(firstSeen?: FirstSeen) {
    this.#firstSeen = firstSeen;
  }

  /** stamp returns obj with metadata.generation (and creationTimestamp, see first-seen.ts) set. */
  stamp(obj: AnyObject): AnyObject {
    const stamped = this.#stampGeneration(obj);
    return this.#firstSeen ? this.#firstSeen.stamp(objectKey(obj), stamped) : stamped;
  }

  #stampGeneration(obj: AnyObject): AnyObject {
    const key = objectKey(obj);
    const { metadata, status: _status, ...rest } = obj as AnyObject & { status?: unknown };
    const body = JSON.stringify(rest);
    const own = (metadata as { generation?: unknown }).generation;
    const prev = this.#seen.get(key);
    const generation =
      typeof own === "number"
        ? own
        : prev === undefined
          ? 1
          : prev.body === body
            ? prev.generation
            : prev.generation + 1;
    this.#next.set(key, { body, generation });
    return typeof own === "number" ? obj : ({ ...obj, metadata: { ...metadata, generation } } as AnyObject);
  }

  /** commit ends a rebuild: objects not stamped since the last commit are forgotten (deleted). */
  commit(): void {
    this.#seen = this.#next;
    this.#next = new Map();
    this.#firstSeen?.commit();
  }
}

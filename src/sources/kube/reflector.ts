// reflector.ts: list + watch for one resource (in one namespace or all), client-go's Reflector in
// small. It keeps a local copy of every object, follows the watch from the list's resourceVersion,
// and relists when the server answers 410 Gone (our resourceVersion fell out of its window): the
// relist replaces the copy wholesale, so objects deleted while we were away are noticed too and no
// change is lost. Transport errors retry the watch with capped exponential backoff.
import type { AnyObject } from "../../k8s/types.ts";
import { KubeApiError, type KubeClient, type WatchEvent } from "./client.ts";
import { apiVersionOf, collectionPath, type Resource } from "./kinds.ts";

/** Log writes one structured line. */
export type Log = (
  level: "debug" | "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** ReflectorOptions configure one reflector. */
export interface ReflectorOptions {
  client: KubeClient;
  resource: Resource;
  /** namespace limits a namespaced resource to one namespace; "" watches all. */
  namespace: string;
  log: Log;
  /** onChange runs after the local copy changed (not for events that change nothing). */
  onChange: () => void;
  /** watchTimeoutSeconds asks the server to end each watch after this long (default 300). */
  watchTimeoutSeconds?: number;
}

/** GoneError marks a 410 inside a watch stream (an ERROR event carrying Status code 410). */
class GoneError extends Error {}

/** Reflector mirrors one resource collection into memory. */
export class Reflector {
  readonly #o: ReflectorOptions;
  readonly #items = new Map<string, AnyObject>();
  #rv = "";
  #closed = false;
  #watchAbort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #synced: Promise<void>;
  #markSynced!: () => void;
  #absent = false;
  #lists = 0;
  #paused: Promise<void> | undefined;
  #resume: (() => void) | undefined;

  /** constructor does not contact the server; call start. */
  constructor(o: ReflectorOptions) {
    this.#o = o;
    this.#synced = new Promise((r) => (this.#markSynced = r));
  }

  /** start runs the list/watch loop in the background; resolves after the first list. */
  start(): Promise<void> {
    void this.#loop();
    return this.#synced;
  }

  /** objects is the current local copy. */
  objects(): IterableIterator<AnyObject> {
    return this.#items.values();
  }

  /** get returns the local copy of one object. */
  get(namespace: string | undefined, name: string): AnyObject | undefined {
    return this.#items.get(namespace ? `${namespace}/${name}` : name);
  }

  /** stats are counters for logs and tests: full lists done, and whether the resource is absent. */
  stats(): { lists: number; absent: boolean; resourceVersion: string } {
    return { lists: this.#lists, absent: this.#absent, resourceVersion: this.#rv };
  }

  /** pause drops the current watch and holds the loop until restartWatch (tests open a gap). */
  pause(): void {
    this.#paused ??= new Promise((r) => (this.#resume = r));
    this.#watchAbort?.abort();
  }

  /** restartWatch drops the current watch and resumes from resourceVersion rv (tests use a stale one). */
  restartWatch(rv: string): void {
    this.#rv = rv;
    this.#watchAbort?.abort();
    this.#paused = undefined;
    this.#resume?.();
  }

  /** close stops the loop; no onChange follows. */
  close(): void {
    this.#closed = true;
    this.#watchAbort?.abort();
    this.#wake?.();
    this.#resume?.();
  }

  async #loop(): Promise<void> {
    let backoff = 200;
    while (!this.#closed) {
      if (this.#paused) await this.#paused;
      try {
        if (this.#rv === "") await this.#list();
        if (this.#absent) {
          // The CRD is not installed: look again later rather than failing the controller.
          await this.#sleep(10_000);
          this.#rv = "";
          continue;
        }
        await this.#watch();
        backoff = 200;
      } catch (e) {
        if (this.#closed) return;
        if (e instanceof GoneError || (e instanceof KubeApiError && e.status === 410)) {
          this.#o.log("info", "kube source: resourceVersion expired; relisting", { resource: this.#name() });
          this.#rv = "";
          continue;
        }
        if (e instanceof KubeApiError && e.status === 429) {
          // "storage is (re)initializing" right after a CRD is established, or priority-and-
          // fairness pushback: the server asks for a retry soon, not for growing backoff.
          this.#o.log("debug", "kube source: API server busy; retrying", { resource: this.#name() });
          await this.#sleep(500);
          continue;
        }
        this.#o.log("warn", "kube source: watch failed; retrying", {
          resource: this.#name(),
          error: String(e),
          retryMs: backoff,
        });
        await this.#sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  #name(): string {
    return `${this.#o.resource.plural}${this.#o.namespace ? ` in ${this.#o.namespace}` : ""}`;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** #list reads the whole collection (paged) and replaces the local copy with it. */
  async #list(): Promise<void> {
    const r = this.#o.resource;
    const base = collectionPath(r, this.#o.namespace);
    const fresh = new Map<string, AnyObject>();
    let cont = "";
    let rv = "";
    try {
      do {
        const q = `?limit=500${selector(r)}${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`;
        const page = await this.#o.client.request<{
          metadata: { resourceVersion: string; continue?: string };
          items: Record<string, unknown>[];
        }>("GET", base + q);
        for (const raw of page.items) {
          const obj = normalise(raw, r);
          fresh.set(keyOf(obj), obj);
        }
        cont = page.metadata.continue ?? "";
        rv = page.metadata.resourceVersion;
      } while (cont);
    } catch (e) {
      if (r.optional && e instanceof KubeApiError && e.status === 404) {
        if (!this.#absent)
          this.#o.log("info", "kube source: resource not installed; skipping", { resource: this.#name() });
        this.#absent = true;
        this.#markSynced();
        return;
      }
      throw e;
    }
    this.#absent = false;
    this.#lists++;
    let changed = fresh.size !== this.#items.size;
    for (const [k, obj] of fresh) if (!changed && !sameObject(this.#items.get(k), obj)) changed = true;
    this.#items.clear();
    for (const [k, obj] of fresh) this.#items.set(k, obj);
    this.#rv = rv;
    this.#markSynced();
    if (changed) this.#o.onChange();
  }

  /** #watch follows changes from #rv until the server ends the stream or it is aborted. */
  async #watch(): Promise<void> {
    const r = this.#o.resource;
    const timeout = this.#o.watchTimeoutSeconds ?? 300;
    const path =
      collectionPath(r, this.#o.namespace) +
      `?watch=1&allowWatchBookmarks=true&timeoutSeconds=${timeout}${selector(r)}` +
      `&resourceVersion=${encodeURIComponent(this.#rv)}`;
    const abort = new AbortController();
    this.#watchAbort = abort;
    if (this.#paused) return;
    let gone = false;
    const onEvent = (ev: WatchEvent): void => {
      if (gone || abort.signal.aborted) return;
      if (ev.type === "ERROR") {
        const code = (ev.object as { code?: number }).code;
        if (code === 410) {
          gone = true;
          abort.abort();
          return;
        }
        throw new Error(`watch error: ${JSON.stringify(ev.object).slice(0, 200)}`);
      }
      const meta = ev.object.metadata as { resourceVersion?: string } | undefined;
      if (meta?.resourceVersion) this.#rv = meta.resourceVersion;
      if (ev.type === "BOOKMARK") return;
      const obj = normalise(ev.object, r);
      const k = keyOf(obj);
      if (ev.type === "DELETED") {
        if (this.#items.delete(k)) this.#o.onChange();
        return;
      }
      const old = this.#items.get(k);
      this.#items.set(k, obj);
      if (!sameObject(old, obj)) this.#o.onChange();
    };
    await this.#o.client.watch(path, onEvent, abort.signal, (timeout + 30) * 1000);
    if (gone) throw new GoneError("410 Gone in watch stream");
  }
}

/** selector renders r's fieldSelector as a query parameter ("" when none). */
export function selector(r: Resource): string {
  return r.fieldSelector ? `&fieldSelector=${encodeURIComponent(r.fieldSelector)}` : "";
}

/** normalise gives a served object its apiVersion and kind (lists omit them) and drops managedFields. */
export function normalise(raw: Record<string, unknown>, r: Resource): AnyObject {
  const meta = { ...(raw.metadata as Record<string, unknown>) };
  delete meta.managedFields;
  return { ...raw, apiVersion: apiVersionOf(r), kind: r.kind, metadata: meta } as AnyObject;
}

function keyOf(o: AnyObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

/** sameObject: equal but for resourceVersion (a no-op update or a resync changes nothing for us). */
function sameObject(a: AnyObject | undefined, b: AnyObject): boolean {
  if (!a) return false;
  const strip = (o: AnyObject) => JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: "" } });
  return strip(a) === strip(b);
}

// source.ts: the cluster source. One reflector per watched resource (per namespace when scoped)
// mirrors the API into memory; after each burst of changes the source emits a new ResourceSet,
// the same type the file source emits, so nothing downstream knows which one it was.
import {
  buildResourceSet,
  emptyResourceSet,
  objectKey,
  type Origin,
  type ResourceSet,
} from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import type { KubeClient } from "./client.ts";
import { RESOURCES, type Resource } from "./kinds.ts";
import { Reflector, type Log } from "./reflector.ts";

/** KubeSourceOptions configure the cluster source. */
export interface KubeSourceOptions {
  client: KubeClient;
  /** namespaces limits namespaced kinds to these namespaces; empty means all. */
  namespaces: readonly string[];
  log: Log;
  /** onChange receives every new set, the first one included. */
  onChange: (set: ResourceSet) => void;
  /** holdOffMs waits this long after the last change before emitting (default 100). */
  holdOffMs?: number;
  /** maxDelayMs caps the wait after the first change of a burst (default 1000). */
  maxDelayMs?: number;
  /** resources overrides what is watched (default RESOURCES). */
  resources?: readonly Resource[];
  /** watchTimeoutSeconds is passed to every reflector. */
  watchTimeoutSeconds?: number;
}

/** KubeSource watches the cluster and emits ResourceSets. */
export class KubeSource {
  readonly #o: KubeSourceOptions;
  readonly #reflectors: { resource: Resource; reflector: Reflector }[] = [];
  #current: ResourceSet = emptyResourceSet();
  #started = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #burstStart: number | undefined;

  /** constructor builds the reflectors; nothing is contacted before start. */
  constructor(o: KubeSourceOptions) {
    this.#o = o;
    for (const resource of o.resources ?? RESOURCES) {
      const scopes = resource.namespaced && o.namespaces.length > 0 ? o.namespaces : [""];
      for (const namespace of scopes) {
        const reflector = new Reflector({
          client: o.client,
          resource,
          namespace,
          log: o.log,
          onChange: () => this.#schedule(),
          ...(o.watchTimeoutSeconds ? { watchTimeoutSeconds: o.watchTimeoutSeconds } : {}),
        });
        this.#reflectors.push({ resource, reflector });
      }
    }
  }

  /** start lists everything, emits the first set and returns it; watches continue in the background. */
  async start(): Promise<ResourceSet> {
    await Promise.all(this.#reflectors.map((r) => r.reflector.start()));
    this.#started = true;
    clearTimeout(this.#timer);
    this.#burstStart = undefined;
    this.#emit();
    return this.#current;
  }

  /** current is the last set emitted. */
  current(): ResourceSet {
    return this.#current;
  }

  /** snapshot builds a set from the reflectors now, without emitting it. */
  snapshot(): ResourceSet {
    const objects: AnyObject[] = [];
    const origins = new Map<string, Origin>();
    for (const { reflector } of this.#reflectors) {
      for (const obj of reflector.objects()) {
        objects.push(obj);
        origins.set(objectKey(obj), { file: `kube:${obj.metadata.resourceVersion ?? ""}`, line: 0 });
      }
    }
    return buildResourceSet(objects, origins, []);
  }

  /** get returns the live copy of one object, or undefined. */
  get(kind: string, namespace: string | undefined, name: string): AnyObject | undefined {
    for (const { resource, reflector } of this.#reflectors) {
      if (resource.kind !== kind) continue;
      const o = reflector.get(resource.namespaced ? namespace : undefined, name);
      if (o) return o;
    }
    return undefined;
  }

  /** reflectors exposes the reflectors (tests restart their watches). */
  reflectors(): readonly { resource: Resource; reflector: Reflector }[] {
    return this.#reflectors;
  }

  /** close stops every watch; no onChange follows. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const { reflector } of this.#reflectors) reflector.close();
  }

  /** #schedule restarts the hold-off timer, never past maxDelayMs after the burst began. */
  #schedule(): void {
    if (this.#closed || !this.#started) return;
    const now = Date.now();
    this.#burstStart ??= now;
    const deadline = this.#burstStart + (this.#o.maxDelayMs ?? 1000);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#burstStart = undefined;
        this.#emit();
      },
      Math.max(0, Math.min(this.#o.holdOffMs ?? 100, deadline - now)),
    );
  }

  #emit(): void {
    if (this.#closed) return;
    this.#current = this.snapshot();
    try {
      this.#o.onChange(this.#current);
    } catch (e) {
      this.#o.log("error", "kube source: onChange threw", { error: String(e) });
    }
  }
}

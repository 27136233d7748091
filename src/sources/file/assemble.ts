// assemble.ts: pure. Turns per-file parse states into one frozen ResourceSet: picks each file's
// version in force, resolves duplicates (first path wins), and collects errors and notices.
import {
  buildResourceSet,
  deepFreeze,
  objectKey,
  type Origin,
  type ResourceSet,
  type SourceError,
} from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import { Generations } from "./generation.ts";
import type { ParsedObject, ParseResult } from "./parse.ts";

/** FileState is what the source remembers about one file between rebuilds. */
export interface FileState {
  hash: string;
  /** parsed is the latest version read. */
  parsed: ParseResult;
  /** good is the objects of the last version without errors; undefined until there is one. */
  good?: readonly ParsedObject[];
}

/** nextState parses-in a new version of a file, carrying the last good version forward. */
export function nextState(prev: FileState | undefined, hash: string, parsed: ParseResult): FileState {
  if (parsed.errors.length === 0) return { hash, parsed, good: parsed.objects };
  return prev?.good ? { hash, parsed, good: prev.good } : { hash, parsed };
}

/**
 * inForce is the version of a file that serves: the latest when it has no errors, else the last
 * good one (its errors then marked stale), else whatever objects of the latest version were valid.
 */
export function inForce(state: FileState): { objects: readonly ParsedObject[]; stale: boolean } {
  if (state.parsed.errors.length === 0) return { objects: state.parsed.objects, stale: false };
  if (state.good) return { objects: state.good, stale: true };
  return { objects: state.parsed.objects, stale: false };
}

/** ReadOnlyMap is a Map whose writers throw once built, so a shared ResourceSet stays as emitted. */
class ReadOnlyMap<K, V> extends Map<K, V> {
  #locked = false;
  constructor(entries: Iterable<[K, V]>) {
    super();
    for (const [k, v] of entries) super.set(k, v);
    this.#locked = true;
  }
  override set(k: K, v: V): this {
    if (this.#locked) throw new TypeError("ResourceSet.origins is read-only");
    return super.set(k, v);
  }
  override delete(): boolean {
    throw new TypeError("ResourceSet.origins is read-only");
  }
  override clear(): void {
    throw new TypeError("ResourceSet.origins is read-only");
  }
}

/**
 * assemble builds the ResourceSet from file states in path order plus errors about the roots;
 * generations (kept by a watching source across rebuilds) numbers each object's changes.
 */
export function assemble(
  files: ReadonlyMap<string, FileState>,
  rootErrors: readonly SourceError[],
  generations: Generations = new Generations(),
): ResourceSet {
  const objects: AnyObject[] = [];
  const origins = new Map<string, Origin>();
  const errors: SourceError[] = [...rootErrors];
  const notices: string[] = [];
  for (const path of [...files.keys()].sort()) {
    const state = files.get(path)!;
    const { objects: serving, stale } = inForce(state);
    for (const e of state.parsed.errors) errors.push(stale ? { ...e, stale: true } : e);
    notices.push(...state.parsed.notices);
    for (const { obj, line } of serving) {
      const key = objectKey(obj);
      const first = origins.get(key);
      if (first) {
        const message = `also defined at ${first.file}:${first.line}, which is used; remove or rename one of them`;
        errors.push({ file: path, line, object: key, message });
        continue;
      }
      origins.set(key, { file: path, line });
      objects.push(generations.stamp(obj));
    }
  }
  generations.commit();
  errors.sort((a, b) => (a.file !== b.file ? (a.file < b.file ? -1 : 1) : a.line - b.line));
  const set = buildResourceSet(objects, new ReadOnlyMap(origins), errors);
  return deepFreeze({ ...set, notices });
}

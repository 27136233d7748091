// guard.ts: pure checks that keep a bad moment of the file system from reaching the data plane —
// a read that would remove objects (held for a second read), and a root holding too many objects.
import { objectKey, type SourceError } from "../../k8s/resource-set.ts";
import { inForce, type FileState } from "./assemble.ts";
import { sep } from "node:path";

/** DEFAULT_MAX_OBJECTS refuses a root directory holding more objects (--max-objects). */
export const DEFAULT_MAX_OBJECTS = 50_000;

/** removesObjects is true when next (undefined: the file is gone) serves fewer objects than old. */
export function removesObjects(old: FileState, next: FileState | undefined): boolean {
  const kept = new Set((next ? inForce(next).objects : []).map((o) => objectKey(o.obj)));
  return inForce(old).objects.some((o) => !kept.has(objectKey(o.obj)));
}

/** under is true when path is root or below it. */
function under(path: string, root: string): boolean {
  const r = root.length > 1 && root.endsWith(sep) ? root.slice(0, -1) : root;
  return path === r || path.startsWith(r + sep);
}

/**
 * overLimit finds the roots whose files serve more than max objects: their paths (to keep their
 * previous versions) and an error naming each root, its count and the flag.
 */
export function overLimit(
  roots: readonly string[],
  files: ReadonlyMap<string, FileState>,
  max: number,
): { paths: string[]; errors: SourceError[] } {
  const paths: string[] = [];
  const errors: SourceError[] = [];
  for (const root of roots) {
    const mine = [...files.keys()].filter((p) => under(p, root));
    const count = mine.reduce((n, p) => n + inForce(files.get(p)!).objects.length, 0);
    if (count <= max) continue;
    paths.push(...mine);
    errors.push({
      file: root,
      line: 0,
      object: "",
      message: `holds ${count} objects, above the limit of ${max}; changes under it are not applied (the last accepted version keeps serving). Remove objects, or raise --max-objects`,
    });
  }
  return { paths, errors };
}

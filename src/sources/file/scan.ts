// scan.ts: finds and reads the manifest files below the source's roots. Roots may be directories
// (walked recursively, dot-files and dot-directories skipped) or single files named on purpose.
import { createHash } from "node:crypto";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import type { SourceError } from "../../k8s/resource-set.ts";

/** MANIFEST_EXTENSIONS are the file endings read inside a directory. */
export const MANIFEST_EXTENSIONS: readonly string[] = [".yaml", ".yml", ".json"];

/** ScannedFile is one manifest's text and a hash of its bytes (to skip unchanged files). */
export interface ScannedFile {
  text: string;
  hash: string;
}

/** Scan is what the roots hold right now: files by path (sorted) and problems with the roots. */
export interface Scan {
  files: Map<string, ScannedFile>;
  errors: SourceError[];
}

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** walk lists manifest files below dir; seen guards against symlink loops. */
async function walk(dir: string, seen: Set<string>, out: string[]): Promise<void> {
  const real = await realpath(dir);
  if (seen.has(real)) return;
  seen.add(real);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (code(e) === "ENOENT" || code(e) === "ENOTDIR") return; // removed while we looked
    throw e;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue; // editors' swap files, .git, kustomize caches
    const path = join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(path).catch(() => undefined); // a dangling link is no file
      isDir = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDir) await walk(path, seen, out);
    else if (isFile && MANIFEST_EXTENSIONS.includes(extname(entry.name).toLowerCase())) out.push(path);
  }
}

/** scanRoots reads every manifest below roots; a missing root is an error, not an exception. */
export async function scanRoots(roots: readonly string[]): Promise<Scan> {
  const errors: SourceError[] = [];
  const paths: string[] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    const info = await stat(root).catch((e: unknown) => e as NodeJS.ErrnoException);
    if (info instanceof Error) {
      const message =
        code(info) === "ENOENT"
          ? "directory not found; create it or pass the right path (nothing was read from it)"
          : `cannot read: ${info.message}`;
      errors.push({ file: root, line: 0, object: "", message });
    } else if (info.isDirectory()) {
      await walk(root, seen, paths);
    } else {
      paths.push(root); // a file named on purpose is read whatever its extension
    }
  }
  const files = new Map<string, ScannedFile>();
  for (const path of [...new Set(paths)].sort()) {
    try {
      const bytes = await readFile(path);
      files.set(path, {
        text: bytes.toString("utf8"),
        hash: createHash("sha256").update(bytes).digest("hex"),
      });
    } catch (e) {
      if (code(e) === "ENOENT") continue; // deleted between listing and reading
      errors.push({ file: path, line: 0, object: "", message: `cannot read file: ${(e as Error).message}` });
    }
  }
  return { files, errors };
}

// scan.ts: finds and reads the manifest files below the source's roots. Roots may be directories
// (walked recursively, dot-files and dot-directories skipped) or single files named on purpose.
import { createHash } from "node:crypto";
import { lstat, readdir, readFile, realpath, stat } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import type { SourceError } from "../../k8s/resource-set.ts";

/** MANIFEST_EXTENSIONS are the file endings read inside a directory. */
export const MANIFEST_EXTENSIONS: readonly string[] = [".yaml", ".yml", ".json"];

/** DEFAULT_MAX_FILE_BYTES refuses bigger files unread (64 MiB; --max-file-size). */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

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

/** Listing is what the roots hold by name: manifest paths (sorted), the directories walked, errors. */
export interface Listing {
  paths: string[];
  /** dirs maps each directory to watch to its identity (device:inode), which changes when it is swapped. */
  dirs: Map<string, string>;
  errors: SourceError[];
}

/** errnoCode is the `code` of a Node system error. */
export const errnoCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** walk lists manifest files below dir; seen guards against symlink loops. */
async function walk(dir: string, seen: Set<string>, out: Listing): Promise<void> {
  let real, entries, info;
  try {
    real = await realpath(dir);
    if (seen.has(real)) return;
    seen.add(real);
    info = await stat(dir);
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return; // removed while we looked
    throw e;
  }
  out.dirs.set(dir, `${info.dev}:${info.ino}`);
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
    else if (isFile && MANIFEST_EXTENSIONS.includes(extname(entry.name).toLowerCase())) out.paths.push(path);
  }
}

/** watchParent adds the directory holding path to the directories to watch. */
async function watchParent(path: string, out: Listing): Promise<void> {
  const parent = dirname(path);
  const p = await stat(parent).catch(() => undefined);
  if (p) out.dirs.set(parent, `${p.dev}:${p.ino}`);
}

/** listRoots walks roots without reading files; a missing root is an error, not an exception. */
export async function listRoots(roots: readonly string[]): Promise<Listing> {
  const out: Listing = { paths: [], dirs: new Map(), errors: [] };
  const seen = new Set<string>();
  for (const root of roots) {
    const info = await stat(root).catch((e: unknown) => e as NodeJS.ErrnoException);
    if (info instanceof Error) {
      const message =
        errnoCode(info) === "ENOENT"
          ? "directory not found; create it or pass the right path (nothing was read from it)"
          : `cannot read: ${info.message}`;
      out.errors.push({ file: root, line: 0, object: "", message });
    } else if (info.isDirectory()) {
      await walk(root, seen, out);
      // A root that is a symlink (`current -> releases/v2`) is swapped in its parent directory.
      if ((await lstat(root).catch(() => undefined))?.isSymbolicLink()) await watchParent(root, out);
    } else {
      out.paths.push(root); // a file named on purpose is read whatever its extension
      // Its directory is watched, not the file: a rename-style save replaces the file's inode.
      await watchParent(root, out);
    }
  }
  out.paths = [...new Set(out.paths)].sort();
  return out;
}

/** tooBig is the error for a file over the size limit; it names the file, its size and the flag. */
export function tooBig(file: string, size: number, limit: number): SourceError {
  const mib = (n: number) => (n >= 1 << 20 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`);
  return {
    file,
    line: 0,
    object: "",
    message: `file is ${mib(size)}, above the limit of ${mib(limit)}; it was not read. Split it, or raise --max-file-size`,
  };
}

/** hashBytes is the content hash that decides whether a file changed. */
export function hashBytes(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** scanRoots reads every manifest below roots, refusing files above maxBytes before reading them. */
export async function scanRoots(roots: readonly string[], maxBytes = DEFAULT_MAX_FILE_BYTES): Promise<Scan> {
  const { paths, errors } = await listRoots(roots);
  const files = new Map<string, ScannedFile>();
  for (const path of paths) {
    try {
      const { size } = await stat(path);
      if (size > maxBytes) {
        errors.push(tooBig(path, size, maxBytes));
        continue;
      }
      const bytes = await readFile(path);
      files.set(path, { text: bytes.toString("utf8"), hash: hashBytes(bytes) });
    } catch (e) {
      if (errnoCode(e) === "ENOENT") continue; // deleted between listing and reading
      errors.push({ file: path, line: 0, object: "", message: `cannot read file: ${(e as Error).message}` });
    }
  }
  return { files, errors };
}

// images.ts: the image map — which local binary stands in for which container image. There are no
// images here: a test names, for each image its Pods use, the command the image's ENTRYPOINT and
// CMD would run. The container's own command and args replace them the way a kubelet replaces
// them: `command` replaces the entrypoint, `args` replaces the cmd.
//
// File format (JSON; relative paths are relative to the file):
//   { "registry/echo-basic:v1": "/abs/echo-basic",
//     "registry/other": { "entrypoint": ["./bin/x", "serve"], "cmd": ["--port=8080"],
//                         "paths": { "/usr/bin/x": "./bin/x" } } }
// A key without a tag or digest matches every tag and digest of that repository. "paths" maps
// executables as the image names them (a container `command` such as /usr/bin/x) to local ones.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";

/** ImageEntry is what one image runs. */
export interface ImageEntry {
  entrypoint: string[];
  cmd: string[];
  paths: Record<string, string>;
}

/** ImageMap maps image references to entries. */
export type ImageMap = Map<string, ImageEntry>;

/** loadImageMap reads the map file; the error names the file and the bad entry. */
export function loadImageMap(file: string): ImageMap {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`image map ${file}: ${String(e)}`);
  }
  return parseImageMap(raw, dirname(resolve(file)), file);
}

/** parseImageMap validates a map object; base resolves relative paths, source names it in errors. */
export function parseImageMap(raw: unknown, base: string, source = "image map"): ImageMap {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new Error(`${source}: want a JSON object of image → binary or {entrypoint, cmd, paths}`);
  const abs = (p: string) => (p.includes("/") && !isAbsolute(p) ? resolve(base, p) : p);
  const map: ImageMap = new Map();
  for (const [image, v] of Object.entries(raw)) {
    const bad = (why: string) => new Error(`${source}: image "${image}": ${why}`);
    if (typeof v === "string") {
      map.set(image, { entrypoint: [abs(v)], cmd: [], paths: {} });
      continue;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw bad("want a path or {entrypoint, cmd, paths}");
    const e = v as Partial<Record<keyof ImageEntry, unknown>>;
    const strings = (x: unknown, what: string): string[] => {
      if (x === undefined) return [];
      if (!Array.isArray(x) || x.some((s) => typeof s !== "string"))
        throw bad(`${what} must be a list of strings`);
      return x as string[];
    };
    const entrypoint = strings(e.entrypoint, "entrypoint");
    const paths: Record<string, string> = {};
    for (const [k, p] of Object.entries((e.paths ?? {}) as Record<string, unknown>)) {
      if (typeof p !== "string") throw bad(`paths["${k}"] must be a string`);
      paths[k] = abs(p);
    }
    map.set(image, {
      entrypoint: entrypoint.length > 0 ? [abs(entrypoint[0]!), ...entrypoint.slice(1)] : [],
      cmd: strings(e.cmd, "cmd"),
      paths,
    });
  }
  return map;
}

/** lookupImage finds image's entry: exact, else the same repository without tag or digest. */
export function lookupImage(map: ImageMap, image: string): ImageEntry | undefined {
  const exact = map.get(image);
  if (exact) return exact;
  const repo = image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
  return map.get(repo);
}

/** argvFor is the command line a container runs: command ?? entrypoint, then args ?? cmd (args
 * replace cmd even when command is set without args: cmd is dropped, as in Kubernetes). */
export function argvFor(entry: ImageEntry, command?: string[], args?: string[]): string[] {
  const argv =
    command && command.length > 0
      ? [...command, ...(args ?? [])]
      : [...entry.entrypoint, ...(args ?? entry.cmd)];
  if (argv.length > 0 && entry.paths[argv[0]!]) argv[0] = entry.paths[argv[0]!]!;
  return argv;
}

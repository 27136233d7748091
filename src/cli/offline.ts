// offline.ts: where `validate`, `translate`, `explain` and `get` take their answer from — offline,
// the pure pipeline run once on directories of manifests (starting from the allocations `portico
// run` saved in the same state directory), or live, from a running Portico's admin API. Both
// compute the same documents with the same functions; an offline answer says so on stderr.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadDirs } from "../sources/file/source.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import { stateDirOf } from "../state/location.ts";
import type { Inspection } from "../controller/views.ts";
import { CliError, RUN_ONLY_FLAGS, refuseFlags, splitHostPort, type CommonFlags } from "./args.ts";
import { requireDirs } from "./dirs.ts";
import { clientHeaders } from "./admin-token.ts";

/** load reads the directories and runs the pipeline, starting from saved allocations if any. It
 * only reads the state directory: an offline command never creates one. */
export async function load(flags: CommonFlags, dirs: string[]): Promise<Inspection & { stateNote: string }> {
  requireDirs(dirs);
  const stateDir = stateDirOf(flags.stateDir);
  let previous = {};
  let firstSeen: Record<string, string> | undefined;
  let stateNote = `no saved allocations in ${stateDir}`;
  if (existsSync(join(stateDir, "portico.db"))) {
    // Read-only and without the lock: a running Portico may own the directory.
    const { readAllocations, readFirstSeen } = await import("../state/store.ts");
    previous = readAllocations(stateDir);
    firstSeen = readFirstSeen(stateDir);
    stateNote = `allocations from ${stateDir}`;
  }
  const set = await loadDirs(dirs, flags.reload.limits, firstSeen);
  const ports = { http: flags.httpPort, https: flags.httpsPort };
  const out = buildSnapshot(
    set,
    {
      serveClasslessServices: flags.classless,
      ingressHttpPort: ports.http,
      ingressHttpsPort: ports.https,
      standalone: true,
    },
    previous,
    1,
    undefined,
    { nowSeconds: Date.now() / 1000 },
  );
  return { set, out, ports, stateNote };
}

/** Answer is a document and the HTTP status it came with (200 offline). */
export interface Answer<T> {
  doc: T;
  status: number;
}

/** answer runs `offline` on the directories, or GETs `path` from the running Portico at --admin:
 * directories without --admin answer offline; --admin, or no directory, ask the running one. */
export async function answer<T>(
  flags: CommonFlags,
  dirs: string[],
  path: string,
  offline: (i: Inspection) => T,
): Promise<Answer<T>> {
  if (dirs.length > 0 && flags.adminGiven)
    throw new CliError(
      "give directories (answer offline) or --admin HOST:PORT (ask a running Portico), not both",
    );
  refuseFlags(flags, RUN_ONLY_FLAGS, "only 'portico run' takes these");
  if (dirs.length === 0)
    refuseFlags(
      flags,
      ["--state-dir", "--http-port", "--https-port", "--no-classless", "--max-file-size", "--max-objects"],
      "these shape an offline answer; a running Portico answers with its own settings (drop them, or give directories)",
    );
  if (dirs.length > 0) {
    refuseFlags(
      flags,
      ["--admin-token-file"],
      "it is for asking a running Portico (--admin); an offline answer needs none",
    );
    const i = await load(flags, dirs);
    process.stderr.write(
      `offline: computed from ${dirs.join(" ")} (${i.stateNote}; Ingress ports ${i.ports.http}/${i.ports.https}; listener bind state unknown); --admin HOST:PORT asks a running Portico\n`,
    );
    return { doc: offline(i), status: 200 };
  }
  return fetchAdmin<T>(flags.admin, path, clientHeaders(flags.adminTokenFile));
}

/** fetchAdmin GETs a JSON document from the admin API; a 404 still carries a document. */
export async function fetchAdmin<T>(
  admin: string,
  path: string,
  headers: Record<string, string> = clientHeaders(undefined),
): Promise<Answer<T>> {
  const { res, url } = await requestAdmin(
    admin,
    path,
    "GET",
    "start one with 'portico run DIR', pass --admin HOST:PORT, or give directories to answer offline",
    headers,
  );
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json"))
    throw new CliError(`${url} answered ${res.status}: ${(await res.text()).trim()}`, 1);
  return { doc: (await res.json()) as T, status: res.status };
}

/** postAdmin POSTs to the admin API (a command that changes something) and answers its status and text. */
export async function postAdmin(
  admin: string,
  path: string,
  headers: Record<string, string> = clientHeaders(undefined),
): Promise<{ status: number; text: string }> {
  const { res } = await requestAdmin(admin, path, "POST", "pass --admin HOST:PORT", headers);
  return { status: res.status, text: (await res.text()).trim() };
}

/** requestAdmin sends one request to the admin API at admin ("HOST:PORT"); unreachable: a CliError ending in hint. */
async function requestAdmin(
  admin: string,
  path: string,
  method: "GET" | "POST",
  hint: string,
  headers: Record<string, string>,
): Promise<{ res: Response; url: string }> {
  const { host, port } = splitHostPort(admin);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}${path}`;
  try {
    return { res: await fetch(url, { method, headers }), url };
  } catch (err) {
    throw new CliError(
      `cannot reach a running Portico at ${url} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); ${hint}`,
      1,
    );
  }
}

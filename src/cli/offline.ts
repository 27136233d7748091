// offline.ts: `portico validate`, `translate` and `explain` — the pure pipeline run once on
// directories of manifests, with nothing served.
import { stringify } from "yaml";
import { loadDirs } from "../sources/file/source.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import { CliError, parseCommon, type CommonFlags } from "./args.ts";
import { explainIngress, explainService } from "./explain.ts";
import { redactSnapshot } from "./redact.ts";

/** load reads the directories and runs the pipeline, starting from saved allocations if any. */
export async function load(flags: CommonFlags, dirs: string[]) {
  if (dirs.length === 0)
    throw new CliError("give at least one directory of manifests, e.g. examples/quickstart");
  const set = await loadDirs(dirs, flags.reload.limits);
  let previous = {};
  if (flags.stateDir) {
    const { openStateStore } = await import("../state/store.ts");
    const store = openStateStore(flags.stateDir);
    previous = store.loadAllocations();
    store.close();
  }
  const out = buildSnapshot(
    set,
    {
      serveClasslessServices: flags.classless,
      ingressHttpPort: flags.httpPort,
      ingressHttpsPort: flags.httpsPort,
    },
    previous,
    1,
  );
  return { set, out };
}

/** problems lists conditions that are False, with the file:line of the object they belong to. */
function problems(
  set: ResourceSet,
  statuses: {
    kind: string;
    namespace?: string;
    name: string;
    status: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
  }[],
): string[] {
  const lines: string[] = [];
  for (const s of statuses) {
    for (const c of s.status.conditions ?? []) {
      if (c.status !== "False") continue;
      const key = s.namespace ? `${s.kind}/${s.namespace}/${s.name}` : `${s.kind}/${s.name}`;
      const o = set.origins.get(key);
      const where = o ? `${o.file}:${o.line}` : "";
      lines.push(`${where ? where + ": " : ""}${key}: ${c.type}=False ${c.reason ?? ""}: ${c.message ?? ""}`);
    }
  }
  return lines;
}

/** validateMain: exit 1 when any manifest has an error; conditions are printed as warnings. */
export async function validateMain(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  const { set, out } = await load(flags, flags.positionals);
  for (const e of set.errors) {
    process.stdout.write(`error: ${e.file}:${e.line}: ${e.object ? e.object + ": " : ""}${e.message}\n`);
  }
  for (const n of set.notices ?? []) process.stdout.write(`notice: ${n}\n`);
  for (const p of problems(set, out.statuses)) process.stdout.write(`warning: ${p}\n`);
  const count = set.services.length + set.ingresses.length + set.vipPools.length + set.other.length;
  if (set.errors.length > 0) {
    process.stdout.write(`${set.errors.length} error(s); fix them and run 'portico validate' again\n`);
    return 1;
  }
  process.stdout.write(`ok: ${count} objects valid\n`);
  return 0;
}

/** translateMain prints the snapshot (private keys redacted), allocations and statuses. */
export async function translateMain(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  const { set, out } = await load(flags, flags.positionals);
  const doc = {
    snapshot: redactSnapshot(out.snapshot),
    allocations: out.allocations.results,
    pools: out.allocations.poolStatus,
    statuses: out.statuses,
    errors: set.errors,
    notices: out.translate.notices,
  };
  process.stdout.write(flags.output === "json" ? JSON.stringify(doc, null, 2) + "\n" : stringify(doc));
  return set.errors.length > 0 ? 1 : 0;
}

/** ExplainTarget is what `portico explain` was asked about, and the directories after it. */
export interface ExplainTarget {
  kind: "service" | "ingress";
  namespace: string;
  name: string;
  dirs: string[];
}

/** parseExplainTarget reads `KIND/NS/NAME`, `KIND/NAME` (namespace default), `KIND NAME` or
 * `KIND NS/NAME`, as kubectl users type them; undefined when the words are none of these. */
export function parseExplainTarget(positionals: readonly string[]): ExplainTarget | undefined {
  const [first = "", ...rest] = positionals;
  const kindOf = (w: string) =>
    /^(service|services|svc)$/i.test(w)
      ? "service"
      : /^(ingress|ingresses|ing)$/i.test(w)
        ? "ingress"
        : undefined;
  let words = first.split("/");
  let dirs = rest;
  if (words.length === 1 && kindOf(first) && rest.length > 0) {
    words = [first, ...(rest[0] ?? "").split("/")];
    dirs = rest.slice(1);
  }
  const kind = kindOf(words[0] ?? "");
  if (!kind || words.some((w) => w === "")) return undefined;
  if (words.length === 3) return { kind, namespace: words[1]!, name: words[2]!, dirs };
  if (words.length === 2) return { kind, namespace: "default", name: words[1]!, dirs };
  return undefined;
}

/** explainMain explains one Service or Ingress: `explain service/NS/NAME DIR...`. */
export async function explainMain(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  const t = parseExplainTarget(flags.positionals);
  if (!t)
    throw new CliError(
      "explain wants service/NAMESPACE/NAME or ingress/NAMESPACE/NAME (or service/NAME for namespace default), then directories",
    );
  const { set, out } = await load(flags, t.dirs);
  const text =
    t.kind === "service"
      ? explainService(set, out, t.namespace, t.name)
      : explainIngress(set, out, t.namespace, t.name);
  process.stdout.write(text);
  return 0;
}

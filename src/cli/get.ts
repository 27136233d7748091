// get.ts: `portico get services|ingresses|gateways|routes|pools|enginegroups|dns|policies|certificates|tenants|all` — kubectl-like tables, from a
// running Portico's admin API or offline from directories; `portico get engines` from a running one.
import { CliError, parseCommon, type CommonFlags } from "./args.ts";
import { engineRows, narrowEngines } from "../controller/fleet/engine-table.ts";
import type { FleetView } from "../controller/fleet/view.ts";
import { answer } from "./offline.ts";
import { isDoc, renderDoc } from "./render.ts";
import {
  narrow,
  renderTable,
  tableRows,
  TABLE_KINDS,
  type Row,
  type TableKind,
} from "../controller/tables.ts";

/** tableKindOf reads the word after `get` (singular, plural or kubectl's short names). */
export function tableKindOf(word: string): TableKind | "all" | undefined {
  const w = word.toLowerCase();
  if (/^(services?|svc)$/.test(w)) return "services";
  if (/^(ingress(es)?|ing)$/.test(w)) return "ingresses";
  if (/^(gateways?|gtw)$/.test(w)) return "gateways";
  if (/^(routes?|(http|grpc|tls|tcp|udp)routes?)$/.test(w)) return "routes";
  if (/^(pools?|vippools?)$/.test(w)) return "pools";
  if (/^(enginegroups?|eg)$/.test(w)) return "enginegroups";
  if (/^(dns|dnszones?|dz)$/.test(w)) return "dns";
  if (/^(polic(y|ies)|wafpolic(y|ies)|accesspolic(y|ies)|wafp|accp)$/.test(w)) return "policies";
  if (/^(certificates?|certs?|secrets?)$/.test(w)) return "certificates";
  if (/^tenants?$/.test(w)) return "tenants";
  return w === "all" ? "all" : undefined;
}

/** main prints the table(s); exit 1 when a running Portico can't be reached. */
export async function main(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  const [what = "", ...dirs] = flags.positionals;
  if (/^(engines?|se)$/i.test(what)) return getEngines(flags, dirs);
  const kind = tableKindOf(what);
  if (!kind) throw new CliError(`get wants one of ${TABLE_KINDS.join(", ")}, engines or all`);
  const kinds = kind === "all" ? TABLE_KINDS : [kind];
  const tables: Partial<Record<TableKind, Row[]>> = {};
  if (dirs.length > 0 && !flags.adminGiven) {
    // One offline run of the pipeline for every table (answer() runs it once per call).
    const { doc } = await answer(flags, dirs, "", (i) =>
      Object.fromEntries(kinds.map((k) => [k, tableRows(k, i.set, i.out, i.ports)])),
    );
    Object.assign(tables, doc);
  } else {
    for (const k of kinds)
      tables[k] = (await answer<Row[]>(flags, dirs, `/api/v1/tables/${k}`, () => [])).doc;
  }
  const output = flags.output ?? "table";
  if (isDoc(output)) {
    process.stdout.write(renderDoc(kind === "all" ? tables : tables[kind], output));
    return 0;
  }
  const text = (k: TableKind) => renderTable(output === "wide" ? tables[k]! : narrow(k, tables[k]!));
  if (kind !== "all") {
    process.stdout.write(text(kind));
    return 0;
  }
  const shown = kinds.filter((k) => (tables[k] ?? []).length > 0);
  process.stdout.write(
    shown.length === 0 ? "No resources found.\n" : shown.map((k) => `${k}:\n${text(k)}`).join("\n"),
  );
  return 0;
}

/** getEngines prints the engines of a running Portico (only a running one knows them). */
async function getEngines(flags: CommonFlags, dirs: string[]): Promise<number> {
  if (dirs.length > 0)
    throw new CliError(
      "get engines asks a running Portico (--admin HOST:PORT); engines are not in the manifests",
    );
  const { doc } = await answer<FleetView>(flags, [], "/api/v1/engines", () => {
    throw new Error("unreachable: engines are never answered offline");
  });
  const output = flags.output ?? "table";
  if (isDoc(output)) {
    process.stdout.write(renderDoc(doc, output));
    return 0;
  }
  const rows = engineRows(doc);
  process.stdout.write(renderTable(output === "wide" ? rows : narrowEngines(rows)));
  return 0;
}

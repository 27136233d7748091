// get.ts: `portico get services|ingresses` — from a running Portico's admin API, or offline from DIR.
import { parseCommon, CliError, splitHostPort } from "./args.ts";
import { renderTable, type Row } from "../controller/tables.ts";

/** main prints the table; exit 1 when a running Portico can't be reached. */
export async function main(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  const [what, ...dirs] = flags.positionals;
  const kind = /^(services?|svc)$/.test(what ?? "")
    ? "services"
    : /^(ingress(es)?|ing)$/.test(what ?? "")
      ? "ingresses"
      : undefined;
  if (!kind) throw new CliError("get wants 'services' or 'ingresses'");
  let rows: Row[];
  if (dirs.length > 0) {
    const { load } = await import("./offline.ts");
    const { serviceRows, ingressRows } = await import("../controller/tables.ts");
    const { set, out } = await load(flags, dirs);
    rows =
      kind === "services"
        ? serviceRows(set, out.statuses)
        : ingressRows(set, out.statuses, { http: flags.httpPort, https: flags.httpsPort });
  } else {
    const { host, port } = splitHostPort(flags.admin);
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/api/v1/tables/${kind}`;
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      rows = (await res.json()) as Row[];
    } catch (err) {
      process.stderr.write(
        `portico: cannot reach a running Portico at ${url} (${(err as Error).message}).\n` +
          "Start one with 'portico run DIR', pass --admin HOST:PORT, or give a directory to read offline.\n",
      );
      return 1;
    }
  }
  process.stdout.write(renderTable(rows));
  return 0;
}

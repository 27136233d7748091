// logs.ts: `portico logs` — the requests a running Portico kept (significant ones always: 5xx,
// resets, timeouts, slow, refused by a policy or the WAF; every one while full logs are on), read
// from its admin API (GET /api/v1/analytics/logs); and `portico logs full VS --for 10m | --off`,
// the switch that logs every request of one virtual service for a while (docs/cli.md).
import { parseArgs } from "node:util";
import { CliError, outputOf } from "./args.ts";
import { fetchAdmin, postAdmin } from "./offline.ts";
import { isDoc, renderDoc } from "./render.ts";
import { renderTable, type Row } from "../controller/tables.ts";
import type { LogRecord } from "../analytics/types.ts";
import type { FullLogSwitch } from "../analytics/full-logs.ts";

const USAGE =
  "usage: portico logs [--vs KEY] [--status 5xx|CODE] [--reason slow,5xx,...] [--route R] [--client IP] " +
  "[--grep TEXT] [--since 10m] [--until TIME] [--limit N] [--admin HOST:PORT] [-o table|wide|yaml|json]\n" +
  "       portico logs full [VS --for 10m | VS --off] [--admin HOST:PORT]";

/** FILTERS maps each filter flag to the API's parameter. */
const FILTERS = {
  vs: "vs",
  status: "status",
  reason: "reason",
  route: "route",
  client: "client",
  grep: "q",
  since: "since",
  until: "until",
  limit: "limit",
} as const;

/** Print writes a command's answer (stdout; a test collects it). */
type Print = (text: string) => void;
const stdout: Print = (text) => void process.stdout.write(text);

/** main runs `portico logs`; resolves with the exit code. */
export async function main(argv: string[], print: Print = stdout): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        admin: { type: "string", default: "127.0.0.1:9901" },
        o: { type: "string", short: "o", default: "table" },
        for: { type: "string" },
        off: { type: "boolean", default: false },
        ...Object.fromEntries(Object.keys(FILTERS).map((k) => [k, { type: "string" as const }])),
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n${USAGE}`);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const admin = String(v.admin);
  const output = outputOf(String(v.o));
  const [verb, ...rest] = parsed.positionals;
  if (verb === "full") return full(admin, rest, v, print);
  if (verb !== undefined) throw new CliError(`unexpected ${JSON.stringify(verb)}\n${USAGE}`);
  if (v.for !== undefined || v.off)
    throw new CliError(`--for and --off go with 'portico logs full VS'\n${USAGE}`);
  const params = new URLSearchParams();
  for (const [flag, param] of Object.entries(FILTERS))
    if (typeof v[flag] === "string") params.set(param, v[flag]);
  const q = params.size > 0 ? `?${params}` : "";
  const { doc } = await fetchAdmin<LogRecord[]>(admin, `/api/v1/analytics/logs${q}`);
  if (isDoc(output)) print(renderDoc(doc, output));
  else
    print(doc.length === 0 ? "No requests kept.\n" : renderTable(doc.map((r) => row(r, output === "wide"))));
  return 0;
}

/** row is one table line for a kept request; wide adds where it went and why it broke. */
function row(r: LogRecord, wide: boolean): Row {
  const base: Row = {
    TIME: new Date(r.at).toISOString(),
    STATUS: String(r.status),
    REASONS: r.reasons.join(","),
    METHOD: r.method,
    HOST: r.authority,
    PATH: r.path.length > 60 && !wide ? `${r.path.slice(0, 57)}...` : r.path,
    CLIENT: r.client,
    MS: r.timings.total !== undefined ? r.timings.total.toFixed(1) : "",
    BROWSER: `${r.browser}/${r.os}`,
  };
  if (!wide) return base;
  return {
    ...base,
    VS: r.vs,
    ROUTE: r.route,
    BACKEND: r.backend,
    ENGINE: r.engine,
    PROTOCOL: r.protocol,
    ERROR: r.error,
    "USER-AGENT": r.userAgent,
  };
}

/** minutesOf reads --for: whole minutes from 1 to 60 ("10m", "1h", "30"). */
export function minutesOf(text: string): number {
  const m = /^(\d+)(m|h)?$/.exec(text);
  const n = m ? Number(m[1]) * (m[2] === "h" ? 60 : 1) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 60)
    throw new CliError(`--for must be whole minutes from 1m to 60m (or 1h), not "${text}"`);
  return n;
}

/** full lists the switches, or sets one (--for) or clears it (--off). */
async function full(
  admin: string,
  args: string[],
  v: Record<string, string | boolean | undefined>,
  print: Print,
): Promise<number> {
  const [vs, ...extra] = args;
  if (vs === undefined) {
    if (v.for !== undefined || v.off)
      throw new CliError(`give the virtual service: portico logs full VS --for 10m\n${USAGE}`);
    const { doc } = await fetchAdmin<FullLogSwitch[]>(admin, "/api/v1/analytics/full-logs");
    print(
      doc.length === 0
        ? "No full logs on.\n"
        : renderTable(doc.map((s) => ({ VS: s.vs, UNTIL: new Date(s.until).toISOString() }))),
    );
    return 0;
  }
  if (extra.length > 0)
    throw new CliError(`one virtual service at a time (quote a key with a space)\n${USAGE}`);
  if ((v.for === undefined) === !v.off) throw new CliError(`give --for DURATION or --off\n${USAGE}`);
  const minutes = v.off ? 0 : minutesOf(String(v.for));
  const { status, text } = await postAdmin(
    admin,
    `/api/v1/analytics/full-logs?${new URLSearchParams({ vs, minutes: String(minutes) })}`,
  );
  if (status !== 202) throw new CliError(`${text} (HTTP ${status})`, status === 400 ? 2 : 1);
  const doc = JSON.parse(text) as { vs: string; until?: number };
  print(
    doc.until === undefined
      ? `full logs off for ${doc.vs}; significant requests are still kept\n`
      : `every request of ${doc.vs} is logged until ${new Date(doc.until).toISOString()}\n`,
  );
  return 0;
}

// certificates.ts: `portico certificates renew NAME` — ask a running `portico run` (its admin API,
// loopback by default) to order the built-in ACME issuer's certificate stored under Secret NAME
// now, whatever its renewal time. In Kubernetes the same is the annotation portico.dev/renew on
// the Secret (docs/certificates.md).
import { clientHeaders } from "./admin-token.ts";
import { parseArgs } from "node:util";
import { CliError, splitHostPort } from "./args.ts";

const USAGE =
  "usage: portico certificates renew [NAMESPACE/]NAME [--admin HOST:PORT] [--admin-token-file FILE]";

/** main runs the subcommand; resolves with the exit code (0 ordered, 1 nothing requested there). */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        admin: { type: "string", default: "127.0.0.1:9901" },
        "admin-token-file": { type: "string" },
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message}; ${USAGE}`);
  }
  const [verb, name, ...extra] = parsed.positionals;
  if (verb !== "renew" || !name || extra.length > 0) throw new CliError(USAGE);
  const { host, port } = splitHostPort(parsed.values.admin);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/api/v1/certificates/renew?secret=${encodeURIComponent(name)}`;
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: clientHeaders(parsed.values["admin-token-file"]) });
  } catch (err) {
    throw new CliError(
      `cannot reach a running Portico at ${url} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); pass --admin HOST:PORT`,
      1,
    );
  }
  const text = (await res.text()).trim();
  if (res.status === 202) {
    process.stdout.write(`${text}\n`);
    return 0;
  }
  throw new CliError(`${text} (HTTP ${res.status})`, res.status === 400 ? 2 : 1);
}

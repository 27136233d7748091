// certificates.ts: `portico certificates renew NAME` — ask a running `portico run` (its admin API,
// loopback by default) to order the built-in ACME issuer's certificate stored under Secret NAME
// now, whatever its renewal time. In Kubernetes the same is the annotation portico.dev/renew on
// the Secret (docs/certificates.md).
import { clientHeaders } from "./admin-token.ts";
import { parseArgs } from "node:util";
import { CliError } from "./args.ts";
import { postAdmin } from "./offline.ts";

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
  const { status, text } = await postAdmin(
    parsed.values.admin,
    `/api/v1/certificates/renew?secret=${encodeURIComponent(name)}`,
    clientHeaders(parsed.values["admin-token-file"]),
  );
  if (status === 202) {
    process.stdout.write(`${text}\n`);
    return 0;
  }
  throw new CliError(`${text} (HTTP ${status})`, status === 400 ? 2 : 1);
}

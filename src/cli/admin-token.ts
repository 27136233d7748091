// admin-token.ts: --admin-token-file on both sides of the admin address — the server's token
// (portico run, portico controller: required off loopback) and the header the CLI's own requests
// send (portico get/explain/validate/translate --admin HOST:PORT) so they work against either.
import { readFileSync } from "node:fs";
import {
  ADMIN_TOKEN_ENV,
  adminToken,
  AdminTokenError,
  parseAdminTokens,
  type AdminTokenEntry,
} from "../api/admin-auth.ts";
import { CliError, splitHostPort } from "./args.ts";

/** serverToken is the tokens the admin address at `admin` accepts, or undefined (loopback, no file). */
export function serverToken(
  admin: string,
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AdminTokenEntry[] | undefined {
  const { host } = splitHostPort(admin);
  try {
    return adminToken(host, file ?? env[ADMIN_TOKEN_ENV]);
  } catch (err) {
    if (err instanceof AdminTokenError) throw new CliError(err.message);
    throw err;
  }
}

/** clientHeaders carries the first token of --admin-token-file (or the env) on the CLI's admin requests. */
export function clientHeaders(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const path = file ?? env[ADMIN_TOKEN_ENV];
  if (path === undefined || path === "") return {};
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`--admin-token-file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return { authorization: `Bearer ${parseAdminTokens(path, text)[0]!.token}` };
  } catch (err) {
    if (err instanceof AdminTokenError) throw new CliError(err.message);
    throw err;
  }
}

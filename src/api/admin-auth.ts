// admin-auth.ts: who may read the admin address. On loopback (the default) anyone on the host may,
// as before; bound elsewhere, the console's data and every /api/v1 route need a bearer token, while
// /healthz, /readyz and /metrics stay open (kubelet probes and Prometheus scrapes carry no token,
// and none of them tells anything about the configuration). The console's own files (code, no
// data) load without the token too: the page must run to show its token field. The token file may
// hold several tokens, some scoped to one tenant (`TOKEN tenant=NAME`): what such a request sees
// is narrowed by tenant-scope.ts (docs/tenants.md, "Tenant-scoped tokens").
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";

/** ADMIN_TOKEN_ENV names the environment variable that gives --admin-token-file. */
export const ADMIN_TOKEN_ENV = "PORTICO_ADMIN_TOKEN_FILE";

/** MIN_TOKEN_LENGTH: a shorter token is refused (guessable); `openssl rand -hex 32` gives 64. */
export const MIN_TOKEN_LENGTH = 16;

/** OPEN_PATHS answer without a token wherever the admin address is bound. */
export const OPEN_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** isLoopback says whether host (an --admin host) only accepts connections from this host. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/** AdminTokenError says why the admin token cannot be had; code is stable. */
export class AdminTokenError extends Error {
  readonly code:
    | "ADMIN_TOKEN_REQUIRED"
    | "ADMIN_TOKEN_UNREADABLE"
    | "ADMIN_TOKEN_SHORT"
    | "ADMIN_TOKEN_SYNTAX"
    | "ADMIN_TOKEN_EMPTY";
  constructor(code: AdminTokenError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

/** AdminTokenEntry is one line of --admin-token-file: a token, and the tenant it is scoped to (absent: full admin). */
export interface AdminTokenEntry {
  token: string;
  tenant?: string;
}

/** TENANT_NAME is what a Tenant's metadata.name may be (a DNS-1123 subdomain). */
const TENANT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * parseAdminTokens reads the token file's text: one token a line, `TOKEN` (full admin) or
 * `TOKEN tenant=NAME` (scoped to a tenant); `#` starts a comment, blank lines are skipped. Errors
 * name file:line and never quote a token.
 */
export function parseAdminTokens(file: string, text: string): AdminTokenEntry[] {
  const out: AdminTokenEntry[] = [];
  const seen = new Map<string, number>();
  const fail = (code: AdminTokenError["code"], n: number, what: string): never => {
    throw new AdminTokenError(code, `--admin-token-file ${file}:${n}: ${what}`);
  };
  text.split("\n").forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") return;
    const [token = "", ...rest] = line.split(/\s+/);
    if (token.length < MIN_TOKEN_LENGTH)
      fail(
        "ADMIN_TOKEN_SHORT",
        n,
        `the token has ${token.length} characters, fewer than ${MIN_TOKEN_LENGTH}; write a longer one (e.g. \`openssl rand -hex 32\`)`,
      );
    const entry: AdminTokenEntry = { token };
    for (const field of rest) {
      const m = /^tenant=(.*)$/.exec(field);
      // A field without "=" may be a second token or a passphrase's next word: only its length is told.
      if (!m)
        fail(
          "ADMIN_TOKEN_SYNTAX",
          n,
          field.includes("=")
            ? `unknown field ${JSON.stringify(field.replace(/=.*/, "="))}; a line is TOKEN or TOKEN tenant=NAME`
            : `an extra field (${field.length} characters) after the token; a line is TOKEN or TOKEN tenant=NAME`,
        );
      if (entry.tenant !== undefined)
        fail("ADMIN_TOKEN_SYNTAX", n, "tenant= given twice; a token is scoped to one tenant");
      if (!TENANT_NAME.test(m![1]!))
        fail(
          "ADMIN_TOKEN_SYNTAX",
          n,
          `tenant=${JSON.stringify(m![1])} is not a Tenant name (lower-case letters, digits, '-', '.')`,
        );
      entry.tenant = m![1]!;
    }
    const before = seen.get(token);
    if (before !== undefined)
      fail("ADMIN_TOKEN_SYNTAX", n, `the same token as line ${before}; give each tenant its own token`);
    seen.set(token, n);
    out.push(entry);
  });
  if (out.length === 0)
    throw new AdminTokenError(
      "ADMIN_TOKEN_EMPTY",
      `--admin-token-file ${file}: no token in it; write one a line, TOKEN or TOKEN tenant=NAME (e.g. \`openssl rand -hex 32 > FILE\`)`,
    );
  return out;
}

/**
 * adminToken resolves the tokens for an admin address: every token line of the file when a file
 * is given, else undefined on loopback; a non-loopback address without a file fails closed, saying
 * what to pass.
 */
export function adminToken(host: string, file: string | undefined): AdminTokenEntry[] | undefined {
  if (file === undefined || file === "") {
    if (isLoopback(host)) return undefined;
    throw new AdminTokenError(
      "ADMIN_TOKEN_REQUIRED",
      `--admin ${host} is not a loopback address: the console and /api/v1 would be open to the network. ` +
        `Pass --admin-token-file FILE (or set ${ADMIN_TOKEN_ENV}) with a token of ${MIN_TOKEN_LENGTH}+ characters ` +
        "(e.g. `openssl rand -hex 32 > FILE`), or bind --admin 127.0.0.1:PORT",
    );
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new AdminTokenError(
      "ADMIN_TOKEN_UNREADABLE",
      `--admin-token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; ` +
        "give a readable file holding the token (e.g. `openssl rand -hex 32 > FILE`)",
    );
  }
  return parseAdminTokens(file, text);
}

/** digest makes both sides of the comparison one length, so timingSafeEqual applies and leaks nothing. */
function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Identity is who a request is: full admin (tenant absent) or scoped to a tenant; bearer: it sent a token. */
export interface Identity {
  tenant?: string;
  bearer: boolean;
}

/**
 * AdminGuard checks requests against the tokens of --admin-token-file. No tokens: everything is
 * open (loopback). Only scoped tokens on loopback: a request without a token is open as before
 * (the host's users), one with a token must match and is scoped. Otherwise every request needs a token.
 */
export class AdminGuard {
  readonly #tokens: { digest: Buffer; tenant?: string }[];
  readonly #required: boolean;
  constructor(tokens: string | readonly AdminTokenEntry[] | undefined, loopback = false) {
    const list = typeof tokens === "string" ? [{ token: tokens }] : (tokens ?? []);
    this.#tokens = list.map((t) => ({ digest: digest(t.token), ...(t.tenant ? { tenant: t.tenant } : {}) }));
    this.#required = list.length > 0 && (!loopback || list.some((t) => t.tenant === undefined));
  }

  /** openWarning is what to log at start when scoped tokens guard a loopback address that a token-less request still reads whole, else undefined. */
  openWarning(): string | undefined {
    if (this.#required || this.#tokens.length === 0) return undefined;
    return (
      "--admin-token-file holds only tenant-scoped tokens and the admin address is loopback: a request " +
      "without a token still sees every tenant (the host's users are trusted). Add a full-admin line " +
      "(TOKEN without tenant=) to require a token on every request"
    );
  }

  /** identify answers who req is, or the 401 text to send. */
  identify(req: IncomingMessage, path: string): Identity | string {
    if (OPEN_PATHS.has(path)) return { bearer: false };
    const header = req.headers.authorization;
    if (header === undefined && !this.#required) return { bearer: false };
    if (this.#tokens.length === 0) return { bearer: false };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!m)
      return "this admin address needs a token: send Authorization: Bearer TOKEN (a line of --admin-token-file)\n";
    // Constant time: the comparison must not tell an attacker how many leading bytes were right,
    // nor which line matched — every line is compared, whichever matches.
    const d = digest(m[1]!);
    let hit: { tenant?: string } | undefined;
    for (const t of this.#tokens) if (timingSafeEqual(d, t.digest) && hit === undefined) hit = t;
    if (hit === undefined) return "wrong token: send a line of --admin-token-file\n";
    return { bearer: true, ...(hit.tenant !== undefined ? { tenant: hit.tenant } : {}) };
  }
}

/**
 * foreignRequest answers why a request on an admin address without a token comes from a web page
 * rather than a person on this host, or undefined. Loopback without a token trusts the host's
 * users, not the sites their browsers visit: a page may send a simple cross-site POST (an Origin
 * header tells it; curl and the CLI send none), and DNS rebinding lets a page read the API under a
 * name of its own (Host names it; a person types an address, or localhost). The console itself
 * sends GETs to the address it was loaded from.
 */
export function foreignRequest(req: IncomingMessage): string | undefined {
  if (req.method !== "GET" && req.method !== "HEAD" && req.headers.origin !== undefined)
    return `refused: a ${req.method} from a web page (Origin ${req.headers.origin}); use the CLI or curl on this host\n`;
  const host = (req.headers.host ?? "").toLowerCase();
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d*$/, "");
  if (host !== "" && name !== "localhost" && isIP(name) === 0)
    return `refused: Host ${JSON.stringify(host)} is not an address of this admin API (a web page under another name?); use http://127.0.0.1:PORT or pass --admin-token-file\n`;
  return undefined;
}

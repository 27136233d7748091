// admin-auth.ts: who may read the admin address. On loopback (the default) anyone on the host may,
// as before; bound elsewhere, the console's data and every /api/v1 route need a bearer token, while
// /healthz, /readyz and /metrics stay open (kubelet probes and Prometheus scrapes carry no token,
// and none of them tells anything about the configuration). The console's own files (code, no
// data) load without the token too: the page must run to show its token field.
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
  readonly code: "ADMIN_TOKEN_REQUIRED" | "ADMIN_TOKEN_UNREADABLE" | "ADMIN_TOKEN_SHORT";
  constructor(code: AdminTokenError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * adminToken resolves the token for an admin address: the file's first line when a file is given,
 * else undefined on loopback; a non-loopback address without a file fails closed, saying what to pass.
 */
export function adminToken(host: string, file: string | undefined): string | undefined {
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
  const token = (text.split("\n")[0] ?? "").trim();
  if (token.length < MIN_TOKEN_LENGTH)
    throw new AdminTokenError(
      "ADMIN_TOKEN_SHORT",
      `--admin-token-file ${file}: the token has ${token.length} characters, fewer than ${MIN_TOKEN_LENGTH}; ` +
        "write a longer one (e.g. `openssl rand -hex 32 > FILE`)",
    );
  return token;
}

/** digest makes both sides of the comparison one length, so timingSafeEqual applies and leaks nothing. */
function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** AdminGuard checks requests against one token; undefined token: everything is open (loopback). */
export class AdminGuard {
  #token: Buffer | undefined;
  constructor(token: string | undefined) {
    this.#token = token === undefined ? undefined : digest(token);
  }

  /** refusal answers undefined when req may proceed, else the 401 text to send. */
  refusal(req: IncomingMessage, path: string): string | undefined {
    if (this.#token === undefined || OPEN_PATHS.has(path)) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!m)
      return "this admin address needs a token: send Authorization: Bearer TOKEN (the content of --admin-token-file)\n";
    // Constant time: the comparison must not tell an attacker how many leading bytes were right.
    if (!timingSafeEqual(digest(m[1]!), this.#token))
      return "wrong token: send the content of --admin-token-file\n";
    return undefined;
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

// password-hash.ts: which htpasswd password hash schemes Portico checks, by their form alone —
// shared by the translator (a user whose hash no scheme matches is reported and refused) and the
// engine's checks (engine/l7/htpasswd.ts). DES crypt(3) and SHA-crypt ($5$, $6$) are not supported.

/** HashKind is a supported password hash scheme. */
export type HashKind = "bcrypt" | "md5-crypt" | "sha1";

/** BCRYPT_HASH matches a bcrypt hash: version ($2a$/$2b$/$2y$), cost, 22 salt and 31 hash characters. */
export const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;
/** MD5_CRYPT matches an MD5-crypt hash ($1$ or Apache's $apr1$): magic, salt (≤ 8), 22 characters. */
export const MD5_CRYPT = /^\$(1|apr1)\$([^$]{0,8})\$([./0-9A-Za-z]{22})$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;

/**
 * BCRYPT_MAX_COST: a check runs 2^cost key schedules on the engine's thread (cost 10 ≈ 0.27 s,
 * each step doubles it); a costlier hash would stall every connection of the engine, so it is refused.
 */
export const BCRYPT_MAX_COST = 12;

/** hashKind tells which supported scheme hash is in, or undefined when it is none of them. */
export function hashKind(hash: string): HashKind | undefined {
  const b = BCRYPT_HASH.exec(hash);
  if (b !== null) return Number(b[1]) >= 4 && Number(b[1]) <= BCRYPT_MAX_COST ? "bcrypt" : undefined;
  if (MD5_CRYPT.test(hash)) return "md5-crypt";
  if (SHA1.test(hash)) return "sha1";
  return undefined;
}

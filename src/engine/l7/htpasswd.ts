// htpasswd.ts: checks a password against the hashes Apache's htpasswd and `openssl passwd` write —
// bcrypt (`htpasswd -B`), MD5-crypt (`$apr1$`: `htpasswd -m`, `openssl passwd -apr1`; `$1$`:
// `openssl passwd -1`) and `{SHA}` (`htpasswd -s`). DES crypt(3) (`htpasswd -d`, 8-character
// passwords) and SHA-crypt (`$5$`, `$6$`) are not supported: hashKind says so, and the translator
// reports the user instead of letting anyone in. Every comparison is constant-time.
import { createHash, timingSafeEqual } from "../node-crypto.ts";
import { hashKind, MD5_CRYPT } from "../../model/password-hash.ts";
import { bcryptCheck } from "./bcrypt.ts";

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** checkPassword tells whether password matches hash; false for a hash of no supported scheme. */
export function checkPassword(password: Buffer, hash: string): boolean {
  switch (hashKind(hash)) {
    case "bcrypt":
      return bcryptCheck(password, hash);
    case "md5-crypt":
      return same(md5Crypt(password, hash), hash);
    case "sha1":
      return same(`{SHA}${createHash("sha1").update(password).digest("base64")}`, hash);
    default:
      return false;
  }
}

// same compares two strings in constant time (for their common length; lengths are not secret).
function same(a: string, b: string): boolean {
  const x = Buffer.from(a, "latin1");
  const y = Buffer.from(b, "latin1");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** md5Crypt hashes password with the magic and salt of hash (Poul-Henning Kamp's MD5-crypt). */
export function md5Crypt(password: Buffer, hash: string): string {
  const m = MD5_CRYPT.exec(hash);
  if (m === null) return "";
  const magic = Buffer.from(`$${m[1]}$`, "latin1");
  const salt = Buffer.from(m[2]!, "latin1");
  const md5 = (...parts: Buffer[]) => {
    const h = createHash("md5");
    for (const p of parts) h.update(p);
    return h.digest();
  };
  let final = md5(password, salt, password);
  const ctx: Buffer[] = [password, magic, salt];
  for (let left = password.length; left > 0; left -= 16) ctx.push(final.subarray(0, Math.min(left, 16)));
  // The original C zeroed `final` before this loop: a set bit adds a NUL byte, a clear one pw[0].
  for (let i = password.length; i !== 0; i >>>= 1) ctx.push(i & 1 ? Buffer.of(0) : password.subarray(0, 1));
  final = md5(...ctx);
  // A thousand rounds, to slow down dictionary attacks (as of 1994).
  for (let i = 0; i < 1000; i++) {
    const parts: Buffer[] = [i & 1 ? password : final];
    if (i % 3 !== 0) parts.push(salt);
    if (i % 7 !== 0) parts.push(password);
    parts.push(i & 1 ? final : password);
    final = md5(...parts);
  }
  const f = final;
  let out = `${magic.toString("latin1")}${m[2]!}$`;
  const to64 = (v: number, n: number) => {
    for (let i = 0; i < n; i++, v >>>= 6) out += ITOA64[v & 0x3f];
  };
  to64((f[0]! << 16) | (f[6]! << 8) | f[12]!, 4);
  to64((f[1]! << 16) | (f[7]! << 8) | f[13]!, 4);
  to64((f[2]! << 16) | (f[8]! << 8) | f[14]!, 4);
  to64((f[3]! << 16) | (f[9]! << 8) | f[15]!, 4);
  to64((f[4]! << 16) | (f[10]! << 8) | f[5]!, 4);
  to64(f[11]!, 2);
  return out;
}

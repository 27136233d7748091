// t-codec.ts: whole-value codecs and digests: base64 (strict and forgiving), hex, SQL hex
// literals, MD5 and SHA-1 (raw digest bytes, as ModSecurity: rules compare them with hexEncode).
import type * as Crypto from "node:crypto";
import { createRequire } from "node:module";
import { decodeEach, hex2, isHex, output, text, type Step } from "./buffer.ts";
import type { Transform } from "./types.ts";

// Through require: an ES import of node:crypto loads Node's web crypto into every engine
// (src/engine/node-crypto.ts says what that costs).
const { createHash } = createRequire(import.meta.url)("node:crypto") as typeof Crypto;

// Base64 alphabet value per byte; -1: not in the alphabet.
const B64: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
})();

/** base64 decodes s as ModSecurity does: CR and LF are skipped; strict mode stops at '=', a space
 * or any other byte outside the alphabet (decoding what came before); ext (base64DecodeExt) maps
 * the URL-safe '-' '_' to '+' '/', skips whitespace, '.' and other strange bytes, stops at '='. */
function base64(s: string, ext: boolean): string {
  const n = s.length;
  const b = output(Math.ceil((n * 3) / 4) + 3);
  let j = 0;
  let acc = 0;
  let have = 0;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) continue;
    if (c === 0x3d) break;
    if (ext) {
      if (c === 0x2d) c = 0x2b;
      else if (c === 0x5f) c = 0x2f;
    } else if (c === 0x20) break;
    const v = c < 256 ? B64[c]! : -1;
    if (v < 0) {
      if (ext) continue;
      break;
    }
    acc = (acc << 6) | v;
    if (++have === 4) {
      b[j++] = (acc >> 16) & 0xff;
      b[j++] = (acc >> 8) & 0xff;
      b[j++] = acc & 0xff;
      acc = 0;
      have = 0;
    }
  }
  if (have === 2) b[j++] = (acc >> 4) & 0xff;
  else if (have === 3) {
    b[j++] = (acc >> 10) & 0xff;
    b[j++] = (acc >> 2) & 0xff;
  }
  return text(b, j);
}

/** hexDecode decodes a value made of hex digit pairs; anything else (odd length, a non-hex
 * byte) decodes to "" as in Coraza, so a rule never sees half-decoded bytes. */
function hexDecode(s: string): string {
  const n = s.length;
  if (n % 2 !== 0) return "";
  const b = output(n / 2);
  for (let i = 0; i < n; i += 2) {
    if (!isHex(s.charCodeAt(i)) || !isHex(s.charCodeAt(i + 1))) return "";
    b[i / 2] = hex2(s, i);
  }
  return text(b, n / 2);
}

/** sqlHexStep decodes one SQL hex literal (sqlHexDecode: 0x414243 → ABC, anywhere in the value), as
 * ModSecurity: at least two digits after 0x, then each pair of hex digits becomes a byte. */
const sqlHexStep: Step = (s, b, at) => {
  let i = at.i;
  if (!(
    (s.charCodeAt(i + 1) | 0x20) === 0x78 &&
    i + 3 < s.length &&
    isHex(s.charCodeAt(i + 2)) &&
    isHex(s.charCodeAt(i + 3))
  ))
    return false;
  i += 2;
  while (i + 1 < s.length && isHex(s.charCodeAt(i)) && isHex(s.charCodeAt(i + 1))) {
    b[at.j++] = hex2(s, i);
    i += 2;
  }
  at.i = i;
  return true;
};

function digest(algorithm: "md5" | "sha1"): Transform {
  return (s) => createHash(algorithm).update(s, "latin1").digest().toString("latin1");
}

/** CODEC are the codec and digest transformations, by canonical name. */
export const CODEC: Readonly<Record<string, Transform>> = {
  base64Decode: (s) => (s === "" ? s : base64(s, false)),
  base64DecodeExt: (s) => (s === "" ? s : base64(s, true)),
  base64Encode: (s) => Buffer.from(s, "latin1").toString("base64"),
  hexDecode,
  hexEncode: (s) => Buffer.from(s, "latin1").toString("hex"),
  sqlHexDecode: (s) => decodeEach(s, 0x30, s.length, sqlHexStep),
  md5: digest("md5"),
  sha1: digest("sha1"),
};

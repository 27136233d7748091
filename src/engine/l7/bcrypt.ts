// bcrypt.ts: bcrypt password hashes ($2a$, $2b$, $2y$: Provos and Mazières' EksBlowfish), checked
// without a dependency. Blowfish's initial P-array and S-boxes are the first 8336 hexadecimal
// digits of pi's fraction; they are computed once, on first use, with Machin's formula in BigInt
// (~0.1 s) rather than pasted as 1042 constants nobody can review. `$2x$` (the pre-2011 sign
// extension bug) is not accepted. bcrypt is slow by design and runs on the caller's thread: the
// basic-auth step caches successful checks (basic-auth.ts).
import { timingSafeEqual } from "../node-crypto.ts";
import { BCRYPT_HASH, BCRYPT_MAX_COST } from "../../model/password-hash.ts";

const WORDS = 18 + 4 * 256;
const ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
// "OrpheanBeholderScryDoubt", the text bcrypt enciphers 64 times.
const MAGIC = Buffer.from("OrpheanBeholderScryDoubt", "latin1");

let piWords: Uint32Array | undefined;

// piFraction returns the first n 32-bit words of pi's fractional part (0x243f6a88, 0x85a308d3, ...).
function piFraction(n: number): Uint32Array {
  const bits = BigInt(n * 32 + 64);
  const one = 1n << bits;
  // atan(1/x) = 1/x - 1/(3x³) + 1/(5x⁵) - ... in fixed point with `bits` fraction bits.
  const atanInv = (x: bigint): bigint => {
    let term = one / x;
    const x2 = x * x;
    let sum = 0n;
    for (let k = 1n; term !== 0n; k += 2n) {
      sum += ((k & 2n) === 0n ? 1n : -1n) * (term / k);
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  let frac = (pi - 3n * one) >> 64n;
  const out = new Uint32Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(frac & 0xffffffffn);
    frac >>= 32n;
  }
  return out;
}

/** bcryptPrepare computes Blowfish's tables now (~0.3 s once), so that no request waits for them. */
export function bcryptPrepare(): void {
  piWords ??= piFraction(WORDS);
}

/** bcryptCheck tells whether password matches hash (a $2a$/$2b$/$2y$ bcrypt hash). */
export function bcryptCheck(password: Buffer, hash: string): boolean {
  const m = BCRYPT_HASH.exec(hash);
  if (m === null) return false;
  const cost = Number(m[1]);
  if (cost < 4 || cost > BCRYPT_MAX_COST) return false;
  const salt = decode(m[2]!, 16);
  const want = decode(m[3]!, 23);
  const got = bcryptRaw(password, salt, cost).subarray(0, 23);
  return timingSafeEqual(got, want);
}

// bcryptRaw is the 24-byte EksBlowfish output for password, a 16-byte salt and a cost (2^cost rounds).
function bcryptRaw(password: Buffer, salt: Buffer, cost: number): Buffer {
  piWords ??= piFraction(WORDS);
  const state = piWords.slice();
  const P = state.subarray(0, 18);
  // The key is the password with its NUL terminator, at most 72 bytes ($2b$ caps it; $2a$ wraps).
  const key = Buffer.concat([password, Buffer.of(0)]).subarray(0, 72);
  expand(state, key, salt);
  for (let i = 0, n = 2 ** cost; i < n; i++) {
    expand(state, key, undefined);
    expand(state, salt, undefined);
  }
  const words = new Uint32Array(6);
  for (let i = 0; i < 6; i++) words[i] = MAGIC.readUInt32BE(i * 4);
  const lr = new Uint32Array(2);
  for (let r = 0; r < 64; r++) {
    for (let i = 0; i < 6; i += 2) {
      lr[0] = words[i]!;
      lr[1] = words[i + 1]!;
      encipher(state, P, lr);
      words[i] = lr[0]!;
      words[i + 1] = lr[1]!;
    }
  }
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(words[i]!, i * 4);
  return out;
}

// expand is Blowfish's key schedule, with bcrypt's salt mixed into each block when given.
function expand(state: Uint32Array, key: Buffer, salt: Buffer | undefined): void {
  let kp = 0;
  for (let i = 0; i < 18; i++) {
    let w = 0;
    for (let b = 0; b < 4; b++) {
      w = (w << 8) | key[kp]!;
      kp = (kp + 1) % key.length;
    }
    state[i] = (state[i]! ^ w) >>> 0;
  }
  const P = state.subarray(0, 18);
  const lr = new Uint32Array(2);
  let sp = 0;
  for (let i = 0; i < WORDS; i += 2) {
    if (salt !== undefined) {
      lr[0] = (lr[0]! ^ salt.readUInt32BE(sp)) >>> 0;
      lr[1] = (lr[1]! ^ salt.readUInt32BE(sp + 4)) >>> 0;
      sp = (sp + 8) % 16;
    }
    encipher(state, P, lr);
    state[i] = lr[0]!;
    state[i + 1] = lr[1]!;
  }
}

// encipher runs Blowfish's 16 rounds on the block lr in place (S-boxes follow P in state).
function encipher(state: Uint32Array, P: Uint32Array, lr: Uint32Array): void {
  let l = lr[0]!;
  let r = lr[1]!;
  for (let i = 0; i < 16; i++) {
    l = (l ^ P[i]!) >>> 0;
    const f =
      ((((state[18 + (l >>> 24)]! + state[274 + ((l >>> 16) & 0xff)]!) >>> 0) ^
        state[530 + ((l >>> 8) & 0xff)]!) +
        state[786 + (l & 0xff)]!) >>>
      0;
    const t = (r ^ f) >>> 0;
    r = l;
    l = t;
  }
  lr[0] = (r ^ P[17]!) >>> 0;
  lr[1] = (l ^ P[16]!) >>> 0;
}

// decode reads bcrypt's base64 (its own alphabet, no padding) into n bytes.
function decode(text: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length && o < n; i++) {
    acc = ((acc << 6) | ALPHABET.indexOf(text[i]!)) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}

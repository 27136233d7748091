// node-crypto.ts: the node:crypto functions the engine uses, taken through require. An ES import
// of node:crypto builds its namespace from every export, the lazy ones too, and so loads Node's
// web crypto (`webcrypto`, `subtle`) into every engine, which uses none of it: ~1 MiB of RSS on a
// bare Node 24 (lazy-node.ts says the same of node:http, where it was 8 MiB). node:crypto itself
// is loaded by node:tls anyway.
import { createRequire } from "node:module";
import type * as Crypto from "node:crypto";

const crypto = createRequire(import.meta.url)("node:crypto") as typeof Crypto;

export const {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomInt,
  sign,
  timingSafeEqual,
  verify,
  X509Certificate,
} = crypto;
/** X509Certificate is also the type of its instances, as when imported from node:crypto. */
export type X509Certificate = Crypto.X509Certificate;

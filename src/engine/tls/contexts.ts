// contexts.ts: SecureContexts cached by certificate content, so a snapshot that keeps a Secret
// unchanged reuses its context (and its session cache) and a changed Secret gets a new one.
// Every context shares one process-wide ticket key, so session tickets resume across names and
// snapshot swaps.
import { createHash, randomBytes } from "../node-crypto.ts";
import tls from "node:tls";
import type { Certificate, ClientValidation, TlsOptions } from "../../model/ir.ts";
import { sessionContextOf } from "./client-auth.ts";

/**
 * serverTlsOptions are the default protocol settings of a listener: TLS 1.2/1.3, ECDHE + AEAD only
 * (Mozilla "intermediate" without the DHE suites).
 */
export const serverTlsOptions = {
  minVersion: "TLSv1.2",
  maxVersion: "TLSv1.3",
  ciphers: [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
  honorCipherOrder: true,
} as const;

const MAX_CACHED = 4096;
const ticketKeys = randomBytes(48);
const cache = new Map<string, tls.SecureContext>();

// TLS13_DEFAULT are the TLS 1.3 suites kept on when a listener's cipher list names none.
const TLS13_DEFAULT = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/** protocolOptions turns a listener's TlsOptions into node:tls settings over the defaults. */
export function protocolOptions(o: TlsOptions | undefined): tls.SecureContextOptions {
  if (o === undefined) return { ...serverTlsOptions };
  const out: tls.SecureContextOptions = { ...serverTlsOptions };
  if (o.minVersion !== undefined) out.minVersion = o.minVersion;
  if (o.maxVersion !== undefined) out.maxVersion = o.maxVersion;
  if (o.ciphers !== undefined) {
    // node:tls hands TLS_* names to TLS 1.3 and the rest to TLS 1.2; a list that names only TLS 1.2
    // suites would otherwise leave TLS 1.3 with none and every TLS 1.3 client refused.
    const has13 = o.ciphers.split(":").some((c) => c.startsWith("TLS_"));
    out.ciphers = has13 ? o.ciphers : `${TLS13_DEFAULT}:${o.ciphers}`;
  }
  if (o.ecdhCurves !== undefined) out.ecdhCurve = o.ecdhCurves;
  if (o.preferServerCiphers !== undefined) out.honorCipherOrder = o.preferServerCiphers;
  return out;
}

/**
 * contextFor returns the (cached) SecureContext of a certificate (and its alternates of other key
 * types), trusting client's CA when clients must present certificates; OpenSSL errors propagate.
 */
export function contextFor(
  cert: Certificate,
  client?: ClientValidation,
  options?: TlsOptions,
  alternates: readonly Certificate[] = [],
): tls.SecureContext {
  const hash = createHash("sha256");
  for (const c of [cert, ...alternates]) hash.update(c.certPem).update("\0").update(c.keyPem).update("\0");
  if (client !== undefined) hash.update("\0").update(client.mode).update("\0").update(client.caPem);
  if (options !== undefined) hash.update("\0options").update(JSON.stringify(options));
  const key = hash.digest("base64");
  const hit = cache.get(key);
  if (hit !== undefined) {
    // Re-insert to keep the Map in least-recently-used order.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const ctx = tls.createSecureContext({
    ...protocolOptions(options),
    ...keyPairs(cert, alternates),
    ticketKeys,
    ...clientOptions(client),
  });
  cache.set(key, ctx);
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
  return ctx;
}

// keyPairs loads one chain and key per key type into the context: OpenSSL keeps one per type
// (RSA, ECDSA, Ed25519) and serves the one the client's signature algorithms accept. Keys go as
// { pem } objects: node pairs an array of key strings with the certificates unreliably (measured
// on node 24: [rsa, ecdsa] strings left RSA-only clients with "no shared cipher").
function keyPairs(cert: Certificate, alternates: readonly Certificate[]): tls.SecureContextOptions {
  if (alternates.length === 0) return { cert: cert.certPem, key: cert.keyPem };
  const all = [cert, ...alternates];
  return { cert: all.map((c) => c.certPem), key: all.map((c) => ({ pem: c.keyPem })) };
}

// clientOptions adds the client CA and a session id context of its own (see sessionContextOf).
function clientOptions(client: ClientValidation | undefined): tls.SecureContextOptions {
  return client === undefined ? {} : { ca: client.caPem, sessionIdContext: sessionContextOf(client) };
}

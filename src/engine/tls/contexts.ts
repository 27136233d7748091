// contexts.ts: SecureContexts cached by certificate content, so a snapshot that keeps a Secret
// unchanged reuses its context (and its session cache) and a changed Secret gets a new one.
// Every context shares one process-wide ticket key, so session tickets resume across names and
// snapshot swaps.
import { createHash, randomBytes } from "node:crypto";
import tls from "node:tls";
import type { Certificate, ClientValidation } from "../../model/ir.ts";
import { sessionContextOf } from "./client-auth.ts";

/** serverTlsOptions are the protocol settings every listener uses: TLS 1.2/1.3, ECDHE + AEAD only. */
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

/**
 * contextFor returns the (cached) SecureContext of a certificate, trusting client's CA when
 * clients must present certificates; OpenSSL errors propagate.
 */
export function contextFor(cert: Certificate, client?: ClientValidation): tls.SecureContext {
  const hash = createHash("sha256").update(cert.certPem).update("\0").update(cert.keyPem);
  if (client !== undefined) hash.update("\0").update(client.mode).update("\0").update(client.caPem);
  const key = hash.digest("base64");
  const hit = cache.get(key);
  if (hit !== undefined) {
    // Re-insert to keep the Map in least-recently-used order.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const ctx = tls.createSecureContext({
    ...serverTlsOptions,
    cert: cert.certPem,
    key: cert.keyPem,
    ticketKeys,
    ...clientOptions(client),
  });
  cache.set(key, ctx);
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
  return ctx;
}

// clientOptions adds the client CA and a session id context of its own (see sessionContextOf).
function clientOptions(client: ClientValidation | undefined): tls.SecureContextOptions {
  return client === undefined ? {} : { ca: client.caPem, sessionIdContext: sessionContextOf(client) };
}

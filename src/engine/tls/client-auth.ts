// client-auth.ts: client certificate validation (Gateway spec.tls.frontend). Node verifies the
// client's chain against the context's CA but, by design, never fails the handshake for a bad
// certificate: its tls.Server checks the result after the handshake and closes the connection.
// The engine wraps sockets without a tls.Server, so it makes that check here.
import { createHash } from "../node-crypto.ts";
import type { TLSSocket } from "node:tls";
import type { ClientValidation } from "../../model/ir.ts";

/**
 * clientAllowed decides whether a handshake's client may go on: AllowValidOnly wants a
 * certificate that verified; AllowInsecureFallback takes any client (the backend decides);
 * AllowValidOrNone takes a client without a certificate but not one with a bad certificate.
 */
export function clientAllowed(
  mode: ClientValidation["mode"],
  hasCertificate: boolean,
  verifyError: string | undefined,
): boolean {
  if (mode === "AllowInsecureFallback") return true;
  if (mode === "AllowValidOrNone") return !hasCertificate || verifyError === undefined;
  return hasCertificate && verifyError === undefined;
}

/** verifyErrorOf reads OpenSSL's verdict on the peer's chain (the check tls.Server makes), or undefined. */
export function verifyErrorOf(secure: TLSSocket): string | undefined {
  const handle = (secure as unknown as { _handle?: { verifyError?: () => { code?: string } | null } })
    ._handle;
  if (typeof handle?.verifyError !== "function") return "ERR_NO_VERIFY_RESULT"; // fail closed
  const err = handle.verifyError();
  return err ? (err.code ?? "UNKNOWN") : undefined;
}

/** hasPeerCertificate tells whether the client sent a certificate. */
export function hasPeerCertificate(secure: TLSSocket): boolean {
  const cert = secure.getPeerCertificate();
  return cert !== null && typeof cert === "object" && Object.keys(cert).length > 0;
}

/**
 * sessionContextOf names the session-resumption domain of a validation setting: OpenSSL resumes a
 * session only in a context with the same id, so a ticket issued without a client certificate
 * (another listener, another CA) cannot skip this one's validation.
 */
export function sessionContextOf(v: ClientValidation): string {
  return createHash("sha256").update(v.mode).update("\0").update(v.caPem).digest("hex").slice(0, 32);
}

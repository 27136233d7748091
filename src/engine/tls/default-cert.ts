// default-cert.ts: the certificate an HTTPS listener presents for a server name it has no
// certificate for (and to clients without SNI) when none is configured — generated once per
// process, self-signed, as ingress-nginx's "Fake Certificate" and Envoy Gateway's fallback. The
// handshake then completes and the request gets an HTTP answer (404 for an unknown host) instead
// of a reset the client cannot tell from a network fault. The DER is written by x509.ts.
import type { Certificate } from "../../model/ir.ts";
import { issue } from "./x509.ts";

/** DEFAULT_CERT_NAME is the subject CN and the only DNS name of the generated certificate. */
export const DEFAULT_CERT_NAME = "portico.invalid";
const SUBJECT = "Portico Default Certificate";

let generated: Certificate | undefined;

/** defaultCertificate returns this process's generated certificate, made on first use. */
export function defaultCertificate(now = new Date()): Certificate {
  generated ??= selfSigned(now);
  return generated;
}

/** selfSigned makes an ECDSA P-256 certificate for DEFAULT_CERT_NAME, valid a day back to ten years on. */
export function selfSigned(now: Date): Certificate {
  return issue({ subject: SUBJECT, dnsNames: [DEFAULT_CERT_NAME], role: "plain", now, days: 3650 });
}

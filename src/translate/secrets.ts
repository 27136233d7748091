// secrets.ts: TLS Secrets checked before any engine sees them, so a bad Secret becomes a condition on
// the Ingress that names it instead of a NACKed snapshot. node:crypto's parsers are pure functions
// of their input, so using them keeps translation pure.
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Secret } from "../k8s/types.ts";
import type { Certificate } from "../model/ir.ts";

/** TLS_SECRET_TYPE is the only Secret type that may carry a serving certificate. */
export const TLS_SECRET_TYPE = "kubernetes.io/tls";

/** CheckedCert is a usable certificate, or why the Secret can't be used. */
export type CheckedCert =
  | { ok: true; name: string; cert: Certificate; x509: X509Certificate; notAfter: string }
  | { ok: false; reason: string; message: string };

/** secretMap indexes Secrets by "namespace/name". */
export function secretMap(secrets: readonly Secret[]): Map<string, Secret> {
  return new Map(secrets.map((s) => [`${s.metadata.namespace ?? ""}/${s.metadata.name}`, s]));
}

/**
 * certName names a certificate for people: its subject, or — when the subject is empty, as in
 * cert-manager's certificates without a commonName, where node:crypto gives undefined — its SANs.
 */
export function certName(x: X509Certificate): string {
  const subject = x.subject?.replace(/\n/g, ", ");
  if (subject) return subject;
  return x.subjectAltName ? `with an empty subject (${x.subjectAltName})` : "with an empty subject";
}

/** decodePem turns a base64 data value into PEM text, or undefined when it is not base64 of a PEM. */
function decodePem(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) return undefined;
  const text = Buffer.from(value, "base64").toString("utf8");
  return text.includes("-----BEGIN ") ? text : undefined;
}

/** checkTlsSecret validates a Secret as a key pair: type, both keys present, parseable, matching. */
export function checkTlsSecret(
  secrets: ReadonlyMap<string, Secret>,
  namespace: string,
  name: string,
): CheckedCert {
  const id = `${namespace}/${name}`;
  const s = secrets.get(id);
  if (!s) return { ok: false, reason: "SecretNotFound", message: `Secret ${id} not found` };
  if (s.type !== TLS_SECRET_TYPE) {
    return {
      ok: false,
      reason: "InvalidSecretType",
      message: `Secret ${id} has type ${JSON.stringify(s.type ?? "Opaque")}, want ${TLS_SECRET_TYPE}`,
    };
  }
  return checkKeyPair(s);
}

/**
 * checkKeyPair checks a kubernetes.io/tls Secret's own data: both keys present, the certificate
 * parses, the key parses and matches it. The pipeline runs it on every TLS Secret, so a bad
 * rotation is caught (and the last good version kept) before any engine sees it.
 */
export function checkKeyPair(s: Secret): CheckedCert {
  const id = `${s.metadata.namespace ?? ""}/${s.metadata.name}`;
  const certPem = decodePem(s.data?.["tls.crt"]);
  const keyPem = decodePem(s.data?.["tls.key"]);
  if (!certPem || !keyPem) {
    const missing = [!certPem && "tls.crt", !keyPem && "tls.key"].filter(Boolean).join(" and ");
    return {
      ok: false,
      reason: "InvalidSecret",
      message: `Secret ${id}: ${missing} missing or not base64 PEM`,
    };
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (e) {
    return { ok: false, reason: "InvalidCertificate", message: `Secret ${id}: tls.crt: ${errText(e)}` };
  }
  try {
    const key = createPrivateKey(keyPem);
    if (!x509.checkPrivateKey(key)) {
      return { ok: false, reason: "KeyMismatch", message: `Secret ${id}: tls.key does not match tls.crt` };
    }
  } catch (e) {
    return { ok: false, reason: "InvalidPrivateKey", message: `Secret ${id}: tls.key: ${errText(e)}` };
  }
  return {
    ok: true,
    name: id,
    cert: { certPem, keyPem },
    x509,
    notAfter: new Date(x509.validTo).toISOString(),
  };
}

/** coversHost tells whether a certificate is valid for a host; a wildcard host is checked by one label. */
export function coversHost(x509: X509Certificate, host: string): boolean {
  const probe = host.startsWith("*.") ? `wildcard-probe${host.slice(1)}` : host;
  return x509.checkHost(probe) !== undefined;
}

/** errText is an error's message without OpenSSL's stack noise. */
function errText(e: unknown): string {
  return e instanceof Error ? e.message.split("\n")[0]! : String(e);
}

/** keyTypeOf names a certificate's key type ("RSA", "ECDSA", "Ed25519"): OpenSSL keeps one per type. */
export function keyTypeOf(x509: X509Certificate): string {
  const t = x509.publicKey.asymmetricKeyType ?? "unknown";
  return t === "ec" ? "ECDSA" : t === "rsa" || t === "rsa-pss" ? "RSA" : t === "ed25519" ? "Ed25519" : t;
}

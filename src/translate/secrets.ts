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
  let chain: X509Certificate[];
  try {
    chain = pemBlocks(certPem).map((b) => new X509Certificate(b));
    if (chain.length === 0) throw new Error("no CERTIFICATE block");
  } catch (e) {
    return { ok: false, reason: "InvalidCertificate", message: `Secret ${id}: tls.crt: ${errText(e)}` };
  }
  const x509 = chain[0]!;
  try {
    const key = createPrivateKey(keyPem);
    if (!x509.checkPrivateKey(key)) {
      // A key that matches a later certificate means the bundle is in the wrong order: clients
      // take the first certificate as the server's, so the leaf must come first.
      const at = chain.findIndex((c) => c.checkPrivateKey(key));
      if (at > 0) {
        return {
          ok: false,
          reason: "ChainOrder",
          message: `Secret ${id}: tls.crt has the server certificate at position ${at + 1}; put it first, then its issuers`,
        };
      }
      return {
        ok: false,
        reason: "KeyMismatch",
        message: `Secret ${id}: tls.key does not match the certificate in tls.crt; store the key it was issued for`,
      };
    }
  } catch (e) {
    return { ok: false, reason: "InvalidPrivateKey", message: `Secret ${id}: tls.key: ${errText(e)}` };
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!)) {
      return {
        ok: false,
        reason: "ChainOrder",
        message: `Secret ${id}: tls.crt certificate ${i + 2} did not issue certificate ${i + 1}; order the chain leaf first, each followed by its issuer`,
      };
    }
  }
  return {
    ok: true,
    name: id,
    cert: { certPem, keyPem },
    x509,
    notAfter: new Date(x509.validTo).toISOString(),
  };
}

/** pemBlocks splits PEM text into its CERTIFICATE blocks, in order. */
function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** EXPIRING_DAYS is how close to notAfter a certificate is reported as expiring. */
export const EXPIRING_DAYS = 14;

/** ServingProblem is why a usable key pair must not be served for a host right now. */
export interface ServingProblem {
  reason: "CertificateExpired" | "CertificateNotYetValid" | "CertificateHostMismatch";
  message: string;
}

/**
 * servingProblem checks a key pair against the clock and a host: expired, not yet valid, or not
 * naming the host (SAN DNS names, the CN only without SANs: RFC 6125). undefined: serve it.
 * nowMs is injected so translation stays a pure function of its input.
 */
export function servingProblem(
  c: Extract<CheckedCert, { ok: true }>,
  host: string | undefined,
  nowMs: number | undefined,
): ServingProblem | undefined {
  if (nowMs !== undefined) {
    const from = Date.parse(c.x509.validFrom);
    const to = Date.parse(c.x509.validTo);
    if (nowMs > to) {
      return {
        reason: "CertificateExpired",
        message: `Secret ${c.name}: certificate expired at ${c.notAfter}; renew it`,
      };
    }
    if (nowMs < from) {
      return {
        reason: "CertificateNotYetValid",
        message: `Secret ${c.name}: certificate is not valid before ${new Date(from).toISOString()}; check the issuer's clock or wait`,
      };
    }
  }
  if (host !== undefined && host !== "*" && !coversHost(c.x509, host) && !coversSome(c.x509, host)) {
    return {
      reason: "CertificateHostMismatch",
      message: `Secret ${c.name}: the certificate is for ${namesOf(c.x509).join(", ") || "no DNS name"}, not ${host}; issue one that names ${host}`,
    };
  }
  return undefined;
}

/**
 * coversSome tells whether a wildcard host ("*.example.com") has at least one name of the
 * certificate under it: a certificate for a.example.com and b.example.com serves those two.
 */
function coversSome(x509: X509Certificate, host: string): boolean {
  if (!host.startsWith("*.")) return false;
  const suffix = host.slice(1);
  return namesOf(x509).some((n) => n.endsWith(suffix) && !n.slice(0, -suffix.length).includes("."));
}

/** daysLeft is the whole days from nowMs to the certificate's notAfter (negative once expired). */
export function daysLeft(c: Extract<CheckedCert, { ok: true }>, nowMs: number): number {
  return Math.floor((Date.parse(c.notAfter) - nowMs) / 86_400_000);
}

/** namesOf lists a certificate's DNS names: its SAN DNS entries, else its subject CN. */
export function namesOf(x509: X509Certificate): string[] {
  const san = (x509.subjectAltName ?? "")
    .split(", ")
    .filter((e) => e.startsWith("DNS:"))
    .map((e) => e.slice(4));
  if (san.length > 0) return san;
  const cn = /^CN=(.*)$/m.exec(x509.subject)?.[1];
  return cn ? [cn] : [];
}

/** coversHost tells whether a certificate is valid for a host; a wildcard host is checked by one label. */
export function coversHost(x509: X509Certificate, host: string): boolean {
  const probe = host.startsWith("*.") ? `wildcard-probe${host.slice(1)}` : host;
  // Partial wildcards ("f*.example.com") are refused, as browsers refuse them (RFC 6125 §7.2).
  return x509.checkHost(probe, { partialWildcards: false }) !== undefined;
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

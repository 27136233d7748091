// certificate-issuer.ts: CertificateIssuer (portico.dev/v1alpha1, cluster-scoped), the built-in ACME
// issuer (docs/certificates.md). An Ingress asks for its spec.tls certificates with an annotation,
// a Gateway listener with a TLS option; both name the issuer.
import type { Condition, ObjectMeta } from "./types.ts";

/** CERTIFICATE_ISSUER_ANNOTATION on an Ingress (or a Gateway listener's tls.options key) names the issuer. */
export const CERTIFICATE_ISSUER_ANNOTATION = "portico.dev/certificate-issuer";

/** AcmeChallengeType is how the CA validates control of a name. */
export type AcmeChallengeType = "HTTP01" | "TLSALPN01" | "DNS01";

/** SecretKeyRef names one key of a Secret. */
export interface SecretKeyRef {
  namespace?: string;
  name: string;
  key: string;
}

/** AcmeIssuerSpec is an ACME account at one CA (RFC 8555). */
export interface AcmeIssuerSpec {
  /** server is the ACME directory URL. */
  server: string;
  /** email is the account's contact (mailto:). */
  email?: string;
  /** externalAccountBinding ties the account to one the CA already knows (RFC 8555 §7.3.4). */
  externalAccountBinding?: { keyID: string; keySecretRef: SecretKeyRef };
  /** caBundle (PEM) is trusted for the directory, for a private CA such as Pebble. */
  caBundle?: string;
  /** challenge is the validation method (default HTTP01). */
  challenge?: AcmeChallengeType;
}

/** CertificateIssuerSpec is the issuer's one method (ACME for now). */
export interface CertificateIssuerSpec {
  acme: AcmeIssuerSpec;
}

/** IssuedCertificateStatus is one requested certificate as the issuer reports it. */
export interface IssuedCertificateStatus {
  /** secret is "namespace/name" of the TLS Secret the certificate is stored as. */
  secret: string;
  hosts: string[];
  /** owner is the asking object ("Ingress/ns/name"). */
  owner: string;
  /** state is Pending, Issued or Failed. */
  state: string;
  /** message says "issued, expires …" or "order failed: …". */
  message: string;
  /** next is when the next order runs (renewal or retry), RFC 3339. */
  next?: string;
}

/** CertificateIssuerStatus: Ready and AccountRegistered conditions, and each requested certificate. */
export interface CertificateIssuerStatus {
  /** accountURI is the ACME account's URI at the CA, once registered. */
  accountURI?: string;
  conditions?: Condition[];
  certificates?: IssuedCertificateStatus[];
}

/** CertificateIssuer is the custom resource. */
export interface CertificateIssuer {
  apiVersion: string;
  kind: "CertificateIssuer";
  metadata: ObjectMeta;
  spec: CertificateIssuerSpec;
  status?: CertificateIssuerStatus;
}

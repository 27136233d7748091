// credentials.ts: the admission webhook's serving certificate. Either the user's files (a Secret
// cert-manager keeps, mounted into the pod; re-read when they change, so a renewal needs no
// restart), or, without files, a CA and a server certificate made at start, the CA written to a
// file for the webhook configuration's caBundle (one replica, a laptop, a test: every start makes
// a new CA, so the caBundle must follow it).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { createSecureContext } from "node:tls";
import { issue } from "../../engine/tls/x509.ts";

/** ServingPair is a certificate chain and its key, PEM. */
export interface ServingPair {
  certPem: string;
  keyPem: string;
}

/** AdmissionCredentialError is a certificate or key that cannot be read; it names the file and the fix. */
export class AdmissionCredentialError extends Error {
  readonly code = "PORTICO_ADMISSION_CREDENTIALS";
}

const CA_SUBJECT = "Portico admission webhook CA";

/** readPair reads --admission-cert and --admission-key. */
export function readPair(certFile: string, keyFile: string): ServingPair {
  const read = (f: string, flag: string) => {
    try {
      return readFileSync(f, "utf8");
    } catch (e) {
      throw new AdmissionCredentialError(
        `${flag} ${f}: ${(e as Error).message} (give a PEM file, e.g. tls.crt/tls.key of a mounted kubernetes.io/tls Secret)`,
      );
    }
  };
  const pair = { certPem: read(certFile, "--admission-cert"), keyPem: read(keyFile, "--admission-key") };
  // Checked here, so a wrong file stops the start with both names rather than OpenSSL's words.
  try {
    createSecureContext({ cert: pair.certPem, key: pair.keyPem });
  } catch (e) {
    throw new AdmissionCredentialError(
      `--admission-cert ${certFile} and --admission-key ${keyFile} are not a PEM certificate and its private key ` +
        `(${(e as Error).message}); give tls.crt and tls.key of the same kubernetes.io/tls Secret`,
    );
  }
  return pair;
}

/**
 * generatePair makes a CA and a server certificate for names (DNS names or IP literals: the API
 * server checks the name of the webhook's URL or Service) and writes the CA to caFile.
 */
export function generatePair(names: readonly string[], caFile: string, now = new Date()): ServingPair {
  const ca = issue({ subject: CA_SUBJECT, role: "ca", now, days: 365 });
  const server = issue({
    subject: names[0] ?? "portico-admission",
    dnsNames: names,
    role: "server",
    issuer: { subject: CA_SUBJECT, keyPem: ca.keyPem },
    now,
    days: 365,
  });
  const tmp = `${caFile}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, ca.certPem, { mode: 0o644 });
    renameSync(tmp, caFile);
  } catch (e) {
    throw new AdmissionCredentialError(
      `--admission-ca-file ${caFile}: ${(e as Error).message} (give a writable path; its content goes into the webhook's caBundle)`,
    );
  }
  return server;
}

/** servingNames are the names a generated certificate carries: the Service's DNS names, and the listen address if it is one. */
export function servingNames(service: string, namespace: string, host: string): string[] {
  const names = [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, "localhost"];
  if (isIP(host) && host !== "0.0.0.0" && host !== "::") names.push(host);
  return names;
}

// credentials.ts: what authenticates the engine link standalone — a CA the controller creates and
// keeps, a server certificate for TLS_SERVER_NAME signed by it (engines pin the CA and check the
// name), and a bearer token engines send in their Hello. Created on first use in the state
// directory, loaded afterwards, so engines configured once keep working across restarts. Secrets
// (keys, token) are written 0600, each file atomically (a temporary file renamed into place).
import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issue } from "../engine/tls/x509.ts";
import { TLS_SERVER_NAME } from "./protocol.ts";

/** LINK_FILES are the credential files' names within the directory. */
export const LINK_FILES = {
  ca: "engine-ca.pem",
  caKey: "engine-ca.key",
  cert: "engine-server.pem",
  key: "engine-server.key",
  token: "engine-token",
} as const;

/** LinkCredentials are the controller's side of the link, with the paths an engine needs. */
export interface LinkCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
  token: string;
  /** files are the absolute paths of the CA certificate and the token, for the engine's command line. */
  files: { ca: string; token: string };
  /** created names the files this call wrote (empty when everything was loaded). */
  created: string[];
}

/** CredentialError is a credential file that exists but cannot be used; it names the file and the fix. */
export class CredentialError extends Error {
  readonly code = "PORTICO_LINK_CREDENTIALS";
}

const CA_SUBJECT = "Portico engine link CA";
/** VALID_DAYS: ten years; the link's certificates are replaced by deleting the files, not by expiry. */
const VALID_DAYS = 3650;

/**
 * loadOrCreateCredentials reads the link credentials in dir, creating what is missing: a missing
 * CA makes a new CA and server certificate (engines must then get the new CA file); a missing
 * server certificate is signed again by the existing CA; a missing token is drawn afresh.
 */
export function loadOrCreateCredentials(dir: string, now = new Date()): LinkCredentials {
  mkdirSync(dir, { recursive: true });
  const path = (f: keyof typeof LINK_FILES) => join(dir, LINK_FILES[f]);
  const created: string[] = [];
  const write = (f: keyof typeof LINK_FILES, text: string, secret: boolean) => {
    const tmp = `${path(f)}.tmp-${process.pid}`;
    writeFileSync(tmp, text, { mode: secret ? 0o600 : 0o644 });
    chmodSync(tmp, secret ? 0o600 : 0o644); // the umask may have narrowed the mode; never widened
    renameSync(tmp, path(f));
    created.push(path(f));
  };
  const read = (f: keyof typeof LINK_FILES) => readFileSync(path(f), "utf8");

  let ca: { pem: string; keyPem: string };
  if (existsSync(path("ca")) && existsSync(path("caKey"))) {
    ca = { pem: read("ca"), keyPem: read("caKey") };
    checkPair(ca.pem, ca.keyPem, path("ca"), path("caKey"));
  } else {
    const made = issue({ subject: CA_SUBJECT, role: "ca", now, days: VALID_DAYS });
    ca = { pem: made.certPem, keyPem: made.keyPem };
    write("caKey", ca.keyPem, true);
    write("ca", ca.pem, false);
  }

  let server: { certPem: string; keyPem: string } | undefined;
  const caChanged = created.length > 0;
  if (!caChanged && existsSync(path("cert")) && existsSync(path("key"))) {
    server = { certPem: read("cert"), keyPem: read("key") };
    checkPair(server.certPem, server.keyPem, path("cert"), path("key"));
    // A server certificate from another CA (a CA file replaced by hand) would fail every engine.
    if (!new X509Certificate(server.certPem).verify(new X509Certificate(ca.pem).publicKey))
      server = undefined;
  }
  if (server === undefined) {
    server = issue({
      subject: TLS_SERVER_NAME,
      dnsNames: [TLS_SERVER_NAME],
      role: "server",
      issuer: { subject: CA_SUBJECT, keyPem: ca.keyPem },
      now,
      days: VALID_DAYS,
    });
    write("key", server.keyPem, true);
    write("cert", server.certPem, false);
  }

  let token: string;
  if (existsSync(path("token"))) {
    token = read("token").trim();
    if (token.length < 16)
      throw new CredentialError(
        `${path("token")} holds ${token.length} characters; a link token needs at least 16 (delete the file to have a new one made, then give engines the new one)`,
      );
  } else {
    token = randomBytes(32).toString("base64url");
    write("token", token + "\n", true);
  }
  return { caPem: ca.pem, ...server, token, files: { ca: path("ca"), token: path("token") }, created };
}

// checkPair refuses a certificate that does not parse or does not belong to its key.
function checkPair(certPem: string, keyPem: string, certFile: string, keyFile: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    throw new CredentialError(
      `${certFile} is not a PEM certificate (${(e as Error).message}); delete it and ${keyFile} to have new ones made`,
    );
  }
  let ok: boolean;
  try {
    ok = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (e) {
    throw new CredentialError(
      `${keyFile} is not a PEM private key (${(e as Error).message}); delete it and ${certFile} to have new ones made`,
    );
  }
  if (!ok)
    throw new CredentialError(
      `${keyFile} is not the key of ${certFile}; delete both to have new ones made (engines then need the new CA file)`,
    );
}

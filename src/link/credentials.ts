// credentials.ts: what authenticates the engine link — a CA the controller creates and keeps, a
// server certificate for TLS_SERVER_NAME signed by it (engines pin the CA and check the name), and
// a bearer token engines send in their Hello. Standalone they live in the state directory, created
// on first use and loaded afterwards, so engines configured once keep working across restarts;
// secrets (keys, token) are written 0600, each file atomically (a temporary file renamed into
// place). In a cluster every controller replica must present the same CA and accept the same
// token, so they live in a Secret (kube-link.ts): createCredentials makes them in memory and
// parseSecretData checks what a Secret holds.
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
    server = serverCertificate(ca.keyPem, now);
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

// serverCertificate is the certificate for TLS_SERVER_NAME the link's CA signs.
function serverCertificate(caKeyPem: string, now: Date): { certPem: string; keyPem: string } {
  const s = issue({
    subject: TLS_SERVER_NAME,
    dnsNames: [TLS_SERVER_NAME],
    role: "server",
    issuer: { subject: CA_SUBJECT, keyPem: caKeyPem },
    now,
    days: VALID_DAYS,
  });
  return { certPem: s.certPem, keyPem: s.keyPem };
}

// checkPair refuses a certificate that does not parse or does not belong to its key.
function checkPair(certPem: string, keyPem: string, certFile: string, keyFile: string, fix?: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    throw new CredentialError(
      `${certFile} is not a PEM certificate (${(e as Error).message}); ${fix ?? `delete it and ${keyFile} to have new ones made`}`,
    );
  }
  let ok: boolean;
  try {
    ok = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (e) {
    throw new CredentialError(
      `${keyFile} is not a PEM private key (${(e as Error).message}); ${fix ?? `delete it and ${certFile} to have new ones made`}`,
    );
  }
  if (!ok)
    throw new CredentialError(
      `${keyFile} is not the key of ${certFile}; ${fix ?? "delete both to have new ones made (engines then need the new CA file)"}`,
    );
}

/** SECRET_KEYS are the keys of the Secret portico-engine-link (engines mount only ca.crt and token). */
export const SECRET_KEYS = ["ca.crt", "tls.crt", "tls.key", "token"] as const;

/** SecretCredentials are the link credentials without files (a cluster keeps them in a Secret). */
export type SecretCredentials = Pick<LinkCredentials, "caPem" | "certPem" | "keyPem" | "token">;

/** createCredentials makes a new CA, a server certificate signed by it and a token, in memory. */
export function createCredentials(now = new Date()): SecretCredentials {
  const ca = issue({ subject: CA_SUBJECT, role: "ca", now, days: VALID_DAYS });
  const server = serverCertificate(ca.keyPem, now);
  return {
    caPem: ca.certPem,
    certPem: server.certPem,
    keyPem: server.keyPem,
    token: randomBytes(32).toString("base64url"),
  };
}

/** secretData is c as the Secret's data (plain text; the caller base64-encodes it for the API). */
export function secretData(c: SecretCredentials): Record<(typeof SECRET_KEYS)[number], string> {
  return { "ca.crt": c.caPem, "tls.crt": c.certPem, "tls.key": c.keyPem, token: c.token };
}

/**
 * parseSecretData reads a Secret's data (base64 values, as the API returns them) named `where`;
 * anything missing or damaged is a CredentialError saying to delete the Secret (the leader then
 * makes a new one, and engines restart with it).
 */
export function parseSecretData(data: Record<string, string> | undefined, where: string): SecretCredentials {
  const fix = `delete the Secret ${where} to have a new one made (engines pick the new one up when they restart)`;
  const text: Record<string, string> = {};
  for (const k of SECRET_KEYS) {
    const v = data?.[k];
    if (typeof v !== "string" || v === "")
      throw new CredentialError(`the Secret ${where} has no ${k}; ${fix}`);
    text[k] = Buffer.from(v, "base64").toString("utf8");
  }
  const c = {
    caPem: text["ca.crt"]!,
    certPem: text["tls.crt"]!,
    keyPem: text["tls.key"]!,
    token: text.token!.trim(),
  };
  const at = (k: string) => `${where} key ${k}`;
  checkPair(c.certPem, c.keyPem, at("tls.crt"), at("tls.key"), fix);
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(c.caPem);
  } catch (e) {
    throw new CredentialError(`${at("ca.crt")} is not a PEM certificate (${(e as Error).message}); ${fix}`);
  }
  if (!new X509Certificate(c.certPem).verify(ca.publicKey))
    throw new CredentialError(`${at("tls.crt")} is not signed by ${at("ca.crt")}; ${fix}`);
  if (c.token.length < 16)
    throw new CredentialError(
      `${at("token")} holds ${c.token.length} characters; a link token needs at least 16; ${fix}`,
    );
  return c;
}

// x509.ts: the few DER structures of an X.509 v3 certificate, written by hand because Node can
// make and use keys but not certificates. Used for the HTTPS fallback certificate (default-cert.ts)
// and the engine link's CA and server certificate (link/credentials.ts). ECDSA P-256 with SHA-256
// only: one algorithm keeps this small, and every TLS stack Portico talks to accepts it.
import type { KeyObject } from "node:crypto";
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
} from "../node-crypto.ts";
import { isIPv4, isIPv6 } from "node:net";
import { oid, seq, set, tlv } from "./der.ts";

/** CertSpec is what signCertificate puts in a certificate. */
export interface CertSpec {
  /** subject is the subject's common name. */
  subject: string;
  /** dnsNames become the subjectAltName extension (what TLS clients check; an IP literal becomes an
   * iPAddress entry, which Go clients such as the kube-apiserver need for an https://IP URL); none: no extension. */
  dnsNames?: readonly string[];
  /** publicKey is the subject's key (ECDSA P-256). */
  publicKey: KeyObject;
  /** issuer signs: its common name and private key (the subject's own for a self-signed certificate). */
  issuer: { subject: string; key: KeyObject };
  /**
   * role picks the extensions: "ca" a certificate authority (basicConstraints CA:TRUE, keyUsage
   * keyCertSign/cRLSign); "server" a TLS server signed by one (CA:FALSE, digitalSignature,
   * serverAuth, key identifiers); "plain" the subjectAltName alone (a self-signed fallback).
   */
  role: "ca" | "server" | "plain";
  notBefore: Date;
  notAfter: Date;
}

const ECDSA_SHA256 = seq(oid([1, 2, 840, 10045, 4, 3, 2]));

/** signCertificate returns the DER of a certificate for spec, signed by spec.issuer.key. */
export function signCertificate(spec: CertSpec): Buffer {
  const serial = randomBytes(16);
  // A positive INTEGER in its minimal form: the top bit clear (else negative) and the first byte
  // not 0 (a 0 before a byte below 0x80 is padding OpenSSL refuses: 1 certificate in 256 was bad).
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  const ca = spec.role === "ca";
  const extensions: Buffer[] =
    spec.role === "plain"
      ? []
      : [
          ext([2, 5, 29, 19], true, ca ? seq(tlv(0x01, Buffer.from([0xff]))) : seq()),
          // keyCertSign + cRLSign for a CA (bits 5, 6); digitalSignature (bit 0) for a TLS server.
          ext([2, 5, 29, 15], true, ca ? bits(0x06, 1) : bits(0x80, 7)),
          ext([2, 5, 29, 14], false, tlv(0x04, keyId(spec.publicKey))),
          ext([2, 5, 29, 35], false, seq(tlv(0x80, keyId(createPublicKey(spec.issuer.key))))),
          ...(ca ? [] : [ext([2, 5, 29, 37], false, seq(oid([1, 3, 6, 1, 5, 5, 7, 3, 1])))]),
        ];
  if (spec.dnsNames && spec.dnsNames.length > 0)
    extensions.push(ext([2, 5, 29, 17], false, seq(...spec.dnsNames.map(sanEntry))));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version v3
    tlv(0x02, serial),
    ECDSA_SHA256,
    name(spec.issuer.subject),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: "spki", format: "der" }),
    // Extensions, when present, hold at least one (RFC 5280 §4.1).
    ...(extensions.length > 0 ? [tlv(0xa3, seq(...extensions))] : []),
  );
  const signature = sign("sha256", tbs, { key: spec.issuer.key, dsaEncoding: "der" });
  return seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

/** IssueSpec is what issue needs: a CertSpec without the key and dates it makes itself. */
export interface IssueSpec {
  subject: string;
  dnsNames?: readonly string[];
  role: CertSpec["role"];
  /** issuer signs (its common name and PEM key); absent: the certificate is self-signed. */
  issuer?: { subject: string; keyPem: string };
  now: Date;
  /** days of validity from now; it is also valid from a day before now (clock skew). */
  days: number;
}

/** issue makes a new ECDSA P-256 key and a certificate for it; both PEM. */
export function issue(o: IssueSpec): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const day = 24 * 3600 * 1000;
  const der = signCertificate({
    subject: o.subject,
    ...(o.dnsNames ? { dnsNames: o.dnsNames } : {}),
    publicKey,
    issuer: o.issuer
      ? { subject: o.issuer.subject, key: createPrivateKey(o.issuer.keyPem) }
      : { subject: o.subject, key: privateKey },
    role: o.role,
    notBefore: new Date(o.now.getTime() - day),
    notAfter: new Date(o.now.getTime() + o.days * day),
  });
  return {
    certPem: pem("CERTIFICATE", der),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** pem wraps DER in PEM armour with label ("CERTIFICATE"). */
export function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64.endsWith("\n") ? b64 : b64 + "\n"}-----END ${label}-----\n`;
}

// sanEntry is one GeneralName: iPAddress [7] (4 or 16 bytes) for an IP literal, else dNSName [2].
function sanEntry(n: string): Buffer {
  if (isIPv4(n)) return tlv(0x87, Buffer.from(n.split(".").map(Number)));
  if (isIPv6(n)) return tlv(0x87, ipv6Bytes(n));
  return tlv(0x82, Buffer.from(n));
}

// ipv6Bytes is the 16 bytes of an IPv6 literal ("::" expanded; no embedded IPv4 form).
function ipv6Bytes(n: string): Buffer {
  const [head = "", tail] = n.split("::");
  const words = (s: string) => (s === "" ? [] : s.split(":").map((w) => parseInt(w, 16)));
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

// keyId is the SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1): for P-256 the
// uncompressed point, the last 65 bytes of the SPKI.
function keyId(key: KeyObject): Buffer {
  const spki = key.export({ type: "spki", format: "der" });
  return createHash("sha1")
    .update(spki.subarray(spki.length - 65))
    .digest();
}

// ext is one Extension: OID, critical flag when set, and the value's DER in an OCTET STRING.
function ext(arcs: number[], critical: boolean, value: Buffer): Buffer {
  return seq(oid(arcs), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

// bits is a one-byte BIT STRING with `unused` trailing bits.
function bits(byte: number, unused: number): Buffer {
  return tlv(0x03, Buffer.from([unused, byte]));
}

// name is a Name holding one common name (UTF8String).
function name(cn: string): Buffer {
  return seq(set(seq(oid([2, 5, 4, 3]), tlv(0x0c, Buffer.from(cn)))));
}

// time encodes UTCTime before 2050 and GeneralizedTime from then on (RFC 5280 §4.1.2.5).
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

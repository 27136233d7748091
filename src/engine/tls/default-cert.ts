// default-cert.ts: the certificate an HTTPS listener presents for a server name it has no
// certificate for (and to clients without SNI) when none is configured — generated once per
// process, self-signed, as ingress-nginx's "Fake Certificate" and Envoy Gateway's fallback. The
// handshake then completes and the request gets an HTTP answer (404 for an unknown host) instead
// of a reset the client cannot tell from a network fault. Node can make keys but not
// certificates, so the few DER structures of an X.509 v3 certificate are written here.
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import type { Certificate } from "../../model/ir.ts";

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
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const ecdsaSha256 = seq(oid([1, 2, 840, 10045, 4, 3, 2]));
  const name = seq(set(seq(oid([2, 5, 4, 3]), tlv(0x0c, Buffer.from(SUBJECT)))));
  const day = 24 * 3600 * 1000;
  const san = seq(seq(oid([2, 5, 29, 17]), tlv(0x04, seq(tlv(0x82, Buffer.from(DEFAULT_CERT_NAME))))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // a positive INTEGER
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version v3
    tlv(0x02, serial),
    ecdsaSha256,
    name,
    seq(time(new Date(now.getTime() - day)), time(new Date(now.getTime() + 3650 * day))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    tlv(0xa3, san),
  );
  const signature = sign("sha256", tbs, { key: privateKey, dsaEncoding: "der" });
  const der = seq(tbs, ecdsaSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return {
    certPem: pem("CERTIFICATE", der),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

// tlv encodes one DER element: tag, definite length, content.
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

function seq(...parts: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(parts));
}

function set(...parts: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(parts));
}

// oid encodes an OBJECT IDENTIFIER: the first two arcs in one byte, the rest base 128.
function oid(arcs: number[]): Buffer {
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const a of arcs.slice(2)) {
    const bytes = [a & 0x7f];
    for (let v = a >> 7; v > 0; v >>= 7) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

// time encodes UTCTime before 2050 and GeneralizedTime from then on (RFC 5280 §4.1.2.5).
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64.endsWith("\n") ? b64 : b64 + "\n"}-----END ${label}-----\n`;
}

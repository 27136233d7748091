// message.ts: OCSP (RFC 6960) for stapling: the request for one certificate, and the checks a
// response must pass before a client sees it — signed by the issuer or by a responder the issuer
// delegated (id-kp-OCSPSigning), about this certificate, and current (thisUpdate ≤ now < nextUpdate).
import type { KeyObject } from "node:crypto";
import { createHash, verify, X509Certificate } from "../../node-crypto.ts";
import { children, derTime, oid, oidText, readDer, seq, tlv, type Der } from "../der.ts";

/** CertId names one certificate to a responder: SHA-1 of its issuer's name and key, and its serial. */
export interface CertId {
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serial: Buffer;
}

/** OcspStatus is what the responder said about the certificate. */
export type OcspStatus = "good" | "revoked" | "unknown";

/** OcspAnswer is a response that passed every check, with the times that bound its use. */
export interface OcspAnswer {
  status: OcspStatus;
  thisUpdate: Date;
  /** nextUpdate is when the response stops being stapled (see NO_NEXT_UPDATE_MS when absent). */
  nextUpdate: Date;
}

/** OcspError is a response (or certificate) stapling cannot use; reason is a stable label. */
export class OcspError extends Error {
  readonly reason: "responder_error" | "invalid" | "signature" | "mismatch" | "stale";
  constructor(reason: OcspError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * NO_NEXT_UPDATE_MS bounds a response without nextUpdate ("newer information is always available",
 * RFC 6960 §4.2.2.1): it is stapled for an hour after thisUpdate, then fetched again.
 */
export const NO_NEXT_UPDATE_MS = 3600_000;

/** CLOCK_SKEW_MS tolerates a responder whose clock runs ahead of ours. */
const CLOCK_SKEW_MS = 5 * 60_000;

const SHA1 = seq(oid([1, 3, 14, 3, 2, 26]), tlv(0x05, Buffer.alloc(0)));
const BASIC = "1.3.6.1.5.5.7.48.1.1";
const OCSP_SIGNING = "1.3.6.1.5.5.7.3.9";
const HASHES: Record<string, string | null> = {
  "1.2.840.113549.1.1.5": "sha1",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.2.840.10045.4.1": "sha1",
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.3.101.112": null, // Ed25519: no separate hash
};

/** ocspUrlOf returns the first OCSP responder URL of a certificate's Authority Information Access. */
export function ocspUrlOf(cert: X509Certificate): string | undefined {
  const m = /^OCSP - URI:(\S+)$/m.exec(cert.infoAccess ?? "");
  return m?.[1];
}

/** certIdOf computes the CertId of leaf, issued by issuer. */
export function certIdOf(leaf: X509Certificate, issuer: X509Certificate): CertId {
  const tbs = children(children(readDer(issuer.raw))[0]!);
  // tbsCertificate: [0] version, serialNumber, signature, issuer, validity, subject, spki, ...
  const at = tbs[0]!.tag === 0xa0 ? 1 : 0;
  const subject = tbs[at + 4]!;
  const keyBits = children(tbs[at + 5]!)[1]!;
  const leafTbs = children(children(readDer(leaf.raw))[0]!);
  const serial = leafTbs[leafTbs[0]!.tag === 0xa0 ? 1 : 0]!;
  return {
    issuerNameHash: sha1(subject.raw),
    // The key hash covers the BIT STRING's value, without its unused-bits byte.
    issuerKeyHash: sha1(keyBits.content.subarray(1)),
    serial: serial.content,
  };
}

/** ocspRequest encodes an OCSPRequest for one certificate, unsigned and without a nonce. */
export function ocspRequest(id: CertId): Buffer {
  const certId = seq(SHA1, tlv(0x04, id.issuerNameHash), tlv(0x04, id.issuerKeyHash), tlv(0x02, id.serial));
  return seq(seq(seq(seq(certId))));
}

/**
 * checkResponse decodes an OCSPResponse and returns its answer about id, or throws OcspError:
 * the responder refused, the signature does not verify against issuer (or a responder it
 * delegated to), no single response names id, or the response is not current at now.
 */
export function checkResponse(der: Buffer, id: CertId, issuer: X509Certificate, now: Date): OcspAnswer {
  let top: Der[];
  try {
    top = children(readDer(der));
  } catch (err) {
    throw new OcspError("invalid", `not an OCSP response: ${(err as Error).message}`);
  }
  const status = top[0]?.content[0];
  if (top[0]?.tag !== 0x0a || status !== 0)
    throw new OcspError("responder_error", `responder answered status ${status ?? "?"} (not successful)`);
  let basic: Der[];
  try {
    const bytes = children(readDer(top[1]!.content));
    if (oidText(bytes[0]!) !== BASIC) throw new OcspError("invalid", "not a basic OCSP response");
    basic = children(readDer(bytes[1]!.content));
  } catch (err) {
    if (err instanceof OcspError) throw err;
    throw new OcspError("invalid", `unreadable OCSP response: ${(err as Error).message}`);
  }
  const [tbs, sigAlg, sig, certs] = basic;
  if (tbs === undefined || sigAlg === undefined || sig === undefined)
    throw new OcspError("invalid", "incomplete basic OCSP response");
  const alg = oidText(children(sigAlg)[0]!);
  const hash = HASHES[alg];
  if (hash === undefined) throw new OcspError("signature", `unsupported signature algorithm ${alg}`);
  const signature = sig.content.subarray(1);
  const signedBy = (key: KeyObject) => verify(hash, tbs.raw, key, signature);
  if (!signerKeys(issuer, certs, now).some(signedBy))
    throw new OcspError(
      "signature",
      "the response is not signed by the issuer or a responder it delegated to",
    );
  return answerFor(tbs, id, now);
}

// signerKeys are the keys a response may be signed with: the issuer's, and those of certificates
// in the response that the issuer signed for OCSP signing and that are valid now (RFC 6960 §4.2.2.2).
function signerKeys(issuer: X509Certificate, certs: Der | undefined, now: Date): KeyObject[] {
  const keys = [issuer.publicKey];
  if (certs === undefined || certs.tag !== 0xa0) return keys;
  for (const c of children(children(certs)[0]!)) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(c.raw);
    } catch {
      continue;
    }
    const valid = new Date(x.validFrom) <= now && now < new Date(x.validTo);
    if (
      valid &&
      x.checkIssued(issuer) &&
      x.verify(issuer.publicKey) &&
      (x.keyUsage ?? []).includes(OCSP_SIGNING)
    )
      keys.push(x.publicKey);
  }
  return keys;
}

// answerFor finds the SingleResponse about id in ResponseData and checks its times.
function answerFor(tbs: Der, id: CertId, now: Date): OcspAnswer {
  const fields = children(tbs);
  // ResponseData: [0] version?, responderID, producedAt, responses, [1] extensions?
  const responses = fields[fields[0]!.tag === 0xa0 ? 3 : 2];
  if (responses === undefined) throw new OcspError("invalid", "response without single responses");
  for (const single of children(responses)) {
    const [certId, certStatus, thisUpdate, ...rest] = children(single);
    if (certId === undefined || certStatus === undefined || thisUpdate === undefined) continue;
    if (!sameCert(certId, id)) continue;
    const status: OcspStatus =
      certStatus.tag === 0x80 ? "good" : certStatus.tag === 0xa1 ? "revoked" : "unknown";
    const from = derTime(thisUpdate);
    const next = rest.find((r) => r.tag === 0xa0);
    const until = next ? derTime(children(next)[0]!) : new Date(from.getTime() + NO_NEXT_UPDATE_MS);
    if (from.getTime() > now.getTime() + CLOCK_SKEW_MS)
      throw new OcspError("stale", `thisUpdate ${from.toISOString()} is in the future`);
    if (until <= now) throw new OcspError("stale", `nextUpdate ${until.toISOString()} has passed`);
    return { status, thisUpdate: from, nextUpdate: until };
  }
  throw new OcspError("mismatch", "the response is not about this certificate");
}

// sameCert compares a response's CertID with ours; we ask with SHA-1, and responders answer with
// the hash they were asked with (a response in another hash is not about our request).
function sameCert(el: Der, id: CertId): boolean {
  const [alg, nameHash, keyHash, serial] = children(el);
  if (alg === undefined || nameHash === undefined || keyHash === undefined || serial === undefined)
    return false;
  if (oidText(children(alg)[0]!) !== "1.3.14.3.2.26") return false;
  return (
    nameHash.content.equals(id.issuerNameHash) &&
    keyHash.content.equals(id.issuerKeyHash) &&
    serial.content.equals(id.serial)
  );
}

function sha1(b: Buffer): Buffer {
  return createHash("sha1").update(b).digest();
}

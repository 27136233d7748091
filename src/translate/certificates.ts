// certificates.ts: what translation learned about every serving certificate, as data: which
// Secret, for which hosts of which object, and whether it is served (OK, Expiring) or replaced by
// the default certificate (Expired, Invalid) and why. `portico get certificates`, `explain`, the
// expiry metric and the expiry Events all read this one list.
import type { CheckedCert } from "./secrets.ts";
import { daysLeft, EXPIRING_DAYS } from "./secrets.ts";

/** CertificateState is how a certificate stands for the hosts that asked for it. */
export type CertificateState = "OK" | "Expiring" | "Expired" | "Invalid";

/** CertificateUse is one Secret as one object (Ingress, Gateway listener) asked for it. */
export interface CertificateUse {
  /** secret is "namespace/name". */
  secret: string;
  /** object is the asking object's key ("Ingress/ns/name", "Gateway/ns/name"). */
  object: string;
  /** listener names the Gateway listener, when the object is a Gateway or ListenerSet. */
  listener?: string;
  /** hosts are the names the object wants served with it ([] for "clients without a known name"). */
  hosts: string[];
  state: CertificateState;
  /** reason is the stable code of a problem (CertificateExpired, KeyMismatch, ...) or of Expiring. */
  reason?: string;
  message?: string;
  /** issuer is the issuer's CN (or the whole issuer DN without one); absent when unparsable. */
  issuer?: string;
  /** notAfter (RFC 3339) and daysLeft (whole days from translate's now) when the PEM parsed. */
  notAfter?: string;
  daysLeft?: number;
  /** notBefore (RFC 3339) when the PEM parsed. */
  notBefore?: string;
}

/** nowOf reads translate's injected clock (TranslateOptions.now) as milliseconds; undefined: no clock. */
export function nowOf(now: string | undefined): number | undefined {
  if (now === undefined) return undefined;
  const ms = Date.parse(now);
  return Number.isNaN(ms) ? undefined : ms;
}

/** certificateUse describes a Secret's certificate for an object; problem, when set, made it unusable. */
export function certificateUse(
  base: { secret: string; object: string; listener?: string; hosts: string[] },
  checked: CheckedCert,
  nowMs: number | undefined,
  problem?: { reason: string; message: string },
): CertificateUse {
  const use: CertificateUse = { ...base, state: "OK" };
  if (checked.ok) {
    const cn = /^CN=(.*)$/m.exec(checked.x509.issuer)?.[1];
    // An empty issuer or subject reads as undefined in node (cert-manager leaves subjects empty).
    use.issuer = cn ?? (checked.x509.issuer ?? "").replace(/\n/g, ", ");
    use.notAfter = checked.notAfter;
    use.notBefore = new Date(checked.x509.validFrom).toISOString();
    if (nowMs !== undefined) use.daysLeft = daysLeft(checked, nowMs);
  }
  const why = problem ?? (checked.ok ? undefined : checked);
  if (why) {
    use.state = why.reason === "CertificateExpired" ? "Expired" : "Invalid";
    use.reason = why.reason;
    use.message = why.message;
  } else if (use.daysLeft !== undefined && use.daysLeft < EXPIRING_DAYS) {
    use.state = "Expiring";
    use.reason = "CertificateExpiring";
    use.message = `Secret ${use.secret}: certificate expires at ${use.notAfter} (${use.daysLeft} days left); renew it`;
  }
  return use;
}

/**
 * nextCertificateChange is the first instant after nowMs at which a certificate's state or days
 * left changes (notBefore, each day of the last EXPIRING_DAYS, notAfter): a running controller
 * re-translates then, so an expiry is noticed without any input changing. undefined: none.
 */
export function nextCertificateChange(uses: readonly CertificateUse[], nowMs: number): number | undefined {
  let next: number | undefined;
  const consider = (t: number) => {
    if (t > nowMs && (next === undefined || t < next)) next = t;
  };
  for (const u of uses) {
    if (u.notBefore) consider(Date.parse(u.notBefore) + 1);
    if (!u.notAfter) continue;
    const end = Date.parse(u.notAfter);
    for (let k = 0; k <= EXPIRING_DAYS; k++) consider(end - k * 86_400_000 + 1);
  }
  return next;
}

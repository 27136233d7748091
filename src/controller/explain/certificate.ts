// certificate.ts: TLS certificates in `portico get certificates` and in `portico explain` of an
// Ingress or Gateway — every Secret a TLS host asked for, the hosts, issuer, expiry and whether it
// is served (OK, Expiring) or replaced by the default certificate (Expired, Invalid) and why. All
// from translate's certificateUses, so the table, explain, metric and Events agree.
import type { CertificateUse } from "../../translate/certificates.ts";

/** Row is one table line, column name → cell (the shape of tables.ts's Row). */
type Row = Record<string, string>;

/** STATE_ORDER puts the worst state first when one Secret stands differently for several uses. */
const STATE_ORDER = ["Invalid", "Expired", "Expiring", "OK"] as const;

/** certificateRows is one row per Secret: every host it was asked for, its worst state and why. */
export function certificateRows(uses: readonly CertificateUse[]): Row[] {
  const bySecret = new Map<string, CertificateUse[]>();
  for (const u of uses) bySecret.set(u.secret, [...(bySecret.get(u.secret) ?? []), u]);
  return [...bySecret.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([secret, list]) => {
      const worst = [...list].sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state))[0]!;
      const [namespace, name] = secret.split("/") as [string, string];
      const hosts = [...new Set(list.flatMap((u) => (u.hosts.length > 0 ? u.hosts : ["*"])))];
      const users = [...new Set(list.map((u) => (u.listener ? `${u.object}#${u.listener}` : u.object)))];
      return {
        NAMESPACE: namespace,
        SECRET: name,
        HOSTS: hosts.join(","),
        ISSUER: worst.issuer ?? "",
        "NOT AFTER": worst.notAfter ?? "",
        "DAYS LEFT": worst.daysLeft === undefined ? "" : String(worst.daysLeft),
        STATE: worst.state,
        REASON: worst.reason ?? "",
        "USED BY": users.join(","),
        MESSAGE: worst.message ?? "",
      };
    });
}

/** certificateLines describe the certificates of one object for `portico explain`. */
export function certificateLines(uses: readonly CertificateUse[], object: string): string[] {
  const mine = uses.filter((u) => u.object === object);
  if (mine.length === 0) return [];
  const lines = ["Certificates:"];
  for (const u of mine) {
    const hosts = u.hosts.length > 0 ? u.hosts.join(", ") : "clients without a known SNI name";
    const on = u.listener ? ` (listener ${u.listener})` : "";
    const when = u.notAfter ? `, issuer ${u.issuer}, not after ${u.notAfter}` : "";
    const left = u.daysLeft !== undefined ? ` (${u.daysLeft} days left)` : "";
    lines.push(`  ${u.secret}${on} for ${hosts}: ${u.state}${when}${left}`);
    if (u.message) lines.push(`    ${u.reason}: ${u.message}`);
    if (u.state === "Expired" || u.state === "Invalid")
      lines.push("    served with the default certificate until this is fixed");
  }
  return lines;
}

// ingress-tls.ts: the TLS half of an Ingress VIP. spec.tls entries of every Ingress on the VIP become
// one SNI table; a host whose Secret is unusable is left out of it, so it is not served on HTTPS
// rather than served with the wrong certificate.
import type { Ingress } from "../k8s/types.ts";
import type { ListenerTls } from "../model/ir.ts";
import type { TranslateContext } from "./context.ts";
import { certName, checkTlsSecret, coversHost, secretMap } from "./secrets.ts";
import { ACCEPTED, RESOLVED_REFS, keyOf, refOf } from "./status.ts";

/** TlsTable is the SNI table of one VIP and which Ingress put each entry there. */
export interface TlsTable {
  sni: Map<string, { certificate: string; owner: string }>;
  defaultCertificate?: { certificate: string; owner: string };
}

/** collectTls reads spec.tls of members, oldest first; the first claim of a host wins. */
export function collectTls(ctx: TranslateContext, members: readonly Ingress[]): TlsTable {
  const secrets = secretMap(ctx.set.secrets);
  const table: TlsTable = { sni: new Map() };
  for (const ing of members) {
    const ref = refOf(ing);
    const owner = keyOf(ref);
    const ns = ing.metadata.namespace ?? "";
    for (const tls of ing.spec?.tls ?? []) {
      const hosts = (tls.hosts ?? []).map((h) => h.toLowerCase());
      const shown = hosts.length > 0 ? hosts.join(", ") : "clients without a known SNI name";
      if (!tls.secretName) {
        ctx.status.fail(ref, RESOLVED_REFS, "InvalidSecret", `tls entry for ${shown} has no secretName`);
        continue;
      }
      const checked = checkTlsSecret(secrets, ns, tls.secretName);
      if (!checked.ok) {
        ctx.status.fail(
          ref,
          RESOLVED_REFS,
          checked.reason,
          `${checked.message}; ${shown} not served on HTTPS`,
        );
        continue;
      }
      ctx.certificates[checked.name] = checked.cert;
      ctx.notices.push(
        `Secret/${checked.name}: certificate ${certName(checked.x509)} valid until ${checked.notAfter}`,
      );
      if (ctx.opts.now && Date.parse(checked.notAfter) < Date.parse(ctx.opts.now)) {
        ctx.status.warn(
          ref,
          ACCEPTED,
          "CertificateExpired",
          `Secret ${checked.name}: certificate expired at ${checked.notAfter}`,
        );
      }
      const claim = { certificate: checked.name, owner };
      if (hosts.length === 0) {
        const held = table.defaultCertificate;
        if (held && held.certificate !== claim.certificate) {
          ctx.status.warn(
            ref,
            ACCEPTED,
            "TLSConflict",
            `default certificate is already ${held.certificate} from ${held.owner}`,
          );
        } else table.defaultCertificate = claim;
        continue;
      }
      for (const host of hosts) {
        if (!coversHost(checked.x509, host)) {
          ctx.status.warn(
            ref,
            ACCEPTED,
            "CertificateHostMismatch",
            `Secret ${checked.name}: certificate does not cover ${host}`,
          );
        }
        const held = table.sni.get(host);
        if (held && held.certificate !== claim.certificate) {
          ctx.status.warn(
            ref,
            ACCEPTED,
            "TLSConflict",
            `TLS host ${host} already uses ${held.certificate} from ${held.owner}`,
          );
          continue;
        }
        if (!held) table.sni.set(host, claim);
      }
    }
  }
  return table;
}

/** wildcardMatches tells whether "*.example.com" covers host by exactly one label (Ingress semantics). */
export function wildcardMatches(wildcard: string, host: string): boolean {
  if (!wildcard.startsWith("*.")) return false;
  const suffix = wildcard.slice(1);
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, host.length - suffix.length);
  return label !== "" && !label.includes(".") && label !== "*";
}

/** servedOnHttps tells whether a virtual host has a certificate: its own, a wildcard's, or the default. */
export function servedOnHttps(table: TlsTable, hostname: string): boolean {
  if (table.defaultCertificate) return true;
  if (table.sni.has(hostname)) return true;
  if (hostname === "*") return false;
  for (const h of table.sni.keys()) if (wildcardMatches(h, hostname)) return true;
  return false;
}

/** listenerTls renders the table as the listener's TLS settings, SNI names sorted. */
export function listenerTls(table: TlsTable): ListenerTls | undefined {
  if (table.sni.size === 0 && !table.defaultCertificate) return undefined;
  const sni = [...table.sni.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([hostname, c]) => ({ hostname, certificate: c.certificate }));
  const tls: ListenerTls = { sni };
  if (table.defaultCertificate) tls.defaultCertificate = table.defaultCertificate.certificate;
  return tls;
}

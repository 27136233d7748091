// ingress-tls.ts: the TLS half of an Ingress VIP. spec.tls entries of every Ingress on the VIP become
// one SNI table; a host whose Secret is unusable is left out of it, so it is not served on HTTPS
// rather than served with the wrong certificate.
import type { Ingress } from "../k8s/types.ts";
import type { ClientValidation, ListenerTls, TlsOptions } from "../model/ir.ts";
import { annotation, type TranslateContext } from "./context.ts";
import { certName, checkTlsSecret, coversHost, keyTypeOf, secretMap } from "./secrets.ts";
import { ingressClientValidation } from "./ingress-mtls.ts";
import { parseIngressTlsOptions } from "./tls-options.ts";
import { ACCEPTED, RESOLVED_REFS, keyOf, refOf } from "./status.ts";

/** TlsTable is the SNI table of one VIP and which Ingress put each entry there. */
export interface TlsTable {
  sni: Map<string, { certificate: string; owner: string; clientValidation?: ClientValidation }>;
  defaultCertificate?: { certificate: string; owner: string };
  /** keyTypes are the key types of the certificates in the table ("RSA", "ECDSA"). */
  keyTypes: Map<string, string>;
  /** alternates are certificates of other key types for a primary one (two Secrets for one host). */
  alternates: { primary: string; certificate: string }[];
  /** options are the TLS options of the VIP's HTTPS listener (the oldest Ingress that sets any). */
  options?: TlsOptions;
}

/** collectTls reads spec.tls of members, oldest first; the first claim of a host wins. */
export function collectTls(ctx: TranslateContext, members: readonly Ingress[]): TlsTable {
  const secrets = secretMap(ctx.set.secrets);
  const table: TlsTable = { sni: new Map(), keyTypes: new Map(), alternates: [] };
  for (const ing of members) {
    const ref = refOf(ing);
    const owner = keyOf(ref);
    const ns = ing.metadata.namespace ?? "";
    const client = (ing.spec?.tls ?? []).length > 0 ? ingressClientValidation(ctx, ing) : undefined;
    if (client === "invalid") continue;
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
      table.keyTypes.set(checked.name, keyTypeOf(checked.x509));
      const claim = { certificate: checked.name, owner };
      if (hosts.length === 0) {
        if (client !== undefined)
          ctx.status.warn(
            ref,
            ACCEPTED,
            "InvalidAuthTLS",
            `tls entry without hosts: client verification applies to named hosts only`,
          );
        const held = table.defaultCertificate;
        if (
          held &&
          held.certificate !== claim.certificate &&
          !addAlternate(table, held.certificate, claim.certificate)
        ) {
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
        if (
          held &&
          held.certificate !== claim.certificate &&
          !addAlternate(table, held.certificate, claim.certificate)
        ) {
          ctx.status.warn(
            ref,
            ACCEPTED,
            "TLSConflict",
            `TLS host ${host} already uses ${held.certificate} from ${held.owner}`,
          );
          continue;
        }
        if (!held) table.sni.set(host, client === undefined ? claim : { ...claim, clientValidation: client });
      }
    }
  }
  table.options = optionsOf(ctx, members);
  return table;
}

/**
 * addAlternate serves certificate beside primary when its key type is one primary's host does not
 * have yet (an ECDSA Secret beside an RSA one for the same host); false: a real conflict.
 */
function addAlternate(table: TlsTable, primary: string, certificate: string): boolean {
  const type = table.keyTypes.get(certificate);
  const held = [primary, ...table.alternates.filter((a) => a.primary === primary).map((a) => a.certificate)];
  if (held.includes(certificate)) return true;
  if (type === undefined || held.some((c) => table.keyTypes.get(c) === type)) return false;
  table.alternates.push({ primary, certificate });
  return true;
}

/**
 * optionsOf reads the TLS option annotations of the VIP's Ingresses: the oldest that sets any
 * decides for the port (OpenSSL fixes versions and suites before SNI); a later one asking for
 * others, or a bad value, is a condition (TLSOptionsConflict / InvalidTLSOptions) naming what
 * the listener uses instead.
 */
function optionsOf(ctx: TranslateContext, members: readonly Ingress[]): TlsOptions | undefined {
  let chosen: { options: TlsOptions; owner: string } | undefined;
  for (const ing of members) {
    const ref = refOf(ing);
    const parsed = parseIngressTlsOptions((k) => annotation(ing, k));
    for (const e of parsed.errors)
      ctx.status.fail(ref, ACCEPTED, "InvalidTLSOptions", `${e}; these options are not applied`);
    if (parsed.errors.length > 0 || parsed.options === undefined) continue;
    if (chosen === undefined) chosen = { options: parsed.options, owner: keyOf(ref) };
    else if (JSON.stringify(chosen.options) !== JSON.stringify(parsed.options))
      ctx.status.warn(
        ref,
        ACCEPTED,
        "TLSOptionsConflict",
        `TLS options differ from ${chosen.owner}'s, which the shared HTTPS port uses (options are per port); give this Ingress portico.dev/dedicated-vip: "true" for its own`,
      );
  }
  return chosen?.options;
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
    .map(([hostname, c]) => ({
      hostname,
      certificate: c.certificate,
      ...(c.clientValidation ? { clientValidation: c.clientValidation } : {}),
    }));
  const tls: ListenerTls = { sni };
  if (table.defaultCertificate) tls.defaultCertificate = table.defaultCertificate.certificate;
  if (table.alternates.length > 0) tls.alternates = table.alternates;
  if (table.options !== undefined) tls.options = table.options;
  return tls;
}

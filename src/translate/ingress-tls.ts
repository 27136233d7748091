// ingress-tls.ts: the TLS half of an Ingress VIP. spec.tls entries of every Ingress on the VIP become
// one SNI table. A host whose certificate can't be served (Secret missing or broken, expired, not
// yet valid, not naming the host) is left out of the table but kept on HTTPS: the engine answers it
// with the default certificate meanwhile — never the broken one — and the Ingress says why in
// portico.dev/CertificatesValid, so a renewal fixes it without anything else changing.
import type { Ingress } from "../k8s/types.ts";
import type { ClientValidation, ListenerTls, TlsOptions } from "../model/ir.ts";
import { certificateUse, nowOf } from "./certificates.ts";
import { annotation, type TranslateContext } from "./context.ts";
import {
  certName,
  checkTlsSecret,
  keyTypeOf,
  secretMap,
  servingProblem,
  type CheckedCert,
} from "./secrets.ts";
import { ingressClientValidation } from "./ingress-mtls.ts";
import { parseIngressTlsOptions } from "./tls-options.ts";
import { ACCEPTED, RESOLVED_REFS, keyOf, refOf, type ObjectRef } from "./status.ts";

/** CERTIFICATES_VALID says whether every TLS host of an Ingress is served with its own certificate. */
export const CERTIFICATES_VALID = "portico.dev/CertificatesValid";

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
  /** fallback are hosts served with the default certificate because their own can't be served. */
  fallback: Set<string>;
}

/** collectTls reads spec.tls of members, oldest first; the first claim of a host wins. */
export function collectTls(ctx: TranslateContext, members: readonly Ingress[]): TlsTable {
  const secrets = secretMap(ctx.set.secrets);
  const nowMs = nowOf(ctx.opts.now);
  const table: TlsTable = { sni: new Map(), keyTypes: new Map(), alternates: [], fallback: new Set() };
  for (const ing of members) {
    const ref = refOf(ing);
    const owner = keyOf(ref);
    const ns = ing.metadata.namespace ?? "";
    const client = (ing.spec?.tls ?? []).length > 0 ? ingressClientValidation(ctx, ing) : undefined;
    if (client === "invalid") continue;
    if ((ing.spec?.tls ?? []).length > 0) ctx.status.ok(ref, CERTIFICATES_VALID, "Valid");
    for (const tls of ing.spec?.tls ?? []) {
      const hosts = (tls.hosts ?? []).map((h) => h.toLowerCase());
      const shown = hosts.length > 0 ? hosts.join(", ") : "clients without a known SNI name";
      if (!tls.secretName) {
        const message = `tls entry for ${shown} has no secretName`;
        ctx.status.fail(ref, RESOLVED_REFS, "InvalidSecret", message);
        unservable(ctx, table, ref, hosts, { reason: "InvalidSecret", message });
        continue;
      }
      const checked = checkTlsSecret(secrets, ns, tls.secretName);
      const base = { secret: `${ns}/${tls.secretName}`, object: owner };
      if (!checked.ok) {
        ctx.status.fail(ref, RESOLVED_REFS, checked.reason, checked.message);
        unservable(ctx, table, ref, hosts, checked);
        ctx.certificateUses.push(certificateUse({ ...base, hosts }, checked, nowMs));
        continue;
      }
      ctx.notices.push(
        `Secret/${checked.name}: certificate ${certName(checked.x509)} valid until ${checked.notAfter}`,
      );
      table.keyTypes.set(checked.name, keyTypeOf(checked.x509));
      const claim = { certificate: checked.name, owner };
      if (hosts.length === 0) {
        if (!use(ctx, table, ref, base, [], checked, nowMs)) continue;
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
      const served = hosts.filter((host) => use(ctx, table, ref, base, [host], checked, nowMs, host));
      if (served.length > 0) ctx.certificates[checked.name] = checked.cert;
      for (const host of served) {
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
  // A host another Ingress serves with a good certificate is not a fallback.
  for (const host of table.sni.keys()) table.fallback.delete(host);
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

/**
 * use records a parsed certificate's use for hosts and tells whether it may be served: not when
 * expired, not yet valid or not naming host (then the hosts fall back to the default certificate).
 */
function use(
  ctx: TranslateContext,
  table: TlsTable,
  ref: ObjectRef,
  base: { secret: string; object: string },
  hosts: string[],
  checked: Extract<CheckedCert, { ok: true }>,
  nowMs: number | undefined,
  host?: string,
): boolean {
  const problem = servingProblem(checked, host, nowMs);
  const u = certificateUse({ ...base, hosts }, checked, nowMs, problem);
  ctx.certificateUses.push(u);
  if (problem) {
    unservable(ctx, table, ref, hosts, problem);
    return false;
  }
  if (hosts.length === 0) ctx.certificates[checked.name] = checked.cert;
  if (u.state === "Expiring") ctx.status.warn(ref, CERTIFICATES_VALID, u.reason!, u.message!);
  return true;
}

/** unservable reports hosts whose certificate can't be served and keeps them on the default one. */
function unservable(
  ctx: TranslateContext,
  table: TlsTable,
  ref: ObjectRef,
  hosts: readonly string[],
  why: { reason: string; message: string },
): void {
  const shown = hosts.length > 0 ? hosts.join(", ") : "clients without a known SNI name";
  ctx.status.fail(
    ref,
    CERTIFICATES_VALID,
    why.reason,
    `${why.message}; ${shown} served with the default certificate meanwhile`,
  );
  // A hostless entry is the certificate for every name: its hosts are all of them ("*").
  for (const h of hosts.length > 0 ? hosts : ["*"]) table.fallback.add(h);
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
  if (table.sni.has(hostname) || table.fallback.has(hostname) || table.fallback.has("*")) return true;
  if (hostname === "*") return false;
  for (const h of [...table.sni.keys(), ...table.fallback]) if (wildcardMatches(h, hostname)) return true;
  return false;
}

/** listenerTls renders the table as the listener's TLS settings, SNI names sorted. */
export function listenerTls(table: TlsTable): ListenerTls | undefined {
  if (table.sni.size === 0 && !table.defaultCertificate && table.fallback.size === 0) return undefined;
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

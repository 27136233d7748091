// tls-options.ts: a listener's TLS protocol settings from a Gateway listener's tls.options
// (portico.dev/* keys) or an Ingress's annotations. Every value is checked against what OpenSSL
// in this process accepts, so a typo is a condition naming the key, never a silently weaker
// listener; TLS 1.0 and 1.1 are refused (RFC 8996), not offered on request.
import { CERTIFICATE_ISSUER_ANNOTATION } from "../k8s/certificate-issuer.ts";
import tls from "node:tls";
import type { TlsOptions } from "../model/ir.ts";

/** PORTICO_TLS_KEYS are the tls.options / annotation keys Portico reads, with what each sets. */
export const PORTICO_TLS_KEYS = {
  "portico.dev/min-version": "minVersion",
  "portico.dev/max-version": "maxVersion",
  "portico.dev/cipher-suites": "ciphers",
  "portico.dev/ecdh-curves": "ecdhCurves",
  "portico.dev/prefer-server-ciphers": "preferServerCiphers",
} as const;

/** ParsedTlsOptions are the settings read plus what was wrong (errors) or not implemented (ignored). */
export interface ParsedTlsOptions {
  options?: TlsOptions;
  errors: string[];
  ignored: string[];
}

// TLS13_SUITES are the TLS 1.3 suite names OpenSSL knows.
const TLS13_SUITES = new Set([
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "TLS_AES_128_CCM_SHA256",
  "TLS_AES_128_CCM_8_SHA256",
]);

/** parseGatewayTlsOptions reads a Gateway listener's tls.options. */
export function parseGatewayTlsOptions(options: Record<string, string> | undefined): ParsedTlsOptions {
  const out: ParsedTlsOptions = { errors: [], ignored: [] };
  const o: TlsOptions = {};
  for (const [key, value] of Object.entries(options ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    // Not a TLS option: the built-in ACME issuer's request (src/controller/acme/requests.ts).
    if (key === CERTIFICATE_ISSUER_ANNOTATION) continue;
    if (!key.startsWith("portico.dev/")) {
      out.ignored.push(`${key}: not implemented by Portico (only portico.dev/ options are)`);
      continue;
    }
    const field = (PORTICO_TLS_KEYS as Record<string, keyof TlsOptions | undefined>)[key];
    if (field === undefined) {
      out.errors.push(`${key}: unknown option; known: ${Object.keys(PORTICO_TLS_KEYS).join(", ")}`);
      continue;
    }
    setField(o, field, key, value, out.errors);
  }
  return finish(o, out);
}

/**
 * parseIngressTlsOptions reads ingress-nginx-style annotations: ssl-protocols ("TLSv1.2 TLSv1.3"),
 * ssl-ciphers (OpenSSL names, ':'-separated), ssl-ecdh-curve, ssl-prefer-server-ciphers (on/off);
 * Portico's spelling wins over ingress-nginx's.
 */
export function parseIngressTlsOptions(get: (key: string) => string | undefined): ParsedTlsOptions {
  const out: ParsedTlsOptions = { errors: [], ignored: [] };
  const o: TlsOptions = {};
  const protocols = get("portico.dev/ssl-protocols");
  if (protocols !== undefined) {
    const versions = protocols.split(/[\s,]+/).filter((v) => v !== "");
    const parsed = versions.map((v) => version(v));
    const bad = versions.filter((_, i) => parsed[i] === undefined);
    if (bad.length > 0 || versions.length === 0)
      out.errors.push(`portico.dev/ssl-protocols: ${versionProblem(bad.join(" ") || protocols)}`);
    else {
      const sorted = (parsed as string[]).sort();
      o.minVersion = sorted[0] as TlsOptions["minVersion"];
      o.maxVersion = sorted[sorted.length - 1] as TlsOptions["maxVersion"];
    }
  }
  const pick = (own: string, nginx?: string): [string, string] | undefined => {
    const a = get(own);
    if (a !== undefined) return [own, a];
    const b = nginx === undefined ? undefined : get(nginx);
    return b === undefined ? undefined : [nginx!, b];
  };
  const ciphers = pick("portico.dev/ssl-ciphers", "nginx.ingress.kubernetes.io/ssl-ciphers");
  if (ciphers) setField(o, "ciphers", ciphers[0], ciphers[1], out.errors);
  const curves = pick("portico.dev/ssl-ecdh-curve");
  if (curves) setField(o, "ecdhCurves", curves[0], curves[1], out.errors);
  const prefer = pick(
    "portico.dev/ssl-prefer-server-ciphers",
    "nginx.ingress.kubernetes.io/ssl-prefer-server-ciphers",
  );
  if (prefer) setField(o, "preferServerCiphers", prefer[0], prefer[1], out.errors);
  return finish(o, out);
}

// finish checks the combination and attaches the options when any was set.
function finish(o: TlsOptions, out: ParsedTlsOptions): ParsedTlsOptions {
  if (o.minVersion !== undefined && o.maxVersion !== undefined && o.minVersion > o.maxVersion)
    out.errors.push(`minimum version ${o.minVersion} is above maximum version ${o.maxVersion}`);
  if (
    o.maxVersion === "TLSv1.2" &&
    o.ciphers !== undefined &&
    !o.ciphers.split(":").some((c) => !c.startsWith("TLS_"))
  )
    out.errors.push("maximum version TLSv1.2 with only TLS 1.3 cipher suites leaves no suite");
  if (Object.keys(o).length > 0) out.options = o;
  return out;
}

// setField parses one value into o, or notes why it cannot.
function setField(
  o: TlsOptions,
  field: keyof TlsOptions,
  key: string,
  value: string,
  errors: string[],
): void {
  const v = value.trim();
  switch (field) {
    case "minVersion":
    case "maxVersion": {
      const parsed = version(v);
      if (parsed === undefined) errors.push(`${key}: ${versionProblem(v)}`);
      else o[field] = parsed;
      return;
    }
    case "ciphers": {
      const names = v.split(/[\s:,]+/).filter((c) => c !== "");
      const known = new Set(tls.getCiphers().map((c) => c.toUpperCase()));
      const bad = names.filter((c) => !TLS13_SUITES.has(c) && !known.has(c.toUpperCase()));
      if (names.length === 0) errors.push(`${key}: empty cipher list`);
      else if (bad.length > 0)
        errors.push(
          `${key}: ${bad.map((c) => JSON.stringify(c)).join(", ")} not a cipher suite OpenSSL knows; name each suite (e.g. ECDHE-RSA-AES128-GCM-SHA256, TLS_AES_128_GCM_SHA256), keywords like HIGH or !aNULL are not accepted`,
        );
      else o.ciphers = names.join(":");
      return;
    }
    case "ecdhCurves": {
      const names = v.split(/[\s:,]+/).filter((c) => c !== "");
      const bad = names.filter((c) => !curveKnown(c));
      if (names.length === 0) errors.push(`${key}: empty curve list`);
      else if (bad.length > 0)
        errors.push(
          `${key}: ${bad.map((c) => JSON.stringify(c)).join(", ")} not a group OpenSSL knows (e.g. X25519, P-256, P-384)`,
        );
      else o.ecdhCurves = names.join(":");
      return;
    }
    case "preferServerCiphers": {
      const b = { true: true, on: true, false: false, off: false }[v.toLowerCase()];
      if (b === undefined) errors.push(`${key}: ${JSON.stringify(value)} is not true/false (on/off)`);
      else o.preferServerCiphers = b;
      return;
    }
  }
}

// version reads "1.2", "TLSv1.2", "TLS1.3" (any case) as a version Portico offers.
function version(v: string): "TLSv1.2" | "TLSv1.3" | undefined {
  const m = /^(?:tls)?v?(1\.[23])$/i.exec(v.trim());
  return m ? (`TLSv${m[1]}` as "TLSv1.2" | "TLSv1.3") : undefined;
}

function versionProblem(v: string): string {
  return /^(?:tls)?v?1(?:\.[01])?$|sslv/i.test(v.trim())
    ? `${JSON.stringify(v)}: TLS 1.0, 1.1 and SSL are not offered (RFC 8996); use TLSv1.2 or TLSv1.3`
    : `${JSON.stringify(v)} is not a TLS version; use TLSv1.2 or TLSv1.3`;
}

// curveKnown asks OpenSSL itself: the group list it accepts depends on its build.
const curves = new Map<string, boolean>();
function curveKnown(c: string): boolean {
  let ok = curves.get(c);
  if (ok === undefined) {
    try {
      tls.createSecureContext({ ecdhCurve: c });
      ok = true;
    } catch {
      ok = false;
    }
    curves.set(c, ok);
  }
  return ok;
}

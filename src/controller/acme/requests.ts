// requests.ts: which certificates the objects ask the built-in ACME issuer for. An Ingress with
// the issuer annotation asks for each spec.tls entry (its hosts into its secretName); a Gateway
// listener with the issuer in tls.options asks for its hostname into certificateRefs[0].
import { CERTIFICATE_ISSUER_ANNOTATION } from "../../k8s/certificate-issuer.ts";
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { Gateway } from "../../k8s/gateway-api.ts";

/** CertRequest is one certificate to obtain: names, where it goes, who asked. */
export interface CertRequest {
  issuer: string;
  /** secret is "namespace/name", the TLS Secret translate will read. */
  secret: string;
  /** hosts are the DNS names, lower case, sorted, without duplicates. */
  hosts: string[];
  /** owner is the asking object ("Ingress/ns/name", "Gateway/ns/name"). */
  owner: string;
}

/** RequestProblem is an ask that cannot be honoured, reported on the object. */
export interface RequestProblem {
  owner: string;
  message: string;
}

/** collectRequests lists the certificate requests of set; a Secret asked for twice keeps the first ask. */
export function collectRequests(set: ResourceSet): { requests: CertRequest[]; problems: RequestProblem[] } {
  const bySecret = new Map<string, CertRequest>();
  const problems: RequestProblem[] = [];
  const add = (r: CertRequest) => {
    if (r.hosts.length === 0) {
      problems.push({ owner: r.owner, message: `certificate for Secret ${r.secret} names no host` });
      return;
    }
    const held = bySecret.get(r.secret);
    if (held === undefined) bySecret.set(r.secret, r);
    else if (held.hosts.join() !== r.hosts.join() || held.issuer !== r.issuer)
      problems.push({ owner: r.owner, message: `Secret ${r.secret} is already requested by ${held.owner}` });
  };
  for (const ing of set.ingresses) {
    const issuer = ing.metadata.annotations?.[CERTIFICATE_ISSUER_ANNOTATION];
    if (!issuer) continue;
    const ns = ing.metadata.namespace ?? "default";
    const owner = `Ingress/${ns}/${ing.metadata.name}`;
    for (const tls of ing.spec?.tls ?? []) {
      if (!tls.secretName) {
        problems.push({ owner, message: "a tls entry has no secretName to store the certificate in" });
        continue;
      }
      add({ issuer, secret: `${ns}/${tls.secretName}`, hosts: names(tls.hosts ?? []), owner });
    }
  }
  for (const gw of set.other.filter((o) => o.kind === "Gateway") as unknown as Gateway[]) {
    const ns = gw.metadata.namespace ?? "default";
    const owner = `Gateway/${ns}/${gw.metadata.name}`;
    for (const l of gw.spec?.listeners ?? []) {
      const issuer = l.tls?.options?.[CERTIFICATE_ISSUER_ANNOTATION];
      if (!issuer) continue;
      const ref = l.tls?.certificateRefs?.[0];
      if (!ref || !l.hostname) {
        problems.push({
          owner,
          message: `listener ${l.name} asks ${issuer} for a certificate but has no ${ref ? "hostname" : "certificateRefs[0]"}`,
        });
        continue;
      }
      add({ issuer, secret: `${ref.namespace ?? ns}/${ref.name}`, hosts: names([l.hostname]), owner });
    }
  }
  return { requests: [...bySecret.values()], problems };
}

// names normalises hosts: lower case, sorted, once each (an order's identifier set).
function names(hosts: readonly string[]): string[] {
  return [...new Set(hosts.map((h) => h.toLowerCase()))].sort();
}

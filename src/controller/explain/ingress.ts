// ingress.ts: an Ingress and an IngressClass in plain words — the VIP, the ports the listeners
// really use (--http-port/--https-port), each host, which backend each path reaches, and the
// certificate per host with its expiry.
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { PendingHttp } from "../../translate/types.ts";
import {
  begin,
  certLine,
  conditionsSection,
  notFound,
  routeTarget,
  groupSection,
  vipSection,
  type Explanation,
  type PipelineView,
  type Where,
} from "./common.ts";
import { routePolicies } from "./policy.ts";
import { certificateLines } from "./certificate.ts";
import type { Target } from "./target.ts";

/** certificateFor picks the certificate a TLS handshake for host gets: an exact SNI entry, then a
 * one-label wildcard entry, then the listener's default certificate. */
export function certificateFor(tls: NonNullable<PendingHttp["tls"]>, host: string): string | undefined {
  const exact = tls.sni.find((s) => s.hostname === host);
  if (exact) return exact.certificate;
  const dot = host.indexOf(".");
  const wild = dot > 0 ? tls.sni.find((s) => s.hostname === `*${host.slice(dot)}`) : undefined;
  return wild?.certificate ?? tls.defaultCertificate;
}

/** hostLines lists a listener's hosts (with their certificate on HTTPS) and the routes whose name starts with prefix. */
export function hostLines(l: PendingHttp, out: PipelineView, prefix: string): string[] {
  const lines: string[] = [];
  for (const vh of l.virtualHosts) {
    const routes = vh.routes.filter((r) => r.name.startsWith(prefix));
    if (routes.length === 0) continue;
    let head = `  host ${vh.hostname}`;
    if (l.tls) {
      const cert = certificateFor(l.tls, vh.hostname);
      head += cert
        ? ` — ${certLine(out.snapshot.certificates[cert]?.certPem ?? out.translate.certificates[cert]?.certPem)} (${cert})`
        : " — no certificate for this name";
    }
    lines.push(head);
    for (const r of routes)
      lines.push(
        `    ${r.match.path.type} ${r.match.path.value}`,
        ...routeTarget(r, out).map((t) => `      ${t}`),
        ...routePolicies(r, out).map((t) => `      ${t}`),
      );
  }
  return lines;
}

/** listenerHead names a listener by protocol and the port it really binds. */
export function listenerHead(l: PendingHttp): string {
  return `Listener ${l.tls ? "HTTPS" : "HTTP"} port ${l.port}:`;
}

/** explainIngress explains an Ingress: its VIP, hosts, path → backend, certificate per host. */
export function explainIngress(set: ResourceSet, out: PipelineView, t: Target, where: Where): Explanation {
  const ing = set.ingresses.find(
    (i) => (i.metadata.namespace ?? "default") === t.namespace && i.metadata.name === t.name,
  );
  if (!ing) return notFound(t, where, "ingresses");
  const prefix = `Ingress/${t.namespace}/${t.name}`;
  const e = begin(
    set,
    out,
    t,
    `Ingress ${t.namespace}/${t.name} (class ${ing.spec?.ingressClassName ?? "<default>"})`,
  );
  const listeners = out.translate.http.filter((l) =>
    l.virtualHosts.some((vh) => vh.routes.some((r) => r.name.startsWith(prefix))),
  );
  if (listeners.length === 0)
    e.lines.push("  no routes: the Ingress is not Portico's, or every rule was rejected (see Conditions).");
  for (const vip of [...new Set(listeners.map((l) => l.vip))]) vipSection(e, vip, out);
  groupSection(e, prefix, out);
  for (const l of listeners) e.lines.push(listenerHead(l), ...hostLines(l, out, prefix));
  e.lines.push(...certificateLines(out.translate.certificateUses, prefix));
  conditionsSection(e);
  return e;
}

/** explainIngressClass explains an IngressClass: whose it is, its shared VIP, ports and Ingresses. */
export function explainIngressClass(
  set: ResourceSet,
  out: PipelineView,
  t: Target,
  where: Where,
): Explanation {
  const cls = set.ingressClasses.find((c) => c.metadata.name === t.name);
  if (!cls) return notFound(t, where, "ingresses");
  const isDefault = cls.metadata.annotations?.["ingressclass.kubernetes.io/is-default-class"] === "true";
  const e = begin(set, out, t, `IngressClass ${t.name}${isDefault ? " (default class)" : ""}`);
  const key = `IngressClass/${t.name}`;
  e.lines.push(`  controller ${cls.spec?.controller ?? "<none>"}`);
  const members = Object.entries(out.translate.vipOf)
    .filter(([obj, vip]) => vip === key && obj.startsWith("Ingress/"))
    .map(([obj]) => obj.slice("Ingress/".length));
  if (out.translate.vipOf[key] === undefined) {
    e.lines.push(
      cls.spec?.controller === "portico.dev/ingress-controller"
        ? "  no Ingress shares this class's VIP (Ingresses with portico.dev/dedicated-vip get their own)."
        : "  not Portico's (controller portico.dev/ingress-controller): another ingress controller owns it.",
    );
  } else {
    vipSection(e, key, out);
    for (const l of out.translate.http.filter((l) => l.vip === key))
      e.lines.push(`${listenerHead(l)} ${l.virtualHosts.map((vh) => vh.hostname).join(", ")}`);
  }
  e.lines.push(`Ingresses sharing the VIP: ${members.length > 0 ? members.join(", ") : "none"}`);
  conditionsSection(e);
  return e;
}

// explain.ts: `portico explain` in plain words — for a Service, every pool considered and why it
// was chosen or refused, the VIP, ports and backends; for an Ingress, the VIP, hosts, which backend
// each path reaches and the certificate per host with its expiry.
import { X509Certificate } from "node:crypto";
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { AllocateOutput } from "../ipam/types.ts";
import type { EngineSnapshot, Pool, Route } from "../model/ir.ts";
import type { ObjectStatus, TranslateResult } from "../translate/types.ts";

/** PipelineView is the part of the pipeline's output explain reads. */
export interface PipelineView {
  snapshot: EngineSnapshot;
  allocations: AllocateOutput;
  statuses: ObjectStatus[];
  translate: TranslateResult;
}

function vipSection(key: string, out: PipelineView): string[] {
  const r = out.allocations.results[key];
  if (!r) return [`VIP: none requested (${key} asked IPAM for nothing)`];
  const lines = r.ok
    ? [`VIP: ${r.addresses.join(", ")} (from pool ${[...new Set(r.pools)].join(", ")})`]
    : [`VIP: <pending> — ${r.message}`];
  if (r.verdicts.length === 0) lines.push("  no VipPool exists: create one (see docs/concepts.md)");
  for (const v of r.verdicts)
    lines.push(`  pool ${v.pool}: ${v.chosen ? "chosen" : `refused (${v.reason})`} — ${v.detail}`);
  return lines;
}

function poolLines(pool: Pool | undefined, indent: string): string[] {
  if (!pool) return [`${indent}(no pool)`];
  if (pool.endpoints.length === 0)
    return [`${indent}no endpoints: no EndpointSlice lists a backend for ${pool.name}`];
  return pool.endpoints.map((e) => {
    const state = e.ready
      ? "ready"
      : e.serving
        ? "serving (terminating)"
        : e.terminating
          ? "terminating"
          : "not ready";
    return `${indent}${e.address.includes(":") ? `[${e.address}]` : e.address}:${e.port} ${state}`;
  });
}

function conditionLines(out: PipelineView, kind: string, ns: string, name: string): string[] {
  const st = out.statuses.find((s) => s.kind === kind && s.namespace === ns && s.name === name);
  const conds = st?.status.conditions ?? [];
  if (conds.length === 0) return [];
  return [
    "Conditions:",
    ...conds.map((c) => `  ${c.type}=${c.status} ${c.reason ?? ""}${c.message ? `: ${c.message}` : ""}`),
  ];
}

/** explainService explains how Service ns/name gets (or misses) its VIP and where its ports lead. */
export function explainService(set: ResourceSet, out: PipelineView, ns: string, name: string): string {
  const svc = set.services.find(
    (s) => (s.metadata.namespace ?? "default") === ns && s.metadata.name === name,
  );
  if (!svc)
    return `Service ${ns}/${name} is not in the manifests. Check the namespace and name ('portico get services').\n`;
  const key = `Service/${ns}/${name}`;
  const lines = [`Service ${ns}/${name}`];
  const o = set.origins.get(key);
  if (o) lines.push(`  defined at ${o.file}:${o.line}`);
  if (svc.spec?.type !== "LoadBalancer") {
    lines.push(
      `  type ${svc.spec?.type ?? "ClusterIP"}: only type LoadBalancer gets a VIP; it can still be an Ingress backend.`,
    );
    return lines.join("\n") + "\n";
  }
  const cls = svc.spec.loadBalancerClass;
  const handled = out.allocations.results[key] !== undefined;
  if (!handled) {
    lines.push(
      cls
        ? `  loadBalancerClass ${cls}: not Portico's (portico.dev/lb); another load balancer owns it.`
        : "  no loadBalancerClass and Portico runs with --no-classless: another load balancer owns it.",
    );
    return lines.join("\n") + "\n";
  }
  const ann = svc.metadata.annotations ?? {};
  const asked = ann["portico.dev/load-balancer-ips"] ?? svc.spec.loadBalancerIP;
  if (asked) lines.push(`  requested address: ${asked}`);
  if (ann["portico.dev/address-pool"]) lines.push(`  requested pool: ${ann["portico.dev/address-pool"]}`);
  if (ann["portico.dev/allow-shared-ip"]) lines.push(`  sharing key: ${ann["portico.dev/allow-shared-ip"]}`);
  lines.push(...vipSection(key, out));
  lines.push("Ports:");
  for (const l of out.translate.l4.filter((l) => l.vip === key)) {
    lines.push(`  ${l.port}/${l.protocol} → pool ${l.pool}`);
    lines.push(...poolLines(out.translate.pools[l.pool], "    "));
  }
  lines.push(...conditionLines(out, "Service", ns, name));
  return lines.join("\n") + "\n";
}

function routeTarget(route: Route, out: PipelineView): string[] {
  const a = route.action;
  if (a.type === "DirectResponse") return [`answers ${a.status} itself: ${a.body.trim()}`];
  return a.backends.flatMap((b) => [
    `→ pool ${b.pool}${a.backends.length > 1 ? ` (weight ${b.weight})` : ""}`,
    ...poolLines(out.translate.pools[b.pool], "  "),
  ]);
}

function certLine(pem: string | undefined): string {
  if (!pem) return "certificate missing";
  try {
    const x = new X509Certificate(pem);
    return `certificate ${x.subject.replace(/\n/g, ", ")}, expires ${new Date(x.validTo).toISOString().slice(0, 10)}`;
  } catch {
    return "certificate unreadable";
  }
}

/** explainIngress explains Ingress ns/name: its VIP, hosts, path → backend, certificate per host. */
export function explainIngress(set: ResourceSet, out: PipelineView, ns: string, name: string): string {
  const ing = set.ingresses.find(
    (i) => (i.metadata.namespace ?? "default") === ns && i.metadata.name === name,
  );
  if (!ing)
    return `Ingress ${ns}/${name} is not in the manifests. Check the namespace and name ('portico get ingresses').\n`;
  const prefix = `Ingress/${ns}/${name}`;
  const lines = [`Ingress ${ns}/${name} (class ${ing.spec?.ingressClassName ?? "<default>"})`];
  const o = set.origins.get(prefix);
  if (o) lines.push(`  defined at ${o.file}:${o.line}`);
  const listeners = out.translate.http.filter((l) =>
    l.virtualHosts.some((vh) => vh.routes.some((r) => r.name.startsWith(prefix))),
  );
  if (listeners.length === 0)
    lines.push("  no routes: the Ingress is not Portico's, or every rule was rejected (see Conditions).");
  for (const vip of [...new Set(listeners.map((l) => l.vip))]) lines.push(...vipSection(vip, out));
  for (const l of listeners) {
    lines.push(`Listener ${l.tls ? "HTTPS" : "HTTP"} port ${l.port}:`);
    for (const vh of l.virtualHosts) {
      const routes = vh.routes.filter((r) => r.name.startsWith(prefix));
      if (routes.length === 0) continue;
      let head = `  host ${vh.hostname}`;
      if (l.tls) {
        const sni = l.tls.sni.find((s) => s.hostname === vh.hostname);
        head += sni
          ? ` — ${certLine(out.snapshot.certificates[sni.certificate]?.certPem ?? out.translate.certificates[sni.certificate]?.certPem)} (${sni.certificate})`
          : " — no certificate for this name";
      }
      lines.push(head);
      for (const r of routes)
        lines.push(
          `    ${r.match.path.type} ${r.match.path.value}`,
          ...routeTarget(r, out).map((t) => `      ${t}`),
        );
    }
  }
  lines.push(...conditionLines(out, "Ingress", ns, name));
  return lines.join("\n") + "\n";
}

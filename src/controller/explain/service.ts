// service.ts: a LoadBalancer Service in plain words — every pool considered and why it was chosen
// or refused, the VIP, and where each port leads with the backends' readiness.
import type { ResourceSet } from "../../k8s/resource-set.ts";
import {
  begin,
  conditionsSection,
  notFound,
  poolLines,
  groupSection,
  vipSection,
  type Explanation,
  type PipelineView,
  type Where,
} from "./common.ts";
import type { Target } from "./target.ts";

/** explainService explains how a Service gets (or misses) its VIP and where its ports lead. */
export function explainService(set: ResourceSet, out: PipelineView, t: Target, where: Where): Explanation {
  const svc = set.services.find(
    (s) => (s.metadata.namespace ?? "default") === t.namespace && s.metadata.name === t.name,
  );
  if (!svc) return notFound(t, where, "services");
  const key = `Service/${t.namespace}/${t.name}`;
  const e = begin(set, out, t, `Service ${t.namespace}/${t.name}`);
  if (svc.spec?.type !== "LoadBalancer") {
    e.lines.push(
      `  type ${svc.spec?.type ?? "ClusterIP"}: only type LoadBalancer gets a VIP; it can still be an Ingress or route backend.`,
    );
    return e;
  }
  const cls = svc.spec.loadBalancerClass;
  if (out.allocations.results[key] === undefined) {
    e.lines.push(
      cls
        ? `  loadBalancerClass ${cls}: not Portico's (portico.dev/lb); another load balancer owns it.`
        : "  no loadBalancerClass and Portico runs with --no-classless: another load balancer owns it.",
    );
    return e;
  }
  const ann = svc.metadata.annotations ?? {};
  const asked = ann["portico.dev/load-balancer-ips"] ?? svc.spec.loadBalancerIP;
  if (asked) e.lines.push(`  requested address: ${asked}`);
  if (ann["portico.dev/address-pool"]) e.lines.push(`  requested pool: ${ann["portico.dev/address-pool"]}`);
  if (ann["portico.dev/allow-shared-ip"])
    e.lines.push(`  sharing key: ${ann["portico.dev/allow-shared-ip"]}`);
  vipSection(e, key, out);
  groupSection(e, key, out);
  e.lines.push("Ports:");
  for (const l of out.translate.l4.filter((l) => l.vip === key)) {
    e.lines.push(`  ${l.port}/${l.protocol} → pool ${l.pool}`);
    e.lines.push(...poolLines(out.translate.pools[l.pool], "    "));
  }
  conditionsSection(e);
  return e;
}

// index.ts: `portico explain` for every kind it knows — one pure function of the ResourceSet and
// the pipeline's output, run by the offline CLI, the admin API of `portico run` and `explain
// --kubeconfig` alike, so the three answer with the same words.
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { FleetView } from "../fleet/view.ts";
import type { Explanation, PipelineView, Where } from "./common.ts";
import { explainGateway, explainRoute } from "./gateway.ts";
import { explainIngress, explainIngressClass } from "./ingress.ts";
import { addDnsSection, explainDnsZone } from "./dns.ts";
import { explainEngineGroup } from "./engine-group.ts";
import { explainPolicy } from "./policy.ts";
import { explainPool } from "./pool.ts";
import { explainService } from "./service.ts";
import { explainTenant } from "./tenant.ts";
import { targetKey, type Target, type TargetKind } from "./target.ts";

export type { Explanation, PipelineView, Where } from "./common.ts";

type Explainer = (
  set: ResourceSet,
  out: PipelineView,
  t: Target,
  where: Where,
  fleet?: FleetView,
) => Explanation;

/** EXPLAINERS maps each kind to its explainer. */
const EXPLAINERS: Record<TargetKind, Explainer> = {
  Service: explainService,
  Ingress: explainIngress,
  IngressClass: explainIngressClass,
  Gateway: explainGateway,
  HTTPRoute: explainRoute,
  GRPCRoute: explainRoute,
  TLSRoute: explainRoute,
  TCPRoute: explainRoute,
  UDPRoute: explainRoute,
  VipPool: explainPool,
  EngineGroup: explainEngineGroup,
  DnsZone: explainDnsZone,
  WafPolicy: explainPolicy,
  AccessPolicy: explainPolicy,
  Tenant: explainTenant,
};

/** explain explains one object of set after the pipeline produced out; fleet, from a running
 * Portico, adds the live engines to an EngineGroup's answer. */
export function explain(
  set: ResourceSet,
  out: PipelineView,
  t: Target,
  where: Where = "manifests",
  fleet?: FleetView,
): Explanation {
  const e = EXPLAINERS[t.kind](set, out, t, where, fleet);
  // Any object may publish names: its DNS section comes from the DNS step, whatever its kind.
  if (e.found && t.kind !== "DnsZone") addDnsSection(e, targetKey(t), out);
  return e;
}

/** renderExplanation is the text `-o table` and `-o wide` print. */
export function renderExplanation(e: Explanation): string {
  return e.lines.join("\n") + "\n";
}

// index.ts: `portico explain` for every kind it knows — one pure function of the ResourceSet and
// the pipeline's output, run by the offline CLI, the admin API of `portico run` and `explain
// --kubeconfig` alike, so the three answer with the same words.
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { FleetView } from "../fleet/view.ts";
import type { Explanation, PipelineView, Where } from "./common.ts";
import { explainGateway, explainRoute } from "./gateway.ts";
import { explainIngress, explainIngressClass } from "./ingress.ts";
import { explainEngineGroup } from "./engine-group.ts";
import { explainPool } from "./pool.ts";
import { explainService } from "./service.ts";
import type { Target, TargetKind } from "./target.ts";

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
  return EXPLAINERS[t.kind](set, out, t, where, fleet);
}

/** renderExplanation is the text `-o table` and `-o wide` print. */
export function renderExplanation(e: Explanation): string {
  return e.lines.join("\n") + "\n";
}

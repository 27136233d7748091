// gateway-status.ts: the Gateway API status shapes: per-listener entries (Gateway and ListenerSet),
// per-parent entries of Routes, and a Gateway's addresses once IPAM has answered. The pipeline
// calls applyGatewayAllocation because only it sees IPAM's result (translation stays pure).
import type { Condition } from "../k8s/types.ts";
import type { AllocationResult } from "../ipam/types.ts";
import { CONTROLLER_NAME, GATEWAY_GROUP, conditions, no, yes, type Cond } from "./gateway-conditions.ts";
import { listenerUsable, type Listener, type ParentRef } from "./gateway-types.ts";
import type { ObjectStatus } from "./types.ts";

/** renderListener renders one listener's status entry. */
export function renderListener(l: Listener, generation: number | undefined): Record<string, unknown> {
  // A conflicted listener is neither accepted nor programmed, with the conflict as the reason
  // (conformance: listenerset-hostname-conflict, listenerset-protocol-conflict).
  const accepted = l.conflicted ? no(l.conflicted.reason, l.conflicted.message) : l.accepted.cond("Accepted");
  const resolved = l.resolvedRefs.empty
    ? l.certificateProblems.cond("ResolvedRefs")
    : l.resolvedRefs.cond("ResolvedRefs");
  const programmed = listenerUsable(l)
    ? yes("Programmed")
    : l.conflicted
      ? no(l.conflicted.reason, l.conflicted.message)
      : no("Invalid", accepted.status === "False" ? accepted.message : resolved.message);
  return {
    name: l.name,
    supportedKinds: l.supportedKinds.map((kind) => ({ group: GATEWAY_GROUP, kind })),
    attachedRoutes: l.attached.length,
    conditions: conditions(
      {
        Accepted: accepted,
        Conflicted: l.conflicted ?? { status: "False", reason: "NoConflicts", message: "" },
        Programmed: programmed,
        ResolvedRefs: resolved,
      },
      generation,
    ),
  };
}

/** RouteParentStatus is one entry of a Route's status.parents. */
export interface RouteParentStatus {
  parentRef: ParentRef;
  controllerName: string;
  conditions: Condition[];
}

/** routeParent renders one parent entry; partial, when set, is the PartiallyInvalid value. */
export function routeParent(
  parentRef: ParentRef,
  values: { accepted: Cond; resolvedRefs: Cond; partial?: Cond },
  generation: number | undefined,
): RouteParentStatus {
  const v: Record<string, Cond> = { Accepted: values.accepted, ResolvedRefs: values.resolvedRefs };
  if (values.partial) v.PartiallyInvalid = values.partial;
  const ref: ParentRef = {
    group: parentRef.group ?? GATEWAY_GROUP,
    kind: parentRef.kind ?? "Gateway",
    ...parentRef,
  };
  return { parentRef: ref, controllerName: CONTROLLER_NAME, conditions: conditions(v, generation) };
}

/** ADDRESS_NOT_USABLE are IPAM refusals that mean the requested address itself can't be had. */
const ADDRESS_NOT_USABLE = new Set(["RequestedIPOutsidePool", "RequestedIPTaken", "InvalidRequest"]);

/**
 * applyGatewayAllocation writes IPAM's answer into a Gateway's status: status.addresses, and
 * Programmed=False (AddressNotAssigned, or AddressNotUsable for a requested address) while the
 * VIP is pending. Mutates s, which the pipeline owns.
 */
export function applyGatewayAllocation(s: ObjectStatus, r: AllocationResult | undefined): void {
  s.status.addresses = r?.ok ? r.addresses.map((value) => ({ type: "IPAddress", value })) : [];
  if (r?.ok) return;
  const reason = r && ADDRESS_NOT_USABLE.has(r.reason) ? "AddressNotUsable" : "AddressNotAssigned";
  const message = r?.message ?? "no answer from IPAM";
  s.status.conditions = (s.status.conditions ?? []).map((c) =>
    c.type === "Programmed" && c.status === "True" ? { ...c, status: "False", reason, message } : c,
  );
}

// listenerset.ts: ListenerSet, listeners added to a Gateway from another object (often another
// namespace). The Gateway decides which namespaces may do so (spec.allowedListeners, default none);
// accepted sets are merged after the Gateway's own listeners, oldest set first (GEP-1713 precedence).
import type { Gateway, ListenerSet } from "../k8s/gateway-api.ts";
import type { Condition } from "../k8s/types.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import { conditions, generationOf, no, yes, type Cond } from "./gateway-conditions.ts";
import { namespaceAllowed } from "./gateway-attach.ts";
import { byAge, listenerUsable, nsOf, type Listener } from "./gateway-types.ts";
import { renderListener } from "./gateway-status.ts";

/** ListenerSetVerdict is one ListenerSet naming a Gateway, and whether the Gateway takes it. */
export interface ListenerSetVerdict {
  set: ListenerSet;
  /** refused, when set, is the Accepted=False value (NotAllowed). */
  refused?: Cond;
}

/** listenerSetsOf lists the ListenerSets whose parentRef names gw, oldest first, with verdicts. */
export function listenerSetsOf(set: ResourceSet, gw: Gateway): ListenerSetVerdict[] {
  const out: ListenerSetVerdict[] = [];
  for (const o of set.other) {
    if (o.kind !== "ListenerSet") continue;
    const ls = o as unknown as ListenerSet;
    const p = ls.spec?.parentRef;
    if (!p || (p.kind ?? "Gateway") !== "Gateway") continue;
    if ((p.namespace ?? nsOf(ls)) !== nsOf(gw) || p.name !== gw.metadata.name) continue;
    const allowed = gw.spec.allowedListeners?.namespaces;
    const from = allowed?.from ?? "None";
    const ok = from !== "None" && namespaceAllowed(set, from, allowed?.selector, nsOf(gw), nsOf(ls));
    out.push(
      ok
        ? { set: ls }
        : {
            set: ls,
            refused: no(
              "NotAllowed",
              `Gateway ${nsOf(gw)}/${gw.metadata.name} does not allow ListenerSets from namespace ${nsOf(ls)} (allowedListeners from ${from})`,
            ),
          },
    );
  }
  return out.sort((a, b) => byAge(a.set, b.set));
}

/** listenerSetStatus renders a ListenerSet's status from its verdict and listeners. */
export function listenerSetStatus(
  v: ListenerSetVerdict,
  listeners: readonly Listener[],
  gatewayAccepted: boolean,
): { conditions: Condition[]; listeners?: Record<string, unknown>[] } {
  const gen = generationOf(v.set);
  if (v.refused) {
    return {
      conditions: conditions({ Accepted: v.refused, Programmed: no("NotAllowed", v.refused.message) }, gen),
    };
  }
  const usable = listeners.filter(listenerUsable);
  let accepted: Cond;
  if (!gatewayAccepted) accepted = no("ParentNotAccepted", "the parent Gateway is not accepted");
  else if (usable.length === listeners.length) accepted = yes("Accepted");
  else {
    const bad = listeners.filter((l) => !listenerUsable(l)).map((l) => l.name);
    const msg = `listeners not valid: ${bad.join(", ")}`;
    accepted = usable.length > 0 ? yes("ListenersNotValid", msg) : no("ListenersNotValid", msg);
  }
  const programmed = accepted.status === "True" ? yes("Programmed") : no(accepted.reason, accepted.message);
  return {
    conditions: conditions({ Accepted: accepted, Programmed: programmed }, gen),
    listeners: listeners.map((l) => renderListener(l, gen)),
  };
}

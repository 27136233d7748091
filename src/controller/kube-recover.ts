// kube-recover.ts: on start (and after a failover) the allocations are read back from the cluster —
// the addresses in Services' and Ingresses' status.loadBalancer and in Gateways' status.addresses
// are what clients already use, so they are the truth. Fed to IPAM as `previous`, they stay where
// they are: a restart never re-IPs.
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import type { AllocationState, Assignment } from "../ipam/types.ts";
import { translate } from "../translate/translate.ts";
import { gatewayIps } from "./kube-gateway-status.ts";
import type { TranslateOptions } from "../translate/types.ts";

/** statusIps lists the addresses in an object's status.loadBalancer.ingress. */
export function statusIps(obj: AnyObject | { status?: unknown }): string[] {
  const lb = (obj.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer;
  return (lb?.ingress ?? []).map((i) => i.ip ?? "").filter((ip) => ip !== "");
}

/**
 * recoverAllocations rebuilds the AllocationState from what the set's objects show in status, for
 * every VIP the translator asks for. Pool names are left empty: IPAM finds the pool holding each
 * address, so a pool renamed while Portico was down costs nobody their address. Entries in
 * `fallback` (a local state file) fill in VIPs no status shows yet.
 */
export function recoverAllocations(
  set: ResourceSet,
  opts: TranslateOptions,
  fallback: AllocationState = {},
): AllocationState {
  const tr = translate(set, opts);
  const byKey = new Map<string, AnyObject>();
  const gateways = set.other.filter((o) => o.kind === "Gateway");
  for (const o of [...set.services, ...set.ingresses, ...gateways] as unknown as AnyObject[])
    byKey.set(`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o);
  const requests = new Map(tr.vipRequests.map((r) => [r.key, r]));
  const state: Record<string, Assignment> = {};
  for (const [objKey, vip] of Object.entries(tr.vipOf)) {
    if (state[vip]) continue;
    const obj = byKey.get(objKey);
    const ips = !obj ? [] : obj.kind === "Gateway" ? gatewayIps(obj) : statusIps(obj);
    if (ips.length === 0) continue;
    const req = requests.get(vip);
    const a: Assignment = {
      addresses: ips,
      pools: ips.map(() => ""),
      ports: req?.ports.map((p) => ({ ...p })) ?? [],
    };
    if (req?.sharingKey !== undefined) a.sharingKey = req.sharingKey;
    state[vip] = a;
  }
  for (const [k, a] of Object.entries(fallback)) if (!state[k] && requests.has(k)) state[k] = a;
  return state;
}

// gateway-helpers.ts: shared pieces of the Gateway API end-to-end tests — the GatewayClass, typed
// views of Gateway API statuses from /api/v1/status, and condition lookups.
import type { Portico } from "./harness.ts";

/** gatewayClass is Portico's GatewayClass manifest. */
export const gatewayClass = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: portico }
spec: { controllerName: portico.dev/gateway-controller }
`;

/** Cond is a status condition. */
export interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** GwStatus is the union of the Gateway API status fields the tests read. */
export interface GwStatus {
  conditions: Cond[];
  addresses: { type: string; value: string }[];
  listeners: { name: string; attachedRoutes: number; conditions: Cond[] }[];
  parents: {
    controllerName: string;
    parentRef: { name: string; sectionName?: string };
    conditions: Cond[];
  }[];
  ancestors: { controllerName: string; conditions: Cond[] }[];
  supportedFeatures: { name: string }[];
}

/** statusOf returns the status Portico shows for one object; it fails when there is none. */
export async function statusOf(p: Portico, kind: string, name: string): Promise<GwStatus> {
  const hit = (await p.status()).find((s) => s.kind === kind && s.name === name);
  if (hit === undefined) throw new Error(`no status for ${kind} ${name}`);
  return hit.status as unknown as GwStatus;
}

/** cond returns the status ("True"/"False") of condition type t, or undefined. */
export function cond(cs: readonly Cond[] | undefined, t: string): string | undefined {
  return cs?.find((c) => c.type === t)?.status;
}

/** reason returns the reason of condition type t. */
export function reason(cs: readonly Cond[] | undefined, t: string): string | undefined {
  return cs?.find((c) => c.type === t)?.reason;
}

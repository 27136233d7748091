// vip-annotations.ts: the annotations that shape a VIP request — which addresses, which pool, which
// sharing key — in Portico's spelling and MetalLB's (metallb.io/ and the older metallb.universe.tf/),
// so a Service moved from MetalLB keeps its address without an edit. Portico's own annotation wins;
// when both are set and disagree the object says so, since the user's intent is then unclear.
import { annotation, PORTICO_PREFIX, type TranslateContext } from "./context.ts";
import { ACCEPTED, refOf } from "./status.ts";

/** ANN_IPS asks for these VIPs (comma-separated, one per family). */
export const ANN_IPS = `${PORTICO_PREFIX}load-balancer-ips`;
/** ANN_POOL names the VipPool to draw from. */
export const ANN_POOL = `${PORTICO_PREFIX}address-pool`;
/** ANN_SHARED is the sharing key: Services with equal keys may share an address. */
export const ANN_SHARED = `${PORTICO_PREFIX}allow-shared-ip`;

/** VipSetting names the three settings. */
export type VipSetting = "ips" | "pool" | "shared";

/**
 * VIP_ANNOTATIONS lists, per setting, the names read in order: Portico's first, then MetalLB's.
 * MetalLB's allow-shared-ip has the same meaning as Portico's (equal keys may share an address
 * when their ports differ), so the value is used as it is.
 */
export const VIP_ANNOTATIONS: Readonly<Record<VipSetting, readonly string[]>> = {
  ips: [ANN_IPS, "metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs"],
  pool: [ANN_POOL, "metallb.io/address-pool", "metallb.universe.tf/address-pool"],
  shared: [ANN_SHARED, "metallb.io/allow-shared-ip", "metallb.universe.tf/allow-shared-ip"],
};

type Annotated = { metadata: { annotations?: Record<string, string> } };

/** vipAnnotation is the first of a setting's names that is set, with its value. */
export function vipAnnotation(
  obj: Annotated,
  setting: VipSetting,
): { name: string; value: string } | undefined {
  for (const name of VIP_ANNOTATIONS[setting]) {
    const value = annotation(obj, name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** splitIps reads a comma-separated address list. */
export function splitIps(v: string | undefined): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** same compares two values of a setting (address lists as sets). */
function same(setting: VipSetting, a: string, b: string): boolean {
  if (setting !== "ips") return a === b;
  const x = new Set(splitIps(a));
  const y = new Set(splitIps(b));
  return x.size === y.size && [...x].every((ip) => y.has(ip));
}

/** VipAnnotations are an object's VIP settings after aliases are resolved. */
export interface VipAnnotations {
  ips: string[];
  pool?: string;
  sharing?: string;
}

/**
 * readVipAnnotations resolves an object's VIP settings, reporting each alias whose value disagrees
 * with the one that wins: by default a warning on the object (Accepted, ConflictingAnnotations);
 * kinds whose status has its own shape (Gateway) pass another way to say it.
 */
export function readVipAnnotations(
  ctx: TranslateContext,
  obj: Annotated & { kind: string; metadata: { name: string; namespace?: string } },
  say: (message: string) => void = (m) => ctx.status.warn(refOf(obj), ACCEPTED, "ConflictingAnnotations", m),
): VipAnnotations {
  for (const setting of ["ips", "pool", "shared"] as const) {
    const win = vipAnnotation(obj, setting);
    if (!win) continue;
    for (const name of VIP_ANNOTATIONS[setting]) {
      const v = annotation(obj, name);
      if (name === win.name || v === undefined || same(setting, v, win.value)) continue;
      say(`${win.name} (${win.value}) and ${name} (${v}) disagree; ${win.name} wins`);
    }
  }
  const out: VipAnnotations = { ips: splitIps(vipAnnotation(obj, "ips")?.value) };
  const pool = vipAnnotation(obj, "pool")?.value;
  if (pool !== undefined) out.pool = pool;
  const sharing = vipAnnotation(obj, "shared")?.value;
  if (sharing !== undefined) out.sharing = sharing;
  return out;
}

/**
 * warnVipAnnotationsUnused says, on an object that carries VIP annotations where they cannot apply
 * (an Ingress on its class's shared VIP), which ones are ignored and what to do instead.
 */
export function warnVipAnnotationsUnused(
  ctx: TranslateContext,
  obj: Annotated & { kind: string; metadata: { name: string; namespace?: string } },
  instead: string,
): void {
  const set = Object.values(VIP_ANNOTATIONS)
    .flat()
    .filter((name) => annotation(obj, name) !== undefined);
  if (set.length === 0) return;
  ctx.status.warn(
    refOf(obj),
    ACCEPTED,
    "AnnotationNotHonoured",
    `${set.join(", ")}: no effect here; ${instead}`,
  );
}

// engine-group.ts: which EngineGroup serves each VIP. Every object that owns or shares a VIP (a
// LoadBalancer Service, an Ingress, a Gateway) states a claim during translation: its own
// portico.dev/engine-group annotation first, then its class (IngressClass spec.parameters,
// GatewayClass spec.parametersRef naming an EngineGroup). Only after IPAM is the VipPool of each
// address known, so resolveGroups (run by the pipeline, pure) completes the claims with the
// pool's spec.engineGroup, else "default", and settles each address: objects sharing one address
// and asking for different groups get the oldest one's group (then name order, the tie rule of
// every conflict), and the others are told which group serves them and why. A group that does
// not exist is still put on the listeners, so no engine serves them: a typo fails closed.
import type { AllocationResult } from "../ipam/types.ts";
import type { EngineGroup } from "../k8s/engine-group.ts";
import { DEFAULT_ENGINE_GROUP, ENGINE_GROUP_ANNOTATION } from "../k8s/engine-group.ts";
import type { VipPool } from "../k8s/vip-pool.ts";
import { annotation, requestOrder, type TranslateContext } from "./context.ts";
import type { GroupBgp } from "./announce.ts";
import { BUILTIN_DEFAULT_GROUP, withDefaults, type GroupSpec } from "./engine-group-spec.ts";

/** PORTICO_GROUP is the API group of Portico's kinds, as class parameter references name it. */
export const PORTICO_GROUP = "portico.dev";

/** GroupRule is how an object's group was chosen, highest precedence first. */
export type GroupRule = "annotation" | "IngressClass" | "GatewayClass" | "VipPool" | "default";

/** GroupClaim is what one object asks for the VIP it owns or shares. */
export interface GroupClaim {
  /** object is "Kind/ns/name". */
  object: string;
  /** vip is the key of the VIP request whose addresses the object is served on. */
  vip: string;
  /** order sorts claims oldest first, then by key (requestOrder). */
  order: string;
  /** group and rule are set when the object or its class names a group. */
  group?: string;
  rule?: "annotation" | "IngressClass" | "GatewayClass";
}

/** ClassRef is a class's parameter reference as Ingress and Gateway API classes write it. */
export interface ClassRef {
  apiGroup?: string;
  group?: string;
  kind?: string;
  name?: string;
}

/** classGroup is the EngineGroup a class's parameters name, or undefined when they name another kind. */
export function classGroup(ref: ClassRef | undefined): string | undefined {
  if (!ref || ref.kind !== "EngineGroup") return undefined;
  if ((ref.apiGroup ?? ref.group) !== PORTICO_GROUP) return undefined;
  return ref.name?.trim() ? ref.name.trim() : undefined;
}

/** claimGroup records obj's claim on VIP request vip; fromClass is its class's choice, if any. */
export function claimGroup(
  ctx: TranslateContext,
  obj: {
    kind: string;
    metadata: {
      name: string;
      namespace?: string;
      creationTimestamp?: string;
      annotations?: Record<string, string>;
    };
  },
  vip: string,
  fromClass?: { rule: "IngressClass" | "GatewayClass"; group: string },
): void {
  const ns = obj.metadata.namespace;
  const object = ns ? `${obj.kind}/${ns}/${obj.metadata.name}` : `${obj.kind}/${obj.metadata.name}`;
  const claim: GroupClaim = { object, vip, order: requestOrder(obj, object) };
  const own = annotation(obj, ENGINE_GROUP_ANNOTATION);
  if (own) Object.assign(claim, { group: own, rule: "annotation" });
  else if (fromClass) Object.assign(claim, fromClass);
  ctx.groupClaims.push(claim);
}

/** ServedObject is one object a group serves, on which addresses, and by which rule. */
export interface ServedObject {
  object: string;
  addresses: string[];
  rule: GroupRule;
  /** asked is the group the object asked for when another object's choice serves the shared VIP. */
  asked?: string;
  /** winner is the object whose choice picked the group of a shared VIP, when not this one. */
  winner?: string;
}

/** GroupServing is one group as the pipeline reports it: its spec with defaults and what it serves. */
export interface GroupServing {
  spec: GroupSpec;
  /** builtin is true for the "default" group that no manifest defines. */
  builtin: boolean;
  /** exists is false for a group objects name that has no manifest (nothing serves it). */
  exists: boolean;
  /** accepted is false for a manifest that never had a valid spec (its spec here is the defaults). */
  accepted: boolean;
  /** vips are the addresses the group serves, sorted. */
  vips: string[];
  objects: ServedObject[];
  /** bgp is the group's BGP speaker with passwords resolved, when spec.bgp is set (the pipeline adds it). */
  bgp?: GroupBgp;
}

/** GroupProblem is a condition to put on an object about its group. */
export interface GroupProblem {
  object: string;
  reason: "EngineGroupNotFound" | "EngineGroupInvalid" | "EngineGroupConflict";
  message: string;
}

/** GroupResolution is resolveGroups' answer. */
export interface GroupResolution {
  /** groupOf maps each served VIP address to its group. */
  groupOf: Record<string, string>;
  /** groups maps a group name to what it serves; every manifest and "default" are present. */
  groups: Record<string, GroupServing>;
  problems: GroupProblem[];
}

/** Effective is a claim completed for one address. */
interface Effective {
  claim: GroupClaim;
  group: string;
  rule: GroupRule;
}

/**
 * resolveGroups settles the group of every address and what every group serves. groups are the
 * manifests (held at their last valid version where one exists); refused names those that never
 * had a valid spec, which serve nothing. Pure.
 */
export function resolveGroups(
  claims: readonly GroupClaim[],
  results: Readonly<Record<string, AllocationResult>>,
  groups: readonly EngineGroup[],
  pools: readonly VipPool[],
  refused: ReadonlySet<string> = new Set(),
): GroupResolution {
  const poolGroup = new Map(pools.map((p) => [p.metadata.name, p.spec?.engineGroup?.trim() || undefined]));
  const out: Record<string, GroupServing> = {};
  const manifests = new Map(groups.map((g) => [g.metadata.name, g]));
  if (!manifests.has(DEFAULT_ENGINE_GROUP)) manifests.set(DEFAULT_ENGINE_GROUP, BUILTIN_DEFAULT_GROUP);
  for (const [name, g] of [...manifests].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const accepted = !refused.has(name);
    out[name] = {
      spec: withDefaults(accepted ? g.spec : undefined),
      builtin: g === BUILTIN_DEFAULT_GROUP,
      exists: true,
      accepted,
      vips: [],
      objects: [],
    };
  }
  const serving = (name: string): GroupServing =>
    (out[name] ??= {
      spec: withDefaults(undefined),
      builtin: false,
      exists: false,
      accepted: false,
      vips: [],
      objects: [],
    });
  const byAddress = new Map<string, Effective[]>();
  const problems = new Map<string, GroupProblem>();
  const sorted = [...claims].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  for (const claim of sorted) {
    const r = results[claim.vip];
    if (!r?.ok) {
      // Pending: no address and no pool yet; an explicit choice is still listed and checked.
      if (claim.group) {
        serving(claim.group).objects.push({ object: claim.object, addresses: [], rule: claim.rule! });
        notFound(claim.object, claim.group, claim.rule!, out, problems);
      }
      continue;
    }
    r.addresses.forEach((address, i) => {
      const fromPool = poolGroup.get(r.pools[i] ?? "");
      const e: Effective = claim.group
        ? { claim, group: claim.group, rule: claim.rule! }
        : fromPool
          ? { claim, group: fromPool, rule: "VipPool" }
          : { claim, group: DEFAULT_ENGINE_GROUP, rule: "default" };
      byAddress.set(address, [...(byAddress.get(address) ?? []), e]);
    });
  }
  const groupOf: Record<string, string> = {};
  const objects = new Map<string, ServedObject>();
  for (const [address, list] of [...byAddress].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const winner = list[0]!;
    groupOf[address] = winner.group;
    const g = serving(winner.group);
    g.vips.push(address);
    for (const e of list) {
      const key = `${winner.group}\n${e.claim.object}`;
      let served = objects.get(key);
      if (!served) {
        served = { object: e.claim.object, addresses: [], rule: e.rule };
        if (e.group !== winner.group) Object.assign(served, { asked: e.group, winner: winner.claim.object });
        objects.set(key, served);
        g.objects.push(served);
      }
      served.addresses.push(address);
      if (notFound(e.claim.object, e.group, e.rule, out, problems)) continue;
      if (e.group !== winner.group && !problems.has(e.claim.object))
        problems.set(e.claim.object, {
          object: e.claim.object,
          reason: "EngineGroupConflict",
          message: `asks for EngineGroup ${e.group} (${ruleText(e.rule)}) but shares VIP ${address} with ${winner.claim.object}, the older object, whose group ${winner.group} (${ruleText(winner.rule)}) serves it; give this object a VIP of its own to use ${e.group}`,
        });
    }
  }
  for (const g of Object.values(out)) g.objects.sort((a, b) => (a.object < b.object ? -1 : 1));
  return {
    groupOf,
    groups: out,
    problems: [...problems.values()].sort((a, b) => (a.object < b.object ? -1 : 1)),
  };
}

/** notFound records EngineGroupNotFound (no manifest) or EngineGroupInvalid (never valid); true when it did. */
function notFound(
  object: string,
  group: string,
  rule: GroupRule,
  groups: Record<string, GroupServing>,
  problems: Map<string, GroupProblem>,
): boolean {
  const g = groups[group];
  if (g?.accepted) return false;
  problems.set(
    object,
    g?.exists
      ? {
          object,
          reason: "EngineGroupInvalid",
          message: `EngineGroup ${group} (${ruleText(rule)}) has no valid spec (see its Accepted condition), so no engine serves this object; fix the group or name another one`,
        }
      : {
          object,
          reason: "EngineGroupNotFound",
          message: `EngineGroup ${group} (${ruleText(rule)}) does not exist, so no engine serves this object; create it (apiVersion: portico.dev/v1alpha1, kind: EngineGroup, metadata.name: ${group}) or name an existing group`,
        },
  );
  return true;
}

/** ruleText says in words where a group choice came from. */
export function ruleText(rule: GroupRule): string {
  switch (rule) {
    case "annotation":
      return `annotation ${ENGINE_GROUP_ANNOTATION}`;
    case "IngressClass":
      return "IngressClass spec.parameters";
    case "GatewayClass":
      return "GatewayClass spec.parametersRef";
    case "VipPool":
      return "the VipPool's spec.engineGroup";
    case "default":
      return "nothing named a group";
  }
}

// policy.ts: WafPolicy and AccessPolicy attachment (Gateway API direct policy attachment, GEP-713).
// A policy names targets of its own namespace: a Gateway (sectionName: one listener), an HTTPRoute
// or GRPCRoute (sectionName: one rule's name); an Ingress names a policy by annotation. Each IR
// route takes, per kind, the policy of its most specific target: route rule, route, listener,
// Gateway. One policy of a kind per target: the oldest (then by name) wins and every later one is
// Conflicted there. Status is one `ancestors` entry per target, the target itself as ancestorRef,
// at most MAX_ANCESTORS of them: an Ingress that would be one more is refused and told why.
import type { Gateway } from "../k8s/gateway-api.ts";
import {
  ACCESS_POLICY_ANNOTATION,
  WAF_POLICY_ANNOTATION,
  type AccessPolicy,
  type PolicyAncestorStatus,
  type PolicyTargetRef,
  type WafPolicy,
} from "../k8s/policy.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import type { Route, WafConfig } from "../model/ir.ts";
import type { TranslateContext } from "./context.ts";
import {
  CONTROLLER_NAME,
  GATEWAY_GROUP,
  conditions,
  generationOf,
  no,
  yes,
  type Cond,
} from "./gateway-conditions.ts";
import { byAge, keyOfObj, nsOf } from "./gateway-types.ts";
import { checkAccessPolicy, checkWafPolicy, MAX_ANCESTORS, type AccessChecked } from "./policy-spec.ts";
import { ACCEPTED, refOf } from "./status.ts";

/** TARGET_KINDS are the kinds a targetRef may name. */
const TARGET_KINDS = new Set(["Gateway", "HTTPRoute", "GRPCRoute"]);
/** INGRESS_GROUP is the Ingress's API group, for ancestorRefs of annotation attachments. */
const INGRESS_GROUP = "networking.k8s.io";

/** Target is one targetRef of one policy and what became of it. */
interface Target {
  ref: PolicyTargetRef | { group: string; kind: "Ingress"; name: string; sectionName?: undefined };
  /** key is "Kind/ns/name" or "Kind/ns/name/section". */
  key: string;
  /** verdict is Accepted unless refused (Conflicted, TargetNotFound, Invalid). */
  verdict: Cond;
}

/** Use is one policy of one kind: its checked config and its targets. */
interface Use<T> {
  obj: AnyObject;
  source: string;
  config?: T;
  problems: string[];
  targets: Target[];
  /** notes are remarks per target key (a setting that does not apply there). */
  notes: Map<string, string>;
}

/** Attachments holds the policies of one kind, indexed by target key (winner only). */
class Attachments<T> {
  readonly uses: Use<T>[] = [];
  readonly #winner = new Map<string, Use<T>>();

  constructor(
    set: ResourceSet,
    objects: readonly AnyObject[],
    check: (o: AnyObject, source: string) => { config?: T; problems: string[] },
  ) {
    for (const obj of [...objects].sort(byAge)) {
      const source = keyOfObj(obj);
      const c = check(obj, source);
      const use: Use<T> = { obj, source, problems: c.problems, targets: [], notes: new Map() };
      if (c.config !== undefined) use.config = c.config;
      this.uses.push(use);
      const refs = (obj.spec as { targetRefs?: PolicyTargetRef[] } | undefined)?.targetRefs ?? [];
      for (const ref of refs) {
        // The same target written twice is one target (not a conflict of the policy with itself).
        if (use.targets.some((t) => t.key === targetKey(nsOf(obj), ref))) continue;
        if (use.targets.length >= MAX_ANCESTORS) break; // refused by the spec check already
        use.targets.push(this.#target(set, use, ref));
      }
    }
  }

  /**
   * attachIngresses attaches the policies Portico's Ingresses name by annotation, oldest Ingress
   * first. A policy whose status already lists MAX_ANCESTORS targets is not attached to more (the
   * Gateway API's rule for a full ancestors list): refused maps such an Ingress to the policy.
   */
  attachIngresses(ingresses: readonly AnyObject[], annotation: string): Map<string, Use<T>> {
    const refused = new Map<string, Use<T>>();
    const byName = new Map(this.uses.map((u) => [`${nsOf(u.obj)}/${u.obj.metadata.name}`, u]));
    for (const ing of [...ingresses].sort(byAge)) {
      const name = ing.metadata.annotations?.[annotation];
      const use = name ? byName.get(`${nsOf(ing)}/${name}`) : undefined;
      if (!use) continue;
      const key = `Ingress/${nsOf(ing)}/${ing.metadata.name}`;
      if (use.targets.length >= MAX_ANCESTORS) {
        refused.set(key, use);
        continue;
      }
      use.targets.push({
        ref: { group: INGRESS_GROUP, kind: "Ingress", name: ing.metadata.name },
        key,
        verdict: this.#verdict(use),
      });
      if (use.config !== undefined) this.#winner.set(key, use);
    }
    return refused;
  }

  /** #verdict is Accepted for a usable policy, Invalid (with every problem) for one that is not. */
  #verdict(use: Use<T>): Cond {
    return use.config !== undefined ? yes("Accepted") : no("Invalid", use.problems.join("; "));
  }

  #target(set: ResourceSet, use: Use<T>, ref: PolicyTargetRef): Target {
    const ns = nsOf(use.obj);
    const t: Target = { ref, key: targetKey(ns, ref), verdict: this.#verdict(use) };
    const cross = (ref as { namespace?: string }).namespace;
    if (cross !== undefined && cross !== ns) {
      t.verdict = no(
        "Invalid",
        `targetRef ${ref.kind} ${cross}/${ref.name}: a policy attaches only to objects of its own namespace`,
      );
      return t;
    }
    if (ref.group !== GATEWAY_GROUP || !TARGET_KINDS.has(ref.kind)) {
      t.verdict = no(
        "Invalid",
        `targetRef ${ref.group}/${ref.kind}: only Gateway, HTTPRoute and GRPCRoute of ${GATEWAY_GROUP} can be targeted`,
      );
      return t;
    }
    const missing = targetMissing(set, ns, ref);
    if (missing) {
      t.verdict = no("TargetNotFound", missing);
      return t;
    }
    const unfit = noHttpListener(set, ns, ref);
    if (unfit) {
      t.verdict = no("Invalid", unfit);
      return t;
    }
    if (use.config === undefined) return t;
    const held = this.#winner.get(t.key);
    if (held) {
      t.verdict = no(
        "Conflicted",
        `${ref.kind} ${ref.name}${ref.sectionName ? ` section ${ref.sectionName}` : ""} already has ${held.source} (older)`,
      );
      return t;
    }
    this.#winner.set(t.key, use);
    return t;
  }

  /** winner is the policy of the first key that has one (keys most specific first). */
  winner(keys: readonly string[]): Use<T> | undefined {
    for (const k of keys) {
      const w = this.#winner.get(k);
      if (w) return w;
    }
    return undefined;
  }

  /** statuses renders every policy's ancestors (an empty list for one that attaches nowhere). */
  statuses(): { obj: AnyObject; ancestors: PolicyAncestorStatus[] }[] {
    return this.uses.map((u) => ({
      obj: u.obj,
      ancestors: u.targets.map((t) => {
        const note = u.notes.get(t.key);
        const verdict = note && t.verdict.status === "True" ? yes("Accepted", note) : t.verdict;
        const ancestorRef: PolicyAncestorStatus["ancestorRef"] = {
          group: t.ref.group,
          kind: t.ref.kind,
          namespace: nsOf(u.obj),
          name: t.ref.name,
        };
        if (t.ref.sectionName) ancestorRef.sectionName = t.ref.sectionName;
        return {
          ancestorRef,
          controllerName: CONTROLLER_NAME,
          conditions: conditions({ Accepted: verdict }, generationOf(u.obj)),
        };
      }),
    }));
  }
}

/** targetKey is "Kind/ns/name" or "Kind/ns/name/section", the index of a target's winner. */
function targetKey(ns: string, ref: PolicyTargetRef): string {
  return `${ref.kind}/${ns}/${ref.name}${ref.sectionName ? `/${ref.sectionName}` : ""}`;
}

/** HTTP_PROTOCOLS are the listener protocols whose traffic the policies act on (Route.waf/access, HttpListener). */
const HTTP_PROTOCOLS = new Set(["HTTP", "HTTPS"]);

/** gatewayOf finds a Gateway of the set. */
function gatewayOf(set: ResourceSet, ns: string, name: string): Gateway | undefined {
  return set.other.find((o) => o.kind === "Gateway" && nsOf(o) === ns && o.metadata.name === name) as
    Gateway | undefined;
}

/**
 * noHttpListener says why a Gateway target has nothing a policy can act on: the listener named (or
 * every listener) carries TCP, TLS or UDP, whose traffic neither policy sees (undefined otherwise).
 */
function noHttpListener(set: ResourceSet, ns: string, ref: PolicyTargetRef): string | undefined {
  if (ref.kind !== "Gateway") return undefined;
  const all = gatewayOf(set, ns, ref.name)?.spec?.listeners ?? [];
  const listeners = ref.sectionName ? all.filter((l) => l.name === ref.sectionName) : all;
  if (listeners.length === 0 || listeners.some((l) => HTTP_PROTOCOLS.has(l.protocol))) return undefined;
  const what = ref.sectionName
    ? `listener ${ref.sectionName} is ${listeners[0]!.protocol}`
    : `Gateway ${ns}/${ref.name} has no HTTP or HTTPS listener`;
  return `${what}: WafPolicy and AccessPolicy apply to HTTP and HTTPS listeners only`;
}

/** targetMissing says why a targetRef names nothing (undefined when the target exists). */
function targetMissing(set: ResourceSet, ns: string, ref: PolicyTargetRef): string | undefined {
  const obj = set.other.find((o) => o.kind === ref.kind && nsOf(o) === ns && o.metadata.name === ref.name);
  if (!obj) return `${ref.kind} ${ns}/${ref.name} not found`;
  if (ref.kind === "Gateway") {
    const cls = (obj as unknown as Gateway).spec?.gatewayClassName;
    const ours = set.other.some(
      (o) =>
        o.kind === "GatewayClass" &&
        o.metadata.name === cls &&
        (o.spec as { controllerName?: string } | undefined)?.controllerName === CONTROLLER_NAME,
    );
    if (!ours) return `Gateway ${ns}/${ref.name} is not Portico's (GatewayClass ${JSON.stringify(cls)})`;
  }
  if (!ref.sectionName) return undefined;
  if (ref.kind === "Gateway") {
    const names = ((obj as unknown as Gateway).spec?.listeners ?? []).map((l) => l.name);
    return names.includes(ref.sectionName)
      ? undefined
      : `Gateway ${ns}/${ref.name} has no listener ${JSON.stringify(ref.sectionName)}`;
  }
  const rules = ((obj.spec as { rules?: { name?: string }[] } | undefined)?.rules ?? []).map((r) => r?.name);
  return rules.includes(ref.sectionName)
    ? undefined
    : `${ref.kind} ${ns}/${ref.name} has no rule named ${JSON.stringify(ref.sectionName)}`;
}

/** RouteSite is where an IR route comes from on a Gateway: which listener, route object and rule. */
export interface RouteSite {
  gateway: Gateway;
  /** listener is the Gateway's own listener's name (absent for a ListenerSet's listener). */
  listener?: string;
  route: AnyObject;
  rule: number;
}

/** PolicyIndex resolves which WafPolicy and AccessPolicy govern each route and listener. */
export class PolicyIndex {
  readonly #waf: Attachments<WafConfig>;
  readonly #access: Attachments<AccessChecked>;

  constructor(set: ResourceSet) {
    this.#waf = new Attachments(set, set.wafPolicies as unknown as AnyObject[], (o, s) =>
      checkWafPolicy(o as unknown as WafPolicy, s),
    );
    this.#access = new Attachments(set, set.accessPolicies as unknown as AnyObject[], (o, s) =>
      checkAccessPolicy(o as unknown as AccessPolicy, s),
    );
    // A Gateway-wide connection limit reaches its HTTP and HTTPS listeners only: the others are named.
    for (const use of this.#access.uses) {
      if (use.config?.maxConnections === undefined) continue;
      for (const t of use.targets) {
        if (t.ref.kind !== "Gateway" || t.ref.sectionName || t.verdict.status !== "True") continue;
        const gw = gatewayOf(set, nsOf(use.obj), t.ref.name);
        const others = (gw?.spec?.listeners ?? []).filter((l) => !HTTP_PROTOCOLS.has(l.protocol));
        if (others.length > 0)
          use.notes.set(
            t.key,
            `connectionLimit is not enforced on ${others.map((l) => `listener ${l.name} (${l.protocol})`).join(", ")}: HTTP and HTTPS listeners only`,
          );
      }
    }
  }

  /** gatewayRoute gives a Gateway route its policies (rule > route > listener > Gateway). */
  gatewayRoute(route: Route, site: RouteSite): Route {
    const gw = `Gateway/${nsOf(site.gateway)}/${site.gateway.metadata.name}`;
    const r = `${site.route.kind}/${nsOf(site.route)}/${site.route.metadata.name}`;
    const ruleName = (site.route.spec as { rules?: { name?: string }[] } | undefined)?.rules?.[site.rule]
      ?.name;
    const keys = [
      ...(ruleName ? [`${r}/${ruleName}`] : []),
      r,
      ...(site.listener !== undefined ? [`${gw}/${site.listener}`] : []),
      gw,
    ];
    return this.#apply(route, keys);
  }

  /**
   * attachIngresses attaches the policies that Portico's Ingresses name by annotation (after the
   * Ingress pass, so that other controllers' Ingresses take no place in a policy's status). It
   * returns the Ingresses refused because the policy's ancestors list is full, with the message.
   */
  attachIngresses(ingresses: readonly AnyObject[]): Map<string, string[]> {
    const refused = new Map<string, string[]>();
    for (const [a, ann] of [
      [this.#waf, WAF_POLICY_ANNOTATION],
      [this.#access, ACCESS_POLICY_ANNOTATION],
    ] as const) {
      for (const [key, use] of a.attachIngresses(ingresses, ann))
        refused.set(key, [
          ...(refused.get(key) ?? []),
          `${ann}: ${use.obj.kind} ${nsOf(use.obj)}/${use.obj.metadata.name} already has ${MAX_ANCESTORS} targets (Gateway API's limit on status.ancestors); the Ingress is served without it`,
        ]);
    }
    return refused;
  }

  /** ingressRoute gives an Ingress route the policies its annotations name. */
  ingressRoute(route: Route, ingressKey: string): Route {
    return this.#apply(route, [ingressKey]);
  }

  #apply(route: Route, keys: readonly string[]): Route {
    const waf = this.#waf.winner(keys)?.config;
    const accessUse = this.#access.winner(keys);
    const access = accessUse?.config?.access;
    if (accessUse?.config?.maxConnections !== undefined) {
      const at = keys.find((k) => this.#access.winner([k]) === accessUse)!;
      if (!at.startsWith("Gateway/"))
        accessUse.notes.set(
          at,
          "connectionLimit applies to Gateways and listeners only; it is not enforced here",
        );
    }
    if (!waf && !access) return route;
    return { ...route, ...(waf ? { waf } : {}), ...(access ? { access } : {}) };
  }

  /** maxConnections is the smallest connection limit among a Gateway port's listeners (or the Gateway's). */
  maxConnections(gateway: Gateway, listeners: readonly string[]): number | undefined {
    const gw = `Gateway/${nsOf(gateway)}/${gateway.metadata.name}`;
    const limits = listeners
      .map((l) => this.#access.winner([`${gw}/${l}`, gw])?.config?.maxConnections)
      .filter((n) => n !== undefined);
    return limits.length > 0 ? Math.min(...limits) : undefined;
  }

  /** writeStatus records every policy's ancestors. */
  writeStatus(ctx: TranslateContext): void {
    for (const a of [this.#waf, this.#access]) {
      for (const { obj, ancestors } of a.statuses()) ctx.status.field(refOf(obj), "ancestors", ancestors);
    }
  }
}

/** translatePolicies is the pass after Ingresses and Gateways: Ingress annotations, then status. */
export function translatePolicies(ctx: TranslateContext): void {
  // Only Portico's Ingresses (the Ingress pass gave them a status): others are not ours to attach to.
  const ours = ctx.set.ingresses.filter((i) => ctx.status.has(refOf(i)));
  const refused = ctx.policies.attachIngresses(ours as unknown as AnyObject[]);
  const ingresses = new Map(ours.map((i) => [keyOfObj(i as unknown as AnyObject), i]));
  for (const l of ctx.http) {
    for (const vh of l.virtualHosts) {
      vh.routes = vh.routes.map((r) => {
        if (!r.name.startsWith("Ingress/")) return r;
        const key = r.name.split("#")[0]!;
        return ingresses.has(key) ? ctx.policies.ingressRoute(r, key) : r;
      });
    }
  }
  for (const ing of ours) {
    for (const message of refused.get(keyOfObj(ing as unknown as AnyObject)) ?? [])
      ctx.status.warn(refOf(ing), ACCEPTED, "PolicyNotAttached", message);
    for (const [ann, list] of [
      [WAF_POLICY_ANNOTATION, ctx.set.wafPolicies],
      [ACCESS_POLICY_ANNOTATION, ctx.set.accessPolicies],
    ] as const) {
      const name = ing.metadata.annotations?.[ann];
      if (name === undefined) continue;
      if (
        !(list as unknown as readonly AnyObject[]).some(
          (p) => nsOf(p) === nsOf(ing) && p.metadata.name === name,
        )
      )
        ctx.status.warn(
          refOf(ing),
          ACCEPTED,
          "PolicyNotFound",
          `${ann}: ${kindOfAnn(ann)} ${nsOf(ing)}/${name} not found; the Ingress is served without it`,
        );
    }
  }
  ctx.policies.writeStatus(ctx);
}

function kindOfAnn(ann: string): string {
  return ann === WAF_POLICY_ANNOTATION ? "WafPolicy" : "AccessPolicy";
}

// target.ts: the object `portico explain` is asked about, written as kubectl users write it:
// KIND/NS/NAME, KIND/NAME (namespace default, or no namespace for cluster-scoped kinds),
// KIND NAME or KIND NS/NAME.
import { keyOf } from "../../translate/status.ts";

/** TargetKind is an object kind `portico explain` explains (the Kubernetes kind name). */
export type TargetKind =
  | "Service"
  | "Ingress"
  | "IngressClass"
  | "Gateway"
  | "HTTPRoute"
  | "GRPCRoute"
  | "TLSRoute"
  | "TCPRoute"
  | "UDPRoute"
  | "VipPool"
  | "EngineGroup"
  | "DnsZone"
  | "WafPolicy"
  | "AccessPolicy"
  | "Tenant";

/** KINDS maps every accepted spelling (lower case) to its kind and whether it is namespaced. */
const KINDS: Record<string, { kind: TargetKind; namespaced: boolean }> = {};
for (const [kind, namespaced, ...names] of [
  ["Service", true, "service", "services", "svc"],
  ["Ingress", true, "ingress", "ingresses", "ing"],
  ["IngressClass", false, "ingressclass", "ingressclasses"],
  ["Gateway", true, "gateway", "gateways", "gtw"],
  ["HTTPRoute", true, "httproute", "httproutes"],
  ["GRPCRoute", true, "grpcroute", "grpcroutes"],
  ["TLSRoute", true, "tlsroute", "tlsroutes"],
  ["TCPRoute", true, "tcproute", "tcproutes"],
  ["UDPRoute", true, "udproute", "udproutes"],
  ["VipPool", false, "vippool", "vippools", "pool", "pools"],
  ["EngineGroup", false, "enginegroup", "enginegroups", "eg"],
  ["DnsZone", false, "dnszone", "dnszones", "dz"],
  ["WafPolicy", true, "wafpolicy", "wafpolicies", "wafp"],
  ["AccessPolicy", true, "accesspolicy", "accesspolicies", "accp"],
  ["Tenant", false, "tenant", "tenants"],
] as const) {
  for (const n of names) KINDS[n] = { kind, namespaced };
}

/** TARGET_KINDS lists the kinds in the order help and errors name them. */
export const TARGET_KINDS =
  "service, ingress, gateway, httproute, grpcroute, tlsroute, tcproute, udproute, wafpolicy, accesspolicy (KIND/NS/NAME), vippool, ingressclass, enginegroup, dnszone, tenant (KIND/NAME)";

/** Target is one object: kind, namespace ("" for cluster-scoped kinds) and name. */
export interface Target {
  kind: TargetKind;
  namespace: string;
  name: string;
}

/** ParsedTarget is a target and the words after it (the directories). */
export interface ParsedTarget extends Target {
  dirs: string[];
}

/** kindOf reads a kind word (any case, singular, plural or short name). */
export function kindOf(word: string): { kind: TargetKind; namespaced: boolean } | undefined {
  return KINDS[word.toLowerCase()];
}

/** parseTarget reads the first words of the command line; undefined when they name no object. */
export function parseTarget(positionals: readonly string[]): ParsedTarget | undefined {
  const [first = "", ...rest] = positionals;
  let words = first.split("/");
  let dirs = rest;
  if (words.length === 1 && kindOf(first) && rest.length > 0) {
    words = [first, ...(rest[0] ?? "").split("/")];
    dirs = rest.slice(1);
  }
  const k = kindOf(words[0] ?? "");
  if (!k || words.some((w) => w === "")) return undefined;
  if (k.namespaced && words.length === 3)
    return { kind: k.kind, namespace: words[1]!, name: words[2]!, dirs };
  if (words.length === 2)
    return { kind: k.kind, namespace: k.namespaced ? "default" : "", name: words[1]!, dirs };
  return undefined;
}

/** targetPath is the target as the admin API spells it: KIND/NS/NAME or KIND/NAME. */
export function targetPath(t: Target): string {
  const parts = [t.kind.toLowerCase(), ...(t.namespace ? [t.namespace] : []), t.name];
  return parts.map(encodeURIComponent).join("/");
}

/** targetKey is the object key: Kind/NS/NAME or Kind/NAME. */
export function targetKey(t: Target): string {
  return keyOf(t);
}

// hold.ts: invalid input never removes what serves. A pure pipeline step run before translation:
// every object of a checked kind (a VipPool whose addresses must parse, a TLS Secret whose
// certificate must load and match its key, a LoadBalancer Service whose requested addresses must
// parse, an EngineGroup whose spec must make sense, a WafPolicy whose custom rules must parse) that fails its check is replaced by its last valid version, so a typo or a bad rotation
// changes nothing that serves; it is reported, and clears when fixed. An object that never had a
// valid version passes through as it is, and the passes that read it refuse it (a pool that serves
// nobody new, a host served with the default certificate). Only removing an object drops its last valid version:
// deletion is the one deliberate way to free what it held.
import { parseIp } from "../ipam/address.ts";
import { poolProblem } from "../ipam/pools.ts";
import { deepFreeze, objectKey, type ResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject, Secret, Service } from "../k8s/types.ts";
import type { VipPool } from "../k8s/vip-pool.ts";
import type { EngineGroup } from "../k8s/engine-group.ts";
import { specProblems } from "../translate/engine-group-spec.ts";
import { checkAccessPolicy, checkWafPolicy } from "../translate/policy-spec.ts";
import type { AccessPolicy, WafPolicy } from "../k8s/policy.ts";
import { announceProblem } from "../translate/announce.ts";
import { checkKeyPair, TLS_SECRET_TYPE } from "../translate/secrets.ts";
import { requestedSources } from "../translate/service-lb.ts";
import { keyOf } from "../translate/status.ts";

/** LastValid maps an object's key ("Kind/ns/name") to the last version of it that passed its check. */
export type LastValid = ReadonlyMap<string, AnyObject>;

/** InvalidObject is one object that failed its check, where it was read, and what serves instead. */
export interface InvalidObject {
  kind: string;
  namespace?: string;
  name: string;
  /** file and line where the object was read ("kube:<rv>" and 0 from a cluster; "" when unknown). */
  file: string;
  line: number;
  /** reason is a stable CamelCase code (InvalidAddresses, InvalidCertificate, KeyMismatch, ...). */
  reason: string;
  /** message says what is wrong, then what serves meanwhile. Never carries Secret data. */
  message: string;
  /** held is true when a last valid version is in force in its place. */
  held: boolean;
  /** generation is the invalid version's metadata.generation, when it has one. */
  generation?: number;
}

/** HoldResult is the set to translate, the new last valid versions, and what was invalid. */
export interface HoldResult {
  set: ResourceSet;
  lastValid: LastValid;
  invalid: InvalidObject[];
}

/** Problem is why one object failed its check. */
interface Problem {
  reason: string;
  message: string;
}

/** CHECKS are the kinds checked, the ResourceSet list they live in, and their check. */
const CHECKS = [
  {
    kind: "VipPool",
    list: "vipPools",
    problem: (o: AnyObject): Problem | undefined => {
      const p = poolProblem(o as unknown as VipPool);
      if (p !== undefined) return { reason: "InvalidAddresses", message: p };
      const a = announceProblem(o as unknown as VipPool);
      return a === undefined ? undefined : { reason: "InvalidAnnounce", message: a };
    },
  },
  {
    kind: "Secret",
    list: "secrets",
    problem: (o: AnyObject): Problem | undefined => {
      const s = o as unknown as Secret;
      // Only serving key pairs are checked; other Secrets are read (or refused) by what uses them.
      if (s.type !== TLS_SECRET_TYPE) return undefined;
      const c = checkKeyPair(s);
      return c.ok ? undefined : { reason: c.reason, message: c.message };
    },
  },
  {
    kind: "Service",
    list: "services",
    problem: (o: AnyObject): Problem | undefined => {
      const svc = o as unknown as Service;
      if (svc.spec?.type !== "LoadBalancer") return undefined;
      // The annotation wins over spec.loadBalancerIP, so only what will be read is checked.
      const { fromAnn, annName, spec } = requestedSources(svc);
      const [field, list] =
        fromAnn.length > 0 ? [annName, fromAnn] : ["spec.loadBalancerIP", spec ? [spec] : []];
      const bad = list.find((ip) => parseIp(ip) === undefined);
      return bad === undefined
        ? undefined
        : { reason: "InvalidRequestedIP", message: `${field}: ${JSON.stringify(bad)} is not an IP address` };
    },
  },
  {
    kind: "WafPolicy",
    list: "wafPolicies",
    problem: (o: AnyObject): Problem | undefined =>
      specProblem(checkWafPolicy(o as unknown as WafPolicy, objectKey(o)).problems),
  },
  {
    kind: "AccessPolicy",
    list: "accessPolicies",
    problem: (o: AnyObject): Problem | undefined =>
      specProblem(checkAccessPolicy(o as unknown as AccessPolicy, objectKey(o)).problems),
  },
  {
    kind: "EngineGroup",
    list: "engineGroups",
    problem: (o: AnyObject): Problem | undefined => {
      const problems = specProblems(o as unknown as EngineGroup);
      if (problems.length === 0) return undefined;
      return { reason: problems[0]!.reason, message: problems.map((p) => p.message).join("; ") };
    },
  },
] as const;

/** specProblem turns a policy's spec problems into one Problem (reason InvalidPolicy). */
function specProblem(problems: readonly string[]): Problem | undefined {
  return problems.length === 0 ? undefined : { reason: "InvalidPolicy", message: problems.join("; ") };
}

/** holdLastValid replaces each invalid object of set by its last valid version. Pure. */
export function holdLastValid(set: ResourceSet, lastValid: LastValid): HoldResult {
  const next = new Map<string, AnyObject>();
  const invalid: InvalidObject[] = [];
  const lists: Partial<Record<(typeof CHECKS)[number]["list"], AnyObject[]>> = {};
  for (const check of CHECKS) {
    const objects = set[check.list] as unknown as readonly AnyObject[];
    lists[check.list] = objects.map((obj) => {
      const key = objectKey(obj);
      const problem = check.problem(obj);
      if (problem === undefined) {
        next.set(key, obj);
        return obj;
      }
      const held = lastValid.get(key);
      const origin = set.origins.get(key);
      const entry: InvalidObject = {
        kind: obj.kind,
        name: obj.metadata.name,
        file: origin?.file ?? "",
        line: origin?.line ?? 0,
        reason: problem.reason,
        message: `${problem.message}; ${held ? heldText(held) : "nothing valid to keep serving"}; fix the object to apply changes`,
        held: held !== undefined,
      };
      if (obj.metadata.namespace) entry.namespace = obj.metadata.namespace;
      if (obj.metadata.generation !== undefined) entry.generation = obj.metadata.generation;
      invalid.push(entry);
      if (!held) return obj;
      next.set(key, held);
      return held;
    });
  }
  const out = deepFreeze({ ...set, ...lists }) as ResourceSet;
  return { set: out, lastValid: next, invalid };
}

/** heldText says which version keeps serving. */
function heldText(held: AnyObject): string {
  const g = held.metadata.generation;
  return g === undefined
    ? "the last valid version keeps serving"
    : `the last valid version (generation ${g}) keeps serving`;
}

/** invalidKey names an InvalidObject as "Kind/ns/name", like objectKey. */
export function invalidKey(o: InvalidObject): string {
  return keyOf(o);
}

/** INPUT_VALID is the condition an invalid object (or, for a Secret, each object using it) carries. */
export const INPUT_VALID = "portico.dev/InputValid";

/** reportedOn lists the objects whose status reports an invalid object: a VipPool or Service on
 * itself (an EngineGroup too); a Secret (which has no status) on the Ingresses, Gateways and ListenerSets that name it. */
export function reportedOn(set: ResourceSet, o: InvalidObject): string[] {
  if (o.kind !== "Secret") return [invalidKey(o)];
  const ns = o.namespace ?? "";
  const out: string[] = [];
  for (const ing of set.ingresses) {
    const named = (ing.spec?.tls ?? []).some((t) => t.secretName === o.name);
    if (named && (ing.metadata.namespace ?? "") === ns) out.push(objectKey(ing));
  }
  for (const obj of set.other) {
    const listeners = (obj.spec as { listeners?: unknown } | undefined)?.listeners;
    if (!Array.isArray(listeners)) continue;
    const own = obj.metadata.namespace ?? "";
    const named = listeners.some((l: { tls?: { certificateRefs?: CertRef[] } }) =>
      (l?.tls?.certificateRefs ?? []).some(
        (r) =>
          (r.kind ?? "Secret") === "Secret" &&
          (r.group ?? "") === "" &&
          r.name === o.name &&
          (r.namespace ?? own) === ns,
      ),
    );
    if (named) out.push(objectKey(obj));
  }
  return out;
}

/** CertRef is a Gateway API SecretObjectReference as read here. */
interface CertRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
}

// kube-status.ts: the one place Portico writes status in a cluster (STYLE.md §4). For each object
// it merges the pipeline's status into the fields Portico owns, compares with the cached copy and
// writes only when they differ — on a freshly read object, retrying on conflict. Conditions keep
// their lastTransitionTime while their status does not change; the pipeline has no clock, the
// writer stamps it.
import type { AnyObject, Condition } from "../k8s/types.ts";
import { KubeApiError, type KubeClient } from "../sources/kube/client.ts";
import { objectPath, resourceOf } from "../sources/kube/kinds.ts";
import type { ObjectStatus } from "../translate/types.ts";
import { GATEWAY_STATUS_KINDS, gatewayDesired } from "./kube-gateway-status.ts";
import type { Logger } from "./log.ts";

/** PORTICO_CONDITION_PREFIX marks the Service conditions Portico owns; others' are left alone. */
export const PORTICO_CONDITION_PREFIX = "portico.dev/";

/** StatusChange reports one object whose status was written: what it held before and after. */
export interface StatusChange {
  kind: string;
  namespace?: string;
  name: string;
  uid: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** rfc3339 formats a time as metav1.Time does (whole seconds, UTC). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** mergeConditions stamps lastTransitionTime: kept from the old condition of the same type when its
 * status did not change, now otherwise. */
export function mergeConditions(
  old: readonly Condition[],
  next: readonly Condition[],
  now: string,
): Condition[] {
  return next.map((c) => {
    const prev = old.find((o) => o.type === c.type);
    const ltt = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    return { ...c, lastTransitionTime: ltt };
  });
}

/** desiredStatus is the object's status with Portico's fields replaced by s; undefined for kinds
 * Portico does not write. */
export function desiredStatus(
  obj: AnyObject,
  s: ObjectStatus,
  now: string,
): Record<string, unknown> | undefined {
  const cur = (obj.status ?? {}) as Record<string, unknown> & { conditions?: Condition[] };
  const curConds = cur.conditions ?? [];
  switch (obj.kind) {
    case "Service": {
      const ours = mergeConditions(curConds, s.status.conditions ?? [], now);
      const others = curConds.filter((c) => !c.type.startsWith(PORTICO_CONDITION_PREFIX));
      const conditions = [...others, ...ours];
      const next: Record<string, unknown> = { ...cur, loadBalancer: s.status.loadBalancer ?? {} };
      if (conditions.length > 0) next.conditions = conditions;
      else delete next.conditions;
      return next;
    }
    case "Ingress":
      // Ingress status holds only the load balancer; conditions become Events instead.
      return { ...cur, loadBalancer: s.status.loadBalancer ?? {} };
    case "CertificateIssuer":
    case "Tenant":
    case "DnsZone":
    case "VipPool": {
      const { conditions, ...counts } = s.status;
      return { ...counts, conditions: mergeConditions(curConds, conditions ?? [], now) };
    }
    case "EngineGroup": {
      // Portico's translation owns conditions, observedGeneration and vips; the fleet's fields
      // (engines, replicas, capacity, sizing) are kept as they are.
      const { conditions, ...mine } = s.status;
      return { ...cur, ...mine, conditions: mergeConditions(curConds, conditions ?? [], now) };
    }
    default:
      return GATEWAY_STATUS_KINDS.has(obj.kind) ? gatewayDesired(obj, s, now, mergeConditions) : undefined;
  }
}

/** sameStatus compares two statuses as JSON with sorted keys, an empty loadBalancer equal to none. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  const norm = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(norm);
    if (x && typeof x === "object") {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort()) {
        const val = (x as Record<string, unknown>)[k];
        if (val === undefined) continue;
        if (k === "ingress" && Array.isArray(val) && val.length === 0) continue;
        out[k] = norm(val);
      }
      return out;
    }
    return x;
  };
  return JSON.stringify(norm(v ?? {}));
}

/** StatusWriter writes ObjectStatus values to the API. */
export class StatusWriter {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #now: () => Date;

  /** constructor takes the API client, a logger and a clock. */
  constructor(client: KubeClient, log: Logger, now: () => Date = () => new Date()) {
    this.#client = client;
    this.#log = log;
    this.#now = now;
  }

  /**
   * write brings each object's status in line with s, using cached (the informer's copy) to skip
   * objects already right. Resolves with the objects written and the number of failures.
   */
  async write(
    statuses: readonly ObjectStatus[],
    cached: (kind: string, ns: string | undefined, name: string) => AnyObject | undefined,
  ): Promise<{ changes: StatusChange[]; failures: number }> {
    const changes: StatusChange[] = [];
    let failures = 0;
    for (const s of statuses) {
      const obj = cached(s.kind, s.namespace, s.name);
      if (!obj || obj.metadata.deletionTimestamp) continue;
      const want = desiredStatus(obj, s, rfc3339(this.#now()));
      if (!want || sameStatus(obj.status, want)) continue;
      try {
        const change = await this.#writeOne(s);
        if (change) changes.push(change);
      } catch (e) {
        failures++;
        this.#log("warn", "status write failed", {
          object: `${s.kind}/${s.namespace ?? ""}/${s.name}`,
          error: String(e),
        });
      }
    }
    return { changes, failures };
  }

  /** writeStatus replaces an object's status wholesale (used to clear status Portico no longer owns). */
  async writeRaw(
    kind: string,
    ns: string | undefined,
    name: string,
    edit: (status: Record<string, unknown>) => Record<string, unknown>,
  ): Promise<void> {
    await this.#retry(kind, ns, name, (obj) => {
      const before = (obj.status ?? {}) as Record<string, unknown>;
      const after = edit(before);
      return sameStatus(before, after) ? undefined : after;
    });
  }

  /** #writeOne reads the object fresh, recomputes, and PUTs /status unless already right. */
  async #writeOne(s: ObjectStatus): Promise<StatusChange | undefined> {
    let change: StatusChange | undefined;
    await this.#retry(s.kind, s.namespace, s.name, (obj) => {
      const before = (obj.status ?? {}) as Record<string, unknown>;
      const after = desiredStatus(obj, s, rfc3339(this.#now()));
      if (!after || sameStatus(before, after)) return undefined;
      const c: StatusChange = { kind: s.kind, name: s.name, uid: obj.metadata.uid ?? "", before, after };
      if (s.namespace) c.namespace = s.namespace;
      change = c;
      return after;
    });
    return change;
  }

  /** #retry runs GET → compute → PUT /status, again from a fresh read on 409 Conflict (5 tries). */
  async #retry(
    kind: string,
    ns: string | undefined,
    name: string,
    compute: (obj: AnyObject) => Record<string, unknown> | undefined,
  ): Promise<void> {
    const r = resourceOf(kind);
    for (let attempt = 1; ; attempt++) {
      let obj: AnyObject;
      try {
        obj = await this.#client.request<AnyObject>("GET", objectPath(r, ns, name));
      } catch (e) {
        if (e instanceof KubeApiError && e.status === 404) return; // gone: nothing to write
        throw e;
      }
      const status = compute(obj);
      if (status === undefined) return;
      try {
        await this.#client.request("PUT", objectPath(r, ns, name, "status"), { ...obj, status });
        return;
      } catch (e) {
        if (!(e instanceof KubeApiError && e.status === 409) || attempt >= 5) throw e;
        this.#log("debug", "status conflict; retrying on a fresh read", {
          object: `${kind}/${ns ?? ""}/${name}`,
          attempt,
        });
      }
    }
  }
}

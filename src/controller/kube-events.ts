// kube-events.ts: Events Portico records (events.k8s.io/v1), and which status changes deserve one.
// An Event is sent when what it would say changes — a Service's VIP condition moving, an Ingress
// problem appearing — never again for the same words, so a pending Service does not flood the API.
import { randomBytes } from "node:crypto";
import type { AnyObject, Condition } from "../k8s/types.ts";
import type { KubeClient } from "../sources/kube/client.ts";
import { VIP_ALLOCATED } from "../translate/status.ts";
import type { ObjectStatus } from "../translate/types.ts";
import type { StatusChange } from "./kube-status.ts";
import type { Logger } from "./log.ts";
import { announcedBy, type VipAnnouncementView } from "./fleet/announce-view.ts";

/** REPORTING_CONTROLLER names Portico in Events' reportingController. */
export const REPORTING_CONTROLLER = "portico.dev/controller";

/** EventSpec is one Event to record about an object. */
export interface EventSpec {
  regarding: { apiVersion: string; kind: string; namespace?: string; name: string; uid?: string };
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  note: string;
  /** series separates Events of one reason about one object for deduplication (a condition type). */
  series?: string;
}

/** microTime formats a time as metav1.MicroTime ("2026-01-02T03:04:05.000000Z"). */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** vipCondition finds the VIPAllocated condition in a status. */
function vipCondition(status: Record<string, unknown> | undefined): Condition | undefined {
  return ((status?.conditions ?? []) as Condition[]).find((c) => c.type === VIP_ALLOCATED);
}

/** vipEvent says which Event a Service status change deserves: IPAllocated when the VIP condition
 * turned True or its addresses changed, AllocationFailed when it turned False or its reason changed. */
export function vipEvent(change: StatusChange): EventSpec | undefined {
  if (change.kind !== "Service") return undefined;
  const before = vipCondition(change.before);
  const after = vipCondition(change.after);
  if (!after) return undefined;
  if (before && before.status === after.status && before.message === after.message) return undefined;
  const regarding = {
    apiVersion: "v1",
    kind: "Service",
    namespace: change.namespace ?? "",
    name: change.name,
    uid: change.uid,
  };
  return after.status === "True"
    ? {
        regarding,
        type: "Normal",
        reason: "IPAllocated",
        action: "AllocateVIP",
        note: `Assigned ${after.message ?? ""}`,
      }
    : {
        regarding,
        type: "Warning",
        reason: "AllocationFailed",
        action: "AllocateVIP",
        note: after.message ?? "",
      };
}

/**
 * ingressEvents are Warnings for the problems of an Ingress or an IngressClass — False conditions
 * and True ones with a warning reason (an annotation not honoured) — since neither status has room
 * for conditions. An IngressClass is cluster-scoped: its Events go to the default namespace.
 */
export function ingressEvents(s: ObjectStatus, obj: AnyObject | undefined): EventSpec[] {
  if (s.kind !== "Ingress" && s.kind !== "IngressClass") return [];
  const regarding = {
    apiVersion: "networking.k8s.io/v1",
    kind: s.kind,
    namespace: s.namespace ?? "",
    name: s.name,
    ...(obj?.metadata.uid ? { uid: obj.metadata.uid } : {}),
  };
  // A True condition with a reason other than its all-clear one is a warning (served, partly).
  // "Published" is DNSRecordReady's (a DNSRecordFailed is True with its reason: a warning).
  // "Valid" is CertificatesValid's; CertificateExpiring (True) is a warning whose note counts the days
  // left, so it is recorded once a day per certificate, not once per reconcile.
  const clear = new Set(["Accepted", "ResolvedRefs", "Allocated", "Published", "Valid"]);
  return (s.status.conditions ?? [])
    .filter((c) => c.status === "False" || !clear.has(c.reason ?? ""))
    .map((c) => ({
      regarding,
      type: "Warning" as const,
      reason: c.status === "False" ? "SyncFailed" : "SyncWarning",
      action: "Translate",
      series: c.type,
      note: `${c.type}: ${c.reason ?? ""}: ${c.message ?? ""}`,
    }));
}

/** POLICY_KINDS are Portico's attachable policies, whose problems are also Events. */
export const POLICY_KINDS: ReadonlySet<string> = new Set(["WafPolicy", "AccessPolicy"]);

/**
 * policyEvents are Warnings for a policy's problems: an invalid edit held back (InputValid=False)
 * and each target it could not attach to (Accepted=False: Invalid, Conflicted, TargetNotFound).
 */
export function policyEvents(s: ObjectStatus, obj: AnyObject | undefined): EventSpec[] {
  if (!POLICY_KINDS.has(s.kind)) return [];
  const regarding = {
    apiVersion: "portico.dev/v1alpha1",
    kind: s.kind,
    namespace: s.namespace ?? "",
    name: s.name,
    ...(obj?.metadata.uid ? { uid: obj.metadata.uid } : {}),
  };
  type Ancestor = {
    ancestorRef: { kind: string; name: string; sectionName?: string };
    conditions?: Condition[];
  };
  const own = (s.status.conditions ?? []).filter((c) => c.status === "False");
  const targets = ((s.status.ancestors ?? []) as Ancestor[]).flatMap((a) =>
    (a.conditions ?? [])
      .filter((c) => c.status === "False")
      .map((c) => ({
        c,
        on: `${a.ancestorRef.kind} ${a.ancestorRef.name}${a.ancestorRef.sectionName ? `/${a.ancestorRef.sectionName}` : ""}`,
      })),
  );
  return [...own.map((c) => ({ c, on: "" })), ...targets].map(({ c, on }) => ({
    regarding,
    type: "Warning" as const,
    reason: c.reason ?? "SyncFailed",
    action: "Translate",
    series: on ? `${c.type} ${on}` : c.type,
    note: `${on ? `${on}: ` : ""}${c.type}: ${c.message ?? ""}`.slice(0, 1024),
  }));
}

/** TENANT_REFUSALS are the reasons the tenant rules give an object they refuse (translate/tenant-admit.ts). */
const TENANT_REFUSALS: ReadonlySet<string> = new Set([
  "HostnameOwned",
  "HostnameHeld",
  "QuotaExceeded",
  "EngineGroupNotAllowed",
]);

/**
 * tenantEvents are Warnings for a Service, Gateway or Route a tenant rule refused — the quota and
 * its usage, or the hostname's owner or holder — as the Ingress's problems already are Events.
 */
export function tenantEvents(s: ObjectStatus, obj: AnyObject | undefined): EventSpec[] {
  if (s.kind === "Ingress" || s.kind === "IngressClass") return [];
  const parents = (s.status.parents ?? []) as { conditions?: Condition[] }[];
  const refused = [...(s.status.conditions ?? []), ...parents.flatMap((p) => p.conditions ?? [])].find(
    (c) => c.status === "False" && TENANT_REFUSALS.has(c.reason ?? ""),
  );
  if (!refused) return [];
  return [
    {
      regarding: {
        apiVersion: s.kind === "Service" ? "v1" : "gateway.networking.k8s.io/v1",
        kind: s.kind,
        namespace: s.namespace ?? "",
        name: s.name,
        ...(obj?.metadata.uid ? { uid: obj.metadata.uid } : {}),
      },
      type: "Warning",
      reason: refused.reason!,
      action: "Translate",
      series: "portico.dev/Tenant",
      note: (refused.message ?? "").slice(0, 1024),
    },
  ];
}

/** EventRecorder creates Events, skipping one that repeats the last note for the same object and reason. */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #instance: string;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #last = new Map<string, string>();

  /** constructor takes the client, this replica's identity (reportingInstance), a logger and a clock. */
  constructor(client: KubeClient, instance: string, log: Logger, now: () => Date = () => new Date()) {
    this.#client = client;
    this.#instance = instance;
    this.#log = log;
    this.#now = now;
  }

  /** record creates the Event unless the same object already got the same reason and note. */
  async record(e: EventSpec): Promise<void> {
    const r = e.regarding;
    const key = `${r.kind}/${r.namespace ?? ""}/${r.name}/${e.reason}/${e.series ?? ""}`;
    const note = e.note.length > 1024 ? e.note.slice(0, 1021) + "..." : e.note;
    if (this.#last.get(key) === note) return;
    this.#last.set(key, note);
    const ns = r.namespace || "default";
    const body = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: `${r.name}.${randomBytes(8).toString("hex")}`, namespace: ns },
      eventTime: microTime(this.#now()),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.#instance,
      action: e.action,
      reason: e.reason,
      type: e.type,
      note,
      regarding: r,
    };
    try {
      await this.#client.request("POST", `/apis/events.k8s.io/v1/namespaces/${ns}/events`, body);
    } catch (err) {
      this.#last.delete(key);
      this.#log("warn", "event not recorded", { event: e.reason, object: key, error: String(err) });
    }
  }

  /** forget drops what was recorded for an object (it is gone, or its problem went away). */
  forget(
    kind: string,
    namespace: string | undefined,
    name: string,
    keepReasons: readonly string[] = [],
  ): void {
    const prefix = `${kind}/${namespace ?? ""}/${name}/`;
    for (const k of [...this.#last.keys()])
      if (k.startsWith(prefix) && !keepReasons.some((r) => k.startsWith(`${prefix}${r}/`)))
        this.#last.delete(k);
  }
}

/** API_VERSIONS are the apiVersions of the kinds whose VIPs announcement Events are about. */
const API_VERSIONS: Record<string, string> = {
  Service: "v1",
  Ingress: "networking.k8s.io/v1",
  Gateway: "gateway.networking.k8s.io/v1",
};

/**
 * announceEvents are the Events a change of who announces each VIP deserves, on every object
 * served on it (objects maps an address to "Kind/ns/name" keys): Warning AnnounceFailed when an
 * engine's announcement turns Failed, Normal Announced when the engines announcing it change to a
 * non-empty set (the first announcement, a failover). uid reads an object's uid, when known.
 */
export function announceEvents(
  before: readonly VipAnnouncementView[],
  after: readonly VipAnnouncementView[],
  objects: ReadonlyMap<string, readonly string[]>,
  uid: (kind: string, namespace: string, name: string) => string | undefined = () => undefined,
): EventSpec[] {
  const prev = new Map(before.map((v) => [v.address, v]));
  const out: EventSpec[] = [];
  for (const v of after) {
    const p = prev.get(v.address);
    const notes: { type: "Normal" | "Warning"; reason: string; note: string }[] = [];
    for (const a of v.announcers) {
      const was = p?.announcers.find((x) => x.engine === a.engine);
      if (a.state === "Failed" && (was?.state !== "Failed" || was.message !== a.message))
        notes.push({
          type: "Warning",
          reason: "AnnounceFailed",
          note: `${v.address} (${v.mode}): engine ${a.engine}${a.node ? ` on node ${a.node}` : ""} failed${a.reason ? ` (${a.reason})` : ""}: ${a.message ?? "no message"}`,
        });
    }
    const up = (x: VipAnnouncementView | undefined) =>
      (x?.announcers ?? [])
        .filter((a) => a.state === "Announced")
        .map((a) => a.engine)
        .join(",");
    const by = announcedBy(v);
    if (by !== undefined && up(v) !== up(p)) {
      const was = up(p);
      notes.push({
        type: "Normal",
        reason: "Announced",
        note: `${v.address} announced by ${by}${was ? ` (was engine ${was.split(",").join(", ")})` : ""}`,
      });
    }
    for (const key of objects.get(v.address) ?? []) {
      const [kind, namespace = "", name = ""] = key.split("/");
      const apiVersion = API_VERSIONS[kind!];
      if (apiVersion === undefined) continue;
      const id = uid(kind!, namespace, name);
      for (const n of notes)
        out.push({
          regarding: { apiVersion, kind: kind!, namespace, name, ...(id ? { uid: id } : {}) },
          type: n.type,
          reason: n.reason,
          action: "Announce",
          series: v.address,
          note: n.note,
        });
    }
  }
  return out;
}
